package fx;

/** Enum with a constructor, constant-specific bodies and an abstract method. */
public enum Color {
    RED("r") { @Override int weight() { return 1; } },
    GREEN("g") { @Override int weight() { return 2; } },
    BLUE("b") { @Override int weight() { return 3 + code.length(); } };

    final String code;

    Color(String code) { this.code = code; }

    abstract int weight();

    static int total() {
        int t = 0;
        for (Color c : values()) t += c.weight() * 10 + c.ordinal();
        return t + valueOf("BLUE").weight();
    }
}
