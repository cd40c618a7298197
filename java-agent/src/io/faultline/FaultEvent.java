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

    /** latency, exception, hang, pool, armed, removed, expired, warning. */
    public String kind() { return string("kind"); }

    /** The instrumented method, as {@code com.acme.Repo#save(Lcom/acme/Order;)V}. */
    public String method() { return string("method"); }

    public String thread() { return string("thread"); }

    public String time() { return string("time"); }

    /** For exception faults: the class thrown. */
    public String exception() { return string("exception"); }

    /** For exception faults: the handler that catches it ({@code Class#method(desc):line}) or "uncaught". */
    public String caught() { return string("caught"); }

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

    /** Parses one event line: a flat JSON object of strings, numbers, booleans and nulls. */
    static FaultEvent parse(String json) {
        Map<String, Object> out = new LinkedHashMap<>();
        Parser p = new Parser(json);
        p.expect('{');
        p.skipSpace();
        if (p.peek() != '}') {
            while (true) {
                String key = p.string();
                p.expect(':');
                out.put(key, p.value());
                p.skipSpace();
                if (p.peek() == ',') {
                    p.pos++;
                    continue;
                }
                break;
            }
        }
        p.expect('}');
        return new FaultEvent(out, json);
    }

    private static final class Parser {
        final String s;
        int pos;

        Parser(String s) { this.s = s; }

        char peek() { return pos < s.length() ? s.charAt(pos) : '\0'; }

        void skipSpace() {
            while (pos < s.length() && Character.isWhitespace(s.charAt(pos))) pos++;
        }

        void expect(char c) {
            skipSpace();
            if (peek() != c) {
                throw new IllegalArgumentException("malformed event at " + pos + ": " + s);
            }
            pos++;
        }

        Object value() {
            skipSpace();
            char c = peek();
            if (c == '"') return string();
            if (s.startsWith("null", pos)) { pos += 4; return null; }
            if (s.startsWith("true", pos)) { pos += 4; return Boolean.TRUE; }
            if (s.startsWith("false", pos)) { pos += 5; return Boolean.FALSE; }
            int start = pos;
            while (pos < s.length() && "+-0123456789.eE".indexOf(s.charAt(pos)) >= 0) pos++;
            String num = s.substring(start, pos);
            if (num.isEmpty()) throw new IllegalArgumentException("malformed event at " + start + ": " + s);
            if (num.contains(".") || num.contains("e") || num.contains("E")) return Double.parseDouble(num);
            return Long.parseLong(num);
        }

        String string() {
            expect('"');
            StringBuilder out = new StringBuilder();
            while (pos < s.length()) {
                char c = s.charAt(pos++);
                if (c == '"') return out.toString();
                if (c == '\\') {
                    char e = s.charAt(pos++);
                    switch (e) {
                        case 'n': out.append('\n'); break;
                        case 't': out.append('\t'); break;
                        case 'r': out.append('\r'); break;
                        case 'b': out.append('\b'); break;
                        case 'f': out.append('\f'); break;
                        case 'u': out.append((char) Integer.parseInt(s.substring(pos, pos + 4), 16)); pos += 4; break;
                        default: out.append(e);
                    }
                } else {
                    out.append(c);
                }
            }
            throw new IllegalArgumentException("unterminated string in event: " + s);
        }
    }
}
