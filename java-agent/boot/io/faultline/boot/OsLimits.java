package io.faultline.boot;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * The operating system's limits on this process's threads and native memory, read as a
 * resource fault takes more (Linux; elsewhere nothing is known and the JVM's own failure is
 * the limit). A JVM that reaches one of them is in danger, not just slow: at a thread limit it
 * can start no thread of its own (GC and compiler workers, the agent's lease thread); at the
 * address-space limit any native allocation fails, which ends the JVM; at a container's or the
 * machine's memory limit the kernel's OOM killer ends it. So the faults stop short of each
 * limit by a headroom: {@link #HEADROOM_THREADS} threads under the counted limits, and
 * max(256 MiB, a tenth of the limit) of memory.
 *
 * <p>Limits read: the process's address space ({@code RLIMIT_AS}, against its VmSize), its
 * user's processes ({@code RLIMIT_NPROC}, which counts threads; not for root, which it does
 * not bind), its cgroup's {@code pids.max} and memory limit (cgroup v2 {@code memory.max}, v1
 * {@code memory.limit_in_bytes}: containers), the kernel's {@code threads-max}, and the
 * machine's {@code MemAvailable}.
 */
final class OsLimits {
    /** Threads left free under a counted limit. */
    static final int HEADROOM_THREADS = 64;
    private static final long MIB = 1024 * 1024;

    private final long addressSpaceMax;
    private final long nprocMax;
    private final long userThreadsAtStart;
    private final Path pidsMax;
    private final Path pidsCurrent;
    private final long threadsMax;
    /** The cgroup's memory limit and usage files (v2 or v1), or null. */
    private final Path memoryMax;
    private final Path memoryCurrent;

    private OsLimits() {
        String limits = read("/proc/self/limits");
        this.addressSpaceMax = softLimit(limits, "Max address space");
        long nproc = softLimit(limits, "Max processes");
        boolean root = "0".equals(statusField("Uid"));
        this.nprocMax = root ? -1 : nproc;
        this.userThreadsAtStart = nprocMax > 0 ? userThreads() : 0;
        Path group = cgroupDir();
        this.pidsMax = group == null ? null : group.resolve("pids.max");
        this.pidsCurrent = group == null ? null : group.resolve("pids.current");
        this.threadsMax = number(read("/proc/sys/kernel/threads-max").trim());
        Path[] memory = memoryFiles();
        this.memoryMax = memory == null ? null : memory[0];
        this.memoryCurrent = memory == null ? null : memory[1];
    }

    static OsLimits read() {
        return new OsLimits();
    }

    /** Memory left free under a limit: a tenth of it, at least 256 MiB. */
    static long headroomBytes(long limit) {
        return Math.max(256 * MIB, limit / 10);
    }

    /**
     * The memory limit that {@code more} bytes of native memory (metaspace, direct buffers)
     * would bring within its headroom; null while there is room.
     */
    String memoryLimit(long more) {
        String space = addressSpace(more);
        if (space != null) {
            return space;
        }
        if (memoryMax != null) {
            long max = number(read(memoryMax).trim());
            long current = number(read(memoryCurrent).trim());
            // cgroup v1 says "no limit" with a huge number: only a limit below the machine's counts.
            long machine = meminfo("MemTotal");
            if (max > 0 && current > 0 && (machine <= 0 || max < machine)
                    && current + more + headroomBytes(max) > max) {
                return "the container's memory limit (" + max / MIB + " MiB, " + current / MIB + " MiB in use; "
                        + headroomBytes(max) / MIB + " MiB left free)";
            }
        }
        long available = meminfo("MemAvailable");
        long total = meminfo("MemTotal");
        if (available > 0 && total > 0 && more + headroomBytes(total) > available) {
            return "the machine's available memory (" + available / MIB + " MiB; " + headroomBytes(total) / MIB
                    + " MiB left free)";
        }
        return null;
    }

    /** The address-space limit that {@code more} bytes would bring within its headroom, or null. */
    private String addressSpace(long more) {
        if (addressSpaceMax <= 0) {
            return null;
        }
        long size = number(statusField("VmSize").replace("kB", "").trim()) * 1024;
        if (size > 0 && size + more + headroomBytes(addressSpaceMax) > addressSpaceMax) {
            return "the process's address space limit (ulimit -v: " + addressSpaceMax / MIB + " MiB, "
                    + size / MIB + " MiB in use; " + headroomBytes(addressSpaceMax) / MIB + " MiB left free)";
        }
        return null;
    }

    /**
     * The limit that starting one more thread would pass, less its headroom, given that this
     * fault started {@code started} so far; null while there is room.
     */
    String threadLimit(int started) {
        String space = addressSpace(0);
        if (space != null) {
            return space;
        }
        if (nprocMax > 0 && userThreadsAtStart + started + HEADROOM_THREADS >= nprocMax) {
            return "the user's process limit (ulimit -u: " + nprocMax + ", threads included)";
        }
        if (pidsMax != null) {
            long max = number(read(pidsMax).trim());
            long current = number(read(pidsCurrent).trim());
            if (max > 0 && current > 0 && current + HEADROOM_THREADS >= max) {
                return "the cgroup's pids.max (" + max + ", " + current + " in use)";
            }
        }
        if (threadsMax > 0) {
            long total = systemThreads();
            if (total > 0 && total + HEADROOM_THREADS >= threadsMax) {
                return "the kernel's threads-max (" + threadsMax + ")";
            }
        }
        return null;
    }

    /** A soft limit of /proc/self/limits in its unit (bytes, processes); -1 for unlimited or unknown. */
    private static long softLimit(String limits, String name) {
        for (String line : limits.split("\n")) {
            if (line.startsWith(name)) {
                String[] parts = line.substring(name.length()).trim().split("\\s+");
                return parts.length > 0 ? number(parts[0]) : -1;
            }
        }
        return -1;
    }

    /** A field of /proc/self/status (its first word), or "". */
    private static String statusField(String name) {
        for (String line : read("/proc/self/status").split("\n")) {
            if (line.startsWith(name + ":")) {
                String value = line.substring(name.length() + 1).trim();
                return name.equals("VmSize") ? value : value.split("\\s+")[0];
            }
        }
        return "";
    }

    /** Threads of every process of this process's user (once, when the limit applies). */
    private static long userThreads() {
        String uid = statusField("Uid");
        long total = 0;
        try (java.nio.file.DirectoryStream<Path> all = Files.newDirectoryStream(Paths.get("/proc"))) {
            for (Path p : all) {
                String name = p.getFileName().toString();
                if (name.isEmpty() || !Character.isDigit(name.charAt(0))) {
                    continue;
                }
                String status = read(p.resolve("status"));
                String owner = "";
                long threads = 0;
                for (String line : status.split("\n")) {
                    if (line.startsWith("Uid:")) {
                        owner = line.substring(4).trim().split("\\s+")[0];
                    } else if (line.startsWith("Threads:")) {
                        threads = number(line.substring(8).trim());
                    }
                }
                if (owner.equals(uid)) {
                    total += Math.max(0, threads);
                }
            }
        } catch (IOException | RuntimeException e) {
            return 0;
        }
        return total;
    }

    /** Threads on the whole system: the fourth field of /proc/loadavg, "running/total". */
    private static long systemThreads() {
        String[] fields = read("/proc/loadavg").trim().split("\\s+");
        if (fields.length < 4 || fields[3].indexOf('/') < 0) {
            return -1;
        }
        return number(fields[3].substring(fields[3].indexOf('/') + 1));
    }

    /** A field of /proc/meminfo in bytes, or -1. */
    private static long meminfo(String name) {
        for (String line : read("/proc/meminfo").split("\n")) {
            if (line.startsWith(name + ":")) {
                return number(line.substring(name.length() + 1).replace("kB", "").trim()) * 1024;
            }
        }
        return -1;
    }

    /** This process's cgroup memory limit and usage files: v2 {@code memory.max}, else v1; or null. */
    private static Path[] memoryFiles() {
        for (String line : read("/proc/self/cgroup").split("\n")) {
            String[] parts = line.split(":", 3);
            if (parts.length < 3) {
                continue;
            }
            if (parts[0].equals("0") && parts[1].isEmpty()) {
                Path dir = Paths.get("/sys/fs/cgroup" + parts[2].trim());
                if (Files.exists(dir.resolve("memory.max"))) {
                    return new Path[] {dir.resolve("memory.max"), dir.resolve("memory.current")};
                }
            } else if (java.util.Arrays.asList(parts[1].split(",")).contains("memory")) {
                Path dir = Paths.get("/sys/fs/cgroup/memory" + parts[2].trim());
                if (Files.exists(dir.resolve("memory.limit_in_bytes"))) {
                    return new Path[] {dir.resolve("memory.limit_in_bytes"), dir.resolve("memory.usage_in_bytes")};
                }
            }
        }
        return null;
    }

    /** This process's cgroup v2 directory with a pids controller, or null. */
    private static Path cgroupDir() {
        for (String line : read("/proc/self/cgroup").split("\n")) {
            if (line.startsWith("0::")) {
                Path dir = Paths.get("/sys/fs/cgroup" + line.substring(3).trim());
                if (Files.exists(dir.resolve("pids.max"))) {
                    return dir;
                }
            }
        }
        return null;
    }

    private static String read(String path) {
        return read(Paths.get(path));
    }

    /**
     * A small /proc or /sys file, read in 8 KiB blocks: such files report a size of 0, and some
     * kernels (and sandboxes) end a read of /proc/sys after the first short block.
     */
    private static String read(Path path) {
        try (java.io.InputStream in = Files.newInputStream(path)) {
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            byte[] block = new byte[8192];
            int n;
            while ((n = in.read(block)) > 0) {
                out.write(block, 0, n);
            }
            return new String(out.toByteArray(), StandardCharsets.UTF_8);
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }

    /** A whole number, or -1 ("unlimited", "max", anything else). */
    private static long number(String text) {
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
