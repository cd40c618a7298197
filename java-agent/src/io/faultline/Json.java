package io.faultline;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON faultline's Java side reads and writes: requests to the agent, its replies and its
 * events. Objects are {@code Map<String, Object>} (in order), arrays {@code List<Object>},
 * numbers {@code Long} or {@code Double}. Used by faultline's own modules (the API, the JUnit
 * extension); not a general-purpose JSON library.
 */
public final class Json {
    private final String s;
    private int pos;

    private Json(String s) {
        this.s = s;
    }

    /** Parses one JSON value. @throws IllegalArgumentException when the text is not JSON */
    public static Object parse(String text) {
        Json p = new Json(text);
        Object v = p.value();
        p.space();
        if (p.pos != text.length()) {
            throw p.error("trailing characters");
        }
        return v;
    }

    /** {@code v} as an object, or an empty one when it is not. */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> object(Object v) {
        return v instanceof Map ? (Map<String, Object>) v : new LinkedHashMap<>();
    }

    /** {@code v} as an array, or an empty one when it is not. */
    @SuppressWarnings("unchecked")
    public static List<Object> array(Object v) {
        return v instanceof List ? (List<Object>) v : new ArrayList<>();
    }

    /** {@code v} as a whole number, or 0 when it is not a number. */
    public static long number(Object v) {
        return v instanceof Number ? ((Number) v).longValue() : 0;
    }

    /** {@code v} written as JSON: maps, lists, strings, numbers, booleans and null. */
    public static String write(Object v) {
        StringBuilder out = new StringBuilder();
        write(v, out);
        return out.toString();
    }

    private static void write(Object v, StringBuilder out) {
        if (v == null) {
            out.append("null");
        } else if (v instanceof Map) {
            out.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                if (!first) {
                    out.append(',');
                }
                first = false;
                quote(String.valueOf(e.getKey()), out);
                out.append(':');
                write(e.getValue(), out);
            }
            out.append('}');
        } else if (v instanceof List) {
            out.append('[');
            boolean first = true;
            for (Object item : (List<?>) v) {
                if (!first) {
                    out.append(',');
                }
                first = false;
                write(item, out);
            }
            out.append(']');
        } else if (v instanceof Number || v instanceof Boolean) {
            out.append(v);
        } else {
            quote(v.toString(), out);
        }
    }

    private static void quote(String text, StringBuilder out) {
        out.append('"');
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
        out.append('"');
    }

    private Object value() {
        space();
        char c = peek();
        switch (c) {
            case '{': {
                pos++;
                Map<String, Object> out = new LinkedHashMap<>();
                space();
                if (peek() == '}') {
                    pos++;
                    return out;
                }
                while (true) {
                    space();
                    String key = string();
                    space();
                    expect(':');
                    out.put(key, value());
                    space();
                    if (peek() == ',') {
                        pos++;
                        continue;
                    }
                    expect('}');
                    return out;
                }
            }
            case '[': {
                pos++;
                List<Object> out = new ArrayList<>();
                space();
                if (peek() == ']') {
                    pos++;
                    return out;
                }
                while (true) {
                    out.add(value());
                    space();
                    if (peek() == ',') {
                        pos++;
                        continue;
                    }
                    expect(']');
                    return out;
                }
            }
            case '"':
                return string();
            default:
                if (s.startsWith("null", pos)) {
                    pos += 4;
                    return null;
                }
                if (s.startsWith("true", pos)) {
                    pos += 4;
                    return Boolean.TRUE;
                }
                if (s.startsWith("false", pos)) {
                    pos += 5;
                    return Boolean.FALSE;
                }
                int start = pos;
                while (pos < s.length() && "+-0123456789.eE".indexOf(s.charAt(pos)) >= 0) {
                    pos++;
                }
                String num = s.substring(start, pos);
                if (num.isEmpty()) {
                    throw error("unexpected character");
                }
                if (num.contains(".") || num.contains("e") || num.contains("E")) {
                    return Double.parseDouble(num);
                }
                return Long.parseLong(num);
        }
    }

    private String string() {
        expect('"');
        StringBuilder out = new StringBuilder();
        while (pos < s.length()) {
            char c = s.charAt(pos++);
            if (c == '"') {
                return out.toString();
            }
            if (c == '\\') {
                if (pos >= s.length()) {
                    break;
                }
                char e = s.charAt(pos++);
                switch (e) {
                    case 'n': out.append('\n'); break;
                    case 't': out.append('\t'); break;
                    case 'r': out.append('\r'); break;
                    case 'b': out.append('\b'); break;
                    case 'f': out.append('\f'); break;
                    case 'u':
                        if (pos + 4 > s.length()) {
                            throw error("short \\u escape");
                        }
                        out.append((char) Integer.parseInt(s.substring(pos, pos + 4), 16));
                        pos += 4;
                        break;
                    default: out.append(e);
                }
            } else {
                out.append(c);
            }
        }
        throw error("unterminated string");
    }

    private char peek() {
        return pos < s.length() ? s.charAt(pos) : '\0';
    }

    private void space() {
        while (pos < s.length() && Character.isWhitespace(s.charAt(pos))) {
            pos++;
        }
    }

    private void expect(char c) {
        if (peek() != c) {
            throw error("expected '" + c + "'");
        }
        pos++;
    }

    private IllegalArgumentException error(String what) {
        return new IllegalArgumentException("faultline: malformed JSON at " + pos + " (" + what + "): " + s);
    }
}
