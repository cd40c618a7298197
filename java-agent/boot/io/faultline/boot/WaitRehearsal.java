package io.faultline.boot;

/**
 * A one-time run of a wait's firing path, before the first latency or hang fault's waits.
 *
 * <p>The JIT acts on a method when its call count crosses a threshold (the interpreter asks
 * every 128 calls; a compilation is requested past 200; a native method's wrapper is made in
 * the calling thread). On the firing path those thresholds fell on the 128th and 256th wait
 * of a JVM, between the call and the moment its deadline is set, and made those waits 0.1 to
 * 0.4 ms late (a compiler thread woken there took the caller's CPU). A private fault that no
 * method calls, its waits 0 ns long and its events dropped (no agent label has its serial),
 * runs the same methods past those thresholds on a short-lived thread of its own, once per
 * JVM, when the first such fault is defined.
 */
final class WaitRehearsal implements Runnable {
    /** Past the thresholds of the first compilation (200) and of the optimizing one (5000). */
    private static final int WAITS = 6000;
    /** No agent label has it: Hook.fired drops its events. */
    private static final int SERIAL = Integer.MIN_VALUE;
    /** A site no class has (its events are dropped before the site is read). */
    private static final int SITE = Integer.MAX_VALUE;

    private static boolean started;  // under the class's monitor

    private WaitRehearsal() {}

    /** Starts the rehearsal unless it has started before. */
    static void startOnce() {
        synchronized (WaitRehearsal.class) {
            if (started) {
                return;
            }
            started = true;
        }
        Thread t = new Thread(new WaitRehearsal(), "faultline-wait-rehearsal");
        t.setDaemon(true);
        t.start();
    }

    @Override
    public void run() {
        try {
            Fault fault = Fault.rehearsal(SERIAL);
            Fault[] faults = {fault};
            for (int i = 0; i < WAITS; i++) {
                Hook.enterFaults(faults, SITE);
            }
        } catch (Throwable ignored) {
            // Only a head start: the real waits cope without it.
        }
    }
}
