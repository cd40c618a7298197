package io.faultline.boot;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Resource faults: faults on the JVM as a whole rather than on methods. The native agent
 * arms one through {@link #define} and then drives the returned {@link ResourceFault} as it
 * drives a pool fault: {@code remove()}, {@code calls()}, {@code injected()},
 * {@code describe()} (a JSON object) and {@code announced()}.
 *
 * <p>One class per kind: {@link HeapFill} ({@code heap}), {@link CpuLoad} ({@code cpu}),
 * {@link HeldThreads} ({@code threads}), {@link GcEvery} ({@code gc}),
 * {@link MetaspaceFill} ({@code metaspace}), {@link DirectHold} ({@code direct}),
 * {@link ExitFault} ({@code exit}). Each class comment states its keys, what its counters
 * count, its figures and its events.
 */
final class Resources {
    private Resources() {
    }

    /**
     * Arms a resource fault; called by the native agent. {@code keyValues} holds key, value,
     * key, value... (all values as strings, numbers in decimal). Returns within about 2 s:
     * the kinds that build something up wait for it that long, then go on in the background.
     *
     * @throws IllegalArgumentException with a message for the user when the fault cannot work
     */
    static Object define(int serial, String id, String kind, String[] keyValues) {
        Keys keys = new Keys(id, kind, keyValues);
        ResourceFault fault;
        switch (kind == null ? "" : kind) {
            case "heap":
                fault = HeapFill.define(serial, id, keys);
                break;
            case "cpu":
                fault = CpuLoad.define(serial, id, keys);
                break;
            case "threads":
                fault = HeldThreads.define(serial, id, keys);
                break;
            case "gc":
                fault = GcEvery.define(serial, id, keys);
                break;
            case "metaspace":
                fault = MetaspaceFill.define(serial, id, keys);
                break;
            case "direct":
                fault = DirectHold.define(serial, id, keys);
                break;
            case "exit":
                fault = ExitFault.define(serial, id, keys);
                break;
            default:
                throw new IllegalArgumentException("fault '" + id + "': unknown resource fault kind " + Pools.quote(kind)
                        + "; the kinds are heap, cpu, threads, gc, metaspace, direct and exit");
        }
        return fault;
    }

    /**
     * The keys of one fault, read once each. Every reader names the key and the accepted
     * range in its error; a key that no reader asked for is refused by {@link #noOthers}.
     */
    static final class Keys {
        private final String what;
        private final Map<String, String> values = new LinkedHashMap<>();

        Keys(String id, String kind, String[] keyValues) {
            this.what = kind + " fault '" + id + "'";
            if (keyValues != null) {
                if (keyValues.length % 2 != 0) {
                    throw new IllegalArgumentException(what + ": keys and values do not pair up");
                }
                for (int i = 0; i < keyValues.length; i += 2) {
                    values.put(keyValues[i], keyValues[i + 1]);
                }
            }
        }

        /** A text value among {@code allowed}; {@code dflt} when absent (null: required). */
        String choice(String key, String dflt, String... allowed) {
            String v = take(key, dflt);
            for (String a : allowed) {
                if (a.equals(v)) {
                    return v;
                }
            }
            throw new IllegalArgumentException(what + ": " + key + " must be " + String.join(" or ", quoted(allowed))
                    + ", not " + Pools.quote(v));
        }

        /** A whole number in [min, max]; {@code dflt} when absent (null: required). */
        long integer(String key, Long dflt, long min, long max) {
            String v = take(key, dflt == null ? null : dflt.toString());
            long n;
            try {
                n = Long.parseLong(v.trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(what + ": " + key + " must be a whole number, not " + Pools.quote(v));
            }
            if (n < min || n > max) {
                throw new IllegalArgumentException(what + ": " + key + " must be "
                        + (max == Long.MAX_VALUE ? "at least " + min : "between " + min + " and " + max) + ", not " + n);
            }
            return n;
        }

        /** A number in (lowExclusive, high], or (lowExclusive, high) when {@code highExclusive}. */
        double fraction(String key, Double dflt, double lowExclusive, double high, boolean highExclusive) {
            String v = take(key, dflt == null ? null : dflt.toString());
            double d;
            try {
                d = Double.parseDouble(v.trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(what + ": " + key + " must be a number, not " + Pools.quote(v));
            }
            if (!(d > lowExclusive) || (highExclusive ? !(d < high) : !(d <= high))) {
                throw new IllegalArgumentException(what + ": " + key + " must be above " + lowExclusive
                        + (highExclusive ? " and below " : " and at most ") + high + ", not " + v);
            }
            return d;
        }

        /** Refuses the keys no reader asked for (a key of another kind, a typo). */
        void noOthers() {
            if (!values.isEmpty()) {
                throw new IllegalArgumentException(what + ": unknown key" + (values.size() > 1 ? "s " : " ")
                        + String.join(", ", quoted(values.keySet().toArray(new String[0]))));
            }
        }

        private String take(String key, String dflt) {
            String v = values.remove(key);
            if (v == null) {
                v = dflt;
            }
            if (v == null) {
                throw new IllegalArgumentException(what + " needs '" + key + "'");
            }
            return v;
        }

        private static String[] quoted(String[] names) {
            String[] out = new String[names.length];
            for (int i = 0; i < names.length; i++) {
                out[i] = Pools.quote(names[i]);
            }
            return out;
        }
    }
}
