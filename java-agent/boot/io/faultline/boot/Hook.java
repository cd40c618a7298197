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

    /** Prologue of methods outside the JDK: faultline's own code never runs them. */
    public static void enter(int site) {
        Fault[][] all = sites;
        if (site < all.length) {
            Fault[] faults = all[site];
            if (faults != null) {
                // One fault per site is the common case: no loop on the fast path.
                faults[0].onCall(site, false);
                if (faults.length > 1) {
                    enterRest(faults, site);
                }
            }
        }
    }

    /** The second and later faults of a site, out of the fast path. */
    private static void enterRest(Fault[] faults, int site) {
        for (int i = 1; i < faults.length; i++) {
            faults[i].onCall(site, false);
        }
    }

    /**
     * Prologue of JDK methods. The hook itself runs JDK code (counters, random numbers,
     * thread names), so a fault on such a method would re-enter the hook; a per-thread
     * guard held in native code (no Java runs to check it) turns the nested call into a
     * no-op.
     */
    public static void enterGuarded(int site) {
        Fault[][] all = sites;
        // One read of the entry: removal may clear it at any moment.
        Fault[] faults = site < all.length ? all[site] : null;
        if (faults == null) {
            return;
        }
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

    /** Takes this thread's guard; false when faultline code already runs on this thread. */
    static boolean guardEnter() {
        return guardEnter0(Thread.currentThread().getId());
    }

    static void guardExit() {
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

    /** Reports an injection to the native event queue (never blocks). */
    static native void fired(int serial, int site, String thread, long delayNanos, String caught);

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
