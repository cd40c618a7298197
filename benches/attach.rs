//! Time to first fault through the CLI.
//!
//! For each of N fresh JVMs (`benches/java/attachbench/Target.java`, started without any
//! agent flag): the time from the start of `faultline inject PID exception ...` to the moment
//! the target first observes the injected exception (wall clock, microseconds, read on both
//! sides), then the same for a second `inject` on the now attached JVM. Prints median, min
//! and max over the runs.
//!
//! ```text
//! cargo build --release --workspace
//! cargo bench --bench attach
//! ```
//! `FAULTLINE_BENCH_RUNS` sets the number of fresh JVMs (default 5).

use std::io::{BufRead, BufReader, Lines};
use std::path::{Path, PathBuf};
use std::process::{exit, Child, ChildStdout, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn main() {
    let runs: usize = std::env::var("FAULTLINE_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5).max(1);
    let artifacts = artifact_dir();
    let cli = artifacts.join("faultline");
    if !cli.exists() || !artifacts.join("libfaultline_agent.so").exists() {
        eprintln!(
            "faultline and libfaultline_agent.so are missing in {}: run `cargo build --release --workspace` first",
            artifacts.display()
        );
        exit(1);
    }
    let classes = compile_target();
    let mut first = Vec::new();
    let mut second = Vec::new();
    for run in 0..runs {
        let (a, b) = one_run(&cli, &classes, &[]);
        println!(
            "run {}: first inject -> first exception {:.1} ms; second inject -> its first exception {:.1} ms",
            run + 1,
            a,
            b
        );
        first.push(a);
        second.push(b);
    }
    println!();
    println!("{:<46} {:>9} {:>9} {:>9}", "measure (ms, wall clock)", "median", "min", "max");
    row("faultline inject on a fresh JVM -> first fault", &mut first);
    row("second inject on the attached JVM -> fault", &mut second);
    println!("targets: fresh JVM < 60 ms; second command < 10 ms");
}

fn row(name: &str, values: &mut [f64]) {
    values.sort_by(f64::total_cmp);
    let median = values[values.len() / 2];
    println!("{name:<46} {median:>9.1} {:>9.1} {:>9.1}", values[0], values[values.len() - 1]);
}

pub(crate) fn now_micros() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

/// A fresh `attachbench.Target` JVM, started without any agent flag, that has printed
/// `ready` and then had 1.5 s to finish starting up, as a running service would have.
pub(crate) struct FreshJvm {
    pub(crate) child: Child,
    pub(crate) pid: String,
    lines: Lines<BufReader<ChildStdout>>,
}

impl FreshJvm {
    pub(crate) fn start(classes: &Path, jvm_flags: &[&str]) -> FreshJvm {
        let mut child = Command::new(java("java"))
            .args(jvm_flags)
            .args(["-cp", &classes.display().to_string(), "attachbench.Target"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the target JVM");
        let pid = child.id().to_string();
        let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut jvm = FreshJvm { child, pid, lines };
        assert_eq!(jvm.next_line(), "ready");
        std::thread::sleep(Duration::from_millis(1500));
        jvm
    }

    pub(crate) fn next_line(&mut self) -> String {
        self.lines.next().and_then(Result::ok).unwrap_or_default()
    }

    /// Waits for the target's `<what> <epoch us>` line: when it first saw the exception.
    pub(crate) fn seen(&mut self, what: &str) -> u64 {
        let line = self.next_line();
        line.strip_prefix(what)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("unexpected target output {line:?} (waiting for {what:?})"))
    }
}

impl Drop for FreshJvm {
    /// SIGTERM first, so that the JVM shuts down and an agent removes its control socket;
    /// SIGKILL if it is still there after 3 s.
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.pid]).stderr(Stdio::null()).status();
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `faultline inject PID exception` on `attachbench.Target#<method>`; returns when it
/// started (epoch us).
pub(crate) fn faultline_inject(cli: &Path, pid: &str, method: &str) -> u64 {
    let start = now_micros();
    let status = Command::new(cli)
        .args([
            "inject",
            pid,
            "exception",
            "--target",
            &format!("attachbench.Target#{method}"),
            "--throw",
            "java.lang.IllegalStateException",
            "--id",
            method,
        ])
        .stdout(Stdio::null())
        .status()
        .expect("run faultline");
    assert!(status.success(), "faultline inject failed");
    start
}

/// One fresh JVM: (first inject -> first exception, second inject -> its exception), in ms.
pub(crate) fn one_run(cli: &Path, classes: &Path, jvm_flags: &[&str]) -> (f64, f64) {
    let mut jvm = FreshJvm::start(classes, jvm_flags);
    let start_a = faultline_inject(cli, &jvm.pid, "first");
    let first_at = jvm.seen("first ");
    let start_b = faultline_inject(cli, &jvm.pid, "second");
    let second_at = jvm.seen("second ");
    ((first_at.saturating_sub(start_a)) as f64 / 1000.0, (second_at.saturating_sub(start_b)) as f64 / 1000.0)
}

pub(crate) fn compile_target() -> PathBuf {
    let out = std::env::temp_dir().join(format!("faultline-attachbench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).expect("mkdir");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/java/attachbench/Target.java");
    let status =
        Command::new(java("javac")).args(["--release", "11", "-d"]).arg(&out).arg(src).status().expect("javac");
    assert!(status.success(), "javac failed");
    out
}

pub(crate) fn java(tool: &str) -> PathBuf {
    match std::env::var_os("JAVA_HOME") {
        Some(home) if Path::new(&home).join("bin").join(tool).exists() => Path::new(&home).join("bin").join(tool),
        _ => PathBuf::from(tool),
    }
}

fn artifact_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("bench executable");
    exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<bench>").to_path_buf()
}
