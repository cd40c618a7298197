package fxold;

/**
 * Compiled with --release 8, then patched to major 49 by the test, so the JVM
 * verifies it with the type-inferring verifier (no StackMapTable use). No
 * lambdas, no interface code, no invokedynamic.
 */
public class OldMain {
    static class Base {
        final String s;
        Base(Object o) { s = String.valueOf(o); }
    }

    static class Derived extends Base {
        Derived(int x) { super(new StringBuilder(x > 0 ? "p" : "n").append(x)); }
        Derived(boolean b) { this(b ? 1 : -1); }
    }

    static int sw(int k) {
        switch (k) { case 1: return 10; case 2: return 20; case 3: return 30; default: return 0; }
    }

    static int lsw(int k) {
        k++;
        switch (k) { case 2: return 1; case 1001: return 2; default: return 0; }
    }

    static synchronized int tryIt(String s) {
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            return -1;
        } finally {
            sw(2);
        }
    }

    static int loop(int n) {
        while (n > 10) n -= 3;
        return n;
    }

    public static void main(String[] args) {
        StringBuilder sb = new StringBuilder();
        sb.append(new Derived(5).s).append(new Derived(false).s);
        for (int k = 0; k < 5; k++) sb.append(sw(k)).append(lsw(k * 1000));
        sb.append(tryIt("7")).append(tryIt("z")).append(loop(40));
        Object lock = new Object();
        synchronized (lock) { sb.append('!'); }
        System.out.println(sb);
    }
}
