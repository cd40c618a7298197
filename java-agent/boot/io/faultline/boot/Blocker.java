package io.faultline.boot;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A task that holds its worker until the fault is released, the pool shuts down or the
 * worker is interrupted (checked at least every 100 ms). It returns at once when it runs
 * on the thread that submitted it (a caller-runs policy) or after the release.
 *
 * <p>The same object is the placeholder {@link Saturation} offers straight into a bounded
 * queue to fill it.
 */
final class Blocker implements Runnable, Comparable<Object> {
    static final int QUEUED = 0;
    static final int RUNNING = 1;
    static final int DONE = 2;
    private static final long CHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    final Saturation target;
    final Thread submitter = Thread.currentThread();
    volatile int state = QUEUED;
    volatile Thread thread;
    volatile boolean ranOnCaller;
    volatile boolean abandoned;
    /** What the pool queued for this blocker when it wraps it (a ForkJoinTask, a scheduled future). */
    Object task;

    Blocker(Saturation target) {
        this.target = target;
    }

    @Override
    public void run() {
        Thread me = Thread.currentThread();
        if (me == submitter || me.getName().startsWith("faultline-")) {
            ranOnCaller = true;
            state = DONE;
            return;
        }
        if (target.released || abandoned || Pools.isShutdown(target.executor)) {
            state = DONE;
            return;
        }
        thread = me;
        target.running.incrementAndGet();
        state = RUNNING;
        try {
            while (!target.released && !me.isInterrupted() && !Pools.isShutdown(target.executor)) {
                LockSupport.parkNanos(this, CHECK_NANOS);
            }
        } finally {
            thread = null;
            target.running.decrementAndGet();
            state = DONE;
        }
    }

    boolean awaitStart(long nanos) {
        long deadline = System.nanoTime() + nanos;
        while (state == QUEUED && System.nanoTime() < deadline) {
            LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(200));
        }
        return state != QUEUED;
    }

    void abandon() {
        abandoned = true;
    }

    /** Placeholders in a priority queue sort with everything. */
    @Override
    public int compareTo(Object o) {
        return 0;
    }

    @Override
    public String toString() {
        return "faultline pool blocker (fault " + target.fault.id + ")";
    }
}
