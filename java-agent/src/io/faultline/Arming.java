package io.faultline;

/**
 * How faults are armed, besides what their scenario says: for test frameworks that arm the
 * same scenario for tests running side by side (the JUnit extension does).
 *
 * <pre>{@code
 * Faultline.applyText(toml, "PaymentTest", new Arming().scope(token));
 * }</pre>
 */
public final class Arming {
    String scope;
    String idSuffix;

    /**
     * Every fault fires only on threads inside this scope (see {@link Faultline#enterScope}).
     * Pool faults act on whole executors and refuse a scope.
     */
    public Arming scope(String token) {
        this.scope = token;
        return this;
    }

    /** Every fault id gets {@code .SUFFIX} appended (when another test holds the same ids). */
    public Arming idSuffix(String suffix) {
        this.idSuffix = suffix;
        return this;
    }
}
