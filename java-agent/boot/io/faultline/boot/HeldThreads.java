package io.faultline.boot;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * {@code kind = "threads"}: {@code count} extra live threads ({@code faultline-held-1}...)
 * with small stacks (64 KiB asked; HotSpot rounds up to its minimum), either parked
 * ({@code state = "waiting"}: thread state WAITING) or spinning ({@code "running"}: RUNNABLE,
 * onSpinWait and yield, so they show in thread dumps and run queues without starving the
 * machine of one core each).
 *
 * <p>A starter thread, {@code faultline-threads}, starts them; arming waits for it up to
 * 1.5 s, then returns while it goes on. When the JVM cannot start one more (OutOfMemoryError
 * "unable to create native thread": a ulimit, pid_max or memory), it stops there, keeps those
 * it got and says so (event {@code "phase":"limit"}).
 *
 * <p><b>Counters.</b> {@code calls()}: threads started; {@code injected()}: 1 once starting
 * stopped, every thread started or the limit hit.
 */
final class HeldThreads extends ResourceFault {
    static final long STACK_BYTES = 64 * 1024;
    static final int MAX_COUNT = 100_000;
    private static final long DEFINE_WAIT_NANOS = TimeUnit.MILLISECONDS.toNanos(1500);

    final int count;
    final String state;
    private final boolean running;
    /** The held threads; guarded by itself. */
    private final List<Thread> held = new ArrayList<>();
    private volatile String limit;

    private HeldThreads(int serial, String id, int count, String state) {
        super(serial, id, "threads");
        this.count = count;
        this.state = state;
        this.running = "running".equals(state);
    }

    /** Keys: {@code count} (whole number, 1 to 100000), {@code state} ("waiting", default, or "running"). */
    static HeldThreads define(int serial, String id, Resources.Keys keys) {
        int count = (int) keys.integer("count", null, 1, MAX_COUNT);
        String state = keys.choice("state", "waiting", "waiting", "running");
        keys.noOthers();
        final HeldThreads fault = new HeldThreads(serial, id, count, state);
        fault.start("faultline-threads", 0, new Runnable() {
            @Override
            public void run() {
                fault.startAll();
            }
        });
        fault.awaitSettled(DEFINE_WAIT_NANOS);
        return fault;
    }

    private void startAll() {
        Runnable body = new Runnable() {
            @Override
            public void run() {
                hold();
            }
        };
        for (int i = 1; i <= count; i++) {
            if (removed) {
                return;
            }
            Thread t;
            try {
                t = start("faultline-held-" + i, STACK_BYTES, body);
            } catch (OutOfMemoryError e) {
                limit = e.toString();
                injected.set(1);
                settle();
                emit(kind, new JsonFields().add("phase", "limit").add("count", count).add("held", i - 1)
                        .add("error", limit));
                return;
            }
            synchronized (held) {
                held.add(t);
            }
            calls.incrementAndGet();
        }
        injected.set(1);
        settle();
        emit(kind, new JsonFields().add("phase", "reached").add("count", count).add("state", state)
                .add("held", count));
    }

    /** A held thread's life: parked or spinning until removed. */
    private void hold() {
        if (running) {
            while (!removed) {
                for (int i = 0; i < 64; i++) {
                    Thread.onSpinWait();
                }
                Thread.yield();
            }
        } else {
            while (!removed) {
                LockSupport.park(this);
            }
        }
    }

    private int alive() {
        int n = 0;
        synchronized (held) {
            for (Thread t : held) {
                if (t.isAlive()) {
                    n++;
                }
            }
        }
        return n;
    }

    @Override
    void figures(JsonFields out) {
        out.add("count", count)
                .add("state", state)
                .add("held", alive())
                .add("limit", limit != null)
                .add("error", limit);
    }

    @Override
    JsonFields release() {
        int started;
        synchronized (held) {
            started = held.size();
        }
        int alive = endThreads();
        return new JsonFields().add("threads", started).add("threads_alive", alive);
    }
}
