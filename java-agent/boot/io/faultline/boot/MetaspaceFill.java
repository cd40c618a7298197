package io.faultline.boot;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryUsage;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code kind = "metaspace"}: {@code size} more bytes of Metaspace in use, as classes that
 * stay loaded. {@code faultline-metaspace} defines generated classes, each in its own
 * throwaway class loader (parent: the bootstrap loader), until the "Metaspace" pool's use
 * grew by {@code size}. Each class is one method of 60 KiB of bytecode, which HotSpot copies
 * into Metaspace when it parses the class (class names and other constants would go to the
 * symbol table, outside Metaspace). Classes are never linked, so none is verified or run.
 *
 * <p><b>Never the cause of an OutOfMemoryError: Metaspace.</b> It stops 16 MiB short of
 * MaxMetaspaceSize (and of the compressed class space's size), checked against committed
 * Metaspace before every class, and says what it got (event {@code "phase":"limit"}).
 *
 * <p><b>Removal</b> drops every class and loader, then asks for one full collection on a
 * background thread ({@link FullGc}), so they are unloaded at once rather than at some later
 * collection; remove() does not wait for it. Arming waits up to 1.5 s for the fill.
 *
 * <p>{@code held_bytes}: the Metaspace growth measured around each definition, taken between
 * one and two times the method's size, so classes the application loads at the same moment
 * are not counted as the fault's.
 *
 * <p><b>Counters.</b> {@code calls()}: classes defined; {@code injected()}: 1 once the fill
 * stopped, at its size or at the limit.
 */
final class MetaspaceFill extends ResourceFault {
    static final int CODE_BYTES = 60 * 1024;
    static final long HEADROOM_BYTES = 16 * MIB;
    private static final String CLASS_NAME = "io.faultline.generated.MetaspaceFiller";
    private static final byte[] CLASS_FILE = fillerClass();
    private static final long DEFINE_WAIT_NANOS = TimeUnit.MILLISECONDS.toNanos(1500);

    final long size;
    private final MemoryPoolMXBean metaspace;
    private final MemoryPoolMXBean classSpace;
    /** The classes defined (each holds its loader); guarded by itself. */
    private final List<Class<?>> classes = new ArrayList<>();
    private volatile long heldBytes;
    private volatile String limit;
    /** Classes defined between two looks at the operating system's memory limits. */
    private static final int OS_CHECK_EVERY = 16;

    private MetaspaceFill(int serial, String id, long size, MemoryPoolMXBean metaspace) {
        super(serial, id, "metaspace");
        this.size = size;
        this.metaspace = metaspace;
        this.classSpace = Gauges.pool("Compressed Class Space");
    }

    /** Keys: {@code size} (bytes, a whole number, at least 1). */
    static MetaspaceFill define(int serial, String id, Resources.Keys keys) {
        long size = keys.integer("size", null, 1, Long.MAX_VALUE);
        keys.noOthers();
        MemoryPoolMXBean metaspace = Gauges.pool("Metaspace");
        if (metaspace == null) {
            throw new IllegalArgumentException("metaspace fault '" + id + "': this JVM has no \"Metaspace\" memory"
                    + " pool to measure (HotSpot has one; is java.management missing?)");
        }
        final MetaspaceFill fault = new MetaspaceFill(serial, id, size, metaspace);
        fault.start("faultline-metaspace", 0, new Runnable() {
            @Override
            public void run() {
                fault.fill();
            }
        });
        fault.awaitSettled(DEFINE_WAIT_NANOS);
        return fault;
    }

    private void fill() {
        OsLimits limits = OsLimits.read();
        for (long n = 0; !removed && heldBytes < size; n++) {
            // Metaspace is native memory: with no MaxMetaspaceSize only the container or the
            // machine bounds it, and the kernel's OOM killer would end the JVM there.
            String why = n % OS_CHECK_EVERY == 0 ? limits.memoryLimit(OS_CHECK_EVERY * 2L * CODE_BYTES) : null;
            why = why != null ? "stopped short of " + why : noRoom();
            if (why != null) {
                stopAtLimit(why);
                return;
            }
            long before = used(metaspace);
            Class<?> c;
            try {
                c = new Loader().define();
            } catch (OutOfMemoryError e) {
                stopAtLimit(e.toString());
                return;
            }
            long grew = used(metaspace) - before;
            synchronized (classes) {
                if (removed) {
                    return;
                }
                classes.add(c);
            }
            heldBytes += Math.max(CODE_BYTES, Math.min(2L * CODE_BYTES, grew));
            calls.incrementAndGet();
        }
        if (!removed) {
            stoppedTaking(null);
        }
    }

    /** Null while one more class fits under the maxima with the headroom left, else why not. */
    private String noRoom() {
        for (MemoryPoolMXBean pool : new MemoryPoolMXBean[] {metaspace, classSpace}) {
            MemoryUsage u = Gauges.usage(pool);
            if (u != null && u.getMax() > 0 && u.getCommitted() + 2L * CODE_BYTES + HEADROOM_BYTES > u.getMax()) {
                return pool.getName() + " is within " + HEADROOM_BYTES / MIB + " MiB of its max (" + u.getMax() / MIB
                        + " MiB)";
            }
        }
        return null;
    }

    private void stopAtLimit(String why) {
        limit = why;
        stoppedTaking(why);
    }

    private static long used(MemoryPoolMXBean pool) {
        MemoryUsage u = Gauges.usage(pool);
        return u == null ? 0 : u.getUsed();
    }

    @Override
    void figures(JsonFields out) {
        int n;
        synchronized (classes) {
            n = classes.size();
        }
        MemoryUsage u = Gauges.usage(metaspace);
        out.add("size_bytes", size)
                .add("held_bytes", heldBytes)
                .add("classes", n)
                .add("metaspace_used_bytes", u == null ? -1 : u.getUsed())
                .add("metaspace_max_bytes", u == null ? -1 : u.getMax())
                .add("limit", limit != null)
                .add("limit_reason", limit);
    }

    @Override
    JsonFields release() {
        int n;
        synchronized (classes) {
            n = classes.size();
            classes.clear();
        }
        long bytes = heldBytes;
        heldBytes = 0;
        int alive = endThreads();
        String unloading = "next collection";
        if (n > 0) {
            final String way = FullGc.way();
            try {
                start("faultline-metaspace-release", 0, new Runnable() {
                    @Override
                    public void run() {
                        try {
                            FullGc.collect(way);
                        } catch (Exception e) {
                            // The classes then go at the JVM's next collection.
                        }
                    }
                });
                unloading = way;
            } catch (Throwable t) {
                // No thread for it: the next collection unloads them.
            }
        }
        return new JsonFields().add("classes", n).add("held_bytes", bytes).add("unloading", unloading)
                .add("threads_alive", alive);
    }

    /** A loader for exactly one filler class; dropping the class drops the loader. */
    private static final class Loader extends ClassLoader {
        Loader() {
            super(null);
        }

        Class<?> define() {
            return defineClass(CLASS_NAME, CLASS_FILE, 0, CLASS_FILE.length);
        }
    }

    /**
     * {@code public final class MetaspaceFiller { public static void fill() { nop... return; } }}
     * (class file version 52): a constant pool of seven entries, one method whose code is
     * CODE_BYTES long. Straight-line code needs no StackMapTable.
     */
    private static byte[] fillerClass() {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(CODE_BYTES + 256);
            DataOutputStream out = new DataOutputStream(bytes);
            out.writeInt(0xCAFEBABE);
            out.writeShort(0);
            out.writeShort(52);
            out.writeShort(8); // constant pool count: entries 1..7
            out.writeByte(1); // #1 Utf8 this class
            out.writeUTF(CLASS_NAME.replace('.', '/'));
            out.writeByte(7); // #2 Class #1
            out.writeShort(1);
            out.writeByte(1); // #3 Utf8 super class
            out.writeUTF("java/lang/Object");
            out.writeByte(7); // #4 Class #3
            out.writeShort(3);
            out.writeByte(1); // #5 method name
            out.writeUTF("fill");
            out.writeByte(1); // #6 method descriptor
            out.writeUTF("()V");
            out.writeByte(1); // #7 attribute name
            out.writeUTF("Code");
            out.writeShort(0x0001 | 0x0010 | 0x0020); // public final super
            out.writeShort(2);
            out.writeShort(4);
            out.writeShort(0); // interfaces
            out.writeShort(0); // fields
            out.writeShort(1); // methods
            out.writeShort(0x0001 | 0x0008); // public static
            out.writeShort(5);
            out.writeShort(6);
            out.writeShort(1); // attributes: Code
            out.writeShort(7);
            out.writeInt(2 + 2 + 4 + CODE_BYTES + 2 + 2);
            out.writeShort(0); // max_stack
            out.writeShort(0); // max_locals
            out.writeInt(CODE_BYTES);
            out.write(new byte[CODE_BYTES - 1]); // nop
            out.writeByte(0xb1); // return
            out.writeShort(0); // exception table
            out.writeShort(0); // code attributes
            out.writeShort(0); // class attributes
            out.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
