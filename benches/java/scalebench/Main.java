package scalebench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;

/**
 * The JVM side of measure 8 of {@code cargo bench --bench suite} (scale): loads every class
 * named in the file {@code args[0]} (one binary name a line; the suite generates them), prints
 * {@code ready <generated classes loaded> <ms> <classes loaded in the JVM>}, then idles until killed (at most 300 s), calling {@link #idle()}
 * now and then (the suite's first, narrow fault goes there, to attach the agent).
 */
public final class Main {
    static int sink;

    static void idle() {
        sink++;
    }

    public static void main(String[] args) throws Exception {
        List<String> names = Files.readAllLines(Paths.get(args[0]));
        ClassLoader loader = Main.class.getClassLoader();
        long t0 = System.nanoTime();
        int loaded = 0;
        for (String name : names) {
            if (!name.isEmpty()) {
                Class.forName(name, false, loader);
                loaded++;
            }
        }
        long ms = (System.nanoTime() - t0) / 1_000_000L;
        int total = java.lang.management.ManagementFactory.getClassLoadingMXBean().getLoadedClassCount();
        System.out.println("ready " + loaded + " " + ms + " " + total);
        System.out.flush();
        long end = System.nanoTime() + 300_000_000_000L;
        while (System.nanoTime() < end) {
            try {
                idle();
            } catch (RuntimeException e) {
                // a fault the suite armed; ignore
            }
            Thread.sleep(10);
        }
    }
}
