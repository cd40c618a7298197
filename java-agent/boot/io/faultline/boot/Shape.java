package io.faultline.boot;

/**
 * The signature of one instrumented method, as the hook needs it to read captured operands
 * and to build return values: parameter and return types. Parsed once per site from the
 * descriptor the agent wrote into {@link Hook#descriptors}, and cached.
 */
final class Shape {
    /** Field descriptors of the parameters, e.g. {@code I}, {@code Ljava/lang/String;}. */
    final String[] params;
    /** The return field descriptor, {@code V} for void. */
    final String ret;
    /**
     * Per parameter, then the result last: true for the integral primitives that travel as
     * their long value (int, long, short, byte, char), which a comparison with a whole
     * number reads as they are.
     */
    final boolean[] integral;

    private Shape(String[] params, String ret) {
        this.params = params;
        this.ret = ret;
        this.integral = new boolean[params.length + 1];
        for (int i = 0; i <= params.length; i++) {
            String d = i < params.length ? params[i] : ret;
            this.integral[i] = d.length() == 1 && "IJSBC".indexOf(d.charAt(0)) >= 0;
        }
    }

    /** Whether parameter {@code arg} (or the result, for -1) is an integral primitive. */
    boolean integral(int arg) {
        return arg < 0 ? integral[params.length] : arg < params.length && integral[arg];
    }

    /**
     * Shapes by site. Not volatile: a reader that sees a stale array computes the shape again,
     * and a Shape seen through the array is complete (its fields are final).
     */
    private static Shape[] cache = new Shape[0];

    /** The shape of a site; null when the agent has not described it (a classic site). */
    static Shape of(int site) {
        Shape[] c = cache;
        Shape s = site < c.length ? c[site] : null;
        if (s != null) {
            return s;
        }
        String[] all = Hook.descriptors;
        String descriptor = site < all.length ? all[site] : null;
        if (descriptor == null) {
            return null;
        }
        s = parse(descriptor);
        synchronized (Shape.class) {
            Shape[] now = cache;
            if (site >= now.length) {
                Shape[] bigger = new Shape[Math.max(site + 1, now.length * 2)];
                System.arraycopy(now, 0, bigger, 0, now.length);
                now = bigger;
            }
            now[site] = s;
            cache = now;
        }
        return s;
    }

    static Shape parse(String descriptor) {
        java.util.ArrayList<String> params = new java.util.ArrayList<>();
        int i = 1;
        while (i < descriptor.length() && descriptor.charAt(i) != ')') {
            int start = i;
            while (descriptor.charAt(i) == '[') {
                i++;
            }
            if (descriptor.charAt(i) == 'L') {
                i = descriptor.indexOf(';', i);
            }
            i++;
            params.add(descriptor.substring(start, i));
        }
        return new Shape(params.toArray(new String[0]), descriptor.substring(i + 1));
    }

    /**
     * A value that travelled as raw long bits (captured primitives, primitive results), boxed
     * as the type {@code descriptor} says.
     */
    static Object decode(String descriptor, long bits) {
        switch (descriptor.charAt(0)) {
            case 'Z': return bits != 0 ? Boolean.TRUE : Boolean.FALSE;
            case 'C': return (char) bits;
            case 'B': return (byte) bits;
            case 'S': return (short) bits;
            case 'I': return (int) bits;
            case 'J': return bits;
            case 'F': return (float) Double.longBitsToDouble(bits);
            case 'D': return Double.longBitsToDouble(bits);
            default: return null;
        }
    }

    static boolean primitive(String descriptor) {
        char c = descriptor.charAt(0);
        return c != 'L' && c != '[';
    }
}
