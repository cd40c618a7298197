package io.faultline.boot;

import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * The GC-storm rule of the heap fill, part of its contract: a storm is more than
 * {@value #STORM_PERCENT}% of wall time spent in collections over the last
 * {@value #WINDOW_SECONDS} s (the sum of every collector's collection time); after a storm the
 * fill holds again only once that fraction stayed under {@value #CALM_PERCENT}% for
 * {@value #CALM_SECONDS} s in a row. Concurrent collectors' cycle time counts too: a
 * concurrent collector busy more than half the time cannot keep up, which is its storm.
 *
 * <p>Fed one sample per round by the heap fill's controller thread; not thread-safe.
 */
final class GcStorm {
    static final int STORM_PERCENT = 50;
    static final int CALM_PERCENT = 10;
    static final int WINDOW_SECONDS = 2;
    static final int CALM_SECONDS = 5;
    private static final long WINDOW = TimeUnit.SECONDS.toNanos(WINDOW_SECONDS);
    private static final long CALM_FOR = TimeUnit.SECONDS.toNanos(CALM_SECONDS);

    /** Samples (System.nanoTime, GC ms), oldest first; exactly one is WINDOW old or older. */
    private final ArrayDeque<long[]> samples = new ArrayDeque<>();
    /** Since when the fraction stayed under CALM_PERCENT; -1 when it is not. */
    private long calmSince = -1;
    /** GC time over wall time in the last window; NaN until a window of history exists. */
    private double fraction = Double.NaN;
    /** The same over the history there is (at least 100 ms of it), for pacing; NaN before. */
    private double recent = Double.NaN;
    private static final long RECENT_MIN = TimeUnit.MILLISECONDS.toNanos(100);

    /** Adds a sample; returns the fraction over the last window (NaN until there is one). */
    double sample(long now, long gcMillis) {
        if (gcMillis < 0) {
            fraction = Double.NaN;
            recent = Double.NaN;
            calmSince = -1;
            return fraction;
        }
        samples.addLast(new long[] {now, gcMillis});
        while (samples.size() > 2 && now - secondOldest()[0] >= WINDOW) {
            samples.removeFirst();
        }
        long[] base = samples.peekFirst();
        double measured = (gcMillis - base[1]) * 1e6 / (double) Math.max(1, now - base[0]);
        recent = now - base[0] >= RECENT_MIN ? measured : Double.NaN;
        fraction = now - base[0] >= WINDOW ? measured : Double.NaN;
        if (fraction < CALM_PERCENT / 100.0) {
            if (calmSince < 0) {
                calmSince = now;
            }
        } else {
            calmSince = -1;
        }
        return fraction;
    }

    double fraction() {
        return fraction;
    }

    /** GC time over wall time over up to the last window, once 100 ms of history exist; NaN before. */
    double recent() {
        return recent;
    }

    boolean storm() {
        return fraction > STORM_PERCENT / 100.0;
    }

    /** The fraction stayed under the calm mark for CALM_SECONDS. */
    boolean calmLongEnough(long now) {
        return calmSince >= 0 && now - calmSince >= CALM_FOR;
    }

    private long[] secondOldest() {
        java.util.Iterator<long[]> it = samples.iterator();
        it.next();
        return it.next();
    }
}
