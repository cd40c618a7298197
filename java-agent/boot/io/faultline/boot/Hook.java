package io.faultline.boot;

/**
 * The entry point that instrumented methods call. The native agent defines this class in
 * the bootstrap class loader, so every class, the JDK's included, can reach it.
 *
 * <p>The fast path is one volatile array load and a null check: a method whose class was
 * rewritten for a fault that is no longer bound costs almost nothing, and a method that
 * matches no fault is never rewritten at all.
 */
public final class Hook {
    private Hook() {}

    /**
     * Faults bound to each site (one site per instrumented method). Written only by the
     * native agent, through JNI, under its own lock; read here without locking.
     */
    static volatile Fault[][] sites = new Fault[0][];  // never null

    /** Prologue of methods outside the JDK: faultline's own code never runs them. */
    public static void enter(int site) {
        Fault[][] all = sites;
        if (site < all.length) {
            Fault[] faults = all[site];
            if (faults != null) {
                for (Fault fault : faults) {
                    fault.onCall(site, false);
                }
            }
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
        if (site >= all.length || all[site] == null) {
            return;
        }
        if (!guardEnter()) {
            return;
        }
        try {
            Fault[] faults = all[site];
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
     * Sets this OS thread's timer slack (Linux prctl) and returns the previous value, or -1
     * where that is not possible. A timed park is late by up to the slack (50 us by default).
     */
    static native long timerSlack(long nanos);

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
