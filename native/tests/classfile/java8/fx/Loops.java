package fx;

/** Loops and StackMapTable frames of every kind. */
public class Loops {
    // The loop condition is at offset 0 and is a branch target: first frame delta 0.
    static int whileAtZero(int n) {
        while (n > 10) {
            n -= 3;
        }
        return n;
    }

    static int doWhileAtZero(int n) {
        do {
            n -= 7;
        } while (n > 0);
        return n;
    }

    // append (1..3 new locals), chop, same, same_locals_1, full frames.
    static long frames(int a, boolean b) {
        long acc = 0;
        for (int i = 0; i < a; i++) {
            double d = i * 1.5;
            for (int j = 0; j < 3; j++) {
                if (j == 1) continue;
                acc += (long) d + j;
            }
        }
        acc += b ? 1 : 2;
        acc += mix(a, b ? 3 : 4, a > 2 ? "big" : "small");
        Object o = a > 1 ? (Object) "s" : (Object) Integer.valueOf(a);
        if (o instanceof String) acc += 100;
        return acc;
    }

    static int mix(int a, int b, String c) { return a + b + c.length(); }

    // A long straight prefix pushes the first frame's delta past 63.
    static int longPrefix(int a, boolean b) {
        a = a * 3 + 1; a = a * 3 + 1; a = a * 3 + 1; a = a * 3 + 1; a = a * 3 + 1;
        a = a * 3 + 1; a = a * 3 + 1; a = a * 3 + 1; a = a * 3 + 1;
        if (b) a++;
        return a;
    }

    static int prefix56(int a, boolean b) {
        a = a * 3 + 1; a = a * 3 + 1; a = a * 3 + 1; a = a * 3 + 1; a = a * 3 + 1;
        a = a * 3 + 1; a = a * 3 + 1; a = a * 3 + 1; a = a * 3 + 1;
        return Math.max(a, b ? 1 : 2);
    }

    static int prefix50(int a, boolean b) {
        a = a * 3 + 1; a = a * 3 + 1; a = a * 3 + 1; a = a * 3 + 1; a = a * 3 + 1;
        a = a * 3 + 1; a = a * 3 + 1; a = a * 3 + 1;
        if (b) a++;
        return a;
    }

    // Frames more than 63 bytes after the previous one: same_frame_extended
    // and same_locals_1_stack_item_extended in the original code.
    static int farFrames(int a, boolean b) {
        if (b) a++;
        a = a * 3 + 1; a = a * 3 + 1; a = a * 3 + 1; a = a * 3 + 1; a = a * 3 + 1;
        a = a * 3 + 1; a = a * 3 + 1; a = a * 3 + 1; a = a * 3 + 1; a = a * 3 + 1;
        a = a * 3 + 1; a = a * 3 + 1; a = a * 3 + 1; a = a * 3 + 1;
        if (b) a--;
        int r = b ? 1 : (a * 3 + 1) + (a * 3 + 2) + (a * 3 + 3) + (a * 3 + 4) + (a * 3 + 5)
                + (a * 3 + 6) + (a * 3 + 7) + (a * 3 + 1) + (a * 3 + 2) + (a * 3 + 3) + (a * 3 + 4)
                + (a * 3 + 5) + (a * 3 + 6) + (a * 3 + 7) + (a * 3 + 1) + (a * 3 + 2);
        return r + a;
    }

    static int labeled(int n) {
        int found = 0;
        outer:
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                if (i * j == 12) { found = i * 100 + j; break outer; }
                if (j > i) continue outer;
            }
        }
        return found;
    }

    static String run() {
        StringBuilder sb = new StringBuilder();
        sb.append(whileAtZero(30)).append(',').append(doWhileAtZero(30)).append(',');
        sb.append(frames(5, true)).append(',').append(frames(1, false)).append(',');
        for (int i = 0; i < 8; i++) {
            sb.append(longPrefix(i, i % 2 == 0)).append(prefix56(i, i % 3 == 0)).append(prefix50(i, i % 2 == 1));
        }
        sb.append(',').append(labeled(10)).append(',').append(farFrames(3, true)).append(farFrames(4, false));
        return sb.toString();
    }
}
