//! Row 12: resource faults, how precise and how reversible. `resbench.Main` is an idle JVM
//! (the suite's flags: 256 MB heap, Parallel GC) that, on a line `gc` on its stdin, runs a
//! full collection and prints the heap in use after it. Each round, in a fresh JVM, with the
//! agent loaded at startup:
//! - heap fill accuracy: `faultline inject PID heap --fill F` for F = 0.5 and 0.8; once the
//!   fault's "reached" event is written, five readings (`gc`); the error is the median of
//!   (used after a full collection / max heap − F), application data included as the fill is;
//! - time to release: the wall time of `faultline stop PID ID` (the memory is dropped inside
//!   the stop), checked by the next reading being back within 8 MB of the baseline;
//! - CPU load accuracy: `inject PID cpu --cores 1 --load 0.5`; the busy thread's CPU time
//!   (`/proc/PID/task/*/stat`, threads named `faultline-cpu-*`) over 3 s of wall time.
//!
//! No peer: Byteman injects at methods and has no resource faults (the established peers that
//! do, ChaosBlade and Chaos Mesh, are not packaged for Debian), so the targets are absolute.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use faultline_bench::{env_num, median, JVM_FLAGS};
use serde_json::{json, Value};

use crate::harness::{fail, guarded, javac, row, stat, Ctx};

const MB: f64 = (1 << 20) as f64;

struct Target {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Target {
    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// A full collection in the target, then (heap in use, max heap) in bytes.
    fn heap_after_gc(&mut self) -> Result<(f64, f64), String> {
        writeln!(self.stdin, "gc").map_err(|e| format!("target stdin: {e}"))?;
        let mut line = String::new();
        loop {
            line.clear();
            if self.stdout.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
                return Err("the target ended".into());
            }
            if let Some(rest) = line.trim().strip_prefix("heap ") {
                let mut it = rest.split_whitespace().filter_map(|x| x.parse::<f64>().ok());
                if let (Some(used), Some(max)) = (it.next(), it.next()) {
                    return Ok((used, max));
                }
            }
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn measure(ctx: &mut Ctx) {
    let rounds = env_num("FAULTLINE_SUITE_RESOURCE_ROUNDS", 3).max(1) as usize;
    let classes = ctx.scratch.join("res-classes");
    javac(&["resbench"], &classes);
    let mut fill_errors: Vec<(f64, f64)> = Vec::new();
    let mut releases_ms: Vec<f64> = Vec::new();
    let mut loads: Vec<f64> = Vec::new();
    for round in 1..=rounds {
        let result = guarded("resources", || one_round(ctx, &classes));
        match result {
            Ok((fills, release, load)) => {
                eprintln!(
                    "  round {round}/{rounds}: fill errors {:?}, release {:?} ms, cpu load {load:.3} for 0.5",
                    fills.iter().map(|(f, e)| format!("{f}: {e:+.4}")).collect::<Vec<_>>(),
                    release.iter().map(|r| format!("{r:.1}")).collect::<Vec<_>>()
                );
                fill_errors.extend(fills);
                releases_ms.extend(release);
                loads.push(load);
            }
            Err(e) => fail(&format!("row 12 (resource faults), round {round}: {e}")),
        }
    }
    let worst_fill = fill_errors.iter().map(|(_, e)| e.abs()).fold(0.0, f64::max);
    let fill_stat = stat(&fill_errors.iter().map(|(_, e)| *e).collect::<Vec<_>>());
    ctx.rows.push(row(
        "12 heap fill: error (used after GC / max − fill)",
        format!("{:+.4} [{:+.4}..{:+.4}]", fill_stat.med, fill_stat.min, fill_stat.max),
        "no peer (Byteman has no resource faults)".into(),
        "fills 0.5 and 0.8".into(),
        "within ±0.03 of the max heap",
        Some(worst_fill <= 0.03),
    ));
    let rel = stat(&releases_ms);
    ctx.rows.push(row(
        "12 heap fill: stop → memory released",
        format!("{:.1} [{:.1}..{:.1}] ms", rel.med, rel.min, rel.max),
        "-".into(),
        "next full GC at baseline".into(),
        "≤ 100 ms, every run",
        Some(rel.max <= 100.0),
    ));
    let ls = stat(&loads);
    let worst_load = loads.iter().map(|l| (l - 0.5).abs()).fold(0.0, f64::max);
    ctx.rows.push(row(
        "12 cpu 1 core at 0.5: measured load",
        format!("{:.3} [{:.3}..{:.3}]", ls.med, ls.min, ls.max),
        "-".into(),
        "/proc thread CPU time".into(),
        "within ±0.05",
        Some(worst_load <= 0.05),
    ));
    ctx.json.insert(
        "resources".into(),
        json!({
            "rounds": rounds,
            "heap_fill_errors": fill_errors.iter().map(|(f, e)| json!({"fill": f, "error": e})).collect::<Vec<Value>>(),
            "release_ms": releases_ms,
            "cpu_load_for_0_5": loads,
        }),
    );
}

/// One fresh target: the two fills (fill, error) and their release times, then the CPU load.
#[allow(clippy::type_complexity)]
fn one_round(ctx: &Ctx, classes: &std::path::Path) -> Result<(Vec<(f64, f64)>, Vec<f64>, f64), String> {
    let mut child = Command::new(&ctx.java)
        .args(JVM_FLAGS)
        .arg(format!("-agentpath:{}", ctx.lib.display()))
        .arg("-cp")
        .arg(classes)
        .arg("resbench.Main")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run java: {e}"))?;
    let stdin = child.stdin.take().ok_or("no stdin")?;
    let stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
    let mut t = Target { child, stdin, stdout };
    let mut ready = String::new();
    t.stdout.read_line(&mut ready).map_err(|e| e.to_string())?;
    if ready.trim() != "ready" {
        return Err(format!("the target said {ready:?}"));
    }
    let pid = t.pid();
    let (baseline, _) = t.heap_after_gc()?;
    let mut fills = Vec::new();
    let mut releases = Vec::new();
    for (i, fill) in [0.5, 0.8].into_iter().enumerate() {
        let id = format!("fill{i}");
        cli(ctx, &["inject", &pid, "heap", "--fill", &fill.to_string(), "--id", &id, "--for", "2m"])?;
        wait_reached(ctx, &pid, &id)?;
        let mut errors = Vec::new();
        for _ in 0..5 {
            let (used, max) = t.heap_after_gc()?;
            errors.push(used / max - fill);
            std::thread::sleep(Duration::from_millis(100));
        }
        fills.push((fill, median(&errors)));
        let start = Instant::now();
        cli(ctx, &["stop", &pid, &id])?;
        let took = start.elapsed().as_secs_f64() * 1000.0;
        let (used, _) = t.heap_after_gc()?;
        if used > baseline + 8.0 * MB {
            return Err(format!("after stop the heap holds {:.1} MB, the baseline {:.1} MB", used / MB, baseline / MB));
        }
        releases.push(took);
    }
    cli(ctx, &["inject", &pid, "cpu", "--cores", "1", "--load", "0.5", "--id", "burn", "--for", "2m"])?;
    std::thread::sleep(Duration::from_millis(500));
    let c0 = busy_cpu_seconds(&pid);
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    let load = (busy_cpu_seconds(&pid) - c0) / t0.elapsed().as_secs_f64();
    cli(ctx, &["stop", &pid, "burn"])?;
    Ok((fills, releases, load))
}

fn cli(ctx: &Ctx, args: &[&str]) -> Result<String, String> {
    let out = Command::new(&ctx.cli).args(args).output().map_err(|e| format!("cannot run faultline: {e}"))?;
    if !out.status.success() {
        return Err(format!("faultline {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Waits for the heap fault's "reached" event (at most 20 s).
fn wait_reached(ctx: &Ctx, pid: &str, id: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let events = cli(ctx, &["events", pid, "--json"])?;
        let reached = events
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .any(|e| e["fault"] == id && e["kind"] == "heap" && e["phase"] == "reached");
        if reached {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("heap fault {id} did not report reaching its fill within 20 s"))
}

/// CPU seconds of the target's threads named `faultline-cpu-*`.
fn busy_cpu_seconds(pid: &str) -> f64 {
    let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok().flatten().unwrap_or(100) as f64;
    let mut seconds = 0.0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).into_iter().flatten().flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else { continue };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else { continue };
        if !stat[open + 1..close].starts_with("faultline-cpu") {
            continue;
        }
        let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        seconds += fields.get(11..13).map_or(0.0, |f| f.iter().filter_map(|x| x.parse::<f64>().ok()).sum()) / ticks;
    }
    seconds
}
