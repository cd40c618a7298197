package io.faultline.junit;

/**
 * A fault of a test could not be armed (unknown kind, bad duration, invalid target, unknown
 * exception class, unreadable scenario) or its target matched no method. The message names the
 * annotation, where it is, and the agent's reason (which names the key).
 */
public class FaultConfigurationException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public FaultConfigurationException(String message) {
        super(message);
    }

    public FaultConfigurationException(String message, Throwable cause) {
        super(message, cause);
    }
}
