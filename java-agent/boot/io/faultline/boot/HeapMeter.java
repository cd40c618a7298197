package io.faultline.boot;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The heap's use just after the latest collection, the figure a heap fill aims at, read the
 * same way on every collector: the heap pools' usage after the collection, from the
 * collector's last GcInfo ({@code com.sun.management}). That is the figure GC logs print
 * ("100M->40M"), and unlike {@code MemoryPoolMXBean.getCollectionUsage} it counts the old
 * generation after a young collection too (Serial and Parallel update the old pool's
 * collection usage only at full collections).
 *
 * <p>Collectors that only report pauses (ZGC's and Shenandoah's "... Pauses", G1's
 * "Concurrent GC" for Remark and Cleanup) are left out: the heap at a pause still holds the
 * garbage the cycle is about to free.
 *
 * <p>It also says how much old-generation garbage was freed since the last look: memory the
 * heap fill gave back stays in the old generation until something frees it, so the fill
 * counts it as given back only then. A full collection (a collector that manages every heap
 * pool and is not a young or minor one: MarkSweepCompact, PS MarkSweep, G1 Old Generation,
 * ZGC's major cycles, Shenandoah) frees all of it; otherwise what was freed is what the old
 * generation shrank by, in the collections and between them (G1 frees empty old regions at
 * its Cleanup pause, which no collector reports). Without {@code jdk.management} it falls back
 * on the pools' collection usage and says everything was freed (the cautious side: the fill
 * then believes the heap fuller than it may be).
 */
final class HeapMeter {
    private final List<GarbageCollectorMXBean> collectors = new ArrayList<>();
    /** Per collector: whether its collections are full ones (see the class comment). */
    private final boolean[] full;
    private final long[] seen;
    private final Set<String> heapPools = new HashSet<>();
    private final Set<String> oldPools = new HashSet<>();
    /** End time of the latest collection seen (ms since JVM start), and its old generation after it. */
    private long lastEnd = -1;
    private long lastOldAfter = -1;

    /** Heap in use after the latest collection seen (bytes); -1 before any. */
    volatile long usedAfterGc = -1;

    HeapMeter() {
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getType() == MemoryType.HEAP) {
                heapPools.add(p.getName());
                if (isOld(p.getName())) {
                    oldPools.add(p.getName());
                }
            }
        }
        List<GarbageCollectorMXBean> all = ManagementFactory.getGarbageCollectorMXBeans();
        for (GarbageCollectorMXBean gc : all) {
            if (!pausesOnly(gc.getName())) {
                collectors.add(gc);
            }
        }
        if (collectors.isEmpty()) {
            collectors.addAll(all);
        }
        seen = new long[collectors.size()];
        full = new boolean[collectors.size()];
        List<long[]> known = new ArrayList<>();
        for (int i = 0; i < seen.length; i++) {
            seen[i] = collectors.get(i).getCollectionCount();
            full[i] = isFull(collectors.get(i));
            long[] c = seen[i] > 0 ? last(i) : null;
            if (c != null) {
                known.add(c);
            }
        }
        take(known);
        if (usedAfterGc < 0 && anyCollection()) {
            usedAfterGc = collectionUsage();
        }
    }

    /**
     * Looks for collections since the last look. Returns -1 when there was none; else how
     * many bytes of old-generation garbage were freed since (Long.MAX_VALUE: all of it), with
     * {@link #usedAfterGc} updated.
     */
    long poll() {
        List<long[]> fresh = new ArrayList<>();
        boolean any = false;
        boolean unknown = false;
        for (int i = 0; i < seen.length; i++) {
            long count = collectors.get(i).getCollectionCount();
            if (count != seen[i]) {
                seen[i] = count;
                any = true;
                long[] c = last(i);
                if (c == null) {
                    unknown = true;
                } else {
                    fresh.add(c);
                }
            }
        }
        if (!any) {
            return -1;
        }
        long freed = take(fresh);
        if (unknown) {
            usedAfterGc = collectionUsage();
            return Long.MAX_VALUE;
        }
        return freed;
    }

    /** Takes in collections (see {@link #last}), oldest first; returns the old-generation garbage freed. */
    private long take(List<long[]> fresh) {
        fresh.sort(new java.util.Comparator<long[]>() {
            @Override
            public int compare(long[] a, long[] b) {
                return Long.compare(a[END], b[END]);
            }
        });
        long freed = 0;
        for (long[] c : fresh) {
            if (c[FULL] != 0) {
                freed = Long.MAX_VALUE;
            } else if (freed != Long.MAX_VALUE) {
                if (lastOldAfter >= 0) {
                    freed += Math.max(0, lastOldAfter - c[OLD_BEFORE]);
                }
                freed += Math.max(0, c[OLD_BEFORE] - c[OLD_AFTER]);
            }
            if (c[END] >= lastEnd) {
                lastEnd = c[END];
                lastOldAfter = c[OLD_AFTER];
                usedAfterGc = c[HEAP_AFTER];
            }
        }
        return freed;
    }

    private static final int END = 0;
    private static final int HEAP_AFTER = 1;
    private static final int OLD_BEFORE = 2;
    private static final int OLD_AFTER = 3;
    private static final int FULL = 4;

    /**
     * Collector i's last collection from its GcInfo: {end ms, heap after, old generation
     * before, old generation after, full (1 or 0)}; null when there is no GcInfo.
     */
    private long[] last(int i) {
        try {
            GarbageCollectorMXBean gc = collectors.get(i);
            if (!(gc instanceof com.sun.management.GarbageCollectorMXBean)) {
                return null;
            }
            com.sun.management.GcInfo info = ((com.sun.management.GarbageCollectorMXBean) gc).getLastGcInfo();
            if (info == null) {
                return null;
            }
            Map<String, MemoryUsage> before = info.getMemoryUsageBeforeGc();
            Map<String, MemoryUsage> after = info.getMemoryUsageAfterGc();
            long[] c = {info.getEndTime(), 0, 0, 0, full[i] ? 1 : 0};
            for (Map.Entry<String, MemoryUsage> e : after.entrySet()) {
                if (heapPools.contains(e.getKey())) {
                    c[HEAP_AFTER] += e.getValue().getUsed();
                    MemoryUsage b = before.get(e.getKey());
                    if (oldPools.contains(e.getKey())) {
                        c[OLD_AFTER] += e.getValue().getUsed();
                        c[OLD_BEFORE] += b == null ? e.getValue().getUsed() : b.getUsed();
                    }
                }
            }
            return c;
        } catch (Throwable t) {
            // jdk.management missing: the caller falls back on the pools' collection usage.
            return null;
        }
    }

    /** The heap pools' collection usage summed: the fallback without GcInfo. */
    private static long collectionUsage() {
        long used = 0;
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            MemoryUsage u = p.getType() == MemoryType.HEAP ? p.getCollectionUsage() : null;
            used += u == null ? 0 : u.getUsed();
        }
        return used;
    }

    private boolean anyCollection() {
        for (long n : seen) {
            if (n > 0) {
                return true;
            }
        }
        return false;
    }

    /** Old-generation pools: every heap pool but eden, survivor and young ones (ZHeap, Shenandoah included). */
    static boolean isOld(String pool) {
        return !(pool.contains("Eden") || pool.contains("Survivor") || pool.contains("Young"));
    }

    /** A collector whose collections free the whole heap's garbage. */
    private boolean isFull(GarbageCollectorMXBean gc) {
        String name = gc.getName();
        if (name.contains("Young") || name.contains("Minor") || name.contains("Scavenge") || name.equals("Copy")
                || name.equals("ParNew")) {
            return false;
        }
        return new HashSet<>(Arrays.asList(gc.getMemoryPoolNames())).containsAll(heapPools);
    }

    private static boolean pausesOnly(String collector) {
        return collector.endsWith(" Pauses") || collector.equals("G1 Concurrent GC");
    }
}
