package io.faultline.boot;

import java.io.PrintWriter;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Test stub of the agent's hook: counts calls per site and, when
 * -Dfaultline.hookOut=FILE is set, writes "P site count" (enter), "G site count"
 * (enterGuarded), "E site count" (the other entry calls) and "X site count" (exit
 * calls) and "T site count" (calls ended by an exception) lines at JVM exit. Every call lets the method run as written: entry calls that
 * may return a value return PROCEED, exit calls give the result back unchanged.
 */
public final class Hook {
    public static final Object PROCEED = new Object();
    private static final AtomicLongArray PLAIN = new AtomicLongArray(1 << 16);
    private static final AtomicLongArray GUARDED = new AtomicLongArray(1 << 16);
    private static final AtomicLongArray ENTRY = new AtomicLongArray(1 << 16);
    private static final AtomicLongArray EXIT = new AtomicLongArray(1 << 16);
    private static final AtomicLongArray THROWN = new AtomicLongArray(1 << 16);

    static {
        final String out = System.getProperty("faultline.hookOut");
        if (out != null) {
            Runtime.getRuntime().addShutdownHook(new Thread() {
                @Override public void run() { dump(out); }
            });
        }
    }

    private Hook() {}

    public static void enter(int site) { PLAIN.incrementAndGet(site); }

    public static void enterGuarded(int site) { GUARDED.incrementAndGet(site); }

    public static void enterSlots(int site, boolean guarded, long a0, Object o0, long a1, Object o1, Object self) {
        ENTRY.incrementAndGet(site);
    }

    public static Object enterSlotsReturn(int site, boolean guarded, long a0, Object o0, long a1, Object o1,
                                          Object self) {
        ENTRY.incrementAndGet(site);
        return PROCEED;
    }

    public static void enterAll(int site, boolean guarded, Object[] operands) { ENTRY.incrementAndGet(site); }

    public static Object enterAllReturn(int site, boolean guarded, Object[] operands) {
        ENTRY.incrementAndGet(site);
        return PROCEED;
    }

    public static void exitV(int site, boolean g, long a0, Object o0, long a1, Object o1, Object self) {
        EXIT.incrementAndGet(site);
    }

    public static int exitI(int r, int site, boolean g, long a0, Object o0, long a1, Object o1, Object self) {
        EXIT.incrementAndGet(site);
        return r;
    }

    public static long exitJ(long r, int site, boolean g, long a0, Object o0, long a1, Object o1, Object self) {
        EXIT.incrementAndGet(site);
        return r;
    }

    public static float exitF(float r, int site, boolean g, long a0, Object o0, long a1, Object o1, Object self) {
        EXIT.incrementAndGet(site);
        return r;
    }

    public static double exitD(double r, int site, boolean g, long a0, Object o0, long a1, Object o1, Object self) {
        EXIT.incrementAndGet(site);
        return r;
    }

    public static Object exitA(Object r, int site, boolean g, long a0, Object o0, long a1, Object o1, Object self) {
        EXIT.incrementAndGet(site);
        return r;
    }

    public static void exitVAll(int site, boolean g, Object[] operands) { EXIT.incrementAndGet(site); }

    public static int exitIAll(int r, int site, boolean g, Object[] operands) {
        EXIT.incrementAndGet(site);
        return r;
    }

    public static long exitJAll(long r, int site, boolean g, Object[] operands) {
        EXIT.incrementAndGet(site);
        return r;
    }

    public static float exitFAll(float r, int site, boolean g, Object[] operands) {
        EXIT.incrementAndGet(site);
        return r;
    }

    public static double exitDAll(double r, int site, boolean g, Object[] operands) {
        EXIT.incrementAndGet(site);
        return r;
    }

    public static Object exitAAll(Object r, int site, boolean g, Object[] operands) {
        EXIT.incrementAndGet(site);
        return r;
    }

    public static void thrown(Throwable t, int site, boolean guarded) {
        THROWN.incrementAndGet(site);
    }

    static void dump(String path) {
        try (PrintWriter w = new PrintWriter(path, "UTF-8")) {
            for (int i = 0; i < PLAIN.length(); i++) {
                if (PLAIN.get(i) != 0) w.println("P " + i + " " + PLAIN.get(i));
                if (GUARDED.get(i) != 0) w.println("G " + i + " " + GUARDED.get(i));
                if (ENTRY.get(i) != 0) w.println("E " + i + " " + ENTRY.get(i));
                if (EXIT.get(i) != 0) w.println("X " + i + " " + EXIT.get(i));
                if (THROWN.get(i) != 0) w.println("T " + i + " " + THROWN.get(i));
            }
        } catch (Exception e) {
            e.printStackTrace();
        }
    }
}
