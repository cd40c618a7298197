//! The suite's harness: the context every measure gets ([`Ctx`]), the rows of the table,
//! statistics, the peers (Byteman, jattach: found or installed), and helpers to run
//! processes and compile the Java targets.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use faultline_bench::{java_sources, jdk_tool, median};
use serde_json::Value;

const BYTEMAN_DIR: &str = "/usr/share/java";

pub(crate) struct Byteman {
    pub(crate) agent: PathBuf,
    pub(crate) install: PathBuf,
    pub(crate) submit: PathBuf,
    /// `BYTEMAN_HOME` for `Install`: it expects `$BYTEMAN_HOME/lib/byteman.jar`.
    pub(crate) home: PathBuf,
}

pub(crate) struct Ctx {
    pub(crate) cli: PathBuf,
    pub(crate) lib: PathBuf,
    pub(crate) jar: PathBuf,
    pub(crate) java: PathBuf,
    pub(crate) scratch: PathBuf,
    pub(crate) byteman: Result<Byteman, String>,
    pub(crate) jattach: Result<PathBuf, String>,
    pub(crate) time: Option<PathBuf>,
    pub(crate) json: serde_json::Map<String, Value>,
    pub(crate) rows: Vec<Row>,
}

impl Ctx {
    /// The flag that loads faultline's agent at startup, arming `scenario` and writing events
    /// to `events`.
    pub(crate) fn agent_at_startup(&self, scenario: &Path, events: &Path) -> String {
        format!("-agentpath:{}=scenario={},events={}", self.lib.display(), scenario.display(), events.display())
    }
}

/// One line of the table.
pub(crate) struct Row {
    pub(crate) measure: String,
    pub(crate) faultline: String,
    pub(crate) peer: String,
    pub(crate) ratio: String,
    pub(crate) target: String,
    pub(crate) result: &'static str,
}

pub(crate) fn row(
    measure: &str,
    faultline: String,
    peer: String,
    ratio: String,
    target: &str,
    met: Option<bool>,
) -> Row {
    Row {
        measure: measure.to_string(),
        faultline,
        peer,
        ratio,
        target: target.to_string(),
        result: match met {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "-",
        },
    }
}

#[derive(Clone, Copy)]
pub(crate) struct Stat {
    pub(crate) med: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
}

pub(crate) fn stat(values: &[f64]) -> Stat {
    Stat {
        med: median(values),
        min: values.iter().copied().fold(f64::INFINITY, f64::min),
        max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    }
}

/// The latest value of a run's series with one decimal, or "-" when that tool gave none.
pub(crate) fn last_or_dash(values: &[f64]) -> String {
    values.last().map(|v| format!("{v:.1}")).unwrap_or_else(|| "-".into())
}

pub(crate) fn fmt_stat(s: Stat, decimals: usize, unit: &str) -> String {
    format!("{:.d$} [{:.d$}..{:.d$}] {unit}", s.med, s.min, s.max, d = decimals)
}

pub(crate) fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

pub(crate) fn fail(message: &str) -> ! {
    eprintln!("suite: {message}");
    std::process::exit(1);
}

pub(crate) fn num_cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

// ---------------------------------------------------------------------------------------
// Peers

/// Finds Byteman and jattach, installing the Debian packages when one is missing.
pub(crate) fn ensure_peers(scratch: &Path) -> (Result<Byteman, String>, Result<PathBuf, String>) {
    let have_byteman = || {
        ["byteman.jar", "byteman-install.jar", "byteman-submit.jar"]
            .iter()
            .all(|j| Path::new(BYTEMAN_DIR).join(j).exists())
    };
    let have_jattach = || which("jattach");
    let mut install_error = None;
    if !have_byteman() || have_jattach().is_none() {
        let policy = Command::new("apt-cache").args(["policy", "libbyteman-java", "jattach"]).output();
        let policy_text = policy.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
        eprintln!("suite: a peer is missing; apt-cache policy:\n{policy_text}");
        let install = || {
            Command::new("apt-get")
                .args(["install", "-y", "libbyteman-java", "jattach"])
                .env("DEBIAN_FRONTEND", "noninteractive")
                .output()
        };
        let mut result = install();
        if !matches!(&result, Ok(o) if o.status.success()) && !policy_text.contains("Candidate: 4") {
            // No candidate known yet: refresh the package lists once.
            let _ = Command::new("apt-get").arg("update").stdout(Stdio::null()).stderr(Stdio::null()).status();
            result = install();
        }
        match result {
            Ok(o) if o.status.success() => eprintln!("suite: installed libbyteman-java and jattach"),
            Ok(o) => install_error = Some(format!("apt-get install failed: {}", last_line(&o.stderr))),
            Err(e) => install_error = Some(format!("cannot run apt-get: {e}")),
        }
    }
    let missing =
        |what: &str| format!("{what} not available ({})", install_error.clone().unwrap_or_else(|| "missing".into()));
    let byteman = if have_byteman() {
        let home = scratch.join("byteman-home");
        let _ = std::fs::create_dir_all(home.join("lib"));
        let _ = std::os::unix::fs::symlink(Path::new(BYTEMAN_DIR).join("byteman.jar"), home.join("lib/byteman.jar"));
        Ok(Byteman {
            agent: Path::new(BYTEMAN_DIR).join("byteman.jar"),
            install: Path::new(BYTEMAN_DIR).join("byteman-install.jar"),
            submit: Path::new(BYTEMAN_DIR).join("byteman-submit.jar"),
            home,
        })
    } else {
        Err(missing("Byteman"))
    };
    let jattach = have_jattach().ok_or_else(|| missing("jattach"));
    (byteman, jattach)
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join(name)).find(|p| p.exists()))
        .unwrap_or(None)
}

pub(crate) fn last_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").to_string()
}

impl Byteman {
    /// `Install [-p port] PID` (the agent listener on `port`).
    pub(crate) fn install_cmd(&self, java: &Path, pid: &str, port: u16) -> Command {
        let mut c = Command::new(java);
        c.env("BYTEMAN_HOME", &self.home)
            .arg("-cp")
            .arg(&self.install)
            .arg("org.jboss.byteman.agent.install.Install")
            .args(["-p", &port.to_string(), pid]);
        c
    }

    /// `Submit -p port -l rules.btm`.
    pub(crate) fn submit_cmd(&self, java: &Path, port: u16, rules: &Path) -> Command {
        let mut c = Command::new(java);
        c.arg("-cp")
            .arg(&self.submit)
            .arg("org.jboss.byteman.agent.submit.Submit")
            .args(["-p", &port.to_string(), "-l"])
            .arg(rules);
        c
    }
}

// ---------------------------------------------------------------------------------------
// Processes and files

/// Runs `cmd` to completion (stdout and stderr captured); Err with its output if it failed.
pub(crate) fn run_ok(cmd: &mut Command, what: &str) -> Result<String, String> {
    let out = cmd.stdin(Stdio::null()).output().map_err(|e| format!("{what}: cannot run: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!("{what} failed ({}): {} {}", out.status, text.trim(), last_line(&out.stderr)));
    }
    Ok(text)
}

/// Runs `cmd` under `/usr/bin/time -f %M`; returns its stdout and its peak RSS in KiB.
pub(crate) fn run_timed_rss(ctx: &Ctx, cmd: Command, what: &str) -> Result<(String, Option<u64>), String> {
    let Some(time) = &ctx.time else {
        let mut cmd = cmd;
        return run_ok(&mut cmd, what).map(|s| (s, None));
    };
    let rss_file = ctx.scratch.join("time-rss.txt");
    let _ = std::fs::remove_file(&rss_file);
    let mut wrapped = Command::new(time);
    wrapped.args(["-f", "%M", "-o"]).arg(&rss_file).arg(cmd.get_program()).args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => wrapped.env(k, v),
            None => wrapped.env_remove(k),
        };
    }
    let text = run_ok(&mut wrapped, what)?;
    let kib =
        std::fs::read_to_string(&rss_file).ok().and_then(|s| s.lines().last().and_then(|l| l.trim().parse().ok()));
    Ok((text, kib))
}

pub(crate) fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| fail(&format!("cannot write {}: {e}", path.display())));
}

/// Compiles `benches/java/<dir>/*.java` into `out`.
pub(crate) fn javac(dirs: &[&str], out: &Path) {
    let root = java_sources();
    let mut sources = Vec::new();
    for d in dirs {
        for e in std::fs::read_dir(root.join(d)).into_iter().flatten().flatten() {
            if e.path().extension().is_some_and(|x| x == "java") {
                sources.push(e.path());
            }
        }
    }
    let o = Command::new(jdk_tool("javac"))
        .args(["--release", "11", "-encoding", "UTF-8", "-nowarn", "-d"])
        .arg(out)
        .args(&sources)
        .output()
        .unwrap_or_else(|e| fail(&format!("cannot run javac: {e}")));
    if !o.status.success() {
        fail(&format!("javac failed:\n{}", String::from_utf8_lossy(&o.stderr)));
    }
}

pub(crate) fn vm_rss_kib(pid: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// Runs `f`, turning a panic (a target that did not behave) into an error for that row.
pub(crate) fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into());
            Err(format!("{what}: {msg}"))
        }
    }
}

pub(crate) fn short(err: &str) -> String {
    let s: String = err.chars().take(28).collect();
    if err.chars().count() > 28 {
        format!("{s}…")
    } else {
        s
    }
}
