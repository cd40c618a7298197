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
 * 1.5 s, then returns while it goes on. It stops short of the operating system's limits on
 * threads, with a headroom ({@link OsLimits}), and says how many it got (event
 * {@code "phase":"limit"} with the reason). If the JVM still cannot start one (OutOfMemoryError
 * "unable to create native thread": a ulimit, a container's pids limit, pid_max or address
 * space), it stops there and gives back a headroom ({@link #HEADROOM_MIN} threads, or a tenth
 * of those it got if more): a JVM left at the limit can start no thread of its own (a GC or
 * compiler worker, the agent's lease thread) and cannot even end threads cleanly (a thread's
 * exit allocates native memory), which would crash it; it keeps the rest and says how many
 * (event {@code "phase":"limit"}).
 *
 * <p><b>Counters.</b> {@code calls()}: threads started; {@code injected()}: 1 once starting
 * stopped, every thread started or the limit hit.
 */
final class HeldThreads extends ResourceFault {
    static final long STACK_BYTES = 64 * 1024;
    static final int MAX_COUNT = 100_000;
    private static final long DEFINE_WAIT_NANOS = TimeUnit.MILLISECONDS.toNanos(1500);
    /** Threads started between two looks at the operating system's limits. */
    private static final int LIMIT_CHECK_EVERY = 16;
    /** The fewest threads given back when the JVM could not start one more. */
    static final int HEADROOM_MIN = 64;
    /** How long the threads given back at the limit are waited for. */
    private static final long HEADROOM_JOIN_NANOS = TimeUnit.SECONDS.toNanos(2);

    final int count;
    final String state;
    private final boolean running;
    /** The held threads; guarded by itself. */
    private final List<Thread> held = new ArrayList<>();
    private volatile String limit;
    /** Threads numbered above this end (the headroom given back at the limit). */
    private volatile int keep = Integer.MAX_VALUE;

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
        OsLimits limits = OsLimits.read();
        for (int i = 1; i <= count; i++) {
            if (removed) {
                return;
            }
            // Short of the operating system's limits, with the headroom the JVM needs.
            String near = (i - 1) % LIMIT_CHECK_EVERY == 0 ? limits.threadLimit(i - 1) : null;
            if (near != null) {
                limit = "stopped short of " + near;
                injected.set(1);
                settle();
                emit(kind, new JsonFields().add("phase", "limit").add("count", count).add("got", i - 1)
                        .add("held", i - 1).add("reason", limit));
                return;
            }
            final int number = i;
            Thread t;
            try {
                t = start("faultline-held-" + i, STACK_BYTES, new Runnable() {
                    @Override
                    public void run() {
                        hold(number);
                    }
                });
            } catch (OutOfMemoryError e) {
                limit = e.toString();
                int got = i - 1;
                int kept = giveHeadroomBack(got);
                injected.set(1);
                settle();
                emit(kind, new JsonFields().add("phase", "limit").add("count", count).add("got", got)
                        .add("held", kept).add("given_back", got - kept).add("reason", limit));
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

    /**
     * Ends the newest of the {@code got} threads, leaving the JVM room for threads of its own;
     * waits for them (at most 2 s). Returns how many are kept.
     */
    private int giveHeadroomBack(int got) {
        int kept = Math.max(0, got - Math.max(HEADROOM_MIN, got / 10));
        keep = kept;
        List<Thread> ending = new ArrayList<>();
        synchronized (held) {
            while (held.size() > kept) {
                ending.add(held.remove(held.size() - 1));
            }
        }
        for (Thread t : ending) {
            LockSupport.unpark(t);
        }
        long deadline = System.nanoTime() + HEADROOM_JOIN_NANOS;
        for (Thread t : ending) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                break;
            }
            try {
                TimeUnit.NANOSECONDS.timedJoin(t, left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return kept;
    }

    /** Held thread {@code number}'s life: parked or spinning until removed or given back. */
    private void hold(int number) {
        if (running) {
            while (!removed && number <= keep) {
                for (int i = 0; i < 64; i++) {
                    Thread.onSpinWait();
                }
                Thread.yield();
            }
        } else {
            while (!removed && number <= keep) {
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
                .add("limit_reason", limit);
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
