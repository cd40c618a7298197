//! What a JVM holds, as HotSpot and the kernel count it: live classes and metaspace (through
//! the attach protocol's `jcmd`, after a full collection), threads and file descriptors.

use std::time::Duration;

/// One sample of a JVM's footprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footprint {
    /// Live classes, as `VM.metaspace` counts them (HotSpot's own count after unloading).
    pub classes: u64,
    /// Metaspace in use (class and non-class), KB.
    pub metaspace_kb: u64,
    /// `Threads:` of `/proc/PID/status`.
    pub threads: u64,
    /// Entries of `/proc/PID/fd`.
    pub fds: u64,
    /// `VmRSS:` of `/proc/PID/status`, KB (printed, not asserted: the heap moves it).
    pub rss_kb: u64,
}

/// Runs `GC.run`, then reads `VM.metaspace`, `/proc/PID/status` and `/proc/PID/fd`.
/// (ClassLoadingMXBean's count rises by one per retransformation for ever: HotSpot counts
/// each redefinition's scratch class as loaded and never as unloaded, though it is freed;
/// `VM.metaspace` counts the classes that are live.)
pub fn sample(pid: u32) -> Footprint {
    let (classes, metaspace_kb) = classes_and_metaspace(pid);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the JVM's /proc status");
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
    };
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).expect("the JVM's /proc fd").count() as u64;
    Footprint { classes, metaspace_kb, threads: field("Threads:"), fds, rss_kb: field("VmRSS:") }
}

/// (live classes, metaspace used KB) after a full collection.
pub fn classes_and_metaspace(pid: u32) -> (u64, u64) {
    let jvm = faultline::attach::proc::process(pid as i32).expect("the JVM process");
    let timeout = Duration::from_secs(20);
    faultline::attach::hotspot::execute(&jvm, "jcmd", &["GC.run"], timeout).expect("GC.run");
    let (_, text) =
        faultline::attach::hotspot::execute(&jvm, "jcmd", &["VM.metaspace"], timeout).expect("VM.metaspace");
    // "Total Usage - 60 loaders, 1059 classes (...):" then a "Both:" line with "N used".
    let classes = text
        .lines()
        .find(|l| l.starts_with("Total Usage"))
        .and_then(|l| l.split(", ").nth(1))
        .and_then(|c| c.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no class count in:\n{text}"));
    let used_kb = text
        .lines()
        .find(|l| l.trim_start().starts_with("Both:"))
        .and_then(|l| l.split(',').find(|p| p.contains(" used")))
        .and_then(|p| {
            let mut words = p.split_whitespace();
            let n: f64 = words.next()?.parse().ok()?;
            let unit = words.next()?;
            Some(match unit {
                "KB" => n,
                "MB" => n * 1024.0,
                "bytes" => n / 1024.0,
                _ => return None,
            })
        })
        .unwrap_or_else(|| panic!("no metaspace usage in:\n{text}"));
    (classes, used_kb as u64)
}

/// The lambda proxy classes (`HOST$$Lambda$N`) of class `host` that are loaded, from
/// `VM.class_hierarchy`. Each retransformation of `host` gives it a new constant pool whose
/// `invokedynamic` call sites link again when they next run, and each link defines a new
/// proxy class that its class loader holds for good (the JDK's design: JDK-8302154).
pub fn lambda_proxies(pid: u32, host: &str) -> u64 {
    let jvm = faultline::attach::proc::process(pid as i32).expect("the JVM process");
    let (_, text) = faultline::attach::hotspot::execute(&jvm, "jcmd", &["VM.class_hierarchy"], Duration::from_secs(30))
        .expect("VM.class_hierarchy");
    let prefix = format!("{host}$$Lambda$");
    text.lines().filter(|l| l.trim_start_matches([' ', '|', '-']).starts_with(&prefix)).count() as u64
}

/// The names of the JVM's threads (`/proc/PID/task/*/comm`: the first 15 bytes).
pub fn thread_names(pid: u32) -> Vec<String> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("the JVM's /proc tasks");
    let mut names: Vec<String> = tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
        .map(|n| n.trim_end().to_string())
        .collect();
    names.sort();
    names
}
