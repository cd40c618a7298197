package io.faultline;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One outcome: a fault armed, fired, removed or expired. The fields are those of the event
 * JSON Lines format; {@link #get(String)} reads any of them.
 */
public final class FaultEvent {
    private final Map<String, Object> fields;
    private final String json;

    private FaultEvent(Map<String, Object> fields, String json) {
        this.fields = Collections.unmodifiableMap(fields);
        this.json = json;
    }

    /** The fault id. */
    public String fault() { return string("fault"); }

    /** latency, exception, hang, return, respond, pool, armed, removed, expired, warning, skipped. */
    public String kind() { return string("kind"); }

    /** The instrumented method, as {@code com.acme.Repo#save(Lcom/acme/Order;)V}. */
    public String method() { return string("method"); }

    public String thread() { return string("thread"); }

    public String time() { return string("time"); }

    /** For exception faults: the class thrown. */
    public String exception() { return string("exception"); }

    /** For exception faults: the handler that catches it ({@code Class#method(desc):line}) or "uncaught". */
    public String caught() { return string("caught"); }

    /** For faults aimed by a preset: its name ({@code jdbc}, {@code http-server}...); else null. */
    public String preset() { return string("preset"); }

    /** For faults aimed by a preset: what the call matched (the SQL, the request, the host). */
    public String matched() { return string("matched"); }

    /** For latency and hang faults: the delay the thread really waited, in milliseconds. */
    public double delayMillis() {
        Object v = fields.get("delay_ms");
        return v instanceof Number ? ((Number) v).doubleValue() : Double.NaN;
    }

    public Object get(String key) { return fields.get(key); }

    public Map<String, Object> fields() { return fields; }

    public String toJson() { return json; }

    @Override
    public String toString() { return json; }

    private String string(String key) {
        Object v = fields.get(key);
        return v == null ? null : v.toString();
    }

    /** Parses one event line (a JSON object). */
    static FaultEvent parse(String json) {
        Object value = Json.parse(json);
        if (!(value instanceof Map)) {
            throw new IllegalArgumentException("malformed event (not a JSON object): " + json);
        }
        return new FaultEvent(new LinkedHashMap<>(Json.object(value)), json);
    }
}
