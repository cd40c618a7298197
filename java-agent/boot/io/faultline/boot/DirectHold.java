package io.faultline.boot;

import java.lang.management.BufferPoolMXBean;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code kind = "direct"}: {@code size} bytes of direct buffer memory held
 * ({@code ByteBuffer.allocateDirect}, 1 MiB buffers, allocated on {@code faultline-direct};
 * arming waits up to 1.5 s for them).
 *
 * <p><b>The limit.</b> Direct memory is capped by -XX:MaxDirectMemorySize (by default the
 * max heap). The fault stops 16 MiB short of the cap, checked before every buffer, so the
 * application keeps some room and allocateDirect never reaches the slow path where it calls
 * System.gc() and sleeps before throwing; an OutOfMemoryError from allocateDirect stops it
 * too. Either way it keeps what it got and says so (event {@code "phase":"limit"}).
 *
 * <p><b>Removal</b> frees every buffer at once (see {@link #freeWay} for how, per JDK), not
 * at some later collection; when that is not possible the buffers are dropped, one full
 * collection is asked for on a background thread to free them, and the "released" event
 * says {@code "freed":"by_collection"}.
 *
 * <p><b>Counters.</b> {@code calls()}: buffers allocated; {@code injected()}: 1 once the
 * fault stopped allocating, at its size or at the limit.
 */
final class DirectHold extends ResourceFault {
    static final int BUFFER_BYTES = 1024 * 1024;
    static final long HEADROOM_BYTES = 16 * MIB;
    private static final long DEFINE_WAIT_NANOS = TimeUnit.MILLISECONDS.toNanos(1500);

    final long size;
    private final long cap;
    private final BufferPoolMXBean pool;
    /** The buffers; guarded by itself. Never touched again once freed. */
    private final List<ByteBuffer> buffers = new ArrayList<>();
    private volatile long heldBytes;
    private volatile String limit;
    /** Buffers allocated between two looks at the operating system's memory limits. */
    private static final int OS_CHECK_EVERY = 16;

    private DirectHold(int serial, String id, long size, long cap, BufferPoolMXBean pool) {
        super(serial, id, "direct");
        this.size = size;
        this.cap = cap;
        this.pool = pool;
    }

    /** Keys: {@code size} (bytes, a whole number, at least 1; held in whole MiB, rounded up). */
    static DirectHold define(int serial, String id, Resources.Keys keys) {
        long size = keys.integer("size", null, 1, Long.MAX_VALUE);
        keys.noOthers();
        BufferPoolMXBean pool = Gauges.directPool();
        if (pool == null) {
            throw new IllegalArgumentException("direct fault '" + id + "': this JVM has no \"direct\" buffer pool"
                    + " to measure (is java.management missing?)");
        }
        final DirectHold fault = new DirectHold(serial, id, size, directCap(), pool);
        fault.start("faultline-direct", 0, new Runnable() {
            @Override
            public void run() {
                fault.fill();
            }
        });
        fault.awaitSettled(DEFINE_WAIT_NANOS);
        return fault;
    }

    /** The direct memory cap: -XX:MaxDirectMemorySize when set, else the max heap (the JDK's default). */
    private static long directCap() {
        String[] option = Gauges.vmOption("MaxDirectMemorySize");
        if (option != null && "set".equals(option[1])) {
            try {
                long v = Long.parseLong(option[0]);
                if (v > 0) {
                    return v;
                }
            } catch (NumberFormatException e) {
                // Fall back on the default.
            }
        }
        return Runtime.getRuntime().maxMemory();
    }

    private void fill() {
        OsLimits limits = OsLimits.read();
        for (long n = 0; !removed && heldBytes < size; n++) {
            long inUse = pool.getTotalCapacity();
            if (inUse + BUFFER_BYTES + HEADROOM_BYTES > cap) {
                stopAtLimit("direct memory is within " + HEADROOM_BYTES / MIB + " MiB of its cap ("
                        + cap / MIB + " MiB, -XX:MaxDirectMemorySize or the max heap)");
                return;
            }
            // Direct buffers are native memory: a cap above what the container or the machine
            // has would end in the kernel's OOM killer.
            String why = n % OS_CHECK_EVERY == 0 ? limits.memoryLimit(OS_CHECK_EVERY * (long) BUFFER_BYTES) : null;
            if (why != null) {
                stopAtLimit("stopped short of " + why);
                return;
            }
            ByteBuffer b;
            try {
                b = ByteBuffer.allocateDirect(BUFFER_BYTES);
            } catch (OutOfMemoryError e) {
                stopAtLimit(e.toString());
                return;
            }
            synchronized (buffers) {
                if (removed) {
                    free(b);
                    return;
                }
                buffers.add(b);
                heldBytes += BUFFER_BYTES;
            }
            calls.incrementAndGet();
        }
        if (!removed) {
            stoppedTaking(null);
        }
    }

    private void stopAtLimit(String why) {
        limit = why;
        stoppedTaking(why);
    }

    @Override
    void figures(JsonFields out) {
        int n;
        synchronized (buffers) {
            n = buffers.size();
        }
        out.add("size_bytes", size)
                .add("held_bytes", heldBytes)
                .add("buffers", n)
                .add("direct_used_bytes", pool.getMemoryUsed())
                .add("direct_capacity_bytes", pool.getTotalCapacity())
                .add("direct_max_bytes", cap)
                .add("limit", limit != null)
                .add("limit_reason", limit);
    }

    @Override
    JsonFields release() {
        List<ByteBuffer> all;
        long bytes;
        synchronized (buffers) {
            all = new ArrayList<>(buffers);
            buffers.clear();
            bytes = heldBytes;
            heldBytes = 0;
        }
        boolean atOnce = true;
        for (ByteBuffer b : all) {
            atOnce &= free(b);
        }
        int n = all.size();
        all.clear();
        int alive = endThreads();
        String freed = "at_once";
        if (!atOnce) {
            freed = "by_collection";
            final String way = FullGc.way();
            try {
                start("faultline-direct-release", 0, new Runnable() {
                    @Override
                    public void run() {
                        try {
                            FullGc.collect(way);
                        } catch (Exception e) {
                            // Then at the JVM's next collection.
                        }
                    }
                });
            } catch (Throwable t) {
                // No thread for it: the next collection frees them.
            }
        }
        return new JsonFields().add("released_bytes", bytes).add("buffers", n).add("freed", freed)
                .add("free_way", freeWay()).add("threads_alive", alive);
    }

    // ---- freeing a direct buffer now ----

    /** How buffers are freed at once here: one of the FREE_ constants, found once. */
    private static volatile String freeWay;
    private static volatile Object freeTarget;
    private static volatile Method freeMethod;
    private static volatile Method cleanMethod;
    static final String FREE_UNSAFE = "Unsafe.invokeCleaner";
    static final String FREE_CLEANER = "DirectBuffer.cleaner";
    static final String FREE_NONE = "none";

    /** Frees the buffer's memory now; false when it cannot (it is then freed when collected). */
    private static boolean free(ByteBuffer b) {
        String way = freeWay();
        try {
            if (FREE_UNSAFE.equals(way)) {
                freeMethod.invoke(freeTarget, b);
                return true;
            }
            if (FREE_CLEANER.equals(way)) {
                Object cleaner = freeMethod.invoke(b);
                if (cleaner != null) {
                    cleanMethod.invoke(cleaner);
                }
                return true;
            }
        } catch (Throwable t) {
            // Freed by the collection that finds it.
        }
        return false;
    }

    /**
     * The way to free a buffer at once: {@code sun.misc.Unsafe.invokeCleaner} on JDK 9 to 23;
     * from JDK 24 on it prints a deprecation warning on the application's stderr, so there the
     * buffer's own cleaner ({@code sun.nio.ch.DirectBuffer.cleaner().clean()}), which needs
     * {@code sun.nio.ch} and {@code jdk.internal.ref} of java.base exported to the hook's
     * module (the agent does that through JVMTI). Without either, none: the buffers are freed
     * by the collection that finds them, and removal asks for one.
     */
    private static String freeWay() {
        String way = freeWay;
        if (way != null) {
            return way;
        }
        way = FREE_NONE;
        try {
            Module base = Object.class.getModule();
            Module hook = DirectHold.class.getModule();
            if (Runtime.version().feature() < 24) {
                Class<?> c = Class.forName("sun.misc.Unsafe");
                Field f = c.getDeclaredField("theUnsafe");
                f.setAccessible(true);
                freeTarget = f.get(null);
                freeMethod = c.getMethod("invokeCleaner", ByteBuffer.class);
                way = FREE_UNSAFE;
            } else if (base.isExported("sun.nio.ch", hook) && base.isExported("jdk.internal.ref", hook)) {
                freeMethod = Class.forName("sun.nio.ch.DirectBuffer").getMethod("cleaner");
                cleanMethod = Class.forName("jdk.internal.ref.Cleaner").getMethod("clean");
                way = FREE_CLEANER;
            }
        } catch (Throwable t) {
            way = FREE_NONE;
        }
        freeWay = way;
        return way;
    }
}
