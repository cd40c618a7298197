package io.faultline.boot;

import java.io.PrintWriter;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Test stub of the agent's hook: counts prologue calls per site and, when
 * -Dfaultline.hookOut=FILE is set, writes "P site count" (enter) and
 * "G site count" (enterGuarded) lines at JVM exit.
 */
public final class Hook {
    private static final AtomicLongArray PLAIN = new AtomicLongArray(1 << 16);
    private static final AtomicLongArray GUARDED = new AtomicLongArray(1 << 16);

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

    static void dump(String path) {
        try (PrintWriter w = new PrintWriter(path, "UTF-8")) {
            for (int i = 0; i < PLAIN.length(); i++) {
                if (PLAIN.get(i) != 0) w.println("P " + i + " " + PLAIN.get(i));
                if (GUARDED.get(i) != 0) w.println("G " + i + " " + GUARDED.get(i));
            }
        } catch (Exception e) {
            e.printStackTrace();
        }
    }
}
