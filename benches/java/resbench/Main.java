package resbench;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;

/**
 * The target of the suite's row 12 (resource faults): an idle JVM that answers one command
 * per line on stdin. {@code gc}: a full collection, then {@code heap USED MAX} (bytes in use
 * after it, the maximum heap). {@code quit}: exits.
 */
public final class Main {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        System.out.println("ready");
        System.out.flush();
        String line;
        while ((line = in.readLine()) != null) {
            if (line.equals("quit")) {
                return;
            }
            if (line.equals("gc")) {
                System.gc();
                long used = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
                System.out.println("heap " + used + " " + Runtime.getRuntime().maxMemory());
                System.out.flush();
            }
        }
    }
}
