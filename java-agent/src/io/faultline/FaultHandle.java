package io.faultline;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Faults armed together; {@link #close()} removes them and restores the original bytecode. */
public final class FaultHandle implements AutoCloseable {
    private final List<String> ids;
    private boolean closed;

    FaultHandle(List<String> ids) {
        this.ids = Collections.unmodifiableList(new ArrayList<>(ids));
    }

    /** The ids of the faults this handle holds, in scenario order. */
    public List<String> ids() {
        return ids;
    }

    /** Injections so far, over all faults of this handle. */
    public long injected() {
        long total = 0;
        for (String id : ids) {
            total += Faultline.injected(id);
        }
        return total;
    }

    /** Injections so far by one fault of this handle. */
    public long injected(String id) {
        requireOwn(id);
        return Faultline.injected(id);
    }

    /** Calls of the instrumented methods seen so far, over all faults of this handle. */
    public long calls() {
        long total = 0;
        for (String id : ids) {
            total += Faultline.calls(id);
        }
        return total;
    }

    /** The events of this handle's faults (armed, injections, removed), oldest first. */
    public List<FaultEvent> events() {
        List<FaultEvent> out = new ArrayList<>();
        for (FaultEvent event : Faultline.events()) {
            if (ids.contains(event.fault())) {
                out.add(event);
            }
        }
        return out;
    }

    /** Removes the faults now; idempotent. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        Faultline.stop(ids);
    }

    private void requireOwn(String id) {
        if (!ids.contains(id)) {
            throw new IllegalArgumentException("fault '" + id + "' is not part of this handle " + ids);
        }
    }
}
