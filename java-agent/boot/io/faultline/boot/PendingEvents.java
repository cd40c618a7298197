package io.faultline.boot;

import java.util.ArrayList;
import java.util.List;

/**
 * The events of a fault that acts on its own (a pool or resource fault), held until the native
 * agent has written the fault's "armed" event ({@link #announced}) and then handed over in
 * order: a fault may find things to report while it is still being armed. Best effort: an
 * event the agent cannot take is dropped, never thrown.
 */
final class PendingEvents {
    private final int serial;
    /** Events waiting for announced(); guarded by this. */
    private final List<String[]> pending = new ArrayList<>();
    private boolean announced;

    PendingEvents(int serial) {
        this.serial = serial;
    }

    /** An event ({@code fields}: a JSON object), now or once the fault is announced. */
    synchronized void add(String kind, String fields) {
        pending.add(new String[] {kind, fields});
        flush();
    }

    /** The agent has written the "armed" event: what waited follows it now, in order. */
    synchronized void announced() {
        announced = true;
        flush();
    }

    private void flush() {
        if (!announced) {
            return;
        }
        for (String[] e : pending) {
            try {
                Hook.event(serial, e[0], e[1]);
            } catch (Throwable ignored) {
                // Events are best effort.
            }
        }
        pending.clear();
    }
}
