package io.faultline.boot;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * The operating system's limits on this process's threads, read before a threads fault starts
 * more (Linux; elsewhere nothing is known and the JVM's own failure to start a thread is the
 * limit). A JVM that reaches one of them is in danger, not just slow: it can start no thread
 * of its own (GC and compiler workers, the agent's lease thread), and at the address-space
 * limit any native allocation fails, which ends the JVM. So a threads fault stops short of each
 * limit by a headroom: {@link #HEADROOM_THREADS} threads under the counted limits,
 * {@link #headroomBytes} of address space.
 *
 * <p>Limits read: the process's address space ({@code RLIMIT_AS}, against its VmSize), its
 * user's processes ({@code RLIMIT_NPROC}, which counts threads; not for root, which it does
 * not bind), its cgroup's {@code pids.max} (containers), and the kernel's {@code threads-max}.
 */
final class ThreadLimits {
    /** Threads left free under a counted limit. */
    static final int HEADROOM_THREADS = 64;
    private static final long MIB = 1024 * 1024;

    private final long addressSpaceMax;
    private final long nprocMax;
    private final long userThreadsAtStart;
    private final Path pidsMax;
    private final Path pidsCurrent;
    private final long threadsMax;

    private ThreadLimits() {
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
    }

    static ThreadLimits read() {
        return new ThreadLimits();
    }

    /** Address space left free at the limit: a tenth of it, at least 256 MiB. */
    long headroomBytes() {
        return Math.max(256 * MIB, addressSpaceMax / 10);
    }

    /**
     * The limit that starting one more thread would pass, less its headroom, given that this
     * fault started {@code started} so far; null while there is room.
     */
    String reached(int started) {
        if (addressSpaceMax > 0) {
            long size = number(statusField("VmSize").replace("kB", "").trim()) * 1024;
            if (size > 0 && size + headroomBytes() > addressSpaceMax) {
                return "the process's address space limit (ulimit -v: " + addressSpaceMax / MIB + " MiB, "
                        + size / MIB + " MiB in use; " + headroomBytes() / MIB + " MiB left free)";
            }
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
