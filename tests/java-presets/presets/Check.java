package presets;

import io.faultline.FaultEvent;
import io.faultline.Faultline;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What every preset fixture shares: running one case by name ({@code main(CASE, ARGS...)},
 * "PASS CASE" on success), checks that say what the Java code observed, and arming a
 * scenario through the in-process API.
 */
public final class Check {
    private Check() {}

    /** Runs {@code static void CASE(String[] args)} of {@code cases}; exits 0 on success. */
    public static void run(Class<?> cases, String[] args) {
        String name = args[0];
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        try {
            Method m = cases.getDeclaredMethod(name, String[].class);
            m.setAccessible(true);
            m.invoke(null, (Object) rest);
        } catch (java.lang.reflect.InvocationTargetException e) {
            System.out.println("FAIL " + name + ": " + e.getCause());
            e.getCause().printStackTrace(System.out);
            System.exit(1);
        } catch (Exception e) {
            System.out.println("FAIL " + name + ": " + e);
            e.printStackTrace(System.out);
            System.exit(1);
        }
        System.out.println("PASS " + name);
        System.exit(0);
    }

    public static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    public static void report(String key, Object value) {
        System.out.println(key + "=" + value);
    }

    /** Arms a scenario given as TOML lines. */
    public static void arm(String... lines) {
        Faultline.applyText(String.join("\n", lines) + "\n", "preset-test");
    }

    /** The injection events of fault {@code id} so far. */
    public static List<FaultEvent> injections(String id) {
        List<FaultEvent> out = new ArrayList<>();
        for (FaultEvent e : Faultline.events()) {
            if (e.fault().equals(id) && !e.kind().equals("armed") && !e.kind().equals("removed")
                    && !e.kind().equals("warning")) {
                out.add(e);
            }
        }
        return out;
    }

    /** Runs {@code action}; the exception it threw, or null. */
    public static Throwable thrown(Action action) {
        try {
            action.run();
            return null;
        } catch (Throwable t) {
            return t;
        }
    }

    /** Whether {@code t} or one of its causes is an injected exception of class {@code type}. */
    public static boolean injected(Throwable t, String type) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c.getClass().getName().equals(type) && String.valueOf(c.getMessage()).contains("injected by faultline")) {
                return true;
            }
        }
        return false;
    }

    public interface Action {
        void run() throws Exception;
    }
}
