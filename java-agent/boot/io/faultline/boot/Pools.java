package io.faultline.boot;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Thread-pool exhaustion faults ({@code kind = "pool"}). One instance per armed pool fault,
 * created by the native agent through {@link #define}; the agent then calls
 * {@link #remove()}, {@link #calls()}, {@link #injected()} and {@link #describe()}.
 *
 * <p>The parts: {@link PoolScanner} runs the scans on the {@code faultline-pools} thread;
 * {@link ExecutorDiscovery} finds the executors a fault matches from their worker threads;
 * {@link Saturation} occupies one executor, with {@link Blocker}s; {@link ClassGlob} matches
 * the {@code executor} pattern.
 *
 * <p><b>Counters.</b> {@code calls()}: distinct executors that matched the fault;
 * {@code injected()}: times a pool was brought to exhaustion (one "pool" event each).
 */
final class Pools {
    final int serial;
    final String id;
    private final String poolGlob;
    private final String executorGlob;
    private final boolean subtypes;
    final boolean reject;
    final String mode;

    /** Executors this fault acts on, by identity; guarded by this. */
    private final Map<Object, Saturation> targets = new IdentityHashMap<>();
    /** Events held until the agent has recorded the fault. */
    private final PendingEvents events;
    private volatile boolean removed;
    private volatile boolean scannedOnce;
    private boolean warnedNone;
    private long examined;
    private long exhaustions;

    private Pools(int serial, String id, String poolGlob, String executorGlob, boolean subtypes, String mode) {
        this.serial = serial;
        this.events = new PendingEvents(serial);
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
        PoolScanner.arm(fault);
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
        for (Map.Entry<Object, List<Thread>> e : fault.discover(ExecutorDiscovery.allThreads()).entrySet()) {
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
                int max = Saturation.effectiveMaxThreads((ThreadPoolExecutor) executor);
                out.append(",\"max_threads\":").append(max);
                if (max > Saturation.MAX_OCCUPY) {
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
        String problem = ExecutorDiscovery.problem();
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
        Pools fault = new Pools(serial, id, isBlank(poolGlob) ? null : poolGlob,
                isBlank(executorGlob) ? null : executorGlob, subtypes, mode);
        if (fault.reject) {
            for (Object executor : fault.discover(ExecutorDiscovery.allThreads()).keySet()) {
                String why = Saturation.whyNoReject(executor);
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
        Thread last = PoolScanner.disarm(this);
        List<Saturation> released;
        synchronized (this) {
            removed = true;
            released = new ArrayList<>(targets.values());
            for (Saturation t : released) {
                t.release();
            }
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        for (Saturation t : released) {
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
            for (Saturation t : targets.values()) {
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

    /** One scan: finds new executors, tops up every pool, reports what changed. */
    synchronized void scan(Thread[] threads) {
        if (removed) {
            return;
        }
        Map<Object, List<Thread>> found = discover(threads);
        for (Map.Entry<Object, List<Thread>> e : found.entrySet()) {
            Saturation t = targets.get(e.getKey());
            if (t == null) {
                String why = reject ? Saturation.whyNoReject(e.getKey()) : null;
                t = new Saturation(this, e.getKey(), poolGlob, why);
                targets.put(e.getKey(), t);
                examined++;
                if (why != null) {
                    queue("warning", "{\"message\":" + quote("pool fault matches " + identity(e.getKey()) + ", which "
                            + why + ": mode = \"reject\" cannot be honoured there; the pool is left alone") + "}");
                }
            }
            t.seen(e.getValue());
        }
        for (Saturation t : targets.values()) {
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
    }

    private void queue(String kind, String fields) {
        events.add(kind, fields);
    }

    /**
     * Called by the native agent once it has written this fault's "armed" event: events found
     * before that (the first scan runs inside {@link #define}) follow it, in order.
     */
    void announced() {
        events.announced();
    }

    /** Matching executors, each with its live worker threads. */
    private Map<Object, List<Thread>> discover(Thread[] threads) {
        return ExecutorDiscovery.matching(threads, poolGlob, executorGlob, subtypes);
    }

    private String executorPattern() {
        return executorGlob == null ? null : executorGlob + (subtypes ? "+" : "");
    }

    // ---- helpers shared by the pool classes ----

    static boolean isShutdown(Object executor) {
        try {
            return executor instanceof ExecutorService && ((ExecutorService) executor).isShutdown();
        } catch (Throwable e) {
            return false;
        }
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
}
