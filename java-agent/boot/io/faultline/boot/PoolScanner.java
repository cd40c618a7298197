package io.faultline.boot;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The scanner of the armed pool faults. All submissions happen on one daemon thread,
 * {@code faultline-pools}, which rescans every 200 ms while a pool fault is armed and ends
 * when the last one is removed. It holds the hook's guard, so no fault fires on it.
 */
final class PoolScanner {
    private static final long SCAN_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

    private static final Object LOCK = new Object();
    /** Armed pool faults, guarded by LOCK. */
    private static final List<Pools> ARMED = new ArrayList<>();
    /** The scanner thread, guarded by LOCK; null when none runs. */
    private static Thread scanner;
    /** Bumped to ask for an immediate scan; guarded by LOCK. */
    private static long scanRequests;

    private PoolScanner() {
    }

    /** Adds an armed fault and asks for a scan now; starts the scanner thread when none runs. */
    static void arm(Pools fault) {
        synchronized (LOCK) {
            ARMED.add(fault);
            scanRequests++;
            if (scanner == null) {
                Thread t = new Thread(ExecutorDiscovery.rootGroup(), new Runnable() {
                    @Override
                    public void run() {
                        scanLoop();
                    }
                }, "faultline-pools", 0, false);
                t.setDaemon(true);
                t.setContextClassLoader(ClassLoader.getSystemClassLoader());
                scanner = t;
                t.start();
            }
            LOCK.notifyAll();
        }
    }

    /**
     * Takes a fault out of the scans. Returns the scanner thread when that was the last
     * armed fault (it ends then), or null.
     */
    static Thread disarm(Pools fault) {
        Thread last = null;
        synchronized (LOCK) {
            ARMED.remove(fault);
            if (ARMED.isEmpty()) {
                last = scanner;
            }
            LOCK.notifyAll();
        }
        return last;
    }

    private static void scanLoop() {
        boolean guard = false;
        try {
            guard = Hook.guardEnter();
        } catch (Throwable ignored) {
            // Natives not bound (cannot happen once the agent runs): go on unguarded.
        }
        try {
            long seen = -1;
            while (true) {
                List<Pools> faults;
                synchronized (LOCK) {
                    if (ARMED.isEmpty()) {
                        if (scanner == Thread.currentThread()) {
                            scanner = null;
                        }
                        return;
                    }
                    seen = scanRequests;
                    faults = new ArrayList<>(ARMED);
                }
                Thread[] threads = ExecutorDiscovery.allThreads();
                for (Pools f : faults) {
                    try {
                        f.scan(threads);
                    } catch (Throwable e) {
                        // A pool that misbehaves must not stop the scanner.
                    }
                }
                synchronized (LOCK) {
                    long until = System.nanoTime() + SCAN_NANOS;
                    while (!ARMED.isEmpty() && scanRequests == seen) {
                        long left = until - System.nanoTime();
                        if (left <= 0) {
                            break;
                        }
                        try {
                            TimeUnit.NANOSECONDS.timedWait(LOCK, left);
                        } catch (InterruptedException e) {
                            // Only ends when no pool fault is left.
                        }
                    }
                }
            }
        } finally {
            if (guard) {
                Hook.guardExit();
            }
            synchronized (LOCK) {
                if (scanner == Thread.currentThread()) {
                    scanner = null;
                }
            }
        }
    }
}
