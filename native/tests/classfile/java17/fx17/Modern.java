package fx17;

import java.util.List;

/** Java 9..17 shapes: records, sealed types, switch expressions, patterns, private interface methods. */
public class Modern {
    record Point(int x, int y) {
        Point {
            if (x < 0) throw new IllegalArgumentException("negative x");
        }
        Point(int v) { this(v, v); }
        int dist() { return Math.abs(x) + Math.abs(y); }
        static Point origin() { return new Point(0, 0); }
    }

    record Named<T>(String name, T value) implements Comparable<Named<T>> {
        @Override public int compareTo(Named<T> o) { return name.compareTo(o.name); }
    }

    sealed interface Shape permits Circle, Square {}
    record Circle(int r) implements Shape {}
    record Square(int side) implements Shape {}

    interface Calc {
        int base();
        default int twice() { return helper() * 2; }
        private int helper() { return base() + 1; }
        static Calc of(int b) { return () -> b; }
    }

    static int area(Shape s) {
        if (s instanceof Circle c) return 3 * c.r() * c.r();
        if (s instanceof Square q) return q.side() * q.side();
        return -1;
    }

    static String kind(int k) {
        return switch (k) {
            case 1, 2 -> "small";
            case 3 -> {
                String t = "mid";
                yield t + k;
            }
            default -> k > 100 ? "huge" : "other";
        };
    }

    static int strSwitch(String s) {
        return switch (s) {
            case "one" -> 1;
            case "two" -> 2;
            default -> s.length();
        };
    }

    static String text() {
        String t = """
            multi
              line""";
        var list = List.of(1, 2, 3);
        var sb = new StringBuilder();
        for (var i : list) sb.append(i);
        return t.replace('\n', '|') + sb;
    }

    static String run() {
        StringBuilder sb = new StringBuilder();
        Point p = new Point(3, -4);
        sb.append(p).append(p.dist()).append(new Point(2).equals(new Point(2, 2))).append(Point.origin().hashCode()).append(',');
        try {
            new Point(-1, 0);
        } catch (IllegalArgumentException e) {
            sb.append(e.getMessage()).append(',');
        }
        sb.append(new Named<>("a", 1).compareTo(new Named<>("b", 2))).append(new Named<>("n", "v"));
        // Collections.max calls compareTo(Object): the bridge.
        sb.append(java.util.Collections.max(List.of(new Named<>("a", 1), new Named<>("c", 3), new Named<>("b", 2))).name()).append(',');
        sb.append(area(new Circle(2))).append(area(new Square(3))).append(',');
        for (int k : new int[] {1, 3, 7, 200}) sb.append(kind(k));
        sb.append(strSwitch("one")).append(strSwitch("two")).append(strSwitch("three")).append(',');
        sb.append(Calc.of(4).twice()).append(',').append(text());
        return sb.toString();
    }
}
