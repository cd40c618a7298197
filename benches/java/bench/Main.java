package bench;

/**
 * The JVM side of {@code cargo bench --bench overhead}: warms {@link Hot#step} up, then
 * measures it for a number of fixed-length iterations, printing one line per iteration:
 *
 * <pre>RESULT &lt;phase&gt; &lt;ns per call&gt; &lt;calls&gt;</pre>
 *
 * Usage: {@code bench.Main plain|api|mix WARMUP_MS ITERATIONS ITERATION_MS}.
 * <ul>
 *   <li>{@code plain}: measure phase {@code run} (the agent, if any, is configured on the
 *       command line).</li>
 *   <li>{@code api}: load the agent with {@code Faultline.install()}, arm a probability-0
 *       exception fault on {@code bench.Hot#step} and measure phase {@code api-armed}; close
 *       the handle, warm up again and measure phase {@code after-stop}.</li>
 *   <li>{@code mix}: as {@code plain}, calling {@link Hot#mix} with arguments 0..1023 (the
 *       vocabulary rows put conditions on that argument).</li>
 * </ul>
 * The faultline API is used only from {@link Api}, so the {@code plain} mode never loads it.
 */
public final class Main {
    /** Calls per timed batch: about 0.2 ms, so the clock is read rarely. */
    private static final int BATCH = 100_000;

    private static int sink;
    /** Measure {@link Hot#mix} instead of {@link Hot#step}. */
    private static boolean mixing;

    public static void main(String[] args) throws Exception {
        String mode = args[0];
        long warmupMs = Long.parseLong(args[1]);
        int iterations = Integer.parseInt(args[2]);
        long iterationMs = Long.parseLong(args[3]);
        Hot hot = new Hot((int) System.nanoTime());

        if (mode.equals("plain")) {
            measure(hot, "run", warmupMs, iterations, iterationMs);
        } else if (mode.equals("mix")) {
            mixing = true;
            measure(hot, "run", warmupMs, iterations, iterationMs);
        } else if (mode.equals("api")) {
            Api.armProbabilityZero("bench.Hot#step");
            measure(hot, "api-armed", warmupMs, iterations, iterationMs);
            System.out.println("CHECK api-armed-calls " + Api.calls());
            System.out.println("CHECK api-armed-injected " + Api.injected());
            Api.close();
            measure(hot, "after-stop", warmupMs, iterations, iterationMs);
        } else {
            throw new IllegalArgumentException("mode must be plain, api or mix, not " + mode);
        }
        // Consume the sink so the loop's result is live.
        System.out.println("SINK " + sink);
    }

    private static void measure(Hot hot, String phase, long warmupMs, int iterations, long iterationMs) {
        timed(hot, warmupMs * 1_000_000L);
        for (int i = 0; i < iterations; i++) {
            double ns = timed(hot, iterationMs * 1_000_000L);
            System.out.println("RESULT " + phase + " " + ns);
        }
    }

    /** Runs batches for at least {@code nanos}; returns ns per call. */
    private static double timed(Hot hot, long nanos) {
        long calls = 0;
        long start = System.nanoTime();
        long now;
        do {
            sink += batch(hot, BATCH);
            calls += BATCH;
            now = System.nanoTime();
        } while (now - start < nanos);
        return (double) (now - start) / calls;
    }

    private static int batch(Hot hot, int n) {
        return mixing ? mixBatch(hot, n) : stepBatch(hot, n);
    }

    private static int stepBatch(Hot hot, int n) {
        int acc = 0;
        for (int i = 0; i < n; i++) {
            acc += hot.step();
        }
        return acc;
    }

    private static int mixBatch(Hot hot, int n) {
        int acc = 0;
        for (int i = 0; i < n; i++) {
            acc += hot.mix(i & 1023);
        }
        return acc;
    }
}
