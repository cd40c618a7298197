package io.faultline.boot;

import java.io.InputStream;
import java.lang.reflect.Constructor;
import java.lang.reflect.Modifier;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * One armed fault as the instrumented code sees it: the decision (threads, after,
 * probability, limit) and the action (throw, wait). Created by the native agent through
 * {@link #define}; everything that can fail (an exception class that cannot be built) fails
 * there, at arm time, never when the fault fires.
 */
final class Fault {
    static final int LATENCY = 0;
    static final int EXCEPTION = 1;
    static final int HANG = 2;
    /** Return a value instead of running the body (entry) or instead of its result (exit). */
    static final int RETURN = 3;
    /** Answer the call with a status (presets of HTTP servers and clients). */
    static final int RESPOND = 4;

    /*
     * Landing a wait on time. A wait parks (interruptible, ended by the fault's removal)
     * until STRETCH_NANOS before its deadline, reports its event there, and hands the last
     * stretch to native code (Hook.landAt: a sleep with a fine timer slack, then a short
     * spin), which lands on the deadline. The event's cost, and any JIT compilation that its
     * first runs set off, fall before the stretch, not into the delay; the stretch runs no
     * Java. A virtual thread parks to the deadline instead (its carrier serves other
     * virtual threads) and reports after.
     */
    private static final long STRETCH_NANOS = 2_000_000L;

    final int serial;
    final String id;
    final int kind;
    private final double probability;
    private final long after;
    private final long limit;
    private final String threads;
    private final String scope;
    /** threads != null || scope != null. */
    private final boolean filtered;
    private final long delayNanos;
    private final long jitterNanos;
    private final Constructor<? extends Throwable> constructor;
    private final boolean constructorTakesMessage;
    private final String message;
    /** Acts before every return of the method (it is bound to {@link Hook#exits}). */
    final boolean atExit;
    /** The fault's {@code when}, or null. */
    private final Condition condition;
    /** The condition runs no JDK code: evaluated without taking the guard. */
    private final boolean simpleCondition;
    /** Return faults: the value's kind ({@link Values}) and the value as the agent gave it. */
    private final int valueKind;
    private final Object value;
    /** The fault's preset, or null for a fault aimed by a target. */
    final Preset preset;
    /**
     * Anything beyond the classic unfiltered decision: threads, scope, a condition, a return
     * value. Such a fault decides in {@link #onCallWith}; the classic fast path reads this one
     * flag to step aside.
     */
    private final boolean general;
    /**
     * A classic fault that can never fire (probability 0, nothing that decides otherwise): a
     * call to it is counted and nothing else. The hook checks this flag itself and never
     * calls into the fault, which keeps what the JIT inlines into every armed method small
     * (see {@link Hook#enter}).
     */
    final boolean quiet;
    /**
     * An AtomicInteger, not an AtomicBoolean: no VarHandle to set up on its first use in a
     * fresh JVM (with the queue below, that set-up made the first fault's constructor take
     * 1.6 to 2.3 ms on JDK 17, in the way of the first fault armed by an attach).
     */
    private final java.util.concurrent.atomic.AtomicInteger warned = new java.util.concurrent.atomic.AtomicInteger();
    /** The return value converted for the last site it fired at (most faults fire at one). */
    private volatile Converted converted;

    /**
     * Calls seen, striped by thread id and counted with plain writes: an atomic or a
     * LongAdder on every call of a hot method costs more than the whole hook budget. Exact
     * for one thread; under heavy concurrency two threads on one stripe can lose a count.
     */
    private final long[] calls = new long[STRIPES * STRIPE_WIDTH];
    private static final int STRIPES = 8;
    /** 16 longs = 128 bytes: stripes never share a cache line. */
    private static final int STRIPE_WIDTH = 16;
    private final AtomicLong matching = new AtomicLong();
    private final AtomicLong injected = new AtomicLong();
    /**
     * Threads waiting in this fault; lock-free, so no waiter blocks while holding the guard.
     * Null for exception faults, which never wait: the queue's first use in a fresh JVM sets
     * up VarHandles (see {@link #warned}).
     */
    private final java.util.concurrent.ConcurrentLinkedQueue<Thread> waiting;
    private volatile boolean removed;

    private Fault(int serial, String id, int kind, double probability, long after, long limit, String threads,
                  String scope, long delayNanos, long jitterNanos, Constructor<? extends Throwable> constructor,
                  boolean constructorTakesMessage, String message, boolean atExit, Condition condition,
                  int valueKind, Object value, Preset preset) {
        this.serial = serial;
        this.id = id;
        this.kind = kind;
        this.probability = probability;
        this.after = after;
        this.limit = limit;
        this.threads = threads;
        this.scope = scope;
        this.filtered = threads != null || scope != null;
        this.delayNanos = delayNanos;
        this.jitterNanos = jitterNanos;
        this.constructor = constructor;
        this.constructorTakesMessage = constructorTakesMessage;
        this.message = message;
        this.atExit = atExit;
        this.condition = condition;
        this.simpleCondition = condition != null && condition.simple();
        this.valueKind = valueKind;
        this.value = value;
        this.preset = preset;
        if (preset != null) {
            preset.faultKind = kind;
        }
        this.general = filtered || condition != null || kind == RETURN || preset != null;
        this.quiet = !general && !(probability > 0.0);
        this.waiting = kind == EXCEPTION ? null : new java.util.concurrent.ConcurrentLinkedQueue<>();
    }

    /**
     * Builds a fault; called by the native agent. For exception faults, checks that the class
     * is a concrete Throwable with a (String) or () constructor, and builds one instance now so
     * that a constructor that always fails is reported at arm time.
     *
     * @param limit at most this many injections; negative for no limit
     * @param condition the fault's {@code when} (built by the agent), or null
     * @param valueKind for return faults, how {@code value} is to be read ({@link Values})
     * @param preset the fault's preset (see {@link Preset#define}), or null
     * @throws IllegalArgumentException with a message for the user when the fault cannot work
     */
    static Fault define(int serial, String id, int kind, double probability, long after, long limit,
                        String threads, String scope, long delayNanos, long jitterNanos, Class<?> throwClass,
                        String message, boolean atExit, Condition condition, int valueKind, Object value,
                        Preset preset) {
        Constructor<? extends Throwable> constructor = null;
        boolean takesMessage = false;
        if (kind == EXCEPTION && VIRTUAL_THREADS) {
            // Before the fault can fire, whatever the warm-up has got to (see warmUp).
            CatchSites.prepare();
        }
        // A preset's symbolic class (throw = "timeout") is resolved per library as it fires.
        if (kind == EXCEPTION && !(preset != null && throwClass == null && preset.throwName != null)) {
            if (throwClass == null) {
                throw new IllegalArgumentException("exception fault '" + id + "' names no class to throw");
            }
            if (!Throwable.class.isAssignableFrom(throwClass)) {
                throw new IllegalArgumentException(throwClass.getName()
                        + " is not a Throwable: 'throw' must name an exception or error class");
            }
            if (Modifier.isAbstract(throwClass.getModifiers()) || throwClass.isInterface()) {
                throw new IllegalArgumentException(throwClass.getName()
                        + " is abstract and cannot be thrown: name a concrete subclass");
            }
            @SuppressWarnings("unchecked")
            Class<? extends Throwable> type = (Class<? extends Throwable>) throwClass;
            try {
                constructor = type.getDeclaredConstructor(String.class);
                takesMessage = true;
            } catch (NoSuchMethodException e) {
                try {
                    constructor = type.getDeclaredConstructor();
                } catch (NoSuchMethodException e2) {
                    throw new IllegalArgumentException(throwClass.getName()
                            + " has neither a (String) nor a () constructor: faultline cannot build it");
                }
            }
            try {
                constructor.setAccessible(true);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("cannot access the constructor of " + throwClass.getName()
                        + ": " + e);
            }
        }
        Fault fault = new Fault(serial, id, kind, probability, after, limit < 0 ? Long.MAX_VALUE : limit,
                threads, scope, delayNanos, jitterNanos, constructor, takesMessage, message, atExit, condition,
                valueKind, value, preset);
        if (kind == LATENCY || kind == HANG) {
            WaitRehearsal.startOnce();
        }
        if (kind == EXCEPTION && constructor != null) {
            try {
                fault.newThrowable();
            } catch (Throwable e) {
                throw new IllegalArgumentException("building " + throwClass.getName() + " failed: " + e);
            }
        }
        return fault;
    }

    /** A latency fault of 0 ns that fires on every call, for {@link WaitRehearsal}. */
    static Fault rehearsal(int serial) {
        return new Fault(serial, "faultline-wait-rehearsal", LATENCY, 1.0, 0L, Long.MAX_VALUE, null, null, 0L, 0L,
                null, false, null, false, null, 0, null, null);
    }

    /**
     * Runs once on an agent thread when the agent starts: the first use of reflection, stack
     * walking and class-file reading costs tens of milliseconds in a fresh JVM, and that
     * must not land on the application thread of the first injection.
     */
    static void warmUp() {
        try {
            Constructor<IllegalStateException> c = IllegalStateException.class.getDeclaredConstructor(String.class);
            Throwable t = c.newInstance("faultline warm-up");
            trimHookFrames(t);
            // What the first injection on a platform thread needs next, first: the fault may
            // be armed and fire while this runs (a CLI attach arms 1 to 2 ms after this
            // starts), and its catch-site lookup reads an application class file.
            readMainClass();
            caughtSite(t);
            if (VIRTUAL_THREADS) {
                // Thousands of virtual threads may fire at once: none may wait for another to
                // load or initialize these classes (that wait pins a carrier).
                CatchSites.prepare();
            }
            // ClassBytes reads directories and jars itself; its fallback, the class loader,
            // comes through file: and jar: URLs (nested jars, other code sources): initialize
            // those handlers now, not on (possibly virtual) application threads.
            new java.io.File(System.getProperty("java.home")).toURI().toURL().openConnection();
            new java.net.URL("jar:file:/faultline-warm-up.jar!/x").openConnection();
            // The JDK's own class files (a catch site in JDK code): opening the runtime image
            // took 2.5 to 7.5 ms here, last since it shares the cores with the first arm.
            ClassBytes.of(Thread.class);
            Glob.matches("warm-*", "warm-up");
            Shape warm = Shape.parse("(IJLjava/lang/String;)Ljava/util/List;");
            Values.same(1L, Integer.valueOf(1));
            Values.order("a", "b");
            Condition.compare(4, Condition.Term.operand(1, 0, null), Condition.Term.literal(5L))
                    .test(warm, 7L, null, 0L, null, null, null, 0L, null);
            ThreadLocalRandom.current().nextDouble();
        } catch (Throwable ignored) {
            // Only a head start; the real work copes on its own.
        }
    }

    /**
     * Reads the main class's file the way a catch-site lookup reads one ({@link ClassBytes}),
     * with the main class named by the command line or the main jar's manifest.
     */
    private static void readMainClass() throws Exception {
        String command = System.getProperty("sun.java.command", "");
        int space = command.indexOf(' ');
        String main = space < 0 ? command : command.substring(0, space);
        if (main.endsWith(".jar")) {
            try (java.util.jar.JarFile jar = new java.util.jar.JarFile(main)) {
                java.util.jar.Manifest manifest = jar.getManifest();
                main = manifest == null ? null : manifest.getMainAttributes().getValue("Main-Class");
            }
        }
        if (main == null || main.isEmpty()) {
            return;
        }
        try {
            ClassBytes.of(Class.forName(main.trim(), false, ClassLoader.getSystemClassLoader()));
        } catch (ClassNotFoundException | LinkageError e) {
            // A main class of another loader (a launcher's): only the JDK's part is warm.
        }
    }

    long calls() {
        long sum = 0;
        for (int i = 0; i < STRIPES; i++) {
            sum += calls[i * STRIPE_WIDTH];
        }
        return sum;
    }

    long injected() {
        return injected.get();
    }

    /** Called by the native agent when the fault is removed: ends every wait (one in its last 2 ms finishes it). */
    void remove() {
        removed = true;
        if (waiting == null) {
            return;
        }
        for (Thread t : waiting) {
            LockSupport.unpark(t);
        }
    }

    /**
     * One call of an instrumented method. {@code guardHeld}: the caller already holds this
     * thread's guard (JDK sites); otherwise the guard is taken only to fire.
     */
    void onCall(int site, boolean guardHeld) {
        // One flag sends threads, scope, conditions and return values to the general path: the
        // hot path of an unfiltered fault reads one field.
        if (general) {
            // A preset needs the call's operands: a classic call (old code, while a
            // retransformation installs the new) passes.
            if (preset == null) {
                onCallWith(site, guardHeld, false, 0L, null, 0L, null, null, null, 0L, null, false);
            }
            return;
        }
        count();
        double p = probability;
        if (p <= 0.0 || removed) {
            return;
        }
        if (after > 0 && matching.incrementAndGet() <= after) {
            return;
        }
        if (p < 1.0 && ThreadLocalRandom.current().nextDouble() >= p) {
            return;
        }
        // The injection is claimed under the guard: its counter is JDK code (an AtomicLong),
        // and a fault on it must see the application's calls only.
        if (guardHeld) {
            if (claimInjection()) {
                fire(site);
            }
        } else {
            if (!Hook.guardEnter()) {
                return;
            }
            try {
                if (claimInjection()) {
                    fire(site);
                }
            } finally {
                Hook.guardExit();
            }
        }
    }

    /** Counts one call seen, on the calling thread's stripe. */
    void count() {
        calls[((int) Thread.currentThread().getId() & (STRIPES - 1)) * STRIPE_WIDTH]++;
    }

    /**
     * One call, with what the call site captured (see {@link Hook#enterSlots}): the decision in
     * the order the contract gives (threads and scope, calls seen, after, the condition, then
     * probability and limit), then the action. Returns {@link Hook#PROCEED}, or the value a
     * return fault makes the method return ({@code mayReturn}: the call site can return it).
     */
    Object onCallWith(int site, boolean guardHeld, boolean exit, long a0, Object o0, long a1, Object o1, Object self,
                      Object[] all, long rp, Object ro, boolean mayReturn) {
        if (preset != null) {
            return preset.call(this, site, guardHeld, exit, a0, o0, a1, o1, self, all, ro, mayReturn);
        }
        if (!seen()) {
            return Hook.PROCEED;
        }
        if (condition != null && !meets(site, guardHeld, a0, o0, a1, o1, self, all, rp, ro)) {
            return Hook.PROCEED;
        }
        return decide(site, guardHeld, mayReturn);
    }

    /**
     * The first steps of the general decision: the call is one this fault applies to (its
     * threads, its scope: "calls seen" counts those), the fault can still fire, and `after`
     * has let enough calls through. Small, so the JIT inlines it into the hook.
     */
    private boolean seen() {
        if (filtered && !admits()) {
            return false;
        }
        calls[((int) Thread.currentThread().getId() & (STRIPES - 1)) * STRIPE_WIDTH]++;
        if (probability <= 0.0 || removed) {
            return false;
        }
        return after <= 0 || matching.incrementAndGet() > after;
    }

    /** Probability, limit, then the action: out of the path of calls the condition turned away. */
    private Object decide(int site, boolean guardHeld, boolean mayReturn) {
        double p = probability;
        if (p < 1.0 && ThreadLocalRandom.current().nextDouble() >= p) {
            return Hook.PROCEED;
        }
        // A classic call site (old code, while a retransformation installs the new) cannot
        // return a value: the fault lets it pass.
        if (kind == RETURN && !mayReturn) {
            return Hook.PROCEED;
        }
        boolean took = false;
        if (!guardHeld) {
            if (!Hook.guardEnter()) {
                return Hook.PROCEED;
            }
            took = true;
        }
        try {
            if (!claimInjection()) {
                return Hook.PROCEED;
            }
            if (kind == RETURN) {
                return returnValue(site);
            }
            fire(site);
            return Hook.PROCEED;
        } finally {
            if (took) {
                Hook.guardExit();
            }
        }
    }

    /** The call at {@code site} ended by an exception (presets keep count of calls in progress). */
    void onThrown(int site) {
        if (preset != null) {
            preset.thrown(site);
        }
    }

    /** The fault's own exception class, for a preset to build with the message it chooses. */
    interface Thrower {
        /** The class the fault names; null when the preset maps a symbolic name itself. */
        Class<?> type();

        /** The message: the fault's own, else {@code realistic} (what the library would say). */
        String text(String realistic);

        /** An instance of the fault's class with {@link #text}. */
        Throwable build(String realistic) throws Exception;
    }

    private final Thrower ownClass = new Thrower() {
        @Override
        public Class<?> type() {
            return constructor == null ? null : constructor.getDeclaringClass();
        }

        @Override
        public String text(String realistic) {
            return message != null ? message
                    : realistic != null ? realistic + " (injected by faultline, fault " + id + ")"
                    : "injected by faultline (fault " + id + ")";
        }

        @Override
        public Throwable build(String realistic) throws Exception {
            if (constructor == null) {
                throw new IllegalStateException("no exception class");
            }
            return constructorTakesMessage ? constructor.newInstance(text(realistic)) : constructor.newInstance();
        }
    };

    /**
     * The outermost call of a preset that matched its keys (see {@link Preset#call}; this
     * thread holds the guard): the decision (threads and scope, calls seen, after,
     * probability, limit) and the preset's way of acting. {@code matched} is what the call
     * matched (the SQL, the path), for the event.
     */
    Object onPresetCall(int site, Preset preset, int role, Preset.Call call, String matched, boolean mayReturn) {
        if (!seen()) {
            return Hook.PROCEED;
        }
        double p = probability;
        if (p < 1.0 && ThreadLocalRandom.current().nextDouble() >= p) {
            return Hook.PROCEED;
        }
        if (kind == RESPOND && !mayReturn) {
            return Hook.PROCEED;
        }
        if (!claimInjection()) {
            return Hook.PROCEED;
        }
        String extra = "\"matched\":" + Pools.quote(Preset.shown(matched));
        String thread = Thread.currentThread().getName();
        switch (kind) {
            case EXCEPTION: {
                Throwable t;
                try {
                    t = preset.exception(role, call, matched, ownClass);
                } catch (Throwable e) {
                    injected.decrementAndGet();
                    warnOnce("the " + preset.name + " preset could not build its exception, the call runs: " + e);
                    return Hook.PROCEED;
                }
                trimHookFrames(t);
                Hook.fired(serial, site, thread, 0L, caughtSite(t),
                        "{" + extra + ",\"exception\":" + Pools.quote(t.getClass().getName()) + "}");
                throw Fault.<RuntimeException>sneaky(t);
            }
            case LATENCY:
            case HANG: {
                long nanos = delayNanos;
                if (kind == LATENCY && jitterNanos > 0) {
                    nanos += ThreadLocalRandom.current().nextLong(-jitterNanos, jitterNanos + 1);
                }
                nanos = Math.max(0L, nanos);
                long timeout = 0L;
                try {
                    timeout = preset.timeoutNanos(role, call);
                } catch (Throwable e) {
                    // No timeout known: the whole delay.
                }
                if (timeout > 0 && nanos > timeout) {
                    // As a real slow server would: the caller's own timeout ends the wait.
                    boolean cut = waitAndReport(site, timeout, extra + ",\"timed_out\":true");
                    if (cut) {
                        return Hook.PROCEED;
                    }
                    Object value = mayReturn ? preset.timedOutValue(role, call) : Hook.PROCEED;
                    if (value != Hook.PROCEED) {
                        return value;
                    }
                    Throwable t = preset.timeout(role, call);
                    if (t != null) {
                        trimHookFrames(t);
                        throw Fault.<RuntimeException>sneaky(t);
                    }
                    return Hook.PROCEED;
                }
                waitAndReport(site, nanos, extra);
                return Hook.PROCEED;
            }
            case RESPOND: {
                // Recorded before the answer is written: a server's answer reaches its client
                // (another thread) as soon as it is written, and the client may read the events.
                Hook.fired(serial, site, thread, 0L, null, "{" + extra + ",\"status\":" + preset.status + "}");
                try {
                    return preset.respond(role, call);
                } catch (Throwable e) {
                    injected.decrementAndGet();
                    warnOnce("the " + preset.name + " preset could not answer a call, which runs as written "
                            + "(its injection event stands): " + e);
                    return Hook.PROCEED;
                }
            }
            default:
                injected.decrementAndGet();
                return Hook.PROCEED;
        }
    }

    /** Evaluates the condition; one that cannot be evaluated is false (reported once). */
    private boolean meets(int site, boolean guardHeld, long a0, Object o0, long a1, Object o1, Object self,
                          Object[] all, long rp, Object ro) {
        if (simpleCondition) {
            // Runs no JDK code: no guard to take. Small, so the JIT inlines it into the hook.
            try {
                return condition.test(Shape.of(site), a0, o0, a1, o1, self, all, rp, ro);
            } catch (Throwable e) {
                return unreadable(e);
            }
        }
        return meetsGuarded(site, guardHeld, a0, o0, a1, o1, self, all, rp, ro);
    }

    private boolean unreadable(Throwable e) {
        if (!(e instanceof Condition.Unreadable)) {
            warnOnce("the condition counts as false where it fails: " + e);
        } else if (!e.getMessage().endsWith("not captured at this call")) {
            warnOnce("the condition counts as false where it cannot be read: " + e.getMessage());
        }
        return false;
    }

    private boolean meetsGuarded(int site, boolean guardHeld, long a0, Object o0, long a1, Object o1, Object self,
                                 Object[] all, long rp, Object ro) {
        // A condition that runs JDK code (members, strings, collections) holds the guard, so a
        // fault on that JDK code does not fire inside the evaluation.
        boolean guard = !guardHeld;
        if (guard && !Hook.guardEnter()) {
            return false;
        }
        try {
            return condition.test(Shape.of(site), a0, o0, a1, o1, self, all, rp, ro);
        } catch (Throwable e) {
            return unreadable(e);
        } finally {
            if (guard) {
                Hook.guardExit();
            }
        }
    }

    /** One warning event per fault, whatever the number of calls that meet the same problem. */
    void warnOnce(String message) {
        if (warned.compareAndSet(0, 1)) {
            Hook.event(serial, "warning", "{\"message\":" + Pools.quote(message) + "}");
        }
    }

    /** The return fault's value for a method of this site (this thread holds the guard). */
    private Object returnValue(int site) {
        Converted c = converted;
        if (c == null || c.site != site) {
            c = new Converted(site, valueKind, value);
            converted = c;
        }
        if (c.problem != null) {
            injected.decrementAndGet();
            warnOnce("the value cannot be returned here, the method runs as written: " + c.problem);
            return Hook.PROCEED;
        }
        Hook.fired(serial, site, Thread.currentThread().getName(), 0L, null, null);
        return c.value;
    }

    /** A return value converted for one site's return type, or why it cannot be. */
    private static final class Converted {
        final int site;
        final Object value;
        final String problem;

        Converted(int site, int kind, Object raw) {
            this.site = site;
            Object v = null;
            String why = null;
            Shape shape = Shape.of(site);
            if (shape == null) {
                why = "the method was not described to the hook";
            } else if (kind != Values.NONE) {
                try {
                    v = Values.convert(kind, raw, shape.ret, TargetFrame.targetClass());
                } catch (RuntimeException e) {
                    why = e.getMessage();
                }
            }
            this.value = v;
            this.problem = why;
        }
    }

    /** The class of the instrumented method that called the hook. */
    static final class TargetFrame {
        private static final StackWalker WALKER = StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE);
        private static final Finder FINDER = new Finder();

        static Class<?> targetClass() {
            return WALKER.walk(FINDER);
        }

        /** A class, not a lambda: no invokedynamic on a firing thread. */
        private static final class Finder
                implements java.util.function.Function<java.util.stream.Stream<StackWalker.StackFrame>, Class<?>> {
            @Override
            public Class<?> apply(java.util.stream.Stream<StackWalker.StackFrame> frames) {
                java.util.Iterator<StackWalker.StackFrame> it = frames.iterator();
                while (it.hasNext()) {
                    StackWalker.StackFrame f = it.next();
                    if (!f.getClassName().startsWith("io.faultline.boot.")) {
                        return f.getDeclaringClass();
                    }
                }
                return null;
            }
        }
    }

    /** Whether this thread passes the fault's threads and scope filters. */
    private boolean admits() {
        if (threads != null && !Glob.matches(threads, Thread.currentThread().getName())) {
            return false;
        }
        return scope == null || scope.equals(Scope.current());
    }

    private boolean claimInjection() {
        if (limit == Long.MAX_VALUE) {
            injected.incrementAndGet();
            return true;
        }
        while (true) {
            long done = injected.get();
            if (done >= limit) {
                return false;
            }
            if (injected.compareAndSet(done, done + 1)) {
                return true;
            }
        }
    }

    /** Performs the fault; this thread holds the guard. */
    private void fire(int site) {
        switch (kind) {
            case EXCEPTION: {
                Throwable t;
                try {
                    t = newThrowable();
                } catch (Throwable e) {
                    injected.decrementAndGet();
                    return;
                }
                trimHookFrames(t);
                Hook.fired(serial, site, Thread.currentThread().getName(), 0L, caughtSite(t), null);
                throw Fault.<RuntimeException>sneaky(t);
            }
            case LATENCY: {
                long nanos = delayNanos;
                if (jitterNanos > 0) {
                    nanos += ThreadLocalRandom.current().nextLong(-jitterNanos, jitterNanos + 1);
                }
                waitAndReport(site, Math.max(0L, nanos), null);
                return;
            }
            case HANG: {
                waitAndReport(site, delayNanos, null);
                return;
            }
            default:
                return;
        }
    }

    /**
     * Waits like real I/O, then reports the event: in Java (a virtual thread unmounts instead
     * of pinning its carrier), ended early by Thread.interrupt (the interrupt status stays
     * set) or by the fault's removal, except in the last STRETCH_NANOS, which no longer
     * checks either. Releases the guard while parked, so the thread runs no faultline code
     * then.
     */
    private boolean waitAndReport(int site, long nanos, String extra) {
        Thread me = Thread.currentThread();
        long start = System.nanoTime();
        long deadline = start + nanos;
        boolean virtual = isVirtual(me);
        long handOver = virtual ? 0L : STRETCH_NANOS;
        boolean cut = false;
        waiting.add(me);
        Hook.guardExit();
        try {
            while (true) {
                if (removed || me.isInterrupted()) {
                    cut = true;
                    break;
                }
                long left = deadline - System.nanoTime();
                if (left <= handOver) {
                    break;
                }
                LockSupport.parkNanos(this, left - handOver);
            }
        } finally {
            Hook.guardEnter();
            waiting.remove(me);
        }
        long now = System.nanoTime();
        long waited = cut ? now - start : Math.max(now, deadline) - start;
        Hook.fired(serial, site, me.getName(), waited, null, extra == null ? null : "{" + extra + "}");
        if (!cut && !virtual) {
            Hook.landAt(deadline);
        }
        return cut;
    }

    /**
     * Whether this JDK has virtual threads (19 and 20 as a preview). Without them, the
     * catch-site lookup never leaves the firing thread and {@link CatchSites} is never used:
     * preparing it costs 2 to 3 ms on the first arm of a fresh JDK 17 (its queue's first
     * VarHandles), in the way of the first fault.
     */
    private static final boolean VIRTUAL_THREADS = Runtime.version().feature() >= 19;

    /** Thread.isVirtual() without needing JDK 21 to compile or run. */
    private static boolean isVirtual(Thread thread) {
        return thread.getClass().getName().equals("java.lang.VirtualThread");
    }

    private Throwable newThrowable() throws Exception {
        if (constructorTakesMessage) {
            String text = message != null ? message : "injected by faultline (fault " + id + ")";
            return constructor.newInstance(text);
        }
        return constructor.newInstance();
    }

    /** Drops the frames of the hook and of reflection, so the trace starts at the target method. */
    private static void trimHookFrames(Throwable t) {
        StackTraceElement[] frames = t.getStackTrace();
        int last = -1;
        for (int i = 0; i < frames.length; i++) {
            if (frames[i].getClassName().startsWith("io.faultline.boot.")) {
                last = i;
            }
        }
        if (last >= 0 && last + 1 < frames.length) {
            StackTraceElement[] kept = new StackTraceElement[frames.length - last - 1];
            System.arraycopy(frames, last + 1, kept, 0, kept.length);
            t.setStackTrace(kept);
        }
    }

    /**
     * Where {@code t} will be caught: the first frame above the target method with a typed
     * handler covering its current bytecode index and accepting {@code t}'s class. Finally
     * blocks and catch-all handlers rethrow, so they do not count. Worked out from the stack
     * and the class files, since a live JVM offers no exception-catch events.
     */
    private static String caughtSite(Throwable t) {
        List<StackWalker.StackFrame> frames;
        try {
            frames = WALKER.walk(CALLER_FRAMES);
        } catch (Throwable e) {
            return "unknown";
        }
        // Reading a class file can load and initialize classes, which pins a virtual thread
        // to its carrier: a virtual thread hands the lookup to a platform thread and parks.
        if (isVirtual(Thread.currentThread())) {
            return CatchSites.lookUp(frames, t);
        }
        return caughtSite(frames, t);
    }

    /** The lookup of {@link #caughtSite(Throwable)} over frames already walked. */
    static String caughtSite(List<StackWalker.StackFrame> frames, Throwable t) {
        try {
            for (StackWalker.StackFrame frame : frames) {
                Class<?> owner = frame.getDeclaringClass();
                byte[] bytes = ClassBytes.of(owner);
                if (bytes == null) {
                    continue;
                }
                String[] handlers = Hook.handlers(bytes, frame.getMethodName(), frame.getDescriptor(),
                        frame.getByteCodeIndex());
                if (handlers == null) {
                    continue;
                }
                for (String handler : handlers) {
                    int bar = handler.indexOf('|');
                    String type = handler.substring(0, bar);
                    String line = handler.substring(bar + 1);
                    if (type.isEmpty() || !accepts(owner, type, t)) {
                        continue;
                    }
                    return owner.getName() + "#" + frame.getMethodName() + frame.getDescriptor() + ":" + line;
                }
            }
            return "uncaught";
        } catch (Throwable e) {
            return "unknown";
        }
    }

    private static final StackWalker WALKER = StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE);
    private static final CallerFrames CALLER_FRAMES = new CallerFrames();

    /**
     * The frames above the target method (the hook's own frames and the target's are
     * skipped). A plain class rather than a lambda or stream collector: the first injection
     * in a fresh JVM must not pay for bootstrapping invokedynamic.
     */
    private static final class CallerFrames
            implements java.util.function.Function<java.util.stream.Stream<StackWalker.StackFrame>, List<StackWalker.StackFrame>> {
        @Override
        public List<StackWalker.StackFrame> apply(java.util.stream.Stream<StackWalker.StackFrame> stream) {
            List<StackWalker.StackFrame> out = new java.util.ArrayList<>();
            java.util.Iterator<StackWalker.StackFrame> it = stream.iterator();
            boolean pastHook = false;
            boolean pastTarget = false;
            while (it.hasNext() && out.size() < 256) {
                StackWalker.StackFrame frame = it.next();
                if (!pastHook) {
                    if (frame.getClassName().startsWith("io.faultline.boot.")) {
                        continue;
                    }
                    pastHook = true;
                }
                if (!pastTarget) {
                    pastTarget = true;
                    continue;
                }
                out.add(frame);
            }
            return out;
        }
    }

    private static boolean accepts(Class<?> owner, String internalType, Throwable t) {
        try {
            Class<?> type = Class.forName(internalType.replace('/', '.'), false, owner.getClassLoader());
            return type.isInstance(t);
        } catch (Throwable e) {
            return false;
        }
    }

    @SuppressWarnings("unchecked")
    private static <T extends Throwable> T sneaky(Throwable t) throws T {
        throw (T) t;
    }

    /**
     * Catch-site lookups for virtual threads, done on one platform thread that exists only
     * while there is work: it ends after a second with no request and is started again by the
     * next one. It holds the guard for its whole life, so faults on the JDK code it runs
     * (class-file reading) never fire on it. Nothing on the virtual thread's side takes a
     * lock: a lock contended by a thousand virtual threads at once has been seen to pin
     * carriers on its first use (JDK 25), so requests go through a lock-free queue and
     * LockSupport.
     */
    static final class CatchSites {
        /** A virtual thread waits this long at most; past it the event says "unknown". */
        private static final long WAIT_NANOS = 2_000_000_000L;
        private static final long IDLE_NANOS = 1_000_000_000L;
        private static final java.util.concurrent.ConcurrentLinkedQueue<Request> QUEUE =
                new java.util.concurrent.ConcurrentLinkedQueue<>();
        private static final java.util.concurrent.atomic.AtomicBoolean RUNNING =
                new java.util.concurrent.atomic.AtomicBoolean();
        /** The running worker, to wake when a request arrives; null before the first. */
        private static volatile Thread worker;

        private static final class Request {
            final List<StackWalker.StackFrame> frames;
            final Throwable thrown;
            final Thread waiter;
            volatile String result;

            Request(List<StackWalker.StackFrame> frames, Throwable thrown, Thread waiter) {
                this.frames = frames;
                this.thrown = thrown;
                this.waiter = waiter;
            }
        }

        /** Loads and initializes what a lookup uses, starting no thread. */
        static void prepare() {
            Request probe = new Request(null, null, null);
            probe.result = "";
            QUEUE.add(probe);
            QUEUE.remove(probe);
            new Worker();
        }

        static String lookUp(List<StackWalker.StackFrame> frames, Throwable t) {
            Request request = new Request(frames, t, Thread.currentThread());
            QUEUE.add(request);
            if (RUNNING.compareAndSet(false, true)) {
                if (!startWorker()) {
                    RUNNING.set(false);
                    QUEUE.remove(request);
                    return "unknown";
                }
            } else {
                Thread running = worker;
                if (running != null) {
                    LockSupport.unpark(running);
                }
            }
            long deadline = System.nanoTime() + WAIT_NANOS;
            // An interrupt status would make every park return at once: set it aside while
            // waiting, and set it again after.
            boolean interrupted = Thread.interrupted();
            String result;
            // The guard is per carrier: a virtual thread holds none while it parks (it may
            // resume on another carrier), as in waitAndReport.
            Hook.guardExit();
            try {
                while ((result = request.result) == null) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        break;
                    }
                    LockSupport.parkNanos(request, left);
                    interrupted |= Thread.interrupted();
                }
            } finally {
                Hook.guardEnter();
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
            if (result == null) {
                QUEUE.remove(request);
                return "unknown";
            }
            return result;
        }

        private static boolean startWorker() {
            try {
                Thread thread = new Thread(new Worker(), "faultline-catch-sites");
                thread.setDaemon(true);
                worker = thread;
                thread.start();
                return true;
            } catch (Throwable e) {
                return false;
            }
        }

        /** A named class, not a method reference: no invokedynamic on a firing thread. */
        private static final class Worker implements Runnable {
            @Override
            public void run() {
                work();
            }
        }

        private static void work() {
            boolean guarded = Hook.guardEnter();
            boolean idle = false;
            try {
                long lastWork = System.nanoTime();
                while (true) {
                    Request request = QUEUE.poll();
                    if (request != null) {
                        request.result = caughtSite(request.frames, request.thrown);
                        LockSupport.unpark(request.waiter);
                        lastWork = System.nanoTime();
                        continue;
                    }
                    long quiet = System.nanoTime() - lastWork;
                    if (quiet < IDLE_NANOS) {
                        // A request unparks this thread; a stray wake-up just polls again.
                        LockSupport.parkNanos(IDLE_NANOS - quiet);
                        Thread.interrupted();
                        continue;
                    }
                    RUNNING.set(false);
                    // A request queued after the poll but before RUNNING was cleared started
                    // no worker: take it over unless a new worker already has.
                    if (QUEUE.isEmpty() || !RUNNING.compareAndSet(false, true)) {
                        idle = true;
                        return;
                    }
                    lastWork = System.nanoTime();
                }
            } finally {
                if (!idle) {
                    // Ended by an error: the next request starts a new worker.
                    RUNNING.set(false);
                }
                if (guarded) {
                    Hook.guardExit();
                }
            }
        }
    }

    /** Class files read back from the class's own loader, cached per class. */
    static final class ClassBytes {
        private static final ClassValue<byte[]> CACHE = new ClassValue<>() {
            @Override
            protected byte[] computeValue(Class<?> type) {
                String resource = type.getName().replace('.', '/') + ".class";
                byte[] direct = fromClassPathEntry(type, resource);
                if (direct != null) {
                    return direct;
                }
                try (InputStream in = type.getResourceAsStream("/" + resource)) {
                    return in == null ? new byte[0] : in.readAllBytes();
                } catch (Exception e) {
                    return new byte[0];
                }
            }
        };

        /**
         * The class file read straight from the directory or jar on disk its class came from
         * (its code source), or null to go through the class loader. The loader's resource
         * lookup costs 4 to 5 ms the first time in a fresh JVM (it searches the runtime
         * image's modules and opens a URL connection), this 0.3 to 1 ms: the first fault's
         * catch-site lookup reads one.
         */
        private static byte[] fromClassPathEntry(Class<?> type, String resource) {
            try {
                java.security.ProtectionDomain domain = type.getProtectionDomain();
                java.security.CodeSource source = domain == null ? null : domain.getCodeSource();
                java.net.URL location = source == null ? null : source.getLocation();
                if (location == null || !"file".equals(location.getProtocol())) {
                    return null;
                }
                java.io.File entry = new java.io.File(location.toURI());
                if (entry.isDirectory()) {
                    java.io.File file = new java.io.File(entry, resource);
                    if (!file.isFile()) {
                        return null;
                    }
                    try (InputStream in = new java.io.FileInputStream(file)) {
                        return in.readAllBytes();
                    }
                }
                if (!entry.isFile()) {
                    return null;
                }
                // Versioned as the class loader reads a multi-release jar.
                try (java.util.jar.JarFile jar = new java.util.jar.JarFile(entry, false,
                        java.util.zip.ZipFile.OPEN_READ, java.util.jar.JarFile.runtimeVersion())) {
                    java.util.jar.JarEntry found = jar.getJarEntry(resource);
                    if (found == null) {
                        return null;
                    }
                    try (InputStream in = jar.getInputStream(found)) {
                        return in.readAllBytes();
                    }
                }
            } catch (Exception | LinkageError e) {
                return null;
            }
        }

        static byte[] of(Class<?> type) {
            byte[] bytes = CACHE.get(type);
            return bytes.length == 0 ? null : bytes;
        }
    }

    /** Thread-name globs: '*' any run of characters, '?' one character. */
    static final class Glob {
        static boolean matches(String glob, String text) {
            int g = 0;
            int t = 0;
            int star = -1;
            int mark = 0;
            while (t < text.length()) {
                if (g < glob.length() && (glob.charAt(g) == '?' || glob.charAt(g) == text.charAt(t))) {
                    g++;
                    t++;
                } else if (g < glob.length() && glob.charAt(g) == '*') {
                    star = g++;
                    mark = t;
                } else if (star >= 0) {
                    g = star + 1;
                    t = ++mark;
                } else {
                    return false;
                }
            }
            while (g < glob.length() && glob.charAt(g) == '*') {
                g++;
            }
            return g == glob.length();
        }
    }
}
