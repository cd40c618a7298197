package fx;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.function.Function;
import java.util.function.IntSupplier;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/** Lambdas, bridges, nested/inner/anonymous/local classes, interfaces, varargs. */
public class Shapes {
    private int secret = 42;

    // Inner class touching the outer instance's private field (synthetic
    // accessors before Java 11, nestmates after).
    class Inner {
        int peek() { return secret + 1; }
    }

    static class Nested {
        static int twice(int x) { return 2 * x; }
    }

    interface Greeter {
        String name();

        default String greet() { return "hello " + name(); }

        static Greeter of(final String n) {
            return new Greeter() {
                @Override public String name() { return n; }
            };
        }
    }

    // Generic override: javac emits a bridge compareTo(Object).
    static final class Box implements Comparable<Box> {
        final int v;
        Box(int v) { this.v = v; }
        @Override public int compareTo(Box o) { return Integer.compare(v, o.v); }
        @Override public String toString() { return "Box" + v; }
    }

    // Covariant return: another bridge.
    static class Animal { Animal self() { return this; } String kind() { return "animal"; } }
    static class Dog extends Animal { @Override Dog self() { return this; } @Override String kind() { return "dog"; } }

    static int sum(int... xs) {
        int s = 0;
        for (int x : xs) s += x;
        return s;
    }

    static String joinAll(String sep, Object... parts) {
        StringBuilder sb = new StringBuilder();
        for (Object p : parts) {
            if (sb.length() > 0) sb.append(sep);
            sb.append(p);
        }
        return sb.toString();
    }

    static double wide(long a, double b, long c) { return a + b + c; }

    static String lambdas() {
        final int base = 5;
        Function<Integer, Integer> add = x -> x + base;
        IntSupplier sup = () -> base * 2;
        Supplier<List<String>> mk = ArrayList::new;
        List<String> l = mk.get();
        l.add("b");
        l.add("a");
        l.add("c");
        l.sort(Comparator.naturalOrder());
        String mapped = Arrays.asList(3, 1, 2).stream().map(i -> i * i).sorted().map(String::valueOf)
                .collect(Collectors.joining("+"));
        Runnable r = () -> { throw new IllegalStateException("from lambda"); };
        String thrown;
        try {
            r.run();
            thrown = "no";
        } catch (IllegalStateException e) {
            thrown = e.getMessage();
        }
        return add.apply(1) + "," + sup.getAsInt() + "," + l + "," + mapped + "," + thrown;
    }

    String local() {
        final int k = 3;
        class Local {
            int get() { return k * secret; }
        }
        return String.valueOf(new Local().get());
    }

    static String run() {
        Shapes s = new Shapes();
        StringBuilder sb = new StringBuilder();
        sb.append(s.new Inner().peek()).append(',').append(Nested.twice(21)).append(',');
        sb.append(Greeter.of("bob").greet()).append(',');
        List<Box> boxes = new ArrayList<>(Arrays.asList(new Box(3), new Box(1), new Box(2)));
        java.util.Collections.sort(boxes);
        @SuppressWarnings({"rawtypes", "unchecked"})
        Comparable<Object> raw = (Comparable) new Box(5);
        sb.append(boxes).append(raw.compareTo(new Box(4))).append(',');
        Animal a = new Dog();
        sb.append(a.self().kind()).append(',');
        sb.append(sum()).append(sum(1, 2, 3)).append(joinAll("-", "x", 1, 'c')).append(',');
        sb.append(wide(1L, 2.5, 3L)).append(',');
        sb.append(lambdas()).append(',').append(s.local());
        return sb.toString();
    }
}
