//! The JVMs of the overhead measures (`cargo bench --bench overhead`, rows 1-3 of the suite):
//! `bench.Main` calling `bench.Hot#step` in a tight loop, one fresh JVM per configuration.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{fail, java_sources, jdk_tool, JVM_FLAGS};

/// Added for a configuration named `<config>-noinline`: the measured method is compiled on
/// its own, never inlined into the loop, so the JIT cannot hoist the hook's checks out of
/// the loop and every call pays for them.
const NOT_INLINED_FLAGS: [&str; 2] = ["-XX:CompileCommand=quiet", "-XX:CompileCommand=dontinline,bench.Hot::step"];

pub struct Settings {
    pub rounds: usize,
    pub warmup_ms: u64,
    pub iterations: usize,
    pub iteration_ms: u64,
}

pub struct Setup {
    pub java: PathBuf,
    pub lib: PathBuf,
    pub classpath: String,
    pub scenario: PathBuf,
    pub scratch: PathBuf,
    /// For the `byteman-p0` configuration (used by `benches/suite/overhead.rs`): Byteman's
    /// agent jar and a rule script whose rule is on `bench.Hot#step` and never fires.
    pub byteman: Option<(PathBuf, PathBuf)>,
}

/// What one JVM printed: ns per call for each iteration of each phase, and its checks.
#[derive(Default)]
pub struct RunOutput {
    pub phases: BTreeMap<String, Vec<f64>>,
    pub info: Vec<String>,
}

/// The scenario of the `armed-p0` configuration.
pub const ARMED_P0_SCENARIO: &str = "name = \"overhead bench: armed, never fires\"\n\n\
     [[fault]]\n\
     id = \"bench-p0\"\n\
     kind = \"exception\"\n\
     target = \"bench.Hot#step\"\n\
     throw = \"java.lang.IllegalStateException\"\n\
     probability = 0\n";

/// Runs one configuration in a fresh JVM and checks that it did what it claims.
pub fn run_config(setup: &Setup, s: &Settings, config: &str, round: usize) -> RunOutput {
    let mut cmd = Command::new(&setup.java);
    cmd.args(JVM_FLAGS);
    let config = match config.strip_suffix("-noinline") {
        Some(inlined) => {
            cmd.args(NOT_INLINED_FLAGS);
            inlined
        }
        None => config,
    };
    let mut events = None;
    match config {
        "baseline" => {}
        "idle" => {
            cmd.arg(format!("-agentpath:{}", setup.lib.display()));
        }
        "armed-p0" => {
            // The events file proves the fault was armed (one "armed" line, nothing per call).
            let ev = setup.scratch.join(format!("events-{round}.jsonl"));
            cmd.arg(format!(
                "-agentpath:{}=scenario={},events={}",
                setup.lib.display(),
                setup.scenario.display(),
                ev.display()
            ));
            events = Some(ev);
        }
        "after-stop" => {
            cmd.arg(format!("-Dfaultline.agent={}", setup.lib.display()));
        }
        "byteman-p0" => {
            let (jar, rules) = setup.byteman.as_ref().expect("byteman-p0 needs Byteman");
            cmd.arg(format!("-javaagent:{}=script:{}", jar.display(), rules.display()));
        }
        _ => unreachable!(),
    }
    let mode = if config == "after-stop" { "api" } else { "plain" };
    cmd.args(["-cp", &setup.classpath, "bench.Main", mode])
        .arg(s.warmup_ms.to_string())
        .arg(s.iterations.to_string())
        .arg(s.iteration_ms.to_string());
    let output = cmd
        .output()
        .unwrap_or_else(|e| fail(&format!("cannot run {}: {e} (is a JDK installed?)", setup.java.display())));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        fail(&format!(
            "{config} (round {round}): the JVM failed ({})\nstdout:\n{stdout}\nstderr:\n{stderr}",
            output.status
        ));
    }
    // A bad option or scenario is reported on stderr; an idle/armed agent prints nothing.
    if config != "baseline" && !stderr.trim().is_empty() {
        eprintln!("  {config} (round {round}) stderr: {}", stderr.trim());
    }
    let mut out = RunOutput::default();
    for line in stdout.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("RESULT") => {
                let (Some(phase), Some(ns)) = (words.next(), words.next().and_then(|w| w.parse::<f64>().ok())) else {
                    fail(&format!("{config}: unreadable line {line:?}"));
                };
                out.phases.entry(phase.to_string()).or_default().push(ns);
            }
            Some("CHECK") => out.info.push(line["CHECK ".len()..].to_string()),
            _ => {}
        }
    }
    if let Some(ev) = events {
        let text = std::fs::read_to_string(&ev).unwrap_or_default();
        let armed = text.lines().any(|l| l.contains("\"armed\"") && l.contains("bench-p0"));
        let fired = text.lines().any(|l| l.contains("\"kind\":\"exception\""));
        if !armed || fired {
            fail(&format!(
                "armed-p0 (round {round}): expected one armed fault that never fires; events file:\n{text}\nstderr:\n{stderr}"
            ));
        }
        out.info.push(format!("round {round}: events file shows bench-p0 armed, never fired"));
    }
    if config == "after-stop" {
        // Main prints the hook's call counter while armed: proof the method was instrumented.
        let calls = out
            .info
            .iter()
            .find_map(|l| l.strip_prefix("api-armed-calls ").and_then(|n| n.trim().parse::<u64>().ok()))
            .unwrap_or(0);
        if calls == 0 {
            fail(&format!(
                "after-stop (round {round}): the API-armed fault saw no calls; stdout:\n{stdout}\nstderr:\n{stderr}"
            ));
        }
    }
    out
}

/// Compiles `benches/java/bench/*.java` for Java 11 against the agent jar.
pub fn compile_java(jar: &Path, classes: &Path) {
    compile_sources("bench", &jar.display().to_string(), classes);
}

/// Compiles `benches/java/<dir>/*.java` for Java 11 with class path `classpath` into `classes`.
pub fn compile_sources(dir: &str, classpath: &str, classes: &Path) {
    let src = java_sources().join(dir);
    let mut sources: Vec<PathBuf> = std::fs::read_dir(&src)
        .unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", src.display())))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "java"))
        .collect();
    sources.sort();
    let javac = jdk_tool("javac");
    let output = Command::new(&javac)
        .args(["--release", "11", "-encoding", "UTF-8", "-nowarn", "-cp"])
        .arg(classpath)
        .arg("-d")
        .arg(classes)
        .args(&sources)
        .output()
        .unwrap_or_else(|e| fail(&format!("cannot run {}: {e} (is a JDK installed?)", javac.display())));
    if !output.status.success() {
        fail(&format!("javac failed on {}:\n{}", src.display(), String::from_utf8_lossy(&output.stderr)));
    }
}
