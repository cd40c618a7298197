package bench;

import io.faultline.FaultHandle;
import io.faultline.Faultline;

/**
 * The in-process API calls of the {@code api} mode, kept out of {@link Main} so that the
 * {@code plain} mode never loads a faultline class.
 */
final class Api {
    private static FaultHandle handle;

    private Api() {}

    /**
     * Loads the agent (found through {@code -Dfaultline.agent=<lib>}) and arms an exception
     * fault on {@code target} that never fires.
     */
    static void armProbabilityZero(String target) {
        Faultline.install();
        handle = Faultline.fault("exception")
                .target(target)
                .raise(IllegalStateException.class)
                .probability(0)
                .arm();
    }

    /** Calls of the target the armed fault has seen (proof that the method is instrumented). */
    static long calls() {
        return handle.calls();
    }

    static long injected() {
        return handle.injected();
    }

    /** Removes the fault: the original bytecode runs again. */
    static void close() {
        handle.close();
        handle = null;
    }
}
