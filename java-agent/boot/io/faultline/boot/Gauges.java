package io.faultline.boot;

import java.lang.management.BufferPoolMXBean;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;

/**
 * Figures the JVM publishes through its management beans, read the same way for every
 * collector. Every reader returns -1 (or null) when the figure is not available instead of
 * throwing: a JVM may lack the {@code jdk.management} module, and a fault must then degrade,
 * not fail.
 */
final class Gauges {
    private Gauges() {
    }

    /** The max heap: Runtime.maxMemory(), else the heap usage's max; -1 when unbounded. */
    static long heapMax() {
        long max = Runtime.getRuntime().maxMemory();
        if (max > 0 && max != Long.MAX_VALUE) {
            return max;
        }
        try {
            return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getMax();
        } catch (Throwable t) {
            return -1;
        }
    }

    /** Heap in use now, garbage included. */
    static long heapUsedNow() {
        try {
            return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
        } catch (Throwable t) {
            return Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();
        }
    }

    /** Time spent in collections so far, summed over every collector (ms); -1 when unknown. */
    static long gcTimeMillis() {
        long sum = 0;
        boolean any = false;
        try {
            for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
                long t = gc.getCollectionTime();
                if (t >= 0) {
                    sum += t;
                    any = true;
                }
            }
        } catch (Throwable t) {
            return -1;
        }
        return any ? sum : -1;
    }

    /** The memory pool of that name, or null. */
    static MemoryPoolMXBean pool(String name) {
        try {
            for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
                if (p.getName().equals(name)) {
                    return p;
                }
            }
        } catch (Throwable t) {
            // No management: no pool.
        }
        return null;
    }

    /** A pool's usage, or null. */
    static MemoryUsage usage(MemoryPoolMXBean pool) {
        try {
            return pool == null ? null : pool.getUsage();
        } catch (Throwable t) {
            return null;
        }
    }

    /** Whether any heap pool is named like that (e.g. "Epsilon", a collector that never frees). */
    static boolean heapPoolNamed(String part) {
        try {
            for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
                if (p.getType() == MemoryType.HEAP && p.getName().contains(part)) {
                    return true;
                }
            }
        } catch (Throwable t) {
            // Unknown: say no.
        }
        return false;
    }

    /** The largest max of the heap's old-generation pools (see {@link HeapMeter#isOld}); -1 when none. */
    static long oldGenMax() {
        long max = -1;
        try {
            for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
                if (p.getType() == MemoryType.HEAP && HeapMeter.isOld(p.getName())) {
                    max = Math.max(max, p.getUsage().getMax());
                }
            }
        } catch (Throwable t) {
            return -1;
        }
        return max;
    }

    /** The direct buffer pool ("direct"), or null. */
    static BufferPoolMXBean directPool() {
        try {
            for (BufferPoolMXBean p : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
                if (p.getName().equals("direct")) {
                    return p;
                }
            }
        } catch (Throwable t) {
            // No management: no pool.
        }
        return null;
    }

    /**
     * A HotSpot option's value ("true", "0", ...), and whether it was set (not its default):
     * {@code {value, "set"|"default"}}; null when HotSpot's diagnostic bean is not there.
     */
    static String[] vmOption(String name) {
        try {
            com.sun.management.HotSpotDiagnosticMXBean bean =
                    ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
            if (bean == null) {
                return null;
            }
            com.sun.management.VMOption option = bean.getVMOption(name);
            return new String[] {option.getValue(),
                    option.getOrigin() == com.sun.management.VMOption.Origin.DEFAULT ? "default" : "set"};
        } catch (Throwable t) {
            return null;
        }
    }

    /** Whether a boolean HotSpot option is on; false when unknown. */
    static boolean vmFlag(String name) {
        String[] v = vmOption(name);
        return v != null && "true".equals(v[0]);
    }
}
