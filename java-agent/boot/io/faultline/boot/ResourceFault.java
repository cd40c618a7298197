package io.faultline.boot;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * What every resource fault (a JVM-wide fault, {@link Resources}) shares: the calls the
 * native agent makes on the fault object ({@code remove}, {@code calls}, {@code injected},
 * {@code describe}, {@code announced}), its events, and its threads.
 *
 * <p><b>Events</b> found while the agent is still arming the fault are queued and handed
 * over once it has written the "armed" event ({@link #announced}), so they follow it.
 *
 * <p><b>Threads</b> are daemons named {@code faultline-...} in the root thread group. Each
 * holds the hook's guard for its whole life, so no other fault ever fires on it, and a
 * Throwable that ends one is reported once as a warning instead of escaping.
 *
 * <p><b>Removal</b> releases everything at once, whatever the fault was doing, and waits
 * at most {@link #JOIN_NANOS} for the fault's threads to end: the agent's control thread
 * calls it and must not hang on a fault.
 */
abstract class ResourceFault {
    /** How long remove() waits, in all, for the fault's threads to end. */
    static final long JOIN_NANOS = TimeUnit.MILLISECONDS.toNanos(500);

    final int serial;
    final String id;
    /** The fault kind ("heap", "cpu", ...): the kind of its own events. */
    final String kind;
    /** Set first thing by remove(): every loop of the fault checks it. */
    volatile boolean removed;
    /** Adjustment rounds or ticks, per kind (see each kind's class comment). */
    final AtomicLong calls = new AtomicLong();
    /** Times the target was reached, per kind. */
    final AtomicLong injected = new AtomicLong();

    private final AtomicBoolean removing = new AtomicBoolean();
    private final CountDownLatch released = new CountDownLatch(1);
    private final AtomicBoolean reportedFailure = new AtomicBoolean();
    /** The fault has done what arming should wait for (target, limit or failure). */
    private volatile boolean settled;
    /** Threads started by this fault; guarded by itself. */
    private final List<Thread> threads = new ArrayList<>();
    /** Events held until the agent has written the "armed" event. */
    private final PendingEvents events;

    ResourceFault(int serial, String id, String kind) {
        this.serial = serial;
        this.id = id;
        this.kind = kind;
        this.events = new PendingEvents(serial);
    }

    /** Adds the current figures to {@code out}: describe() and some events carry them. */
    abstract void figures(JsonFields out);

    /**
     * Frees everything the fault holds and ends its threads (bounded); called once, by
     * {@link #remove}, after {@link #removed} is set. Returns the fields of the "released" event.
     */
    abstract JsonFields release();

    // ---- the calls of the native agent ----

    /**
     * Releases everything at once; idempotent, safe from any thread. A second caller waits
     * (at most 1 s) for the first one's release to finish, so that every return means
     * "released". Emits a "released" event with what was released. Never throws.
     */
    void remove() {
        if (!removing.compareAndSet(false, true)) {
            try {
                released.await(1, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return;
        }
        removed = true;
        try {
            JsonFields what;
            try {
                what = release();
            } catch (Throwable t) {
                what = new JsonFields().add("error", String.valueOf(t));
            } finally {
                released.countDown();
            }
            emit("released", what);
        } catch (Throwable ignored) {
            // Removal never throws into the agent; what could be released was.
        }
    }

    long calls() {
        return calls.get();
    }

    long injected() {
        return injected.get();
    }

    /** The current figures as a JSON object; never throws. */
    String describe() {
        try {
            JsonFields out = new JsonFields();
            figures(out);
            return out.toString();
        } catch (Throwable t) {
            return new JsonFields().add("error", String.valueOf(t)).toString();
        }
    }

    /** The agent has written the "armed" event: queued events follow it now, in order. */
    void announced() {
        events.announced();
    }

    // ---- for the kinds ----

    /** Emits an event now, or once the fault is announced. Best effort, never throws. */
    final void emit(String eventKind, JsonFields fields) {
        try {
            events.add(eventKind, fields == null ? "{}" : fields.toString());
        } catch (Throwable ignored) {
            // Events are best effort; the fault goes on without this one.
        }
    }

    final void warn(String message) {
        emit("warning", new JsonFields().add("message", message));
    }

    /** Arming may return: the target or a limit was reached, or the fault failed. */
    final void settle() {
        settled = true;
    }

    /** Waits until {@link #settle} or removal, at most {@code nanos}. */
    final void awaitSettled(long nanos) {
        long deadline = System.nanoTime() + nanos;
        while (!settled && !removed && System.nanoTime() - deadline < 0) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(2));
        }
    }

    /**
     * Starts a daemon thread of this fault, guarded, with {@code stackSize} (0: the JVM's
     * default). Throws what {@link Thread#start} throws (an OutOfMemoryError when the JVM
     * cannot create a native thread); the thread is then forgotten.
     */
    final Thread start(String name, long stackSize, final Runnable body) {
        Thread t = new Thread(ExecutorDiscovery.rootGroup(), new Runnable() {
            @Override
            public void run() {
                runGuarded(body);
            }
        }, name, stackSize, false);
        t.setDaemon(true);
        t.setContextClassLoader(ClassLoader.getSystemClassLoader());
        synchronized (threads) {
            threads.add(t);
        }
        try {
            t.start();
        } catch (Throwable e) {
            synchronized (threads) {
                threads.remove(t);
            }
            throw e;
        }
        return t;
    }

    /**
     * Wakes every thread of this fault and waits until they ended, at most
     * {@link #JOIN_NANOS} in all. Returns how many are still alive.
     */
    final int endThreads() {
        List<Thread> all;
        synchronized (threads) {
            all = new ArrayList<>(threads);
        }
        for (Thread t : all) {
            LockSupport.unpark(t);
        }
        long deadline = System.nanoTime() + JOIN_NANOS;
        int alive = 0;
        boolean interrupted = false;
        for (Thread t : all) {
            if (t == Thread.currentThread()) {
                continue;
            }
            long left = deadline - System.nanoTime();
            if (left > 0 && !interrupted) {
                try {
                    TimeUnit.NANOSECONDS.timedJoin(t, left);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (t.isAlive()) {
                alive++;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        return alive;
    }

    /** The body of every thread of the fault: under the guard, nothing escapes. */
    private void runGuarded(Runnable body) {
        boolean guard = false;
        try {
            guard = Hook.guardEnter();
        } catch (Throwable ignored) {
            // Natives not bound (cannot happen once the agent runs): go on unguarded.
        }
        try {
            body.run();
        } catch (Throwable t) {
            failed(t);
        } finally {
            if (guard) {
                try {
                    Hook.guardExit();
                } catch (Throwable ignored) {
                    // As above.
                }
            }
        }
    }

    /** A thread of the fault ended by a Throwable: one warning per fault, and arming may return. */
    private void failed(Throwable t) {
        settle();
        if (!removed && reportedFailure.compareAndSet(false, true)) {
            warn(kind + " fault: " + Thread.currentThread().getName() + " stopped: " + t);
        }
    }

    // ---- small helpers shared by the kinds ----

    /**
     * A fault that takes a resource up to a size stopped taking: at its target ({@code limit}
     * null) or short of it, for that reason. Counts the injection, lets arming return, and
     * reports it once with the figures (phase "reached" or "limit").
     */
    final void stoppedTaking(String limit) {
        injected.set(1);
        settle();
        JsonFields event = limit == null ? new JsonFields().add("phase", "reached")
                : new JsonFields().add("phase", "limit").add("reason", limit);
        figures(event);
        emit(kind, event);
    }

    static final long MIB = 1024L * 1024L;

    /** Parks until {@code deadline} (System.nanoTime) or removal; unpark() ends it early. */
    final void sleepUntil(long deadline) {
        long left;
        while (!removed && (left = deadline - System.nanoTime()) > 0) {
            LockSupport.parkNanos(this, left);
        }
    }
}
