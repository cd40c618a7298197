package io.faultline.boot;

import java.util.concurrent.TimeUnit;

/**
 * {@code kind = "gc"}: a full collection every {@code every}, on {@code faultline-gc}. The
 * first runs at once, the next ones {@code every} after the start of the previous one (right
 * after it when a collection takes longer than that). Under {@code -XX:+DisableExplicitGC}
 * the collections go through the diagnostic command GC.run ({@link FullGc}), with a warning
 * saying so; under {@code -XX:+ExplicitGCInvokesConcurrent} they are concurrent cycles, with
 * a warning too.
 *
 * <p><b>Counters.</b> {@code calls()}: collections asked for; {@code injected()}: collections
 * made (one {@code "phase":"collected"} event each).
 */
final class GcEvery extends ResourceFault {
    /** Shortest period accepted: a collection takes longer than that anyway. */
    static final long MIN_EVERY_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    final long everyNanos;
    final String way;
    private volatile double lastMillis = Double.NaN;

    private GcEvery(int serial, String id, long everyNanos, String way) {
        super(serial, id, "gc");
        this.everyNanos = everyNanos;
        this.way = way;
    }

    /** Keys: {@code every} (nanoseconds, a whole number, at least 1 ms). */
    static GcEvery define(int serial, String id, Resources.Keys keys) {
        long every = keys.integer("every", null, 1, Long.MAX_VALUE);
        keys.noOthers();
        if (every < MIN_EVERY_NANOS) {
            throw new IllegalArgumentException("gc fault '" + id + "': every must be at least 1ms, not " + every
                    + "ns: a full collection takes longer than that");
        }
        String way = FullGc.way();
        String problem = FullGc.problem(way);
        if (problem != null) {
            throw new IllegalArgumentException("gc fault '" + id + "': " + problem);
        }
        final GcEvery fault = new GcEvery(serial, id, every, way);
        if (FullGc.GC_RUN.equals(way)) {
            fault.warn("gc fault: the JVM runs with -XX:+DisableExplicitGC, so System.gc() does nothing here;"
                    + " collections are made with the diagnostic command GC.run instead (as jcmd GC.run does)");
        }
        if (Gauges.vmFlag("ExplicitGCInvokesConcurrent")) {
            fault.warn("gc fault: the JVM runs with -XX:+ExplicitGCInvokesConcurrent: each collection asked for"
                    + " is a concurrent cycle, not a stop-the-world full collection");
        }
        fault.start("faultline-gc", 0, new Runnable() {
            @Override
            public void run() {
                fault.loop();
            }
        });
        return fault;
    }

    private void loop() {
        long next = System.nanoTime();
        while (!removed) {
            sleepUntil(next);
            if (removed) {
                return;
            }
            long start = System.nanoTime();
            calls.incrementAndGet();
            try {
                FullGc.collect(way);
            } catch (Exception e) {
                throw new IllegalStateException("collection through " + way + " failed: " + e, e);
            }
            long end = System.nanoTime();
            lastMillis = (end - start) / 1e6;
            long n = injected.incrementAndGet();
            emit(kind, new JsonFields().add("phase", "collected").add("collection", n).add("way", way)
                    .add("duration_ms", lastMillis));
            next = Math.max(start + everyNanos, end);
        }
    }

    @Override
    void figures(JsonFields out) {
        out.add("every_ms", everyNanos / 1e6)
                .add("collections", injected.get())
                .add("way", way)
                .add("last_duration_ms", lastMillis);
    }

    @Override
    JsonFields release() {
        int alive = endThreads();
        return new JsonFields().add("collections", injected.get()).add("threads_alive", alive);
    }
}
