package io.faultline.boot;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinWorkerThread;

/**
 * Finding the executors a pool fault matches, from the live worker threads.
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
 */
final class ExecutorDiscovery {
    private ExecutorDiscovery() {
    }

    /**
     * Executors matching a pool fault's patterns ({@code poolGlob} on worker thread names,
     * {@code executorGlob} on the executor's class, or its supertypes with {@code subtypes};
     * null matches all), each with its live worker threads.
     */
    static Map<Object, List<Thread>> matching(Thread[] threads, String poolGlob, String executorGlob,
                                              boolean subtypes) {
        Map<Object, List<Thread>> out = new IdentityHashMap<>();
        for (Thread t : threads) {
            if (t == null || t.getName().startsWith("faultline-") || !t.isAlive()) {
                continue;
            }
            if (poolGlob != null && !Fault.Glob.matches(poolGlob, t.getName())) {
                continue;
            }
            Object executor = executorOf(t);
            if (executor == null || executor instanceof Pools) {
                continue;
            }
            if (executorGlob != null && !ClassGlob.matches(executorGlob, executor.getClass(), subtypes)) {
                continue;
            }
            if (Pools.isShutdown(executor)) {
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

    /** Every live thread, enumerated from the root thread group. */
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

    /** The root thread group (the highest one this code may see). */
    static ThreadGroup rootGroup() {
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

    // ---- reaching the executor of a thread (reflection) ----

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
