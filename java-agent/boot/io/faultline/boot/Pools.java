package io.faultline.boot;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Thread-pool exhaustion faults ({@code kind = "pool"}). One instance per armed pool fault,
 * created by the native agent through {@link #define}; the agent then calls
 * {@link #remove()}, {@link #calls()}, {@link #injected()} and {@link #describe()}.
 *
 * <p><b>Finding executors.</b> The JVM offers no public list of executors, so they are found
 * through their worker threads, enumerated from the root thread group: a
 * {@link ForkJoinWorkerThread} names its pool ({@code getPool()}); for any other thread the
 * task it runs ({@code Thread.target}, or {@code Thread.holder.task} on JDK 19+) is read by
 * reflection and its fields are followed (at most three references deep, {@code this$0}
 * first) to the nearest object that implements {@link Executor}: the
 * {@code ThreadPoolExecutor$Worker} leads to its {@code ThreadPoolExecutor}, Jetty's
 * {@code QueuedThreadPool$Runner} to its pool, a custom executor's worker to its executor.
 * This needs {@code java.lang} and {@code java.util.concurrent} of {@code java.base} open to
 * the hook's module (the boot loader's unnamed module); without that, arming fails with a
 * message that says so. An executor is found once it has a live worker thread: a pool
 * created but never used is found when it starts its first worker (within one rescan).
 *
 * <p><b>Counters.</b> {@code calls()}: distinct executors that matched the fault;
 * {@code injected()}: times a pool was brought to exhaustion (one "pool" event each).
 *
 * <p>All submissions happen on one daemon thread, {@code faultline-pools}, which rescans every
 * 200 ms while a pool fault is armed and ends when the last one is removed. It holds the
 * hook's guard, so no fault fires on it.
 */
final class Pools {
    private static final long SCAN_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
    /** Pools whose maximum size is above this are not occupied: they are effectively unbounded. */
    private static final int MAX_OCCUPY = 1024;
    /** Queues whose capacity is above this are not filled (treated as unbounded). */
    private static final int MAX_FILL = 65_536;
    /** Executor-only pools: at most this many blockers per pool. */
    private static final int MAX_GENERIC = 256;
    /** Per pool and scan, submissions stop after this long. */
    private static final long FILL_BUDGET_NANOS = TimeUnit.MILLISECONDS.toNanos(1000);

    private static final Object LOCK = new Object();
    /** Armed pool faults, guarded by LOCK. */
    private static final List<Pools> ARMED = new ArrayList<>();
    /** The scanner thread, guarded by LOCK; null when none runs. */
    private static Thread scanner;
    /** Bumped to ask for an immediate scan; guarded by LOCK. */
    private static long scanRequests;

    final int serial;
    final String id;
    private final String poolGlob;
    private final String executorGlob;
    private final boolean subtypes;
    private final boolean reject;
    private final String mode;

    /** Executors this fault acts on, by identity; guarded by this. */
    private final Map<Object, Target> targets = new IdentityHashMap<>();
    /** Events waiting until the agent has recorded the fault (see flushEvents); guarded by this. */
    private final List<String[]> pending = new ArrayList<>();
    private volatile boolean removed;
    /** The agent has written the "armed" event; guarded by this. */
    private boolean announced;
    private volatile boolean scannedOnce;
    private boolean warnedNone;
    private long examined;
    private long exhaustions;

    private Pools(int serial, String id, String poolGlob, String executorGlob, boolean subtypes, String mode) {
        this.serial = serial;
        this.id = id;
        this.poolGlob = poolGlob;
        this.executorGlob = executorGlob;
        this.subtypes = subtypes;
        this.mode = mode;
        this.reject = "reject".equals(mode);
    }

    /**
     * Arms a pool fault; called by the native agent. Finds the matching executors now (a
     * {@code reject} fault on pools that never reject is refused here), then lets the
     * scanner occupy them and waits for that (at most 2 s), so the pools are exhausted when
     * arming returns.
     *
     * @throws IllegalArgumentException with a message for the user when the fault cannot work
     */
    static Object define(int serial, String id, String poolGlob, String executorGlob, boolean subtypes, String mode) {
        Pools fault = checked(serial, id, poolGlob, executorGlob, subtypes, mode);
        synchronized (LOCK) {
            ARMED.add(fault);
            scanRequests++;
            if (scanner == null) {
                Thread t = new Thread(rootGroup(), new Runnable() {
                    @Override
                    public void run() {
                        scanLoop();
                    }
                }, "faultline-pools", 0, false);
                t.setDaemon(true);
                t.setContextClassLoader(ClassLoader.getSystemClassLoader());
                scanner = t;
                t.start();
            }
            LOCK.notifyAll();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        while (!fault.scannedOnce && System.nanoTime() < deadline) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(2));
        }
        return fault;
    }

    /**
     * What arming this fault would act on, without arming it: the matching executors found
     * now, as a JSON array (class, identity, worker names, sizes, and whether the fault would
     * occupy the pool or leave it alone). Nothing is submitted and no thread is started.
     *
     * @throws IllegalArgumentException when arming would be refused, with the same message
     */
    static String preview(String id, String poolGlob, String executorGlob, boolean subtypes, String mode) {
        Pools fault = checked(0, id, poolGlob, executorGlob, subtypes, mode);
        StringBuilder out = new StringBuilder("[");
        for (Map.Entry<Object, List<Thread>> e : fault.discover(allThreads()).entrySet()) {
            Object executor = e.getKey();
            if (out.length() > 1) {
                out.append(',');
            }
            out.append("{\"class\":").append(quote(executor.getClass().getName()));
            out.append(",\"identity\":").append(quote(identity(executor)));
            out.append(",\"workers\":").append(e.getValue().size());
            out.append(",\"sample\":[");
            for (int i = 0; i < Math.min(3, e.getValue().size()); i++) {
                out.append(i > 0 ? "," : "").append(quote(e.getValue().get(i).getName()));
            }
            out.append(']');
            String state = fault.reject ? "would be made to reject new tasks" : "would be saturated";
            if (executor instanceof ThreadPoolExecutor) {
                int max = Target.effectiveMaxThreads((ThreadPoolExecutor) executor);
                out.append(",\"max_threads\":").append(max);
                if (max > MAX_OCCUPY) {
                    state = "would be left alone: it may start " + max + " threads (no bound worth occupying)";
                }
            } else if (executor instanceof ForkJoinPool) {
                out.append(",\"max_threads\":").append(((ForkJoinPool) executor).getParallelism());
            }
            // (checked() has refused a reject fault on any pool that cannot reject.)
            out.append(",\"state\":").append(quote(state));
            out.append('}');
        }
        return out.append(']').toString();
    }

    /** A pool fault checked as arming checks it; a reject fault on pools that never reject is refused. */
    private static Pools checked(int serial, String id, String poolGlob, String executorGlob, boolean subtypes,
                                 String mode) {
        if (mode == null || !(mode.equals("saturate") || mode.equals("reject"))) {
            throw new IllegalArgumentException("pool fault '" + id + "': mode must be \"saturate\" or \"reject\", not "
                    + quote(mode));
        }
        if (isBlank(poolGlob) && isBlank(executorGlob)) {
            throw new IllegalArgumentException("pool fault '" + id + "' needs 'pool' (a glob on worker thread names)"
                    + " or 'executor' (a class pattern)");
        }
        String problem = Reach.problem();
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
        Pools fault = new Pools(serial, id, isBlank(poolGlob) ? null : poolGlob,
                isBlank(executorGlob) ? null : executorGlob, subtypes, mode);
        if (fault.reject) {
            for (Object executor : fault.discover(allThreads()).keySet()) {
                String why = Target.whyNoReject(executor);
                if (why != null) {
                    throw new IllegalArgumentException("pool fault '" + id + "': " + identity(executor) + " " + why
                            + ": mode = \"reject\" cannot be honoured; use mode = \"saturate\"");
                }
            }
        }
        return fault;
    }

    /** Executors examined: distinct executors that matched this fault so far. */
    long calls() {
        synchronized (this) {
            return examined;
        }
    }

    /** Exhaustions: times a matched pool was brought to exhaustion (one "pool" event each). */
    long injected() {
        synchronized (this) {
            return exhaustions;
        }
    }

    /**
     * Removes the fault: every blocker ends at once, placeholders still queued are taken out
     * of the queue, and the scanner ends with the last pool fault. Waits (bounded) until the
     * blockers have returned and the scanner has ended.
     */
    void remove() {
        Thread last = null;
        synchronized (LOCK) {
            ARMED.remove(this);
            if (ARMED.isEmpty()) {
                last = scanner;
            }
            LOCK.notifyAll();
        }
        List<Target> released;
        synchronized (this) {
            removed = true;
            released = new ArrayList<>(targets.values());
            for (Target t : released) {
                t.release();
            }
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        for (Target t : released) {
            t.awaitReleased(deadline);
        }
        if (last != null && last != Thread.currentThread()) {
            try {
                last.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The pools found and their state, as a JSON array, for {@code status}. */
    String describe() {
        StringBuilder out = new StringBuilder("[");
        synchronized (this) {
            if (targets.isEmpty()) {
                out.append("{\"state\":").append(quote(scannedOnce ? "no matching executor found yet" : "scanning"))
                        .append(",\"pool\":").append(quote(poolGlob))
                        .append(",\"executor\":").append(quote(executorPattern())).append('}');
            }
            boolean first = true;
            for (Target t : targets.values()) {
                if (!first) {
                    out.append(',');
                }
                first = false;
                t.describe(out);
            }
        }
        return out.append(']').toString();
    }

    // ---- scanning ----

    private static void scanLoop() {
        boolean guard = false;
        try {
            guard = Hook.guardEnter();
        } catch (Throwable ignored) {
            // Natives not bound (cannot happen once the agent runs): go on unguarded.
        }
        try {
            long seen = -1;
            while (true) {
                List<Pools> faults;
                synchronized (LOCK) {
                    if (ARMED.isEmpty()) {
                        if (scanner == Thread.currentThread()) {
                            scanner = null;
                        }
                        return;
                    }
                    seen = scanRequests;
                    faults = new ArrayList<>(ARMED);
                }
                Thread[] threads = allThreads();
                for (Pools f : faults) {
                    try {
                        f.scan(threads);
                    } catch (Throwable e) {
                        // A pool that misbehaves must not stop the scanner.
                    }
                }
                synchronized (LOCK) {
                    long until = System.nanoTime() + SCAN_NANOS;
                    while (!ARMED.isEmpty() && scanRequests == seen) {
                        long left = until - System.nanoTime();
                        if (left <= 0) {
                            break;
                        }
                        try {
                            TimeUnit.NANOSECONDS.timedWait(LOCK, left);
                        } catch (InterruptedException e) {
                            // Only ends when no pool fault is left.
                        }
                    }
                }
            }
        } finally {
            if (guard) {
                Hook.guardExit();
            }
            synchronized (LOCK) {
                if (scanner == Thread.currentThread()) {
                    scanner = null;
                }
            }
        }
    }

    /** One scan: finds new executors, tops up every pool, reports what changed. */
    private synchronized void scan(Thread[] threads) {
        if (removed) {
            return;
        }
        Map<Object, List<Thread>> found = discover(threads);
        for (Map.Entry<Object, List<Thread>> e : found.entrySet()) {
            Target t = targets.get(e.getKey());
            if (t == null) {
                String why = reject ? Target.whyNoReject(e.getKey()) : null;
                t = new Target(this, e.getKey(), poolGlob, why);
                targets.put(e.getKey(), t);
                examined++;
                if (why != null) {
                    queue("warning", "{\"message\":" + quote("pool fault matches " + identity(e.getKey()) + ", which "
                            + why + ": mode = \"reject\" cannot be honoured there; the pool is left alone") + "}");
                }
            }
            t.seen(e.getValue());
        }
        for (Target t : targets.values()) {
            boolean was = t.exhausted;
            t.fill();
            if (t.exhausted && !was) {
                exhaustions++;
                queue("pool", t.eventFields());
            } else if (t.warning != null) {
                queue("warning", "{\"message\":" + quote(t.warning) + "}");
            }
            t.warning = null;
        }
        if (targets.isEmpty() && !warnedNone) {
            warnedNone = true;
            queue("warning", "{\"message\":" + quote("pool fault matches no executor yet (pool " + quote(poolGlob)
                    + ", executor " + quote(executorPattern()) + "); it stays armed and applies to pools that"
                    + " appear later") + "}");
        }
        scannedOnce = true;
        flushEvents();
    }

    private void queue(String kind, String fields) {
        pending.add(new String[] {kind, fields});
    }

    /**
     * Called by the native agent once it has written this fault's "armed" event: events found
     * before that (the first scan runs inside {@link #define}) follow it, in order.
     */
    void announced() {
        synchronized (this) {
            announced = true;
            flushEvents();
        }
    }

    /** Hands the queued events to the agent, once it has announced the fault; guarded by this. */
    private void flushEvents() {
        if (!announced || pending.isEmpty()) {
            return;
        }
        for (String[] e : pending) {
            try {
                Hook.event(serial, e[0], e[1]);
            } catch (Throwable ignored) {
                // Events are best effort.
            }
        }
        pending.clear();
    }

    /** Matching executors, each with its live worker threads. */
    private Map<Object, List<Thread>> discover(Thread[] threads) {
        Map<Object, List<Thread>> out = new IdentityHashMap<>();
        for (Thread t : threads) {
            if (t == null || t.getName().startsWith("faultline-") || !t.isAlive()) {
                continue;
            }
            if (poolGlob != null && !Fault.Glob.matches(poolGlob, t.getName())) {
                continue;
            }
            Object executor = Reach.executorOf(t);
            if (executor == null || executor instanceof Pools) {
                continue;
            }
            if (executorGlob != null && !classMatches(executor.getClass())) {
                continue;
            }
            if (isShutdown(executor)) {
                continue;
            }
            List<Thread> list = out.get(executor);
            if (list == null) {
                list = new ArrayList<>();
                out.put(executor, list);
            }
            list.add(t);
        }
        return out;
    }

    private String executorPattern() {
        return executorGlob == null ? null : executorGlob + (subtypes ? "+" : "");
    }

    private boolean classMatches(Class<?> type) {
        if (!subtypes) {
            return ClassGlob.matches(executorGlob, type.getName());
        }
        ArrayDeque<Class<?>> todo = new ArrayDeque<>();
        todo.add(type);
        java.util.Set<Class<?>> seen = java.util.Collections.newSetFromMap(new IdentityHashMap<Class<?>, Boolean>());
        while (!todo.isEmpty()) {
            Class<?> c = todo.poll();
            if (c == null || !seen.add(c)) {
                continue;
            }
            if (ClassGlob.matches(executorGlob, c.getName())) {
                return true;
            }
            if (c.getSuperclass() != null) {
                todo.add(c.getSuperclass());
            }
            for (Class<?> i : c.getInterfaces()) {
                todo.add(i);
            }
        }
        return false;
    }

    static boolean isShutdown(Object executor) {
        try {
            return executor instanceof ExecutorService && ((ExecutorService) executor).isShutdown();
        } catch (Throwable e) {
            return false;
        }
    }

    static Thread[] allThreads() {
        ThreadGroup root = rootGroup();
        Thread[] threads = new Thread[Math.max(16, root.activeCount() * 2 + 16)];
        int n = root.enumerate(threads, true);
        while (n == threads.length) {
            threads = new Thread[threads.length * 2];
            n = root.enumerate(threads, true);
        }
        Thread[] out = new Thread[n];
        System.arraycopy(threads, 0, out, 0, n);
        return out;
    }

    private static ThreadGroup rootGroup() {
        ThreadGroup g = Thread.currentThread().getThreadGroup();
        try {
            while (g.getParent() != null) {
                g = g.getParent();
            }
        } catch (SecurityException e) {
            // Stay at the highest group we may see.
        }
        return g;
    }

    static String identity(Object o) {
        return o.getClass().getName() + "@" + Integer.toHexString(System.identityHashCode(o));
    }

    private static boolean isBlank(String s) {
        return s == null || s.trim().isEmpty();
    }

    static String quote(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': b.append("\\\""); break;
                case '\\': b.append("\\\\"); break;
                case '\n': b.append("\\n"); break;
                case '\r': b.append("\\r"); break;
                case '\t': b.append("\\t"); break;
                default:
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
            }
        }
        return b.append('"').toString();
    }

    // ---- one executor ----

    /** One executor a fault acts on: its blockers, placeholders and state. Guarded by the fault. */
    static final class Target {
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

        Target(Pools fault, Object executor, String poolGlob, String skip) {
            this.fault = fault;
            this.executor = executor;
            this.identity = identity(executor);
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
            if (isShutdown(executor)) {
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
            b.append("\"executor\":").append(quote(identity));
            b.append(",\"class\":").append(quote(executor.getClass().getName()));
            b.append(",\"threads\":").append(quote(threadsGlob()));
            b.append(",\"occupied\":").append(running.get());
            b.append(",\"queue_filled\":").append(queueFilled);
            appendQueue(b);
            if (rejectionSeen) {
                b.append(",\"rejecting\":true");
            }
            b.append(",\"mode\":").append(quote(fault.mode));
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
            b.append("{\"class\":").append(quote(executor.getClass().getName()));
            b.append(",\"identity\":").append(quote(identity));
            b.append(",\"threads\":").append(quote(threadsGlob()));
            b.append(",\"sample\":[");
            for (int i = 0; i < Math.min(3, names.size()); i++) {
                if (i > 0) {
                    b.append(',');
                }
                b.append(quote(names.get(i)));
            }
            b.append(']');
            b.append(",\"occupied\":").append(running.get());
            b.append(",\"queue_filled\":").append(queueFilled);
            appendQueue(b);
            if (maxThreads >= 0) {
                b.append(",\"max_threads\":").append(maxThreads);
            }
            b.append(",\"state\":").append(quote(skip != null ? "left alone: " + skip : state));
            b.append('}');
        }
    }

    /**
     * A task that holds its worker until the fault is released, the pool shuts down or the
     * worker is interrupted (checked at least every 100 ms). It returns at once when it runs
     * on the thread that submitted it (a caller-runs policy) or after the release.
     */
    static final class Blocker implements Runnable, Comparable<Object> {
        static final int QUEUED = 0;
        static final int RUNNING = 1;
        static final int DONE = 2;
        private static final long CHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

        final Target target;
        final Thread submitter = Thread.currentThread();
        volatile int state = QUEUED;
        volatile Thread thread;
        volatile boolean ranOnCaller;
        volatile boolean abandoned;
        /** What the pool queued for this blocker when it wraps it (a ForkJoinTask, a scheduled future). */
        Object task;

        Blocker(Target target) {
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
            if (target.released || abandoned || isShutdown(target.executor)) {
                state = DONE;
                return;
            }
            thread = me;
            target.running.incrementAndGet();
            state = RUNNING;
            try {
                while (!target.released && !me.isInterrupted() && !isShutdown(target.executor)) {
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

    // ---- reaching the executor of a thread ----

    /** Reflection from a worker thread to its executor. */
    static final class Reach {
        private static volatile Field target;
        private static volatile Field holder;
        private static volatile Field holderTask;
        /** Null once the fields are reachable; checked again while not (the agent may open them later). */
        private static volatile String problem = "not checked yet";
        private static final int MAX_DEPTH = 3;
        private static final int MAX_VISITED = 64;
        /** Executor per thread (a thread's task never changes); a NONE marker when none. */
        private static final Map<Thread, Object> CACHE = new WeakHashMap<>();
        private static final Object NONE = new Object();

        /** Why executors cannot be reached from their threads, or null when they can. */
        static synchronized String problem() {
            if (problem == null) {
                return null;
            }
            Module hook = Pools.class.getModule();
            Module base = Object.class.getModule();
            if (!base.isOpen("java.lang", hook) || !base.isOpen("java.util.concurrent", hook)) {
                problem = "pool faults need java.base's packages java.lang and java.util.concurrent open to faultline's"
                        + " hook (" + hook + ") to find the executor of each worker thread; this agent did not open"
                        + " them. Start the JVM with --add-opens java.base/java.lang=ALL-UNNAMED"
                        + " --add-opens java.base/java.util.concurrent=ALL-UNNAMED, or use an agent that opens them";
                return problem;
            }
            try {
                try {
                    Field t = Thread.class.getDeclaredField("target");
                    t.setAccessible(true);
                    target = t;
                } catch (NoSuchFieldException e) {
                    Field h = Thread.class.getDeclaredField("holder");
                    h.setAccessible(true);
                    Field task = h.getType().getDeclaredField("task");
                    task.setAccessible(true);
                    holderTask = task;
                    holder = h;
                }
                problem = null;
            } catch (Throwable e) {
                problem = "pool faults cannot read the task of a thread on this JVM ("
                        + System.getProperty("java.version") + "): " + e;
            }
            return problem;
        }

        /** The executor whose worker {@code t} is, or null. */
        static Object executorOf(Thread t) {
            if (t instanceof ForkJoinWorkerThread) {
                return ((ForkJoinWorkerThread) t).getPool();
            }
            if (problem != null) {
                return null;
            }
            synchronized (CACHE) {
                Object cached = CACHE.get(t);
                if (cached != null) {
                    return cached == NONE ? null : ((java.lang.ref.WeakReference<?>) cached).get();
                }
            }
            Object found = search(t);
            synchronized (CACHE) {
                CACHE.put(t, found == null ? NONE : new java.lang.ref.WeakReference<Object>(found));
            }
            return found;
        }

        private static Object search(Thread t) {
            ArrayDeque<Object> todo = new ArrayDeque<>();
            ArrayDeque<Integer> depths = new ArrayDeque<>();
            Map<Object, Boolean> seen = new IdentityHashMap<>();
            Object task = task(t);
            if (task != null) {
                todo.add(task);
                depths.add(0);
            }
            if (t.getClass() != Thread.class) {
                // A worker thread class of its own may hold its executor (this$0, a field).
                todo.add(t);
                depths.add(0);
            }
            while (!todo.isEmpty() && seen.size() < MAX_VISITED) {
                Object o = todo.poll();
                int depth = depths.poll();
                if (o == null || seen.put(o, Boolean.TRUE) != null) {
                    continue;
                }
                if (o instanceof Executor && !(o instanceof Thread)) {
                    return o;
                }
                if (depth >= MAX_DEPTH) {
                    continue;
                }
                for (Field f : FIELDS.get(o.getClass())) {
                    Object v;
                    try {
                        v = f.get(o);
                    } catch (Throwable e) {
                        continue;
                    }
                    if (v != null && !skipValue(v)) {
                        todo.add(v);
                        depths.add(depth + 1);
                    }
                }
            }
            return null;
        }

        private static Object task(Thread t) {
            try {
                Field direct = target;
                if (direct != null) {
                    return direct.get(t);
                }
                Field h = holder;
                if (h != null) {
                    Object fields = h.get(t);
                    return fields == null ? null : holderTask.get(fields);
                }
            } catch (Throwable e) {
                // Unreadable: no executor.
            }
            return null;
        }

        private static boolean skipValue(Object v) {
            return v instanceof String || v instanceof Number || v instanceof Boolean || v instanceof Character
                    || v instanceof Class || v instanceof ClassLoader || v instanceof Thread
                    || v instanceof ThreadGroup || v instanceof Module || v.getClass().isArray();
        }

        /** Instance reference fields worth following, made accessible; this$0 first. */
        private static final ClassValue<Field[]> FIELDS = new ClassValue<Field[]>() {
            @Override
            protected Field[] computeValue(Class<?> type) {
                List<Field> outer = new ArrayList<>();
                List<Field> rest = new ArrayList<>();
                for (Class<?> c = type; c != null && c != Object.class; c = c.getSuperclass()) {
                    String pkg = c.getName();
                    if (c == Thread.class || (isPlatform(pkg) && !pkg.startsWith("java.util.concurrent.")
                            || pkg.startsWith("java.util.concurrent.locks.") || pkg.startsWith("java.util.concurrent.atomic."))) {
                        continue;
                    }
                    Field[] declared;
                    try {
                        declared = c.getDeclaredFields();
                    } catch (Throwable e) {
                        continue;
                    }
                    for (Field f : declared) {
                        if (Modifier.isStatic(f.getModifiers()) || f.getType().isPrimitive()) {
                            continue;
                        }
                        try {
                            f.setAccessible(true);
                        } catch (Throwable e) {
                            continue;
                        }
                        if (f.getName().startsWith("this$")) {
                            outer.add(f);
                        } else {
                            rest.add(f);
                        }
                    }
                }
                outer.addAll(rest);
                return outer.toArray(new Field[0]);
            }
        };

        private static boolean isPlatform(String name) {
            return name.startsWith("java.") || name.startsWith("javax.") || name.startsWith("jdk.")
                    || name.startsWith("sun.") || name.startsWith("com.sun.");
        }
    }

    /** Class patterns of scenarios: '*' within a package segment, '**' whole segments, '?' one character. */
    static final class ClassGlob {
        static boolean matches(String pattern, String className) {
            return segments(pattern.split("\\.", -1), 0, className.split("\\.", -1), 0);
        }

        private static boolean segments(String[] p, int pi, String[] n, int ni) {
            if (pi == p.length) {
                return ni == n.length;
            }
            if (p[pi].equals("**")) {
                if (pi == p.length - 1) {
                    return ni < n.length;
                }
                for (int skip = ni; skip <= n.length; skip++) {
                    if (segments(p, pi + 1, n, skip)) {
                        return true;
                    }
                }
                return false;
            }
            return ni < n.length && Fault.Glob.matches(p[pi], n[ni]) && segments(p, pi + 1, n, ni + 1);
        }
    }
}
