package io.faultline.boot;

/**
 * The entry point that instrumented methods call. The native agent defines this class in
 * the bootstrap class loader, so every class, the JDK's included, can reach it.
 *
 * <p>The fast path is two plain array loads and a null check: a method whose class was
 * rewritten for a fault that is no longer bound costs almost nothing, and a method that
 * matches no fault is never rewritten at all.
 *
 * <p>The fast path has no volatile read and no loop, so the JIT compiles an armed method
 * like ordinary code: in a hot loop it hoists the site lookup and the fault's checks out of
 * the loop and batches the call counter. A volatile read here (an acquire fence for the
 * JIT) made the compiler reload the caller's own fields on every call. The plain read is
 * safe because every change of a site's faults is followed by a retransformation of the
 * site's class (arming rebinds sites inside the class file load hook of that
 * retransformation, removing unbinds and then retransforms): HotSpot then deoptimizes every
 * compiled method that contains or inlined the site, running loops included, at the
 * redefinition safepoint, so no compiled code keeps a stale view. A removed fault never fires
 * even through a stale view: its {@code removed} flag is volatile and read before it fires.
 */
public final class Hook {
    private Hook() {}

    /**
     * Faults bound to each site (one site per instrumented method); a bound entry is never
     * empty. Written only by the native agent, through JNI, under its own lock; read here
     * without locking and without volatile (see the class comment).
     */
    static Fault[][] sites = new Fault[0][];  // never null

    /**
     * Faults at exit of each site (called before every return of the method), and each
     * non-classic site's descriptor, for reading what it captures. Written like {@link #sites}.
     */
    static Fault[][] exits = new Fault[0][];
    static String[] descriptors = new String[0];
    /** Each non-classic site's method name (presets tell their hooks apart by it). */
    static String[] names = new String[0];

    /** What the entry call of a site with return faults gives back to let the body run. */
    public static final Object PROCEED = new Object();

    /**
     * Prologue of methods outside the JDK: faultline's own code never runs them.
     *
     * <p>Kept short: the JIT inlines it into every armed method, and with a broad pattern it
     * runs thousands of times per request of a service (about 2,300 in the benchmark suite's
     * row 15), so each instruction here shows in the service's throughput. A site whose only
     * fault cannot fire is counted here and goes no further; the fault's decision is out of
     * line.
     */
    public static void enter(int site) {
        Fault[][] all = sites;
        if (site < all.length) {
            Fault[] faults = all[site];
            if (faults != null) {
                Fault first = faults[0];
                if (first.quiet & faults.length == 1) {
                    first.count();
                } else {
                    enterFaults(faults, site);
                }
            }
        }
    }

    /** Offers the call to each fault of the site (also run by {@link WaitRehearsal}). */
    static void enterFaults(Fault[] faults, int site) {
        for (Fault fault : faults) {
            fault.onCall(site, false);
        }
    }

    /**
     * Prologue of JDK methods. The hook itself runs JDK code (counters, random numbers,
     * thread names), so a fault on such a method would re-enter the hook; a per-thread
     * guard held in native code (no Java runs to check it) turns the nested call into a
     * no-op. A site whose only fault cannot fire runs no JDK code: it is counted without the
     * guard (two native calls), unless some thread holds the guard, which may be this one.
     */
    public static void enterGuarded(int site) {
        Fault[][] all = sites;
        // One read of the entry: removal may clear it at any moment.
        Fault[] faults = site < all.length ? all[site] : null;
        if (faults != null) {
            Fault first = faults[0];
            if (first.quiet & faults.length == 1 & holders == 0) {
                first.count();
            } else {
                enterGuardedFaults(faults, site);
            }
        }
    }

    private static void enterGuardedFaults(Fault[] faults, int site) {
        if (!guardEnter()) {
            return;
        }
        try {
            for (Fault fault : faults) {
                fault.onCall(site, true);
            }
        } finally {
            guardExit();
        }
    }

    // ------------------------------------------------------------------ calls that capture
    //
    // The prologue of a method whose faults need more than a classic entry call (a condition
    // on its arguments, a return value, calls at exit) passes its operands: arg0 and arg1 as
    // raw long bits or references, the receiver, or every operand boxed when a later
    // argument is named. Exit calls take the result first and give it back, replaced when a
    // return fault fires. Nothing here allocates unless a fault fires.

    public static void enterSlots(int site, boolean guarded, long a0, Object o0, long a1, Object o1, Object self) {
        Fault[][] all = sites;
        Fault[] faults = site < all.length ? all[site] : null;
        if (faults != null) {
            call(faults, site, guarded, false, a0, o0, a1, o1, self, null, 0L, null, false);
        }
    }

    public static Object enterSlotsReturn(int site, boolean guarded, long a0, Object o0, long a1, Object o1,
                                          Object self) {
        Fault[][] all = sites;
        Fault[] faults = site < all.length ? all[site] : null;
        return faults == null ? PROCEED : call(faults, site, guarded, false, a0, o0, a1, o1, self, null, 0L, null, true);
    }

    public static void enterAll(int site, boolean guarded, Object[] operands) {
        Fault[][] all = sites;
        Fault[] faults = site < all.length ? all[site] : null;
        if (faults != null) {
            call(faults, site, guarded, false, 0L, null, 0L, null, null, operands, 0L, null, false);
        }
    }

    public static Object enterAllReturn(int site, boolean guarded, Object[] operands) {
        Fault[][] all = sites;
        Fault[] faults = site < all.length ? all[site] : null;
        return faults == null ? PROCEED : call(faults, site, guarded, false, 0L, null, 0L, null, null, operands, 0L, null, true);
    }

    public static void exitV(int site, boolean g, long a0, Object o0, long a1, Object o1, Object self) {
        Fault[] faults = exitFaults(site);
        if (faults != null) {
            call(faults, site, g, true, a0, o0, a1, o1, self, null, 0L, null, false);
        }
    }

    public static int exitI(int r, int site, boolean g, long a0, Object o0, long a1, Object o1, Object self) {
        Fault[] faults = exitFaults(site);
        return faults == null ? r : toInt(call(faults, site, g, true, a0, o0, a1, o1, self, null, r, null, true), r);
    }

    public static long exitJ(long r, int site, boolean g, long a0, Object o0, long a1, Object o1, Object self) {
        Fault[] faults = exitFaults(site);
        return faults == null ? r : toLong(call(faults, site, g, true, a0, o0, a1, o1, self, null, r, null, true), r);
    }

    public static float exitF(float r, int site, boolean g, long a0, Object o0, long a1, Object o1, Object self) {
        Fault[] faults = exitFaults(site);
        return faults == null ? r
                : (float) toDouble(call(faults, site, g, true, a0, o0, a1, o1, self, null,
                        Double.doubleToRawLongBits(r), null, true), r);
    }

    public static double exitD(double r, int site, boolean g, long a0, Object o0, long a1, Object o1, Object self) {
        Fault[] faults = exitFaults(site);
        return faults == null ? r
                : toDouble(call(faults, site, g, true, a0, o0, a1, o1, self, null, Double.doubleToRawLongBits(r), null, true), r);
    }

    public static Object exitA(Object r, int site, boolean g, long a0, Object o0, long a1, Object o1, Object self) {
        Fault[] faults = exitFaults(site);
        if (faults == null) {
            return r;
        }
        Object v = call(faults, site, g, true, a0, o0, a1, o1, self, null, 0L, r, true);
        return v == PROCEED ? r : v;
    }

    public static void exitVAll(int site, boolean g, Object[] operands) {
        Fault[] faults = exitFaults(site);
        if (faults != null) {
            call(faults, site, g, true, 0L, null, 0L, null, null, operands, 0L, null, false);
        }
    }

    public static int exitIAll(int r, int site, boolean g, Object[] operands) {
        Fault[] faults = exitFaults(site);
        return faults == null ? r : toInt(call(faults, site, g, true, 0L, null, 0L, null, null, operands, r, null, true), r);
    }

    public static long exitJAll(long r, int site, boolean g, Object[] operands) {
        Fault[] faults = exitFaults(site);
        return faults == null ? r : toLong(call(faults, site, g, true, 0L, null, 0L, null, null, operands, r, null, true), r);
    }

    public static float exitFAll(float r, int site, boolean g, Object[] operands) {
        Fault[] faults = exitFaults(site);
        return faults == null ? r
                : (float) toDouble(call(faults, site, g, true, 0L, null, 0L, null, null, operands,
                        Double.doubleToRawLongBits(r), null, true), r);
    }

    public static double exitDAll(double r, int site, boolean g, Object[] operands) {
        Fault[] faults = exitFaults(site);
        return faults == null ? r
                : toDouble(call(faults, site, g, true, 0L, null, 0L, null, null, operands, Double.doubleToRawLongBits(r), null,
                        true), r);
    }

    public static Object exitAAll(Object r, int site, boolean g, Object[] operands) {
        Fault[] faults = exitFaults(site);
        if (faults == null) {
            return r;
        }
        Object v = call(faults, site, g, true, 0L, null, 0L, null, null, operands, 0L, r, true);
        return v == PROCEED ? r : v;
    }

    /**
     * The call ended by an exception (the handler after the code of sites whose faults must
     * know when a call is over: presets); the exception is rethrown as it was.
     */
    public static void thrown(Throwable t, int site, boolean guarded) {
        Fault[] faults = exitFaults(site);
        if (faults != null) {
            for (Fault fault : faults) {
                fault.onThrown(site);
            }
        }
    }

    private static Fault[] exitFaults(int site) {
        Fault[][] all = exits;
        return site < all.length ? all[site] : null;
    }

    /**
     * Offers the call to each fault of the site in turn; the first that returns a value ends
     * the call with it (return faults). JDK sites take the guard first, as enterGuarded.
     */
    private static Object call(Fault[] faults, int site, boolean guarded, boolean exit, long a0, Object o0, long a1,
                               Object o1, Object self, Object[] all, long rp, Object ro, boolean mayReturn) {
        if (!guarded && faults.length == 1) {
            // The common case, kept small for the JIT: one fault, no guard to take here.
            return faults[0].onCallWith(site, false, exit, a0, o0, a1, o1, self, all, rp, ro, mayReturn);
        }
        if (guarded && !guardEnter()) {
            return PROCEED;
        }
        int passed = 0;
        boolean ended = true;
        try {
            for (Fault fault : faults) {
                Object r = fault.onCallWith(site, guarded, exit, a0, o0, a1, o1, self, all, rp, ro, mayReturn);
                if (r != PROCEED) {
                    return r;
                }
                passed++;
            }
            ended = false;
            return PROCEED;
        } finally {
            if (guarded) {
                guardExit();
            }
            if (ended && !exit) {
                // A fault ended the call at its entry (it threw, or returned a value): the body
                // never runs, so neither do its exit calls nor its thrown handler. The faults
                // that let the call pass hear that it ended, as if it had thrown (presets count
                // calls in progress). Outside the guard: they take it themselves.
                for (int i = 0; i < passed; i++) {
                    faults[i].onThrown(site);
                }
            }
        }
    }

    private static int toInt(Object v, int r) {
        if (v == PROCEED) {
            return r;
        }
        if (v instanceof Boolean) {
            return (Boolean) v ? 1 : 0;
        }
        if (v instanceof Character) {
            return (Character) v;
        }
        return ((Number) v).intValue();
    }

    private static long toLong(Object v, long r) {
        return v == PROCEED ? r : ((Number) v).longValue();
    }

    private static double toDouble(Object v, double r) {
        return v == PROCEED ? r : ((Number) v).doubleValue();
    }

    /**
     * Threads holding the guard from Java. Read plainly by {@link #enterGuarded}: a thread sees
     * its own count, which is all that matters there (another thread's stale view only sends
     * it the slow way, through the guard). Changed under {@link #HOLDING}, a monitor: no JDK
     * method runs to change it, so no hook can re-enter here.
     */
    private static int holders;
    private static final Object HOLDING = new Object();

    /** Takes this thread's guard; false when faultline code already runs on this thread. */
    static boolean guardEnter() {
        if (!guardEnter0(Thread.currentThread().getId())) {
            return false;
        }
        synchronized (HOLDING) {
            holders++;
        }
        return true;
    }

    static void guardExit() {
        synchronized (HOLDING) {
            holders--;
        }
        guardExit0(Thread.currentThread().getId());
    }

    /** The guard is keyed by thread id: a virtual thread may resume on another carrier. */
    private static native boolean guardEnter0(long thread);

    private static native void guardExit0(long thread);

    /**
     * The last stretch of a latency wait, in native code: returns when System.nanoTime()
     * reaches {@code deadline} (a precise sleep, then a short spin), or after 4 ms at most.
     * Runs no Java, so nothing in it gets compiled while the caller waits for the deadline.
     */
    static native void landAt(long deadline);

    /**
     * Reports an injection to the native event queue (never blocks); {@code extra}, a JSON
     * object or null, adds fields (a preset's matched value).
     */
    static native void fired(int serial, int site, String thread, long delayNanos, String caught, String extra);

    /**
     * Reports an event of a fault kind with fields of its own (pools): {@code fields} is a
     * JSON object, merged after time, fault and kind. Never blocks.
     */
    static native void event(int serial, String kind, String fields);

    /**
     * The exception handlers of one method, for finding where an injected exception will be
     * caught: pairs of (handler_pc, line) for every handler whose range covers {@code bci}
     * and whose type is a subtype of a name in {@code typesOut}; computed natively from the
     * class file, so there is one class-file parser.
     */
    static native String[] handlers(byte[] classFile, String method, String descriptor, int bci);
}
