package bench;

/**
 * The hot method under measurement: one xorshift32 step on an int field, a serial chain of
 * six dependent ALU operations (about 2 ns). The result is stored back into the field and
 * returned, and the caller folds it into a sink, so the JIT can neither fold nor drop it.
 */
public final class Hot {
    private int state;

    public Hot(int seed) {
        this.state = seed == 0 ? 0x9E3779B9 : seed;
    }

    /** The same step mixed with an argument: the target of the vocabulary rows (a condition on arg0). */
    public int mix(int v) {
        int x = state ^ v;
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        state = x;
        return x;
    }

    public int step() {
        int x = state;
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        state = x;
        return x;
    }
}
