package io.faultline.boot;

/**
 * A JSON object written field by field, for the resource faults' events and descriptions.
 * Numbers that JSON cannot carry (NaN, infinities) are written as null; fractions are
 * rounded to four decimals, which is all a reader of a status or an event needs, and written
 * without a fraction when whole ({@code 2000}, not {@code 2000.0}).
 */
final class JsonFields {
    private final StringBuilder out = new StringBuilder("{");

    JsonFields add(String name, String value) {
        return raw(name, Pools.quote(value));
    }

    JsonFields add(String name, long value) {
        return raw(name, Long.toString(value));
    }

    JsonFields add(String name, boolean value) {
        return raw(name, value ? "true" : "false");
    }

    JsonFields add(String name, double value) {
        if (Double.isNaN(value) || Double.isInfinite(value)) {
            return raw(name, "null");
        }
        double rounded = Math.abs(value) < 1e14 ? Math.round(value * 10_000.0) / 10_000.0 : value;
        if (rounded == Math.rint(rounded) && Math.abs(rounded) < 1e15) {
            return raw(name, Long.toString((long) rounded));
        }
        return raw(name, Double.toString(rounded));
    }

    /** A field whose value is already JSON. */
    JsonFields raw(String name, String json) {
        if (out.length() > 1) {
            out.append(',');
        }
        out.append(Pools.quote(name)).append(':').append(json);
        return this;
    }

    @Override
    public String toString() {
        return out.toString() + "}";
    }
}
