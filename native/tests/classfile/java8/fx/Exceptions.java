package fx;

import java.io.Closeable;
import java.util.ArrayList;
import java.util.List;

/** try/catch/finally, nested try, multi-catch, try-with-resources. */
public class Exceptions {
    static final List<String> LOG = new ArrayList<>();

    static int tcf(String s) {
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            return -1;
        } finally {
            LOG.add("finally " + s);
        }
    }

    static String nested(int k) {
        try {
            try {
                if (k == 0) throw new IllegalStateException("inner");
                if (k == 1) throw new IllegalArgumentException("arg");
                return "ok" + (10 / (k - 2));
            } catch (IllegalStateException e) {
                return "caught " + e.getMessage();
            } finally {
                LOG.add("inner finally " + k);
            }
        } catch (IllegalArgumentException | ArithmeticException e) {
            return "outer " + e.getClass().getSimpleName();
        }
    }

    static class Res implements Closeable {
        final String name;
        Res(String name) { this.name = name; LOG.add("open " + name); }
        @Override public void close() { LOG.add("close " + name); }
    }

    static int twr(boolean fail) throws Exception {
        try (Res a = new Res("a"); Res b = new Res("b")) {
            if (fail) throw new Exception("fail");
            return a.name.length() + b.name.length();
        }
    }

    static int loopTry(int n) {
        int acc = 0;
        for (int i = 0; i < n; i++) {
            try {
                if (i % 3 == 0) throw new RuntimeException();
                acc += i;
            } catch (RuntimeException e) {
                acc -= 1;
                continue;
            } finally {
                acc *= 2;
            }
        }
        return acc;
    }

    static void thrower() {
        throw new UnsupportedOperationException("boom");
    }

    static String run() {
        StringBuilder sb = new StringBuilder();
        sb.append(tcf("5")).append(tcf("x")).append(';');
        for (int k = 0; k < 4; k++) sb.append(nested(k)).append(';');
        try {
            sb.append(twr(false));
            sb.append(twr(true));
        } catch (Exception e) {
            sb.append(e.getMessage());
        }
        sb.append(';').append(loopTry(10));
        try {
            thrower();
        } catch (UnsupportedOperationException e) {
            sb.append(';').append(e.getMessage()).append(e.getStackTrace()[0].getMethodName());
        }
        sb.append(';').append(LOG);
        return sb.toString();
    }
}
