package latbench;

/**
 * The JVM side of measure 6 of {@code cargo bench --bench suite} (latency accuracy).
 * {@link #work()} takes about 1 ms of its own (a busy loop on the clock). A latency fault at
 * its entry (faultline's latency fault, or a Byteman rule {@code AT ENTRY DO Thread.sleep(50)})
 * delays it before its body runs; the body records when it starts, so the added delay of a
 * call is exactly {@code bodyStart - callStart}, whatever the body itself took.
 *
 * <p>Usage: {@code latbench.Target SKIP SAMPLES}: calls {@code work()} back to back; the
 * first {@code SKIP} delayed calls (more than 10 ms added) are warm-up, the next
 * {@code SAMPLES} are printed as {@code ADDED <ns>}. Calls without a delay are counted and
 * their largest added time is printed as {@code UNDELAYED <count> <max ns>}. Gives up after
 * 300 s.
 */
public final class Target {
    static volatile long bodyStart;
    static int sink;

    static int work() {
        long start = System.nanoTime();
        bodyStart = start;
        long end = start + 1_000_000L;
        int x = 0;
        while (System.nanoTime() < end) {
            x++;
        }
        return x;
    }

    public static void main(String[] args) {
        int skip = Integer.parseInt(args[0]);
        int samples = Integer.parseInt(args[1]);
        long[] added = new long[samples];
        int delayed = 0;
        long undelayed = 0;
        long undelayedMax = 0;
        long giveUp = System.nanoTime() + 300_000_000_000L;
        System.out.println("ready");
        System.out.flush();
        while (delayed < skip + samples && System.nanoTime() < giveUp) {
            long t0 = System.nanoTime();
            sink += work();
            long a = bodyStart - t0;
            if (a > 10_000_000L) {
                if (delayed >= skip) {
                    added[delayed - skip] = a;
                }
                delayed++;
            } else {
                undelayed++;
                undelayedMax = Math.max(undelayedMax, a);
            }
        }
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < Math.max(0, delayed - skip); i++) {
            out.append("ADDED ").append(added[i]).append('\n');
        }
        out.append("UNDELAYED ").append(undelayed).append(' ').append(undelayedMax).append('\n');
        out.append("SINK ").append(sink).append('\n');
        System.out.print(out);
        System.out.flush();
    }
}
