package io.faultline;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A fault described in code. Each setter is a scenario key; {@link #arm()} hands the fault to
 * the agent as scenario text, so it is validated by the same parser as scenario files.
 */
public final class FaultBuilder {
    private final Map<String, Object> keys = new LinkedHashMap<>();

    FaultBuilder(String kind) {
        keys.put("kind", kind);
    }

    public FaultBuilder id(String id) { return put("id", id); }

    /** {@code CLASS#METHOD} or {@code CLASS#METHOD(PARAMS)}; see the README's "Targets". */
    public FaultBuilder target(String target) { return put("target", target); }

    public FaultBuilder delay(String delay) { return put("delay", delay); }

    public FaultBuilder delay(Duration delay) { return put("delay", nanos(delay)); }

    public FaultBuilder jitter(String jitter) { return put("jitter", jitter); }

    public FaultBuilder jitter(Duration jitter) { return put("jitter", nanos(jitter)); }

    /** The exception to throw: any Throwable, checked or not, declared or not. */
    public FaultBuilder raise(Class<? extends Throwable> type) { return put("throw", type.getName()); }

    public FaultBuilder raise(Class<? extends Throwable> type, String message) {
        return raise(type).message(message);
    }

    /** The exception to throw, by binary class name. */
    public FaultBuilder raise(String className) { return put("throw", className); }

    public FaultBuilder message(String message) { return put("message", message); }

    public FaultBuilder probability(double probability) { return put("probability", probability); }

    public FaultBuilder after(long calls) { return put("after", calls); }

    public FaultBuilder limit(long injections) { return put("limit", injections); }

    public FaultBuilder duration(String duration) { return put("duration", duration); }

    public FaultBuilder duration(Duration duration) { return put("duration", nanos(duration)); }

    /** Only calls on threads whose name matches this glob ('*', '?'). */
    public FaultBuilder threads(String glob) { return put("threads", glob); }

    /**
     * Only calls on threads inside this scope (see {@link Faultline#enterScope}): the thread
     * that entered it and the threads it started meanwhile.
     */
    public FaultBuilder scope(String token) { return put("scope", token); }

    /**
     * Only calls that meet this condition, e.g. {@code "arg1 > 500 && arg0 == 'b'"} (the
     * README's "Conditions"): checked when the fault is armed, evaluated at each call.
     */
    public FaultBuilder when(String condition) { return put("when", condition); }

    /** Act after the method's body returned normally (its side effects done), not before it. */
    public FaultBuilder atExit() { return put("at", "exit"); }

    /** Where the fault acts: {@code "entry"} (the default) or {@code "exit"}. */
    public FaultBuilder at(String point) { return put("at", point); }

    /**
     * For return faults: the value the method returns instead of running (or, at exit, instead
     * of its result). {@code null}, booleans, numbers, characters, strings, enum constants, and
     * empty {@code Optional}s, collections, maps and arrays (the scenario's {@code "empty"}).
     * Leave it out on a void method: its body is skipped.
     *
     * @throws IllegalArgumentException for any other value
     */
    public FaultBuilder returning(Object value) {
        return put("value", returnValue(value));
    }

    /** A value as a scenario writes it (a TOML literal). */
    static Raw returnValue(Object value) {
        if (value == null) {
            return new Raw("\"null\"");
        }
        if (value instanceof Boolean || value instanceof Long || value instanceof Integer || value instanceof Short
                || value instanceof Byte) {
            return new Raw(value.toString());
        }
        if (value instanceof Double || value instanceof Float) {
            double d = ((Number) value).doubleValue();
            if (Double.isNaN(d) || Double.isInfinite(d)) {
                throw new IllegalArgumentException("faultline: cannot return " + value + ": give a finite number");
            }
            return new Raw(Double.toString(d));
        }
        if (value instanceof Character || value instanceof CharSequence) {
            return new Raw(tomlString(value.toString()));
        }
        if (value instanceof Enum) {
            return new Raw(tomlString(((Enum<?>) value).name()));
        }
        boolean empty = value instanceof java.util.Optional && !((java.util.Optional<?>) value).isPresent()
                || value instanceof java.util.Collection && ((java.util.Collection<?>) value).isEmpty()
                || value instanceof java.util.Map && ((java.util.Map<?, ?>) value).isEmpty()
                || value.getClass().isArray() && java.lang.reflect.Array.getLength(value) == 0;
        if (empty) {
            return new Raw("\"empty\"");
        }
        throw new IllegalArgumentException("faultline: cannot return " + value.getClass().getName() + " " + value
                + ": give null, a boolean, a number, a string, an enum constant or an empty Optional, collection,"
                + " map or array");
    }

    /** A value written into the scenario as it is (not as a string). */
    static final class Raw {
        final String toml;

        Raw(String toml) {
            this.toml = toml;
        }

        @Override
        public String toString() {
            return toml;
        }
    }

    /**
     * A failure mode by name instead of a target: {@code jdbc}, {@code jdbc-connect},
     * {@code http-server}, {@code http-client}, {@code dns}, {@code socket} (the README's
     * "Presets"); set its keys with {@link #sql}, {@link #url}, {@link #path}... or
     * {@link #set}.
     */
    public FaultBuilder preset(String name) { return put("preset", name); }

    /** Preset jdbc: a regular expression found in the statement's SQL. */
    public FaultBuilder sql(String regex) { return put("sql", regex); }

    /** Preset jdbc: {@code select}, {@code insert}, {@code update}, {@code delete} or {@code other}. */
    public FaultBuilder operation(String operation) { return put("operation", operation); }

    /** Presets jdbc, jdbc-connect: a glob on the JDBC URL; http-client: on the request URL. */
    public FaultBuilder url(String glob) { return put("url", glob); }

    /** Preset http-server: a glob on the request path. */
    public FaultBuilder path(String glob) { return put("path", glob); }

    /** Presets http-server, http-client: the HTTP method; grpc: a glob on {@code package.Service/Method}. */
    public FaultBuilder method(String method) { return put("method", method); }

    /** Presets dns, socket: a glob on the host. */
    public FaultBuilder host(String glob) { return put("host", glob); }

    /** Preset socket: the remote port. */
    public FaultBuilder port(int port) { return put("port", (long) port); }

    /** Preset jms: a glob on the queue or topic name. */
    public FaultBuilder destination(String glob) { return put("destination", glob); }

    /** Preset grpc: {@code client} or {@code server}; jms: {@code producer} or {@code consumer} (default: both). */
    public FaultBuilder side(String side) { return put("side", side); }

    /** Respond faults: the HTTP status (or gRPC status code, 1..16) to answer with. */
    public FaultBuilder status(int status) { return put("status", (long) status); }

    /** Respond faults of the grpc preset: a gRPC status by name, such as {@code UNAVAILABLE}. */
    public FaultBuilder status(String name) { return put("status", name); }

    /** For hang faults: the longest a call is held. */
    public FaultBuilder max(String max) { return put("max", max); }

    public FaultBuilder max(Duration max) { return put("max", nanos(max)); }

    // Resource faults (kinds heap, cpu, threads, gc, metaspace, direct, exit): the JVM as a whole.

    /** Heap: the fraction of the maximum heap in use while armed (0 &lt; fill &lt; 1), application data included. */
    public FaultBuilder fill(double fraction) { return put("fill", fraction); }

    /** Cpu: how many busy threads (default: the JVM's available processors). */
    public FaultBuilder cores(int cores) { return put("cores", (long) cores); }

    /** Cpu: each busy thread's duty cycle (0 &lt; load &lt;= 1, default 1). */
    public FaultBuilder load(double load) { return put("load", load); }

    /** Threads: how many threads to start and hold. */
    public FaultBuilder count(int count) { return put("count", (long) count); }

    /** Threads: {@code waiting} (parked, the default) or {@code running} (spinning). */
    public FaultBuilder state(String state) { return put("state", state); }

    /** Gc: a full collection this often, e.g. {@code "2s"}. */
    public FaultBuilder every(String every) { return put("every", every); }

    public FaultBuilder every(Duration every) { return put("every", nanos(every)); }

    /** Metaspace, direct: how much to take, e.g. {@code "128MB"} (binary units). */
    public FaultBuilder size(String size) { return put("size", size); }

    /** Exit: the exit status (0..255, default 1). */
    public FaultBuilder code(int code) { return put("code", (long) code); }

    /** Exit: end with {@code Runtime.halt} (no shutdown hook runs) instead of {@code System.exit}. */
    public FaultBuilder halt() { return put("mode", "halt"); }

    /** Any scenario key by name, for keys without a typed setter. */
    public FaultBuilder set(String key, Object value) { return put(key, value); }

    /** The fault's kind, as given to {@link Faultline#fault}. */
    public String kind() { return String.valueOf(keys.get("kind")); }

    /** The fault's id, or null when none was set (arming then gives it one). */
    public String id() {
        Object id = keys.get("id");
        return id == null ? null : id.toString();
    }

    /** A builder with the same keys, to change without touching this one. */
    public FaultBuilder copy() {
        FaultBuilder copy = new FaultBuilder(kind());
        copy.keys.putAll(keys);
        return copy;
    }

    /** The fault as a scenario (one {@code [[fault]]} table). */
    public String toToml() {
        StringBuilder out = new StringBuilder("[[fault]]\n");
        for (Map.Entry<String, Object> e : keys.entrySet()) {
            out.append(e.getKey()).append(" = ").append(value(e.getValue())).append('\n');
        }
        return out.toString();
    }

    /** Arms the fault now (with a fresh id {@code KIND-N} when it has none); the handle removes it on close. */
    public FaultHandle arm() {
        FaultBuilder fault = id() != null ? this : copy().id(Faultline.nextId(kind()));
        return Faultline.applyText(fault.toToml(), "fault(" + kind() + ") built in " + caller());
    }

    private FaultBuilder put(String key, Object value) {
        if (value == null) {
            keys.remove(key);
        } else {
            keys.put(key, value);
        }
        return this;
    }

    private static String nanos(Duration d) {
        return d.toNanos() + "ns";
    }

    private static String value(Object v) {
        return v instanceof Number || v instanceof Raw ? v.toString() : tomlString(v.toString());
    }

    /** A TOML basic string holding {@code text}, escaped; for code that writes scenario text. */
    public static String tomlString(String text) {
        StringBuilder out = new StringBuilder("\"");
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '"': out.append("\\\""); break;
                case '\\': out.append("\\\\"); break;
                case '\n': out.append("\\n"); break;
                case '\r': out.append("\\r"); break;
                case '\t': out.append("\\t"); break;
                default:
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
            }
        }
        return out.append('"').toString();
    }

    private static String caller() {
        for (StackTraceElement e : new Throwable().getStackTrace()) {
            if (!e.getClassName().startsWith("io.faultline.")) {
                return e.getClassName() + "." + e.getMethodName() + ":" + e.getLineNumber();
            }
        }
        return "code";
    }
}
