package fx;

/** Constructor shapes: the prologue runs before super()/this(). */
class Base {
    final String tag;
    Base(Object o) { tag = String.valueOf(o); }
}

public class Ctors extends Base {
    final int n;

    // `new` inside the super-call argument with a branch while it is
    // uninitialized: frames hold Uninitialized(offset of new) and uninitializedThis.
    Ctors(int x) {
        super(new StringBuilder(x > 0 ? "pos" : "neg").append(x));
        n = x;
    }

    // this(...) delegation with a conditional argument (uninitializedThis in frames).
    Ctors(boolean b) {
        this(b ? 7 : -7);
    }

    // A constructor with a try/catch after super().
    Ctors(String s) {
        super(s == null ? "null" : s);
        int v;
        try {
            v = Integer.parseInt(s);
        } catch (NumberFormatException e) {
            v = -1;
        }
        n = v;
    }

    // `new` as the very first instruction, with a branch before <init>:
    // a frame holds Uninitialized(0).
    static Object newFirst(boolean b) {
        return new StringBuilder(b ? "first" : "other");
    }

    static Ctors[] many() {
        return new Ctors[] {new Ctors(3), new Ctors(false), new Ctors("12"), new Ctors("x"), new Ctors((String) null)};
    }

    @Override
    public String toString() { return tag + "/" + n; }
}
