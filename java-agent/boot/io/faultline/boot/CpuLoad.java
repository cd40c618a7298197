package io.faultline.boot;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code kind = "cpu"}: {@code cores} threads ({@code faultline-cpu-1}...), each busy for
 * {@code load} of every 100 ms period and asleep for the rest ({@code load = 1}: never
 * asleep). The busy part is real work whose result is used, so the JIT cannot remove it; the
 * threads check the removal flag every few microseconds, so they end at once.
 *
 * <p>{@code measured_load} in describe() is the threads' own CPU time (ThreadMXBean) over
 * the last second, per thread: what the fault actually got from the machine.
 *
 * <p><b>Counters.</b> {@code calls()}: busy periods run, all threads together;
 * {@code injected()}: 1 once every thread runs (or as many as the JVM could start).
 */
final class CpuLoad extends ResourceFault {
    static final long PERIOD_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final long MEASURE_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final int SAMPLES = 16;

    final int cores;
    final double load;
    private final long busyNanos;
    /** The busy threads; guarded by itself. */
    private final List<Thread> busy = new ArrayList<>();
    /** Null when this JVM does not measure thread CPU time. */
    private final ThreadMXBean cpuTimes;
    /** Where the work's result goes (never, in fact): the JIT must compute it. */
    private volatile long sink;

    /** CPU-time samples of the busy threads, a ring; guarded by itself. */
    private final long[][] samples = new long[SAMPLES][];
    private int sampled;

    private CpuLoad(int serial, String id, int cores, double load) {
        super(serial, id, "cpu");
        this.cores = cores;
        this.load = load;
        this.busyNanos = (long) (load * PERIOD_NANOS);
        ThreadMXBean mx = null;
        try {
            mx = ManagementFactory.getThreadMXBean();
            if (!mx.isThreadCpuTimeSupported() || !mx.isThreadCpuTimeEnabled()) {
                mx = null;
            }
        } catch (Throwable t) {
            mx = null;
        }
        this.cpuTimes = mx;
    }

    /**
     * Keys: {@code cores} (whole number, 1 to 1024, default the available processors),
     * {@code load} (a number, 0 &lt; load &lt;= 1, default 1).
     */
    static CpuLoad define(int serial, String id, Resources.Keys keys) {
        int cores = (int) keys.integer("cores", (long) Runtime.getRuntime().availableProcessors(), 1, 1024);
        double load = keys.fraction("load", 1.0, 0.0, 1.0, false);
        keys.noOthers();
        CpuLoad fault = new CpuLoad(serial, id, cores, load);
        fault.startThreads();
        return fault;
    }

    private void startThreads() {
        for (int i = 1; i <= cores && !removed; i++) {
            final int index = i;
            try {
                Thread t = start("faultline-cpu-" + i, 0, new Runnable() {
                    @Override
                    public void run() {
                        spin(index);
                    }
                });
                synchronized (busy) {
                    busy.add(t);
                }
            } catch (OutOfMemoryError e) {
                injected.set(1);
                emit(kind, new JsonFields().add("phase", "limit").add("cores", cores).add("threads", i - 1)
                        .add("error", e.toString()));
                return;
            }
        }
        injected.set(1);
        emit(kind, new JsonFields().add("phase", "reached").add("cores", cores).add("load", load)
                .add("threads", cores));
    }

    /** One busy thread: work for busyNanos, sleep to the end of the period, again. */
    private void spin(int index) {
        long x = index * 0x9E3779B97F4A7C15L;
        long periodStart = System.nanoTime();
        while (!removed) {
            long busyEnd = periodStart + busyNanos;
            while (!removed && System.nanoTime() - busyEnd < 0) {
                for (int i = 0; i < 256; i++) {
                    // xorshift: never 0 from a non-zero seed, but the JIT cannot know that.
                    x ^= x << 13;
                    x ^= x >>> 7;
                    x ^= x << 17;
                }
            }
            if (x == 0) {
                sink = x;
            }
            calls.incrementAndGet();
            if (index == 1) {
                sample();
            }
            long now = System.nanoTime();
            periodStart += PERIOD_NANOS;
            if (now - periodStart > PERIOD_NANOS) {
                // Descheduled for more than a period: start afresh rather than catch up.
                periodStart = now;
            }
            sleepUntil(periodStart);
        }
    }

    /** Records the busy threads' CPU time now (thread 1 does, once per period). */
    private void sample() {
        if (cpuTimes == null) {
            return;
        }
        long total = 0;
        synchronized (busy) {
            for (Thread t : busy) {
                long ns = cpuTimes.getThreadCpuTime(t.getId());
                if (ns > 0) {
                    total += ns;
                }
            }
        }
        synchronized (samples) {
            samples[sampled % SAMPLES] = new long[] {System.nanoTime(), total};
            sampled++;
        }
    }

    /** CPU time per busy thread over the last second (or what history there is); NaN when unknown. */
    private double measuredLoad(int threads) {
        synchronized (samples) {
            if (sampled < 2 || threads == 0) {
                return Double.NaN;
            }
            long[] newest = samples[(sampled - 1) % SAMPLES];
            long[] base = null;
            for (int back = 2; back <= Math.min(sampled, SAMPLES); back++) {
                base = samples[(sampled - back) % SAMPLES];
                if (newest[0] - base[0] >= MEASURE_NANOS) {
                    break;
                }
            }
            long span = newest[0] - base[0];
            return span <= 0 ? Double.NaN : (newest[1] - base[1]) / (double) span / threads;
        }
    }

    private int alive() {
        int n = 0;
        synchronized (busy) {
            for (Thread t : busy) {
                if (t.isAlive()) {
                    n++;
                }
            }
        }
        return n;
    }

    @Override
    void figures(JsonFields out) {
        int threads = alive();
        out.add("cores", cores)
                .add("load", load)
                .add("threads", threads)
                .add("period_ms", PERIOD_NANOS / 1_000_000)
                .add("measured_load", measuredLoad(threads));
    }

    @Override
    JsonFields release() {
        int started;
        synchronized (busy) {
            started = busy.size();
        }
        int alive = endThreads();
        return new JsonFields().add("threads", started).add("threads_alive", alive);
    }
}
