package io.faultline.boot;

import java.lang.reflect.Method;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A failure mode by name (jdbc, http-server, dns...): what one technology's calls look like
 * to the hook. The agent hooks the methods the preset names (see the model's catalogue) at
 * entry, at exit and at a thrown exception; this class tells which of them a site is (its
 * role, from the method's name and descriptor), reads the call (the SQL, the request path,
 * the host), compares it with the fault's keys, and acts the way the technology fails.
 *
 * <p>Calls a library makes inside another of the same preset (a pool's proxy statement
 * calling the driver's, {@code getByName} calling {@code getAllByName}) are one call: a
 * per-thread depth counts the acting calls in progress, and only the outermost is offered
 * to the fault. The thrown-exception hook keeps the count right when a call fails.
 *
 * <p>One instance per fault; built by the agent through {@link #define}, which refuses bad
 * keys (a regular expression that does not compile) before anything is armed.
 */
abstract class Preset {
    /** A site this preset does not act on or read (a method it hooks by a broad pattern). */
    static final int NONE = 0;

    final String name;
    /** The fault's status for respond faults, else 0. */
    final int status;
    /** A symbolic {@code throw} (such as {@code timeout}), mapped per library; else null. */
    final String throwName;
    /** The kind of the fault it belongs to ({@link Fault#LATENCY}...), set once by that fault. */
    int faultKind = -1;

    /** Role per site, computed on first use from the site's method; 0 = not computed. */
    private volatile int[] roles = new int[0];
    private final ThreadLocal<Depth> depth = new ThreadLocal<Depth>() {
        @Override
        protected Depth initialValue() {
            return new Depth();
        }
    };

    Preset(String name, int status, String throwName) {
        this.name = name;
        this.status = status;
        this.throwName = throwName;
    }

    /**
     * The preset {@code name} with its keys ({@code key, value, key, value...}); called by the
     * native agent.
     *
     * @throws IllegalArgumentException naming the key, when a value cannot be used
     */
    static Preset define(String name, String[] keyValues, int status, String throwName) {
        Keys keys = new Keys(keyValues);
        switch (name) {
            case "jdbc":
                return new JdbcPreset(keys, status, throwName);
            case "jdbc-connect":
                return new JdbcConnectPreset(keys, status, throwName);
            case "http-server":
                return new HttpServerPreset(keys, status, throwName);
            case "http-client":
                return new HttpClientPreset(keys, status, throwName);
            case "dns":
                return new NetworkPreset.Dns(keys, status, throwName);
            case "socket":
                return new NetworkPreset.Sockets(keys, status, throwName);
            case "grpc":
                return new GrpcPreset(keys, status, throwName);
            case "jms":
                return new JmsPreset(keys, status, throwName);
            default:
                throw new IllegalArgumentException("this agent has no preset named '" + name + "'");
        }
    }

    // ------------------------------------------------------------------ what each preset says

    /** The role of a hooked method, from its name and JVM descriptor; {@link #NONE} if none. */
    abstract int roleOf(String method, String descriptor);

    /** Whether a role can act (fire the fault); the others only read calls (observers). */
    boolean acts(int role) {
        return true;
    }

    /**
     * Whether the preset's calls made inside an acting call of this role are part of it (a
     * pool's statement calling the driver's): true for most. A role whose calls run the
     * application's own code (a message listener) says false: the calls made inside it are
     * offered as calls of their own.
     */
    boolean nests(int role) {
        return true;
    }

    /**
     * Whether an acting call matches the fault's keys: what it matched, as events and
     * reports show it (the SQL, the URL), or null when it does not match.
     */
    abstract String match(int role, Call call) throws Exception;

    /** An observer's entry (record what the call was given). */
    void observeEntry(int role, Call call, Depth depth) {}

    /** An observer's exit with the call's result (record what it returned). */
    void observeExit(int role, Object result, Depth depth) {}

    /** An observer's call ended by an exception. */
    void observeThrown(int role, Depth depth) {}

    /**
     * The exception for an exception fault with no class of its own ({@code throwName}), or a
     * message for the fault's class; {@code fallback} builds the fault's own class.
     */
    Throwable exception(int role, Call call, String matched, Fault.Thrower own) throws Exception {
        return own.build(null);
    }

    /**
     * The caller's own timeout for this call in nanoseconds (a socket's connect timeout, a
     * client's request timeout), or 0 when it has none; a latency or hang longer than it ends
     * at the timeout with {@link #timeout}.
     */
    long timeoutNanos(int role, Call call) throws Exception {
        return 0L;
    }

    /**
     * The exception the caller's own timeout raises; null when the call goes on past its
     * deadline and the library itself fails it (an asynchronous call, failed through its
     * listener).
     */
    Throwable timeout(int role, Call call) {
        return new java.net.SocketTimeoutException("timed out");
    }

    /**
     * What a call whose latency its own timeout ended returns at once, as the library does
     * when its timeout passes without an answer (a receive returning null); {@link Hook#PROCEED}
     * when the call fails with {@link #timeout} or goes on. Asked before {@link #timeout}.
     */
    Object timedOutValue(int role, Call call) {
        return Hook.PROCEED;
    }

    /**
     * Answers the call with the fault's status (respond faults): the value for the hooked
     * method to return (null for void), having written the answer.
     *
     * @throws Exception when this call cannot be answered (the fault then lets it pass)
     */
    Object respond(int role, Call call) throws Exception {
        throw new UnsupportedOperationException(name + " cannot answer here");
    }

    // ------------------------------------------------------------------ the hook's side

    /**
     * One call at a site of this preset (see the class comment). Returns
     * {@link Hook#PROCEED} or the value the method returns at once (respond faults).
     */
    final Object call(Fault fault, int site, boolean guardHeld, boolean exit, long a0, Object o0, long a1, Object o1,
                      Object self, Object[] all, Object result, boolean mayReturn) {
        int role = roleAt(site);
        if (role == NONE) {
            return Hook.PROCEED;
        }
        boolean took = false;
        if (!guardHeld) {
            // Faultline code already runs on this thread (a read of our own): not a call of
            // the application's, at entry as at exit.
            if (!Hook.guardEnter()) {
                return Hook.PROCEED;
            }
            took = true;
        }
        try {
            Depth d = depth.get();
            if (exit) {
                if (!acts(role)) {
                    observeExit(role, result, d);
                } else if (nests(role)) {
                    d.leave();
                } else {
                    d.resume();
                }
                return Hook.PROCEED;
            }
            Call call = new Call(site, a0, o0, a1, o1, self, all);
            if (!acts(role)) {
                observeEntry(role, call, d);
                return Hook.PROCEED;
            }
            boolean nests = nests(role);
            if (nests && d.acting > 0) {
                d.acting++;
                return Hook.PROCEED;
            }
            Object r = Hook.PROCEED;
            String matched = matchSafely(fault, role, call);
            if (matched != null) {
                r = fault.onPresetCall(site, this, role, call, matched, mayReturn);
            }
            if (r == Hook.PROCEED) {
                if (nests) {
                    d.acting++;
                } else {
                    d.suspend();
                }
            }
            return r;
        } finally {
            if (took) {
                Hook.guardExit();
            }
        }
    }

    /** The call at {@code site} ended by an exception. */
    final void thrown(int site) {
        int role = roleAt(site);
        if (role == NONE || !Hook.guardEnter()) {
            return;
        }
        try {
            Depth d = depth.get();
            if (!acts(role)) {
                observeThrown(role, d);
            } else if (nests(role)) {
                d.leave();
            } else {
                d.resume();
            }
        } finally {
            Hook.guardExit();
        }
    }

    private String matchSafely(Fault fault, int role, Call call) {
        try {
            return match(role, call);
        } catch (Throwable e) {
            fault.warnOnce("the " + name + " preset could not read a call, which it lets pass: " + e);
            return null;
        }
    }

    private int roleAt(int site) {
        int[] r = roles;
        if (site < r.length && r[site] != 0) {
            return r[site] - 1;
        }
        String[] names = Hook.names;
        String[] descriptors = Hook.descriptors;
        if (site >= names.length || site >= descriptors.length || names[site] == null || descriptors[site] == null) {
            return NONE; // not described yet: old code, while a retransformation installs the new
        }
        int role = roleOf(names[site], descriptors[site]);
        synchronized (this) {
            int[] now = roles;
            if (site >= now.length) {
                int[] bigger = new int[Math.max(site + 1, now.length * 2)];
                System.arraycopy(now, 0, bigger, 0, now.length);
                now = bigger;
            }
            now[site] = role + 1;
            roles = now;
        }
        return role;
    }

    // ------------------------------------------------------------------ helpers for presets

    /** A call as its hook captured it: the receiver and the arguments. */
    static final class Call {
        final int site;
        private final long a0;
        private final Object o0;
        private final long a1;
        private final Object o1;
        final Object self;
        private final Object[] all;

        Call(int site, long a0, Object o0, long a1, Object o1, Object self, Object[] all) {
            this.site = site;
            this.a0 = a0;
            this.o0 = o0;
            this.a1 = a1;
            this.o1 = o1;
            this.self = all != null ? all[0] : self;
            this.all = all;
        }

        /** Argument {@code i} (from 0), primitives boxed; null past the last. */
        Object arg(int i) {
            if (all != null) {
                return i + 1 < all.length ? all[i + 1] : null;
            }
            Shape shape = Shape.of(site);
            if (shape == null || i >= shape.params.length || i > 1) {
                return null;
            }
            String d = shape.params[i];
            if (Shape.primitive(d)) {
                return Shape.decode(d, i == 0 ? a0 : a1);
            }
            return i == 0 ? o0 : o1;
        }

        int argCount() {
            Shape shape = Shape.of(site);
            return shape == null ? 0 : shape.params.length;
        }
    }

    /** Per thread: acting calls in progress, and what observers keep between entry and exit. */
    static final class Depth {
        int acting;
        /** Observers' values from entry, popped at exit (nested observed calls stack up). */
        final java.util.ArrayDeque<Object> pending = new java.util.ArrayDeque<>();

        /** The acting counts of the calls around each call in progress that does not nest. */
        private int[] suspended = new int[4];
        private int suspendedCount;

        void leave() {
            if (acting > 0) {
                acting--;
            }
        }

        /** A call that does not nest begins: the calls inside it count from 0. */
        void suspend() {
            if (suspendedCount == suspended.length) {
                suspended = java.util.Arrays.copyOf(suspended, suspendedCount * 2);
            }
            suspended[suspendedCount++] = acting;
            acting = 0;
        }

        /** A call that does not nest ended: the count of the calls around it is back. */
        void resume() {
            if (suspendedCount > 0) {
                acting = suspended[--suspendedCount];
            }
        }
    }

    /** The fault's keys, as the agent passed them. */
    static final class Keys {
        private final java.util.Map<String, String> values = new java.util.HashMap<>();

        Keys(String[] keyValues) {
            for (int i = 0; i + 1 < keyValues.length; i += 2) {
                values.put(keyValues[i], keyValues[i + 1]);
            }
        }

        String get(String key) {
            return values.get(key);
        }

        /** A key's regular expression, compiled; the error names the key. */
        Pattern regex(String key) {
            String text = values.get(key);
            if (text == null) {
                return null;
            }
            try {
                return Pattern.compile(text);
            } catch (PatternSyntaxException e) {
                throw new IllegalArgumentException("key '" + key + "': the regular expression does not compile: "
                        + e.getDescription() + " near index " + e.getIndex() + " of " + text);
            }
        }
    }

    /** Whether {@code value} matches the glob {@code glob} ('*' any run, '?' one char); null glob: yes. */
    static boolean glob(String glob, String value) {
        return glob == null || (value != null && Fault.Glob.matches(glob, value));
    }

    /**
     * A map keyed by object identity that does not keep its keys alive (statements,
     * connections, requests): entries go when their key is collected.
     */
    static final class WeakIdentity<V> {
        private final java.util.HashMap<Key, V> map = new java.util.HashMap<>();
        private final java.lang.ref.ReferenceQueue<Object> gone = new java.lang.ref.ReferenceQueue<>();

        private static final class Key extends java.lang.ref.WeakReference<Object> {
            final int hash;

            Key(Object referent, java.lang.ref.ReferenceQueue<Object> queue) {
                super(referent, queue);
                this.hash = System.identityHashCode(referent);
            }

            @Override
            public int hashCode() {
                return hash;
            }

            @Override
            public boolean equals(Object other) {
                if (this == other) {
                    return true;
                }
                Object mine = get();
                return other instanceof Key && mine != null && mine == ((Key) other).get();
            }
        }

        synchronized V get(Object key) {
            return map.get(new Key(key, null));
        }

        synchronized void put(Object key, V value) {
            purge();
            map.put(new Key(key, gone), value);
        }

        /** The value for {@code key}, or {@code fresh}, stored, when it has none. */
        synchronized V getOrPut(Object key, V fresh) {
            V known = map.get(new Key(key, null));
            if (known != null) {
                return known;
            }
            purge();
            map.put(new Key(key, gone), fresh);
            return fresh;
        }

        synchronized int size() {
            purge();
            return map.size();
        }

        private void purge() {
            java.lang.ref.Reference<?> ref;
            while ((ref = gone.poll()) != null) {
                map.remove(ref);
            }
        }
    }

    /** Seconds as {@code getQueryTimeout()} and {@code getLoginTimeout()} give them, in nanoseconds; 0 for none. */
    static long secondsToNanos(Object seconds) {
        return seconds instanceof Integer && (Integer) seconds > 0 ? (Integer) seconds * 1_000_000_000L : 0L;
    }

    /** A value shortened for events: at most 200 characters, on one line. */
    static String shown(String value) {
        if (value == null) {
            return null;
        }
        String one = value.replace('\n', ' ').replace('\r', ' ').replace('\t', ' ').trim();
        return one.length() <= 200 ? one : one.substring(0, 197) + "...";
    }

    // ------------------------------------------------------------------ reflection

    /** Public methods found per class, by "owner.name(param)". */
    private static final ClassValue<ConcurrentHashMap<String, Method>> METHODS =
            new ClassValue<ConcurrentHashMap<String, Method>>() {
                @Override
                protected ConcurrentHashMap<String, Method> computeValue(Class<?> type) {
                    return new ConcurrentHashMap<>();
                }
            };

    /**
     * Calls the public method {@code method} with no arguments on {@code target}, through the
     * public interface or class named {@code owner} that declares it (the target's class may
     * be private to its library): the stable API, not the implementation.
     */
    static Object invoke(Object target, String owner, String method) throws Exception {
        Method m = publicMethod(target.getClass(), owner, method);
        if (m == null) {
            throw new NoSuchMethodException(owner + "." + method + "() on " + target.getClass().getName());
        }
        return m.invoke(target);
    }

    /** Like {@link #invoke} with one argument of type {@code type}. */
    static Object invoke(Object target, String owner, String method, Class<?> type, Object arg) throws Exception {
        Method m = publicMethod(target.getClass(), owner, method, type);
        if (m == null) {
            throw new NoSuchMethodException(owner + "." + method + "(" + type.getName() + ") on "
                    + target.getClass().getName());
        }
        return m.invoke(target, arg);
    }

    /** The supertype of {@code type} (itself included) named {@code name}, or null. */
    static Class<?> supertype(Class<?> type, String name) {
        for (Class<?> c = type; c != null; c = c.getSuperclass()) {
            if (c.getName().equals(name)) {
                return c;
            }
            Class<?> i = inInterfaces(c.getInterfaces(), name);
            if (i != null) {
                return i;
            }
        }
        return null;
    }

    private static Class<?> inInterfaces(Class<?>[] interfaces, String name) {
        for (Class<?> i : interfaces) {
            if (i.getName().equals(name)) {
                return i;
            }
            Class<?> deeper = inInterfaces(i.getInterfaces(), name);
            if (deeper != null) {
                return deeper;
            }
        }
        return null;
    }

    private static Method publicMethod(Class<?> type, String owner, String method, Class<?>... params) {
        ConcurrentHashMap<String, Method> known = METHODS.get(type);
        String key = owner + "." + method + (params.length == 0 ? "" : "(" + params[0].getName() + ")");
        Method m = known.get(key);
        if (m != null) {
            return m;
        }
        Class<?> declaring = supertype(type, owner);
        if (declaring == null) {
            return null;
        }
        try {
            m = declaring.getMethod(method, params);
        } catch (NoSuchMethodException e) {
            return null;
        }
        known.put(key, m);
        return m;
    }
}
