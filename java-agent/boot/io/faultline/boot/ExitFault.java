package io.faultline.boot;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * {@code kind = "exit"}: the JVM ends with {@code code}, by {@code System.exit} ({@code mode =
 * "exit"}: shutdown hooks run) or {@code Runtime.halt} ({@code "halt"}: none run).
 *
 * <p>It happens on {@code faultline-exit}, 300 ms after arming returned, so the agent's reply
 * to the arming command gets out first, and only once the agent has announced the fault (at
 * most 2 s more), so the "armed" event comes first. The {@code "phase":"exiting"} event is
 * handed to the agent 100 ms before the exit. Removing the fault before then cancels the exit.
 *
 * <p><b>Counters.</b> {@code calls()} and {@code injected()}: 1 once exiting.
 */
final class ExitFault extends ResourceFault {
    private static final long DELAY_NANOS = TimeUnit.MILLISECONDS.toNanos(300);
    private static final long ANNOUNCE_WAIT_NANOS = TimeUnit.SECONDS.toNanos(2);
    private static final long EVENT_LEAD_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    final int code;
    final String mode;
    private volatile boolean announcedYet;
    /** "pending", then "exiting" or "cancelled", whichever comes first. */
    private final AtomicReference<String> state = new AtomicReference<>("pending");

    private ExitFault(int serial, String id, int code, String mode) {
        super(serial, id, "exit");
        this.code = code;
        this.mode = mode;
    }

    /** Keys: {@code code} (a whole number, an int), {@code mode} ("exit", default, or "halt"). */
    static ExitFault define(int serial, String id, Resources.Keys keys) {
        int code = (int) keys.integer("code", null, Integer.MIN_VALUE, Integer.MAX_VALUE);
        String mode = keys.choice("mode", "exit", "exit", "halt");
        keys.noOthers();
        final ExitFault fault = new ExitFault(serial, id, code, mode);
        fault.start("faultline-exit", 0, new Runnable() {
            @Override
            public void run() {
                fault.exitLater();
            }
        });
        return fault;
    }

    @Override
    void announced() {
        super.announced();
        announcedYet = true;
    }

    private void exitLater() {
        long start = System.nanoTime();
        sleepUntil(start + DELAY_NANOS);
        long deadline = start + DELAY_NANOS + ANNOUNCE_WAIT_NANOS;
        while (!removed && !announcedYet && System.nanoTime() - deadline < 0) {
            sleepUntil(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(10));
        }
        if (removed || !state.compareAndSet("pending", "exiting")) {
            return;
        }
        // From here on the exit happens, removed or not: the event says so.
        calls.set(1);
        injected.set(1);
        emit(kind, new JsonFields().add("phase", "exiting").add("code", code).add("mode", mode));
        long lead = System.nanoTime() + EVENT_LEAD_NANOS;
        for (long left; (left = lead - System.nanoTime()) > 0; ) {
            LockSupport.parkNanos(left);
        }
        if ("halt".equals(mode)) {
            Runtime.getRuntime().halt(code);
        } else {
            System.exit(code);
        }
    }

    @Override
    void figures(JsonFields out) {
        out.add("code", code).add("mode", mode).add("state", state.get());
    }

    @Override
    JsonFields release() {
        boolean cancelled = state.compareAndSet("pending", "cancelled");
        if (cancelled) {
            endThreads();
        }
        // Not joined when exiting: System.exit does not return, and waiting here could hold up
        // the shutdown that calls remove().
        return new JsonFields().add("cancelled", cancelled);
    }
}
