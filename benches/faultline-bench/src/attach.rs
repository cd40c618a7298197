//! The JVMs of the time-to-first-fault measures (`cargo bench --bench attach`, rows 4-5 and
//! 7 of the suite): fresh `attachbench.Target` JVMs started without any agent flag, and
//! `faultline inject` on them.

use std::io::{BufRead, BufReader, Lines};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{java_sources, jdk_tool};

pub fn now_micros() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

/// A fresh `attachbench.Target` JVM, started without any agent flag, that has printed
/// `ready` and then had 1.5 s to finish starting up, as a running service would have.
pub struct FreshJvm {
    pub child: Child,
    pub pid: String,
    lines: Lines<BufReader<ChildStdout>>,
}

impl FreshJvm {
    pub fn start(classes: &Path, jvm_flags: &[&str]) -> FreshJvm {
        let mut child = Command::new(jdk_tool("java"))
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

    pub fn next_line(&mut self) -> String {
        self.lines.next().and_then(Result::ok).unwrap_or_default()
    }

    /// Waits for the target's `<what> <epoch us>` line: when it first saw the exception.
    pub fn seen(&mut self, what: &str) -> u64 {
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
pub fn faultline_inject(cli: &Path, pid: &str, method: &str) -> u64 {
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
pub fn one_run(cli: &Path, classes: &Path, jvm_flags: &[&str]) -> (f64, f64) {
    let mut jvm = FreshJvm::start(classes, jvm_flags);
    let start_a = faultline_inject(cli, &jvm.pid, "first");
    let first_at = jvm.seen("first ");
    let start_b = faultline_inject(cli, &jvm.pid, "second");
    let second_at = jvm.seen("second ");
    ((first_at.saturating_sub(start_a)) as f64 / 1000.0, (second_at.saturating_sub(start_b)) as f64 / 1000.0)
}

/// Compiles `benches/java/attachbench/Target.java` into a fresh directory under the temporary one.
pub fn compile_target() -> PathBuf {
    let out = std::env::temp_dir().join(format!("faultline-attachbench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).expect("mkdir");
    let src = java_sources().join("attachbench/Target.java");
    let status =
        Command::new(jdk_tool("javac")).args(["--release", "11", "-d"]).arg(&out).arg(src).status().expect("javac");
    assert!(status.success(), "javac failed");
    out
}
