package attachbench;

import java.time.Instant;
import java.util.concurrent.locks.LockSupport;

/**
 * A fresh JVM for the time-to-first-fault benchmark: calls {@link #first()} and
 * {@link #second()} every 50 us and prints the wall-clock time (epoch microseconds) at which
 * each one first throws. Stops by itself after 60 s, not when both have thrown: the agent may
 * still be answering the command that armed the second fault, and a JVM that exits meanwhile
 * would fail that command.
 */
public final class Target {
    static int sink;

    static void first() {
        sink++;
    }

    static void second() {
        sink--;
    }

    private static long micros() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
    }

    public static void main(String[] args) {
        boolean firstSeen = false;
        boolean secondSeen = false;
        System.out.println("ready");
        System.out.flush();
        long end = System.nanoTime() + 60_000_000_000L;
        while (System.nanoTime() < end) {
            if (!firstSeen) {
                try {
                    first();
                } catch (RuntimeException e) {
                    firstSeen = true;
                    System.out.println("first " + micros());
                    System.out.flush();
                }
            }
            if (!secondSeen) {
                try {
                    second();
                } catch (RuntimeException e) {
                    secondSeen = true;
                    System.out.println("second " + micros());
                    System.out.flush();
                }
            }
            LockSupport.parkNanos(50_000);
        }
    }
}
