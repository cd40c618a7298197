package io.faultline.boot;

/**
 * The fault scope of the current thread: set by {@code Faultline.enterScope}, inherited by
 * the threads it starts. A fault with a {@code scope} fires only on threads carrying it.
 * Lives in the bootstrap loader with the hook, so the check needs no class-loader hops.
 */
public final class Scope {
    private static final InheritableThreadLocal<String> CURRENT = new InheritableThreadLocal<>();

    private Scope() {}

    /** Enters {@code token} on this thread; returns the previous scope, to restore. */
    public static String enter(String token) {
        String previous = CURRENT.get();
        CURRENT.set(token);
        return previous;
    }

    /** Restores the scope returned by {@link #enter}. */
    public static void restore(String previous) {
        if (previous == null) {
            CURRENT.remove();
        } else {
            CURRENT.set(previous);
        }
    }

    static String current() {
        return CURRENT.get();
    }
}
