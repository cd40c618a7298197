package io.faultline.boot;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * One executor a fault acts on: its blockers, placeholders and state. Guarded by the fault.
 *
 * <p>Occupies the executor up to its limits, by the kind of executor: a
 * {@link ThreadPoolExecutor} (its workers, and its queue when bounded), a {@link ForkJoinPool}
 * (its parallelism), or any other {@link Executor} (blocking tasks until one waits for a
 * worker). {@link #release()} ends it.
 */
final class Saturation {
    /** Pools whose maximum size is above this are not occupied: they are effectively unbounded. */
    static final int MAX_OCCUPY = 1024;
    /** Queues whose capacity is above this are not filled (treated as unbounded). */
    private static final int MAX_FILL = 65_536;
    /** Executor-only pools: at most this many blockers per pool. */
    private static final int MAX_GENERIC = 256;
    /** Per pool and scan, submissions stop after this long. */
    private static final long FILL_BUDGET_NANOS = TimeUnit.MILLISECONDS.toNanos(1000);

    static final int TPE = 0;
    static final int FJP = 1;
    static final int GENERIC = 2;

    final Pools fault;
    final Object executor;
    final int kind;
    final String identity;
    /** Why a reject fault leaves this pool alone; null when it acts on it. */
    final String skip;
    final String poolGlob;
    final List<Blocker> blockers = new ArrayList<>();
    /** Scheduled-pool futures wrapping our blockers (the queue holds those). */
    final List<Object> futures = new ArrayList<>();
    final AtomicInteger running = new AtomicInteger();
    volatile boolean released;
    boolean exhausted;
    String warning;
    boolean warnedUnable;
    String state = "found";
    List<String> names = new ArrayList<>();
    ClassLoader contextLoader;
    int maxThreads = -1;
    int queueCapacity = -1; // -1: unbounded or unknown
    boolean queueUnbounded;
    int queueFilled;
    boolean rejectionSeen;
    /** Executor-only pools: a blocker submitted that no worker has picked up yet. */
    Blocker waitingStart;

    Saturation(Pools fault, Object executor, String poolGlob, String skip) {
        this.fault = fault;
        this.executor = executor;
        this.identity = Pools.identity(executor);
        this.poolGlob = poolGlob;
        this.skip = skip;
        if (executor instanceof ThreadPoolExecutor) {
            kind = TPE;
        } else if (executor instanceof ForkJoinPool) {
            kind = FJP;
        } else {
            kind = GENERIC;
        }
    }

    /** The most threads the pool can run: its core size when its queue never fills. */
    static int effectiveMaxThreads(ThreadPoolExecutor tpe) {
        java.util.concurrent.BlockingQueue<Runnable> q = tpe.getQueue();
        long capacity = (long) q.remainingCapacity() + q.size();
        if (tpe instanceof ScheduledThreadPoolExecutor || capacity > MAX_FILL) {
            // Threads beyond the core size start only when the queue is full: never.
            return Math.max(1, tpe.getCorePoolSize());
        }
        return tpe.getMaximumPoolSize();
    }

    /** Why the pool cannot reject new tasks by itself while running, or null. */
    static String whyNoReject(Object executor) {
        if (executor instanceof ScheduledThreadPoolExecutor) {
            return "is a scheduled pool (unbounded delay queue) and never rejects while running";
        }
        if (executor instanceof ThreadPoolExecutor) {
            ThreadPoolExecutor tpe = (ThreadPoolExecutor) executor;
            long capacity = (long) tpe.getQueue().remainingCapacity() + tpe.getQueue().size();
            if (capacity > MAX_FILL) {
                return "has an unbounded queue and never rejects while running";
            }
            if (tpe.getMaximumPoolSize() > MAX_OCCUPY) {
                return "may start " + tpe.getMaximumPoolSize() + " threads and never runs out of them";
            }
            return null;
        }
        if (executor instanceof ForkJoinPool) {
            return "is a ForkJoinPool: its queues are unbounded and it never rejects while running";
        }
        return null;
    }

    void seen(List<Thread> threads) {
        names.clear();
        for (Thread t : threads) {
            names.add(t.getName());
            if (contextLoader == null) {
                try {
                    contextLoader = t.getContextClassLoader();
                } catch (SecurityException ignored) {
                    // Keep the scanner's.
                }
            }
        }
    }

    /** Occupies workers and fills the queue up to the pool's limits; sets exhausted. */
    void fill() {
        if (released || skip != null) {
            return;
        }
        if (Pools.isShutdown(executor)) {
            state = "shut down";
            exhausted = false;
            return;
        }
        Thread me = Thread.currentThread();
        ClassLoader previous = me.getContextClassLoader();
        if (contextLoader != null) {
            me.setContextClassLoader(contextLoader);
        }
        try {
            switch (kind) {
                case TPE:
                    fillThreadPool((ThreadPoolExecutor) executor);
                    break;
                case FJP:
                    fillForkJoin((ForkJoinPool) executor);
                    break;
                default:
                    fillGeneric((Executor) executor);
            }
        } finally {
            me.setContextClassLoader(previous);
        }
    }

    private void fillThreadPool(ThreadPoolExecutor tpe) {
        java.util.concurrent.BlockingQueue<Runnable> q = tpe.getQueue();
        boolean scheduled = tpe instanceof ScheduledThreadPoolExecutor;
        long capacity = (long) q.remainingCapacity() + q.size();
        queueUnbounded = scheduled || capacity > MAX_FILL;
        queueCapacity = queueUnbounded ? -1 : (int) capacity;
        int max = effectiveMaxThreads(tpe);
        maxThreads = max;
        if (max > MAX_OCCUPY) {
            state = "not exhausted: up to " + max + " threads, a new task gets a new thread";
            if (!warnedUnable) {
                warnedUnable = true;
                warning = identity + " may start " + max + " threads (no bound worth occupying): left alone";
            }
            exhausted = false;
            return;
        }
        long deadline = System.nanoTime() + FILL_BUDGET_NANOS;
        int rounds = 0;
        int limit = max * 2 + queueCapacity + 16;
        if (!queueUnbounded) {
            // Passes until the pool stays full for a moment: a worker that was starting
            // or finishing a task of its own takes a placeholder from the queue late.
            int stable = 0;
            while (!released && stable < 2 && System.nanoTime() < deadline) {
                int added = fillBoundedPass(tpe, q, max, limit);
                if (rejectionSeen) {
                    break;
                }
                awaitHandedOver(countQueued(q));
                if (added == 0 && q.remainingCapacity() == 0 && tpe.getPoolSize() >= max) {
                    stable++;
                } else {
                    stable = 0;
                }
                if (stable < 2) {
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
                }
            }
            queueFilled = countQueued(q);
            awaitHandedOver(queueFilled);
            exhausted = (q.remainingCapacity() == 0 && tpe.getPoolSize() >= max) || rejectionSeen;
            state = exhausted ? "saturated" : "occupying";
        } else {
            // Unbounded queue: occupy the workers, one blocker at a time; a blocker no
            // worker picks up at once is taken back, so the queue is left untouched.
            while (!released && rounds++ < limit && System.nanoTime() < deadline && running.get() < max) {
                Blocker b = new Blocker(this);
                blockers.add(b);
                Object element = b;
                try {
                    if (scheduled) {
                        element = ((ScheduledThreadPoolExecutor) tpe).schedule(b, 0, TimeUnit.NANOSECONDS);
                        b.task = element;
                        futures.add(element);
                    } else {
                        tpe.execute(b);
                    }
                } catch (RejectedExecutionException e) {
                    blockers.remove(b);
                    rejectionSeen = true;
                    break;
                }
                if (b.ranOnCaller) {
                    blockers.remove(b);
                    break;
                }
                if (!b.awaitStart(TimeUnit.MILLISECONDS.toNanos(50))) {
                    // Every worker is busy with tasks of the application: take it back.
                    b.abandon();
                    removeFromQueue(tpe, element);
                    blockers.remove(b);
                    futures.remove(element);
                    break;
                }
            }
            queueFilled = 0;
            exhausted = tpe.getPoolSize() >= max && tpe.getActiveCount() >= tpe.getPoolSize();
            state = exhausted ? "workers occupied, queue unbounded (left untouched)" : "occupying";
        }
        pruneFinished();
    }

    /** One pass over a bounded pool: core workers, queue, extra workers; returns blockers added. */
    private int fillBoundedPass(ThreadPoolExecutor tpe, java.util.concurrent.BlockingQueue<Runnable> q, int max,
                                int limit) {
        int added = 0;
        while (!released && added < limit) {
            if (tpe.getPoolSize() < tpe.getCorePoolSize()) {
                if (!executeBlocker(tpe)) {
                    break;
                }
                added++;
                continue;
            }
            Blocker b = new Blocker(this);
            blockers.add(b);
            boolean offered;
            try {
                offered = q.offer(b);
            } catch (RuntimeException e) {
                offered = false;
            }
            if (offered) {
                added++;
                continue;
            }
            blockers.remove(b);
            if (tpe.getPoolSize() < max) {
                if (!executeBlocker(tpe)) {
                    break;
                }
                added++;
                continue;
            }
            break;
        }
        return added;
    }

    /**
     * Waits (at most 200 ms) until every blocker handed to a worker (all but the
     * {@code inQueue} still queued) runs: a new worker thread takes a moment to start.
     */
    private void awaitHandedOver(int inQueue) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
        while (System.nanoTime() < deadline && !released) {
            int waiting = 0;
            for (Blocker b : blockers) {
                if (b.state == Blocker.QUEUED) {
                    waiting++;
                }
            }
            if (waiting <= inQueue) {
                return;
            }
            LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(500));
        }
    }

    /** Submits a blocker through execute; false when the pool refused it (or ran it on us). */
    private boolean executeBlocker(ThreadPoolExecutor tpe) {
        Blocker b = new Blocker(this);
        blockers.add(b);
        try {
            tpe.execute(b);
        } catch (RejectedExecutionException e) {
            blockers.remove(b);
            rejectionSeen = true;
            return false;
        } catch (RuntimeException e) {
            blockers.remove(b);
            return false;
        }
        if (b.ranOnCaller) {
            blockers.remove(b);
            rejectionSeen = true;
            return false;
        }
        return true;
    }

    private void fillForkJoin(ForkJoinPool pool) {
        int target = pool.getParallelism();
        maxThreads = target;
        queueUnbounded = true;
        int notStarted = 0;
        for (Blocker b : blockers) {
            if (b.state == Blocker.QUEUED) {
                notStarted++;
            }
        }
        int toAdd = target - running.get() - notStarted;
        for (int i = 0; i < toAdd && !released; i++) {
            Blocker b = new Blocker(this);
            ForkJoinTask<?> task = ForkJoinTask.adapt(b);
            b.task = task;
            blockers.add(b);
            try {
                pool.execute(task);
            } catch (RejectedExecutionException e) {
                blockers.remove(b);
                break;
            }
        }
        // Idle workers pick the blockers up at once; busy ones when their task ends.
        long wait = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
        while (running.get() < target && System.nanoTime() < wait && !released) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
        }
        queueFilled = 0;
        exhausted = running.get() >= target;
        state = exhausted ? "workers occupied, queue unbounded (left untouched)" : "occupying";
        pruneFinished();
    }

    private void fillGeneric(Executor ex) {
        queueUnbounded = false;
        queueCapacity = -1;
        if (waitingStart != null) {
            if (waitingStart.state == Blocker.QUEUED) {
                // Every worker is still busy: the pool stays exhausted.
                exhausted = true;
                state = "saturated (a task of ours waits for a worker)";
                return;
            }
            waitingStart = null;
        }
        long deadline = System.nanoTime() + FILL_BUDGET_NANOS;
        int perScan = names.size() + 8;
        int added = 0;
        boolean full = false;
        while (!released && added < perScan && blockers.size() < MAX_GENERIC && System.nanoTime() < deadline) {
            Blocker b = new Blocker(this);
            blockers.add(b);
            added++;
            try {
                ex.execute(b);
            } catch (RejectedExecutionException e) {
                blockers.remove(b);
                rejectionSeen = true;
                full = true;
                break;
            } catch (RuntimeException e) {
                blockers.remove(b);
                break;
            }
            if (b.ranOnCaller) {
                blockers.remove(b);
                rejectionSeen = true;
                full = true;
                break;
            }
            if (!b.awaitStart(TimeUnit.MILLISECONDS.toNanos(100))) {
                waitingStart = b;
                full = true;
                break;
            }
        }
        maxThreads = running.get();
        exhausted = full;
        if (full) {
            state = "saturated";
        } else if (blockers.size() >= MAX_GENERIC) {
            state = "not exhausted: " + MAX_GENERIC + " workers occupied and it still starts more";
            if (!warnedUnable) {
                warnedUnable = true;
                warning = identity + " ran " + MAX_GENERIC + " blocking tasks at once and still accepts more:"
                        + " it is not exhausted";
            }
        } else {
            state = "occupying";
        }
        if (fault.reject && full && !rejectionSeen && !warnedUnable) {
            warnedUnable = true;
            warning = identity + " queues tasks when its workers are busy instead of rejecting them:"
                    + " new tasks wait (mode = \"reject\" cannot be honoured)";
        }
        pruneFinished();
    }

    /** Drops blockers that ended (interrupted, pool shut down) so they can be replaced. */
    private void pruneFinished() {
        for (int i = blockers.size() - 1; i >= 0; i--) {
            Blocker b = blockers.get(i);
            if (b.state == Blocker.DONE) {
                blockers.remove(i);
                if (b.task != null) {
                    futures.remove(b.task);
                }
            }
        }
    }

    private int countQueued(java.util.concurrent.BlockingQueue<Runnable> q) {
        int n = 0;
        for (Object e : q) {
            if (e instanceof Blocker && ((Blocker) e).target == this) {
                n++;
            }
        }
        return n;
    }

    private void removeFromQueue(ThreadPoolExecutor tpe, Object element) {
        try {
            if (element instanceof Runnable) {
                tpe.remove((Runnable) element);
            }
            if (element instanceof java.util.concurrent.Future) {
                ((java.util.concurrent.Future<?>) element).cancel(false);
            }
        } catch (RuntimeException ignored) {
            // Best effort: a released blocker returns at once if it runs.
        }
    }

    /** Ends every blocker now; takes our placeholders out of the queue first. */
    void release() {
        released = true;
        try {
            if (kind == TPE) {
                ThreadPoolExecutor tpe = (ThreadPoolExecutor) executor;
                java.util.concurrent.BlockingQueue<Runnable> q = tpe.getQueue();
                List<Object> ours = new ArrayList<>();
                for (Object e : q) {
                    if (e instanceof Blocker && ((Blocker) e).target == this) {
                        ours.add(e);
                    }
                }
                for (Object e : ours) {
                    q.remove(e);
                }
                for (Object f : futures) {
                    removeFromQueue(tpe, f);
                }
            } else if (kind == FJP) {
                for (Blocker b : blockers) {
                    if (b.task instanceof ForkJoinTask && b.state == Blocker.QUEUED) {
                        ((ForkJoinTask<?>) b.task).cancel(false);
                    }
                }
            }
        } catch (RuntimeException ignored) {
            // Queued blockers that stay return at once when they run.
        }
        for (Blocker b : blockers) {
            Thread t = b.thread;
            if (t != null) {
                LockSupport.unpark(t);
            }
        }
        state = "released";
        exhausted = false;
    }

    void awaitReleased(long deadline) {
        while (running.get() > 0 && System.nanoTime() < deadline) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
        }
    }

    String threadsGlob() {
        if (poolGlob != null) {
            return poolGlob;
        }
        if (names.isEmpty()) {
            return "";
        }
        String prefix = names.get(0);
        for (String n : names) {
            int i = 0;
            while (i < prefix.length() && i < n.length() && prefix.charAt(i) == n.charAt(i)) {
                i++;
            }
            prefix = prefix.substring(0, i);
        }
        return names.size() == 1 ? names.get(0) : prefix + "*";
    }

    String eventFields() {
        StringBuilder b = new StringBuilder("{");
        b.append("\"executor\":").append(Pools.quote(identity));
        b.append(",\"class\":").append(Pools.quote(executor.getClass().getName()));
        b.append(",\"threads\":").append(Pools.quote(threadsGlob()));
        b.append(",\"occupied\":").append(running.get());
        b.append(",\"queue_filled\":").append(queueFilled);
        appendQueue(b);
        if (rejectionSeen) {
            b.append(",\"rejecting\":true");
        }
        b.append(",\"mode\":").append(Pools.quote(fault.mode));
        return b.append('}').toString();
    }

    private void appendQueue(StringBuilder b) {
        if (kind == GENERIC) {
            b.append(",\"queue\":\"unknown\"");
        } else if (queueUnbounded) {
            b.append(",\"queue\":\"unbounded\"");
        } else {
            b.append(",\"queue\":").append(queueCapacity);
        }
    }

    void describe(StringBuilder b) {
        b.append("{\"class\":").append(Pools.quote(executor.getClass().getName()));
        b.append(",\"identity\":").append(Pools.quote(identity));
        b.append(",\"threads\":").append(Pools.quote(threadsGlob()));
        b.append(",\"sample\":[");
        for (int i = 0; i < Math.min(3, names.size()); i++) {
            if (i > 0) {
                b.append(',');
            }
            b.append(Pools.quote(names.get(i)));
        }
        b.append(']');
        b.append(",\"occupied\":").append(running.get());
        b.append(",\"queue_filled\":").append(queueFilled);
        appendQueue(b);
        if (maxThreads >= 0) {
            b.append(",\"max_threads\":").append(maxThreads);
        }
        b.append(",\"state\":").append(Pools.quote(skip != null ? "left alone: " + skip : state));
        b.append('}');
    }
}
