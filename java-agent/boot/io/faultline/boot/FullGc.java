package io.faultline.boot;

import java.lang.management.ManagementFactory;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/**
 * One full collection on request, the way this JVM allows it: {@code System.gc()}, or, when
 * {@code -XX:+DisableExplicitGC} turns that into a no-op, the diagnostic command
 * {@code GC.run} through the DiagnosticCommand MBean (what {@code jcmd PID GC.run} does),
 * which that flag does not disable.
 */
final class FullGc {
    static final String SYSTEM_GC = "System.gc";
    static final String GC_RUN = "DiagnosticCommand GC.run";
    private static final String DCMD_BEAN = "com.sun.management:type=DiagnosticCommand";

    private FullGc() {
    }

    /** The way to use here: {@link #GC_RUN} when explicit GC is disabled, else {@link #SYSTEM_GC}. */
    static String way() {
        return Gauges.vmFlag("DisableExplicitGC") ? GC_RUN : SYSTEM_GC;
    }

    /** Null when {@code way} can work here, else why not (for the user). */
    static String problem(String way) {
        if (!GC_RUN.equals(way)) {
            return null;
        }
        try {
            if (!ManagementFactory.getPlatformMBeanServer().isRegistered(new ObjectName(DCMD_BEAN))) {
                return "the JVM runs with -XX:+DisableExplicitGC and has no DiagnosticCommand MBean to run GC.run";
            }
            return null;
        } catch (Throwable t) {
            return "the JVM runs with -XX:+DisableExplicitGC and its DiagnosticCommand MBean cannot be reached: " + t;
        }
    }

    /** Runs one collection that way; returns when the JVM has finished it. */
    static void collect(String way) throws Exception {
        if (GC_RUN.equals(way)) {
            MBeanServer server = ManagementFactory.getPlatformMBeanServer();
            server.invoke(new ObjectName(DCMD_BEAN), "gcRun", new Object[] {new String[0]},
                    new String[] {String[].class.getName()});
        } else {
            System.gc();
        }
    }
}
