//! Resource faults (heap, cpu, threads, gc, metaspace, direct, exit) on real JVMs, armed by
//! the CLI and judged from outside the fault: `/proc` for CPU time and threads, the JVM's own
//! figures (`fixtures.ResourceService` prints its memory pools, buffer pools, thread and
//! collection counts four times a second) for heap, metaspace and direct memory.
//!
//! The tests of this file run one at a time: a CPU or heap fault is measured against what the
//! machine has, and two of them side by side would measure each other.

mod common;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::*;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

const MB: i64 = 1 << 20;

fn service(mode: &str, jvm_args: &[&str]) -> Service {
    let cp = format!("{}:{}", fixture_classes().display(), agent_jar().display());
    let args: Vec<String> = jvm_args.iter().map(|a| a.to_string()).collect();
    Service::launch(&args, &cp, &["fixtures.ResourceService", mode, "300"])
}

fn ok(run: &JvmRun) {
    assert_eq!(run.status, 0, "{}", run.describe());
}

/// The service's last "figures" line as numbers by name.
fn figures(s: &Service) -> HashMap<String, i64> {
    let out = s.output();
    let line = out.lines().rev().find(|l| l.starts_with("figures ")).unwrap_or("");
    line.split_whitespace()
        .skip(1)
        .filter_map(|kv| kv.split_once('='))
        .filter_map(|(k, v)| v.parse().ok().map(|n| (k.to_string(), n)))
        .collect()
}

/// Waits until a figures line printed after now meets `wanted`; the figures then.
fn wait_figures(
    s: &Service,
    limit: Duration,
    what: &str,
    wanted: impl Fn(&HashMap<String, i64>) -> bool,
) -> HashMap<String, i64> {
    let deadline = Instant::now() + limit;
    let mark = s.output().len();
    loop {
        let fresh = s.output().get(mark..).is_some_and(|t| t.contains("figures "));
        let f = figures(s);
        if fresh && wanted(&f) {
            return f;
        }
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}; last figures {f:?}\n{}", s.stderr());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The next figures line printed after now.
fn next_figures(s: &Service) -> HashMap<String, i64> {
    wait_figures(s, Duration::from_secs(5), "a figures line", |_| true)
}

/// Threads of the process, as the kernel counts them.
fn os_threads(pid: u32) -> i64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("Threads:")).and_then(|n| n.trim().parse().ok()).unwrap_or(-1)
}

/// CPU seconds (user + system) of the process's threads whose name starts with `prefix`
/// (all of them for ""), and how many such threads there are, from `/proc/PID/task`.
fn thread_cpu(pid: u32, prefix: &str) -> (f64, usize) {
    let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok().flatten().unwrap_or(100) as f64;
    let mut seconds = 0.0;
    let mut count = 0;
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return (0.0, 0) };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else { continue };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else { continue };
        let name = &stat[open + 1..close];
        if !name.starts_with(prefix) {
            continue;
        }
        let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        // After the name: state is field 3 of stat, utime 14 and stime 15 (1-based).
        let used: f64 = fields.get(11..13).map_or(0.0, |f| f.iter().filter_map(|x| x.parse::<f64>().ok()).sum());
        seconds += used / ticks;
        count += 1;
    }
    (seconds, count)
}

/// The agent's events of fault `id`, as JSON.
fn events_of(pid: &str, id: &str) -> Vec<serde_json::Value> {
    let run = faultline(&["events", pid, "--json"]);
    ok(&run);
    run.stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["fault"] == id)
        .collect()
}

fn wait_event(pid: &str, id: &str, limit: Duration, wanted: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let deadline = Instant::now() + limit;
    loop {
        let events = events_of(pid, id);
        if let Some(e) = events.iter().find(|e| wanted(e)) {
            return e.clone();
        }
        assert!(Instant::now() < deadline, "no such event of '{id}' within {limit:?}: {events:#?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn status_json(pid: &str) -> serde_json::Value {
    let run = faultline(&["status", pid, "--json"]);
    ok(&run);
    serde_json::from_str(&run.stdout).expect("status JSON")
}

#[test]
fn heap_fill_reaches_its_fraction_of_the_heap_and_is_released_on_stop() {
    let _one = serial();
    let s = service("gc", &["-Xmx256m"]);
    let pid = s.pid().to_string();
    let before = wait_figures(&s, Duration::from_secs(5), "a reading after a collection", |f| f["gcs"] > 0);
    let baseline = before["heap_used"];

    let run = faultline(&["inject", &pid, "heap", "--fill", "0.6", "--id", "fill", "--for", "2m"]);
    ok(&run);
    assert!(run.stdout.contains("armed 'fill' (heap fill 0.6)"), "{}", run.stdout);
    // The fill counts the application's data too: in use after a collection, 60% of the max.
    let filled = wait_figures(&s, Duration::from_secs(15), "heap in use at 60% of the max", |f| {
        let fraction = f["heap_used"] as f64 / f["heap_max"] as f64;
        (0.55..=0.65).contains(&fraction)
    });
    // And it stays there (the controller tops up, no more).
    for _ in 0..4 {
        let f = next_figures(&s);
        let fraction = f["heap_used"] as f64 / f["heap_max"] as f64;
        assert!((0.53..=0.67).contains(&fraction), "the fill drifted: {f:?} (first {filled:?})");
    }
    let reached = wait_event(&pid, "fill", Duration::from_secs(5), |e| e["kind"] == "heap" && e["phase"] == "reached");
    assert!(reached.to_string().contains("held"), "{reached}");
    let status = status_json(&pid);
    let figures_now = &status["faults"][0]["resource"]["figures"];
    assert!(figures_now["held_bytes"].as_i64().unwrap_or(0) > 64 * MB, "{status}");
    let text = faultline(&["status", &pid]);
    assert!(text.stdout.contains("heap fill 0.6") && text.stdout.contains("held"), "{}", text.stdout);

    let stopped = Instant::now();
    ok(&faultline(&["stop", &pid, "fill"]));
    let after =
        wait_figures(&s, Duration::from_secs(5), "heap back to the baseline", |f| f["heap_used"] <= baseline + 16 * MB);
    eprintln!(
        "heap back to {} MB (baseline {} MB) {:?} after stop",
        after["heap_used"] / MB,
        baseline / MB,
        stopped.elapsed()
    );
    wait_event(&pid, "fill", Duration::from_secs(5), |e| e["kind"] == "released");
    assert_eq!(after["ooms"], 0);
}

#[test]
fn heap_at_its_highest_fill_under_hard_allocation_never_causes_an_out_of_memory_and_steps_back() {
    let _one = serial();
    // The fill is reached while the application idles; then it allocates hard.
    let s = service("allocate-later", &["-Xmx256m"]);
    let pid = s.pid().to_string();
    let run = faultline(&["inject", &pid, "heap", "--fill", "0.9", "--id", "squeeze", "--for", "1m"]);
    ok(&run);
    let reached = wait_event(&pid, "squeeze", Duration::from_secs(10), |e| e["phase"] == "reached");
    assert!(!s.output().contains("allocating"), "the application started before the fill was reached: {reached}");
    assert!(reached["held_bytes"].as_i64().unwrap_or(0) > 128 * MB, "{reached}");
    let stepped = wait_event(&pid, "squeeze", Duration::from_secs(30), |e| e["phase"] == "stepped_back");
    eprintln!("stepped back: {stepped}");
    assert!(s.output().contains("allocating"), "stepped back before the application allocated: {stepped}");
    // What it held went back: released by the fault, or cleared by the JVM (softly reachable).
    let gave = stepped["released_bytes"].as_i64().unwrap_or(0) + stepped["cleared_by_jvm_bytes"].as_i64().unwrap_or(0);
    assert!(gave > 0, "it gave back what it held: {stepped}");
    // The stated threshold: collections above half of the time over the last 2 s (or the JVM
    // clearing the fill's soft references, its last resort before an OutOfMemoryError).
    match stepped["reason"].as_str() {
        Some("gc_time") => assert!(stepped["gc_fraction"].as_f64().unwrap_or(0.0) > 0.5, "{stepped}"),
        Some("soft_references_cleared" | "out_of_memory") => {}
        other => panic!("step-back reason {other:?}: {stepped}"),
    }
    let f = next_figures(&s);
    assert_eq!(f["ooms"], 0, "the application got an OutOfMemoryError:\n{}", s.output());
    assert!(f["allocated"] > 0, "{f:?}");
    ok(&faultline(&["stop", &pid, "squeeze"]));
    let f = next_figures(&s);
    assert_eq!(f["ooms"], 0, "{}", s.output());
    assert!(!s.output().contains("application OutOfMemoryError"), "{}", s.output());
}

#[test]
fn cpu_load_matches_its_cores_and_duty_cycle_and_ends_on_stop() {
    let _one = serial();
    let s = service("idle", &[]);
    let pid = s.pid().to_string();
    ok(&faultline(&["inject", &pid, "cpu", "--cores", "1", "--load", "0.5", "--id", "burn", "--for", "1m"]));
    std::thread::sleep(Duration::from_millis(500));
    let (c0, n) = thread_cpu(s.pid(), "faultline-cpu");
    assert_eq!(n, 1, "one busy thread");
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    let (c1, _) = thread_cpu(s.pid(), "faultline-cpu");
    let load = (c1 - c0) / t0.elapsed().as_secs_f64();
    eprintln!("measured load of one core at 0.5: {load:.3}");
    assert!((0.38..=0.62).contains(&load), "load {load:.3} for 0.5");
    let status = status_json(&pid);
    assert!(status["faults"][0]["resource"]["figures"].is_object(), "{status}");
    ok(&faultline(&["stop", &pid, "burn"]));
    let deadline = Instant::now() + Duration::from_secs(3);
    while thread_cpu(s.pid(), "faultline-cpu").1 > 0 {
        assert!(Instant::now() < deadline, "the busy thread outlived the fault");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (p0, _) = thread_cpu(s.pid(), "");
    std::thread::sleep(Duration::from_secs(1));
    let (p1, _) = thread_cpu(s.pid(), "");
    assert!(p1 - p0 < 0.15, "the JVM still burns {:.2} s of CPU per second", p1 - p0);

    // Full load on every core the JVM sees (the default).
    ok(&faultline(&["inject", &pid, "cpu", "--id", "all", "--for", "1m"]));
    std::thread::sleep(Duration::from_millis(300));
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    assert_eq!(thread_cpu(s.pid(), "faultline-cpu").1, cores, "one busy thread per processor");
    ok(&faultline(&["stop", &pid, "all"]));
}

#[test]
fn threads_are_held_and_all_gone_on_stop() {
    let _one = serial();
    let s = service("idle", &[]);
    let pid = s.pid().to_string();
    let baseline = os_threads(s.pid());
    ok(&faultline(&["inject", &pid, "threads", "--count", "300", "--id", "leak", "--for", "1m"]));
    let deadline = Instant::now() + Duration::from_secs(10);
    while os_threads(s.pid()) < baseline + 300 {
        assert!(Instant::now() < deadline, "{} threads, baseline {baseline}", os_threads(s.pid()));
        std::thread::sleep(Duration::from_millis(50));
    }
    let held = os_threads(s.pid()) - baseline;
    assert!((300..=306).contains(&held), "{held} threads more than the baseline");
    let (_, named) = thread_cpu(s.pid(), "faultline-held");
    assert_eq!(named, 300);
    wait_event(&pid, "leak", Duration::from_secs(5), |e| e["kind"] == "threads" && e["phase"] == "reached");
    // Waiting threads take no CPU.
    let (c0, _) = thread_cpu(s.pid(), "faultline-held");
    std::thread::sleep(Duration::from_secs(1));
    assert!(thread_cpu(s.pid(), "faultline-held").0 - c0 < 0.05);
    ok(&faultline(&["stop", &pid, "leak"]));
    let deadline = Instant::now() + Duration::from_secs(5);
    while os_threads(s.pid()) > baseline + 2 {
        assert!(Instant::now() < deadline, "{} threads after stop, baseline {baseline}", os_threads(s.pid()));
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(thread_cpu(s.pid(), "faultline-held").1, 0);

    // Running threads compete for the CPU.
    ok(&faultline(&["inject", &pid, "threads", "--count", "2", "--state", "running", "--id", "spin", "--for", "1m"]));
    std::thread::sleep(Duration::from_millis(300));
    let (c0, n) = thread_cpu(s.pid(), "faultline-held");
    assert_eq!(n, 2);
    std::thread::sleep(Duration::from_secs(1));
    assert!(thread_cpu(s.pid(), "faultline-held").0 - c0 > 0.3, "running threads burn CPU");
    ok(&faultline(&["stop", &pid, "spin"]));
}

#[test]
fn threads_stop_short_of_the_operating_systems_limit_and_the_jvm_lives_on() {
    let _one = serial();
    // An address-space limit of 2.5 GB: a few thousand threads fill it. A JVM at such a limit
    // cannot allocate native memory (a thread's exit, a deoptimization) and dies; the fault
    // must stop short of it with room to spare and report how many it got.
    let cp = format!("{}:{}", fixture_classes().display(), agent_jar().display());
    let flags: Vec<String> = ["-Xmx64m", "-XX:ReservedCodeCacheSize=32m", "-XX:CompressedClassSpaceSize=64m"]
        .iter()
        .map(|f| f.to_string())
        .collect();
    let s = Service::launch_after(Some("ulimit -v 2441406"), &flags, &cp, &["fixtures.ResourceService", "idle", "300"]);
    let pid = s.pid().to_string();
    let baseline = os_threads(s.pid());
    let run = faultline(&["inject", &pid, "threads", "--count", "100000", "--id", "many", "--for", "6s"]);
    ok(&run);
    let limit = wait_event(&pid, "many", Duration::from_secs(30), |e| e["phase"] == "limit");
    let held = limit["held"].as_i64().unwrap_or(0);
    assert!(held > 100 && held < 100_000, "{limit}");
    assert!(limit["reason"].as_str().unwrap_or("").contains("address space"), "{limit}");
    assert!(os_threads(s.pid()) >= baseline + held, "{} threads", os_threads(s.pid()));
    // Still alive and working: it reports, and the lease ends the fault with every thread.
    next_figures(&s);
    wait_event(&pid, "many", Duration::from_secs(15), |e| e["kind"] == "expired");
    // Every held thread gone (the JVM's own may have grown by a few: compiler and GC workers,
    // the agent's threads, started under the load of thousands of threads).
    let deadline = Instant::now() + Duration::from_secs(10);
    while thread_cpu(s.pid(), "faultline-held").1 > 0 || os_threads(s.pid()) > baseline + 8 {
        assert!(Instant::now() < deadline, "{} threads after the lease, baseline {baseline}", os_threads(s.pid()));
        std::thread::sleep(Duration::from_millis(50));
    }
    next_figures(&s);
    assert!(!s.stderr().contains("insufficient memory"), "{}", s.stderr());
}

#[test]
fn native_memory_faults_stop_short_of_the_operating_systems_limit_and_the_jvm_lives_on() {
    let _one = serial();
    // No MaxMetaspaceSize and a direct-memory cap of 8 GB: only the process's address space
    // (ulimit -v 2.4 GB) bounds them, and a JVM that reaches it dies of its next allocation.
    let cp = format!("{}:{}", fixture_classes().display(), agent_jar().display());
    let flags: Vec<String> =
        ["-Xmx64m", "-XX:ReservedCodeCacheSize=32m", "-XX:CompressedClassSpaceSize=256m", "-XX:MaxDirectMemorySize=8g"]
            .iter()
            .map(|f| f.to_string())
            .collect();
    let s = Service::launch_after(Some("ulimit -v 2441406"), &flags, &cp, &["fixtures.ResourceService", "idle", "300"]);
    let pid = s.pid().to_string();
    let before = next_figures(&s);
    ok(&faultline(&["inject", &pid, "direct", "--size", "4GB", "--id", "offheap", "--for", "1m"]));
    let limit = wait_event(&pid, "offheap", Duration::from_secs(30), |e| e["phase"] == "limit");
    assert!(limit["reason"].as_str().unwrap_or("").contains("address space"), "{limit}");
    let held =
        wait_figures(&s, Duration::from_secs(5), "direct memory held", |f| f["direct"] > before["direct"] + 256 * MB);
    ok(&faultline(&["inject", &pid, "metaspace", "--size", "4GB", "--id", "classes", "--for", "1m"]));
    let limit = wait_event(&pid, "classes", Duration::from_secs(60), |e| e["phase"] == "limit");
    assert!(limit["reason"].as_str().unwrap_or("").contains("address space"), "{limit}");
    // Alive, and everything comes back.
    ok(&faultline(&["stop", &pid]));
    let after =
        wait_figures(&s, Duration::from_secs(10), "direct memory freed", |f| f["direct"] <= before["direct"] + MB);
    eprintln!("direct held {} MB, then {} MB", held["direct"] / MB, after["direct"] / MB);
    assert!(!s.stderr().contains("insufficient memory"), "{}", s.stderr());
}

#[test]
fn gc_runs_every_period_even_with_explicit_collections_disabled() {
    let _one = serial();
    let s = service("idle", &["-XX:+DisableExplicitGC"]);
    let pid = s.pid().to_string();
    let before = next_figures(&s);
    ok(&faultline(&["inject", &pid, "gc", "--every", "300ms", "--id", "collect", "--for", "1m"]));
    std::thread::sleep(Duration::from_millis(2000));
    let during = next_figures(&s);
    let made = during["gcs"] - before["gcs"];
    assert!(made >= 4, "{made} collections in 2 s at one per 300 ms");
    let warned = wait_event(&pid, "collect", Duration::from_secs(2), |e| e["kind"] == "warning");
    assert!(warned["message"].as_str().unwrap_or("").contains("DisableExplicitGC"), "{warned}");
    let collected = events_of(&pid, "collect").iter().filter(|e| e["kind"] == "gc").count();
    assert!(collected >= 4, "{collected} gc events");
    ok(&faultline(&["stop", &pid, "collect"]));
    let after = next_figures(&s);
    std::thread::sleep(Duration::from_secs(1));
    let later = next_figures(&s);
    assert!(later["gcs"] - after["gcs"] <= 1, "collections go on after stop: {after:?} {later:?}");
}

#[test]
fn metaspace_is_taken_and_given_back_once_its_classes_unload() {
    let _one = serial();
    let s = service("gc", &[]);
    let pid = s.pid().to_string();
    let before = wait_figures(&s, Duration::from_secs(5), "a reading after a collection", |f| f["gcs"] > 0);
    ok(&faultline(&["inject", &pid, "metaspace", "--size", "32MB", "--id", "classes", "--for", "1m"]));
    let taken = wait_figures(&s, Duration::from_secs(20), "32 MB more metaspace", |f| {
        f["metaspace"] >= before["metaspace"] + 30 * MB
    });
    assert!(taken["metaspace"] <= before["metaspace"] + 48 * MB, "{taken:?} from {before:?}");
    ok(&faultline(&["stop", &pid, "classes"]));
    wait_figures(&s, Duration::from_secs(15), "metaspace back near the baseline", |f| {
        f["metaspace"] <= before["metaspace"] + 8 * MB
    });
}

#[test]
fn direct_memory_is_held_and_freed_at_stop_without_waiting_for_a_collection() {
    let _one = serial();
    let s = service("idle", &[]);
    let pid = s.pid().to_string();
    let before = next_figures(&s);
    ok(&faultline(&["inject", &pid, "direct", "--size", "64MB", "--id", "offheap", "--for", "1m"]));
    let held = wait_figures(&s, Duration::from_secs(10), "64 MB of direct memory", |f| {
        f["direct"] >= before["direct"] + 64 * MB
    });
    assert!(held["direct"] <= before["direct"] + 66 * MB, "{held:?}");
    let gcs = next_figures(&s)["gcs"];
    ok(&faultline(&["stop", &pid, "offheap"]));
    let freed =
        wait_figures(&s, Duration::from_secs(3), "direct memory freed", |f| f["direct"] <= before["direct"] + MB);
    assert_eq!(freed["gcs"], gcs, "freed by a collection, not at stop: {freed:?}");
}

#[test]
fn exit_ends_the_jvm_with_its_code_and_halt_skips_the_shutdown_hooks() {
    let _one = serial();
    let mut s = service("idle", &[]);
    let pid = s.pid().to_string();
    let run = faultline(&["inject", &pid, "exit", "--code", "3"]);
    ok(&run);
    assert!(run.stdout.contains(&format!("JVM {pid} ended (System.exit with status 3)")), "{}", run.stdout);
    let status = s.child.wait().expect("wait for the JVM");
    assert_eq!(status.code(), Some(3));
    assert!(s.output().contains("shutdown hook ran"), "{}", s.output());

    let mut s = service("idle", &[]);
    let pid = s.pid().to_string();
    let run = faultline(&["inject", &pid, "exit", "--code", "4", "--halt"]);
    ok(&run);
    assert!(run.stdout.contains("Runtime.halt with status 4"), "{}", run.stdout);
    assert_eq!(s.child.wait().expect("wait for the JVM").code(), Some(4));
    assert!(!s.output().contains("shutdown hook ran"), "{}", s.output());
}

#[test]
fn leases_end_every_kind_inside_the_jvm_with_no_cli_left() {
    let _one = serial();
    let s = service("gc", &["-Xmx256m"]);
    let pid = s.pid().to_string();
    let before = wait_figures(&s, Duration::from_secs(5), "a reading after a collection", |f| f["gcs"] > 0);
    let threads = os_threads(s.pid());
    let dir = Scratch::new("leases");
    let file = dir.write(
        "all.toml",
        r#"
[[fault]]
id = "heap"
kind = "heap"
fill = 0.9
duration = "4s"

[[fault]]
id = "cpu"
kind = "cpu"
cores = 1
load = 0.3
duration = "4s"

[[fault]]
id = "threads"
kind = "threads"
count = 50
duration = "4s"

[[fault]]
id = "gc"
kind = "gc"
every = "1s"
duration = "4s"

[[fault]]
id = "metaspace"
kind = "metaspace"
size = "8MB"
duration = "4s"

[[fault]]
id = "direct"
kind = "direct"
size = "16MB"
duration = "4s"
"#,
    );
    ok(&faultline(&["apply", &pid, file.to_str().unwrap()]));
    // The CLI has exited: only the agent's lease thread can end them.
    wait_figures(&s, Duration::from_secs(15), "the heap filled", |f| {
        f["heap_used"] as f64 > 0.8 * f["heap_max"] as f64
    });
    for id in ["heap", "cpu", "threads", "gc", "metaspace", "direct"] {
        wait_event(&pid, id, Duration::from_secs(15), |e| e["kind"] == "expired");
    }
    assert_eq!(status_json(&pid)["faults"], serde_json::json!([]));
    wait_figures(&s, Duration::from_secs(10), "everything given back", |f| {
        f["heap_used"] <= before["heap_used"] + 16 * MB && f["direct"] <= before["direct"] + MB
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    while os_threads(s.pid()) > threads + 2 || thread_cpu(s.pid(), "faultline-cpu").1 > 0 {
        assert!(Instant::now() < deadline, "{} threads, baseline {threads}", os_threads(s.pid()));
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn bad_resource_flags_are_refused_before_anything_is_armed() {
    let _one = serial();
    let s = service("idle", &[]);
    let pid = s.pid().to_string();
    for (args, says) in [
        (vec!["heap", "--fill", "1.2"], "--fill: must be above 0 and below 1"),
        (vec!["heap"], "--fill: missing, and required"),
        (vec!["cpu", "--probability", "0.5"], "--probability: applies to"),
        (vec!["threads", "--count", "10", "--target", "a.B#c"], "--target: applies to"),
        (vec!["metaspace", "--size", "12"], "--size: invalid size \"12\": it has no unit"),
        (vec!["gc", "--every", "5ms"], "--every: must be at least 100ms"),
        (vec!["exit", "--code", "999"], "--code: must be between 0 and 255"),
    ] {
        let mut all = vec!["inject", pid.as_str()];
        all.extend(args.iter().copied());
        let run = faultline(&all);
        assert_eq!(run.status, 2, "{args:?}: {}", run.describe());
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
    }
    assert_eq!(status_json(&pid)["faults"], serde_json::json!([]));
}

#[test]
fn the_java_api_arms_resource_faults_and_closing_the_handle_gives_everything_back() {
    let _one = serial();
    for case in ["threads", "heap", "direct", "metaspace", "refused"] {
        let run = run_java(
            &[format!("-Dfaultline.agent={}", agent_lib().display()), "-Xmx256m".into()],
            &["fixtures.ResourceApi", case],
        );
        run.assert_passed(case);
    }
}
