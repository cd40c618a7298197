package io.faultline.junit;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A small JSON reader for the agent's status: objects, arrays, strings, numbers, booleans, null. */
final class Json {
    private final String s;
    private int pos;

    private Json(String s) {
        this.s = s;
    }

    static Object parse(String text) {
        Json p = new Json(text);
        Object v = p.value();
        p.space();
        if (p.pos != text.length()) {
            throw p.error("trailing characters");
        }
        return v;
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> object(Object v) {
        return v instanceof Map ? (Map<String, Object>) v : new LinkedHashMap<>();
    }

    @SuppressWarnings("unchecked")
    static List<Object> array(Object v) {
        return v instanceof List ? (List<Object>) v : new ArrayList<>();
    }

    static long number(Object v) {
        return v instanceof Number ? ((Number) v).longValue() : 0;
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

    private IllegalStateException error(String what) {
        return new IllegalStateException("faultline: malformed status JSON at " + pos + " (" + what + ")");
    }
}
