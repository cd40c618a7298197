package io.faultline.boot;

import java.lang.ref.SoftReference;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * {@code kind = "heap"}: the heap kept at {@code fill} (0 &lt; fill &lt; 1) of the max heap
 * (Runtime.maxMemory()), application data included, by holding live data and adjusting it as
 * the application's own use changes.
 *
 * <p><b>How.</b> A controller thread, {@code faultline-heap}, holds 256 KiB {@code byte[]}
 * chunks (well under G1's half-region, so none is humongous, and within ZGC's small objects)
 * and every round compares the heap's use after the latest collection ({@link HeapMeter}),
 * corrected by what it allocated or gave back since, with the target {@code fill * max}:
 * under it by more than the band (1% of max, at least two chunks), it allocates (at most
 * max/8, at least 64 MiB, per round, rounds 10 ms apart while filling); over it by more than
 * the band (the application grew), it gives back at once, oldest chunks first. Rounds are
 * 100 ms apart once the target is reached. Filling pauses while collections take more than
 * 25% of the time (over up to the last 2 s), so that copying the fill's own chunks does not
 * make a storm. Arming waits up to 1.5 s for the target, then returns while filling goes on.
 *
 * <p><b>Never the cause of an OutOfMemoryError.</b> Chunks are held through soft references,
 * which the JVM clears before it throws an OutOfMemoryError; every round touches them
 * ({@code get()}), so the soft-reference LRU policy does not clear them earlier than that.
 * When the JVM clears any (the heap was about to run out; ZGC also does at an allocation
 * stall, Shenandoah at every System.gc()), or an allocation of the fill fails, the fill steps
 * back as for a GC storm (reason {@code soft_references_cleared} or {@code out_of_memory}).
 *
 * <p><b>Accuracy.</b> The use after a young collection counts garbage in the old generation
 * that no collection freed yet (on G1, until the next marking cycle): the fill then holds
 * less than the live data alone would allow, never more. With Serial or Parallel, a fill
 * above what their old generation can hold means back-to-back full collections: arming warns.
 *
 * <p><b>GC-storm step-back</b> ({@link GcStorm}, part of the contract): when collections take
 * more than 50% of wall time over the last 2 s, the fill releases everything it holds (event
 * {@code "phase":"stepped_back"}) and holds again only once that fraction stayed under 10%
 * for 5 s (event {@code "phase":"holding_again"}), then fills up to the target again.
 *
 * <p><b>Counters.</b> {@code calls()}: controller rounds; {@code injected()}: times the
 * target was reached (1, plus one per return after a step-back).
 */
final class HeapFill extends ResourceFault {
    static final int CHUNK_BYTES = 256 * 1024;
    /** The array's length: the object (header included) stays within CHUNK_BYTES. */
    private static final int CHUNK_LENGTH = CHUNK_BYTES - 64;
    private static final long ROUND_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final long FILL_ROUND_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    /** Chunks allocated between two looks at the collectors (4 MiB). */
    private static final int LOOK_EVERY = 16;
    private static final long DEFINE_WAIT_NANOS = TimeUnit.MILLISECONDS.toNanos(1500);
    /** Filling pauses above this GC time share: copying the fill's own chunks must not make the storm. */
    static final double FILL_PAUSE_FRACTION = 0.25;

    final double fill;
    final long maxBytes;
    final long targetBytes;
    /** Tolerance around the target before the fill acts. */
    private final long band;
    private final long perRound;

    private final Object lock = new Object();
    /** The chunks, oldest first; guarded by lock. */
    private ArrayDeque<SoftReference<byte[]>> chunks = new ArrayDeque<>();

    // The controller thread's own state.
    private final HeapMeter meter;
    private final GcStorm storm = new GcStorm();
    /** Heap in use after the latest collection (or in use at arming, before any). */
    private long afterGc;
    /** Bytes allocated since that collection (those allocated around it counted too: the cautious side). */
    private long allocSince;
    /** Bytes allocated since the last look at the collectors. */
    private long unchecked;
    /** Bytes given back that no collection of the old generation has freed yet. */
    private long freedUnconfirmed;

    // Figures for describe().
    private volatile long held;
    private volatile long estimated;
    private volatile double gcFraction = Double.NaN;
    private volatile boolean reached;
    private volatile String steppedBack;
    private volatile long givenBack;
    private volatile long clearedByJvm;

    private HeapFill(int serial, String id, double fill, long maxBytes, HeapMeter meter) {
        super(serial, id, "heap");
        this.fill = fill;
        this.maxBytes = maxBytes;
        this.targetBytes = (long) (fill * maxBytes);
        this.band = Math.max(2L * CHUNK_BYTES, maxBytes / 100);
        this.perRound = Math.max(64 * MIB, maxBytes / 8);
        this.meter = meter;
        this.afterGc = meter.usedAfterGc >= 0 ? meter.usedAfterGc : Gauges.heapUsedNow();
        this.estimated = afterGc;
    }

    /** Keys: {@code fill} (a number, 0 &lt; fill &lt; 1). */
    static HeapFill define(int serial, String id, Resources.Keys keys) {
        double fill = keys.fraction("fill", null, 0.0, 1.0, true);
        keys.noOthers();
        long max = Gauges.heapMax();
        if (max <= 0) {
            throw new IllegalArgumentException("heap fault '" + id + "': this JVM reports no max heap size;"
                    + " start it with -Xmx");
        }
        if (Gauges.heapPoolNamed("Epsilon")) {
            throw new IllegalArgumentException("heap fault '" + id + "': the Epsilon collector never frees memory,"
                    + " so the fill would stay until the JVM exits and could end in an OutOfMemoryError;"
                    + " run the JVM with another collector to use a heap fault");
        }
        HeapMeter meter;
        try {
            meter = new HeapMeter();
        } catch (Throwable t) {
            throw new IllegalArgumentException("heap fault '" + id + "' needs the java.management module to read"
                    + " the heap's use after collections: " + t);
        }
        final HeapFill fault = new HeapFill(serial, id, fill, max, meter);
        long oldMax = Gauges.oldGenMax();
        if (oldMax > 0 && fault.targetBytes > oldMax) {
            fault.warn("heap fault: " + fault.targetBytes / MIB + " MiB (" + fill + " of the max heap) is more than"
                    + " this collector's old generation can hold (" + oldMax / MIB + " MiB): expect back-to-back"
                    + " full collections, then a step-back; a lower fill stays in place");
        }
        fault.start("faultline-heap", 0, new Runnable() {
            @Override
            public void run() {
                fault.control();
            }
        });
        fault.awaitSettled(DEFINE_WAIT_NANOS);
        return fault;
    }

    private void control() {
        try {
            while (!removed) {
                calls.incrementAndGet();
                boolean filling;
                try {
                    filling = round();
                } catch (OutOfMemoryError e) {
                    // Its own allocation failed: the JVM had already cleared every soft reference.
                    stepBack("out_of_memory");
                    filling = false;
                }
                sleepUntil(System.nanoTime() + (filling ? FILL_ROUND_NANOS : ROUND_NANOS));
            }
        } finally {
            // Whatever ended the controller, nothing stays held without it.
            dropAll();
        }
    }

    /** One round; returns true while it is still filling (the next round comes sooner). */
    private boolean round() {
        long now = System.nanoTime();
        long cleared = touch();
        look();
        gcFraction = storm.sample(now, Gauges.gcTimeMillis());
        estimated = estimate();
        if (steppedBack != null) {
            if (!storm.calmLongEnough(now)) {
                return false;
            }
            steppedBack = null;
            emit(kind, new JsonFields().add("phase", "holding_again").add("gc_fraction", gcFraction));
        } else if (storm.storm()) {
            stepBack("gc_time");
            return false;
        } else if (cleared > 0) {
            stepBack("soft_references_cleared");
            return false;
        }
        return adjust();
    }

    /** Gives back or tops up towards the target; returns true while under it. */
    private boolean adjust() {
        long est = estimate();
        if (est > targetBytes + band) {
            giveBack(est - targetBytes);
        } else if (est < targetBytes - band && !(storm.recent() > FILL_PAUSE_FRACTION)) {
            topUp();
        }
        est = estimate();
        estimated = est;
        if (!reached && est >= targetBytes - band) {
            reached = true;
            injected.incrementAndGet();
            settle();
            JsonFields event = new JsonFields().add("phase", "reached");
            figures(event);
            emit(kind, event);
        }
        return est < targetBytes - band;
    }

    /** The heap's use now, as the next collection would report it if nothing else changed. */
    private long estimate() {
        return afterGc + allocSince - freedUnconfirmed;
    }

    /** Takes in the collections since the last look, if any. */
    private void look() {
        long freed = meter.poll();
        if (freed >= 0 && meter.usedAfterGc >= 0) {
            afterGc = meter.usedAfterGc;
            allocSince = unchecked;
            freedUnconfirmed = freed == Long.MAX_VALUE ? 0 : Math.max(0, freedUnconfirmed - freed);
        }
        unchecked = 0;
    }

    private void topUp() {
        long allocated = 0;
        for (int n = 0; !removed && allocated < perRound; n++) {
            if (n % LOOK_EVERY == 0) {
                look();
            }
            if (estimate() >= targetBytes) {
                return;
            }
            byte[] chunk = new byte[CHUNK_LENGTH];
            synchronized (lock) {
                if (removed) {
                    return;
                }
                chunks.addLast(new SoftReference<>(chunk));
                held = chunks.size() * (long) CHUNK_BYTES;
            }
            allocSince += CHUNK_BYTES;
            unchecked += CHUNK_BYTES;
            allocated += CHUNK_BYTES;
        }
    }

    /** Drops the oldest chunks, enough for {@code bytes}: they sit in the old generation, where the meter sees them freed. */
    private void giveBack(long bytes) {
        long freed = 0;
        synchronized (lock) {
            while (freed < bytes && !chunks.isEmpty()) {
                chunks.pollFirst();
                freed += CHUNK_BYTES;
            }
            held = chunks.size() * (long) CHUNK_BYTES;
        }
        freedUnconfirmed += freed;
        givenBack += freed;
    }

    /**
     * Touches every chunk, so the soft-reference LRU policy sees them in use, and forgets
     * those the JVM cleared. Returns the bytes it cleared.
     */
    private long touch() {
        long cleared = 0;
        synchronized (lock) {
            for (SoftReference<byte[]> ref : chunks) {
                if (ref.get() == null) {
                    cleared += CHUNK_BYTES;
                }
            }
            if (cleared > 0) {
                ArrayDeque<SoftReference<byte[]>> kept = new ArrayDeque<>(chunks.size());
                for (SoftReference<byte[]> ref : chunks) {
                    if (ref.get() != null) {
                        kept.addLast(ref);
                    }
                }
                chunks = kept;
            }
            held = chunks.size() * (long) CHUNK_BYTES;
        }
        clearedByJvm += cleared;
        return cleared;
    }

    private void stepBack(String reason) {
        long released = dropAll();
        freedUnconfirmed += released;
        steppedBack = reason;
        reached = false;
        settle();
        emit(kind, new JsonFields().add("phase", "stepped_back").add("reason", reason)
                .add("gc_fraction", gcFraction).add("released_bytes", released)
                .add("cleared_by_jvm_bytes", clearedByJvm).add("used_after_gc_bytes", afterGc));
    }

    /** Lets go of every chunk; returns the bytes dropped. */
    private long dropAll() {
        synchronized (lock) {
            long bytes = chunks.size() * (long) CHUNK_BYTES;
            chunks = new ArrayDeque<>();
            held = 0;
            return bytes;
        }
    }

    @Override
    void figures(JsonFields out) {
        long est = estimated;
        out.add("fill", fill)
                .add("max_bytes", maxBytes)
                .add("target_bytes", targetBytes)
                .add("held_bytes", held)
                .add("chunk_bytes", CHUNK_BYTES)
                .add("used_after_gc_bytes", meter.usedAfterGc)
                .add("estimated_used_bytes", est)
                .add("used_fraction", est / (double) maxBytes)
                .add("gc_fraction", gcFraction)
                .add("reached", reached)
                .add("stepped_back", steppedBack != null)
                .add("step_back_reason", steppedBack)
                .add("given_back_bytes", givenBack)
                .add("cleared_by_jvm_bytes", clearedByJvm);
    }

    @Override
    JsonFields release() {
        long bytes = dropAll();
        int alive = endThreads();
        return new JsonFields().add("released_bytes", bytes).add("threads_alive", alive);
    }
}
