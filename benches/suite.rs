//! The side-by-side benchmark suite (issue 8): faultline next to Byteman (the established
//! fault injector for the JVM) and jattach (raw attach), on the same targets, in one run,
//! printed as one table with ratios. Raw numbers go to `<target dir>/bench-suite.json`.
//!
//! ```text
//! cargo build --release --workspace
//! cargo bench --bench suite
//! ```
//!
//! The eight measures (every JVM gets the same flags, `-Xms256m -Xmx256m -XX:+UseParallelGC`;
//! the tools run interleaved, A B A B, so a drifting machine hits all of them alike):
//!
//! 1. idle overhead, 2. armed with probability 0, 3. after stop: `benches/overhead.rs` (its
//!    configurations and `bench.Hot#step`), plus `byteman-p0`: Byteman started with
//!    `-javaagent:byteman.jar=script:…`, a rule on the same method whose condition
//!    (`$0 == null`) is evaluated on every call and is never true. Row 2 is also measured
//!    with `bench.Hot#step` kept out of the loop (`-XX:CompileCommand=dontinline`, both the
//!    no-agent baseline and faultline): what each call pays when the JIT cannot hoist the
//!    hook's checks.
//! 4. time to first fault on a fresh JVM (`benches/attach.rs`'s `attachbench.Target`): from the
//!    start of the command to the first injected exception seen by the target; faultline's
//!    `inject` vs Byteman's `Install` + `Submit`; jattach's bare `load` of a no-op agent (a
//!    C file compiled here with gcc) as the floor (command wall time).
//! 5. second command on the attached JVM: faultline's second `inject` vs Byteman's `Submit`
//!    of a second rule, each to the first exception of the second fault.
//! 6. latency accuracy (`latbench.Target`): 50 ms requested at the entry of a method that
//!    itself takes 1 ms; the added delay of each call is measured inside the target; faultline
//!    latency fault vs a Byteman rule `DO Thread.sleep(50L)`; p50 and p99 of (added − 50 ms).
//! 7. footprint: VmRSS of the target before arming and 1 s after one armed fault (faultline
//!    `inject` vs Byteman `Install` + `Submit`), and the tools' own peak RSS (`/usr/bin/time`).
//! 8. scale (`scalebench.Main`): 20,000 generated classes loaded (20 packages of 1,000, one
//!    method each); time of `faultline inject` (agent already attached) for a pattern that
//!    matches one package and for one that matches all 20,000, and how many classes were
//!    retransformed (the reply's method count, the distinct classes of `status`, and the
//!    JVM's own `-Xlog:redefine+class+load` lines).
//!
//! Peers come from Debian (`libbyteman-java`, `jattach`); when missing the suite runs
//! `apt-get install -y libbyteman-java jattach`. A peer that cannot be installed or run is
//! reported as such in its row; no number is made up.
//!
//! Environment (defaults give about 4 to 5 minutes on 2 cores):
//! `FAULTLINE_SUITE_ONLY` (e.g. `1,4,8`: measures to run; 1-3 run together),
//! `FAULTLINE_SUITE_ROUNDS` (6), `FAULTLINE_SUITE_WARMUP_MS` (2000),
//! `FAULTLINE_SUITE_ITERATIONS` (6), `FAULTLINE_SUITE_ITERATION_MS` (300) for measures 1-3;
//! `FAULTLINE_SUITE_RUNS` (5) fresh JVMs per tool for 4-5; `FAULTLINE_SUITE_LAT_ROUNDS` (2)
//! and `FAULTLINE_SUITE_LAT_SAMPLES` (150) for 6; `FAULTLINE_SUITE_FOOTPRINT_RUNS` (3) for 7;
//! `FAULTLINE_SUITE_SCALE_CLASSES` (20000) and `FAULTLINE_SUITE_SCALE_ROUNDS` (2) for 8.

#[path = "attach.rs"]
#[allow(dead_code, unused_imports)]
mod attach;
#[path = "overhead.rs"]
#[allow(dead_code, unused_imports)]
mod overhead;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use attach::{now_micros, FreshJvm};
use overhead::{env_num, jdk_tool, median};
use serde_json::{json, Value};

/// Flags every JVM of the suite gets (the same as `benches/overhead.rs`).
const JVM_FLAGS: [&str; 3] = ["-Xms256m", "-Xmx256m", "-XX:+UseParallelGC"];
const BYTEMAN_DIR: &str = "/usr/share/java";

struct Byteman {
    agent: PathBuf,
    install: PathBuf,
    submit: PathBuf,
    /// `BYTEMAN_HOME` for `Install`: it expects `$BYTEMAN_HOME/lib/byteman.jar`.
    home: PathBuf,
}

struct Ctx {
    cli: PathBuf,
    lib: PathBuf,
    jar: PathBuf,
    java: PathBuf,
    scratch: PathBuf,
    byteman: Result<Byteman, String>,
    jattach: Result<PathBuf, String>,
    time: Option<PathBuf>,
    json: serde_json::Map<String, Value>,
    rows: Vec<Row>,
}

/// One line of the table.
struct Row {
    measure: String,
    faultline: String,
    peer: String,
    ratio: String,
    target: String,
    result: &'static str,
}

fn row(measure: &str, faultline: String, peer: String, ratio: String, target: &str, met: Option<bool>) -> Row {
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
struct Stat {
    med: f64,
    min: f64,
    max: f64,
}

fn stat(values: &[f64]) -> Stat {
    Stat {
        med: median(values),
        min: values.iter().copied().fold(f64::INFINITY, f64::min),
        max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    }
}

/// The latest value of a run's series with one decimal, or "-" when that tool gave none.
fn last_or_dash(values: &[f64]) -> String {
    values.last().map(|v| format!("{v:.1}")).unwrap_or_else(|| "-".into())
}

fn fmt_stat(s: Stat, decimals: usize, unit: &str) -> String {
    format!("{:.d$} [{:.d$}..{:.d$}] {unit}", s.med, s.min, s.max, d = decimals)
}

fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn main() {
    let started = Instant::now();
    let artifacts = overhead::artifact_dir();
    let cli = artifacts.join("faultline");
    let lib = artifacts.join("libfaultline_agent.so");
    let jar = artifacts.join("faultline-agent.jar");
    for p in [&cli, &lib, &jar] {
        if !p.exists() {
            fail(&format!(
                "{} is missing: build first with the same target directory: cargo build --release --workspace",
                p.display()
            ));
        }
    }
    let only: Option<BTreeSet<u32>> = std::env::var("FAULTLINE_SUITE_ONLY")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect());
    let wanted = |m: u32| only.as_ref().is_none_or(|o| o.contains(&m));

    let scratch = std::env::temp_dir().join(format!("faultline-bench-suite-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap_or_else(|e| fail(&format!("cannot create {}: {e}", scratch.display())));

    let load_start = load_average();
    let java = jdk_tool("java");
    let java_version = overhead::java_version(&java);
    eprintln!("suite: {java_version}; load average at start {load_start} ({} cores)", num_cores());
    let (byteman, jattach) = ensure_peers(&scratch);
    let time = Some(PathBuf::from("/usr/bin/time")).filter(|p| p.exists());
    let mut ctx = Ctx {
        cli,
        lib,
        jar,
        java,
        scratch: scratch.clone(),
        byteman,
        jattach,
        time,
        json: serde_json::Map::new(),
        rows: Vec::new(),
    };
    let mut loads = vec![json!({"at": "start", "loadavg": load_start})];
    type Measure = fn(&mut Ctx);
    let measures: [(u32, &str, Measure); 6] = [
        (1, "1-3 overhead", measure_overhead),
        (4, "4-5 first and second fault", measure_first_fault),
        (6, "6 latency accuracy", measure_latency),
        (7, "7 footprint", measure_footprint),
        (8, "8 scale", measure_scale),
        (0, "", |_| {}),
    ];
    for (n, name, f) in measures {
        let run = match n {
            0 => false,
            1 => wanted(1) || wanted(2) || wanted(3),
            4 => wanted(4) || wanted(5),
            n => wanted(n),
        };
        if !run {
            continue;
        }
        let t = Instant::now();
        eprintln!("suite: measure {name} (load average {})", load_average());
        f(&mut ctx);
        eprintln!("suite: measure {name} done in {:.0} s", t.elapsed().as_secs_f64());
        loads.push(json!({"after": name, "loadavg": load_average()}));
    }
    let load_end = load_average();

    println!();
    println!(
        "faultline benchmark suite ({java_version}, {} cores; load average 1/5/15 min: {load_start} at start, {load_end} at end; {:.0} s)",
        num_cores(),
        started.elapsed().as_secs_f64()
    );
    println!("faultline column: median [min..max] over runs; peer/baseline column: median, measured in the same run");
    let widths = [42, 32, 40, 30, 28];
    println!(
        "{:<w0$} {:<w1$} {:<w2$} {:<w3$} {:<w4$} result",
        "measure",
        "faultline",
        "peer / baseline",
        "ratio",
        "target",
        w0 = widths[0],
        w1 = widths[1],
        w2 = widths[2],
        w3 = widths[3],
        w4 = widths[4]
    );
    for r in &ctx.rows {
        println!(
            "{:<w0$} {:<w1$} {:<w2$} {:<w3$} {:<w4$} {}",
            r.measure,
            r.faultline,
            r.peer,
            r.ratio,
            r.target,
            r.result,
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3],
            w4 = widths[4]
        );
    }
    let table: Vec<Value> = ctx
        .rows
        .iter()
        .map(|r| {
            json!({"measure": r.measure, "faultline": r.faultline, "peer": r.peer, "ratio": r.ratio,
                   "target": r.target, "result": r.result})
        })
        .collect();
    let mut out = serde_json::Map::new();
    out.insert("benchmark".into(), json!("suite"));
    out.insert("java".into(), json!(java_version));
    out.insert("jvm_flags".into(), json!(JVM_FLAGS));
    out.insert("cores".into(), json!(num_cores()));
    out.insert("loadavg".into(), json!(loads));
    out.insert("elapsed_s".into(), json!(started.elapsed().as_secs_f64()));
    out.insert("table".into(), json!(table));
    out.insert("measures".into(), Value::Object(std::mem::take(&mut ctx.json)));
    let json_path = artifacts.parent().unwrap_or(&artifacts).join("bench-suite.json");
    match std::fs::write(&json_path, serde_json::to_string_pretty(&Value::Object(out)).expect("json") + "\n") {
        Ok(()) => println!("raw numbers: {}", json_path.display()),
        Err(e) => eprintln!("suite: cannot write {}: {e}", json_path.display()),
    }
    let _ = std::fs::remove_dir_all(&scratch);
}

fn fail(message: &str) -> ! {
    eprintln!("suite: {message}");
    std::process::exit(1);
}

fn num_cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

// ---------------------------------------------------------------------------------------
// Peers

/// Finds Byteman and jattach, installing the Debian packages when one is missing.
fn ensure_peers(scratch: &Path) -> (Result<Byteman, String>, Result<PathBuf, String>) {
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

fn last_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").to_string()
}

impl Byteman {
    /// `Install [-p port] PID` (the agent listener on `port`).
    fn install_cmd(&self, java: &Path, pid: &str, port: u16) -> Command {
        let mut c = Command::new(java);
        c.env("BYTEMAN_HOME", &self.home)
            .arg("-cp")
            .arg(&self.install)
            .arg("org.jboss.byteman.agent.install.Install")
            .args(["-p", &port.to_string(), pid]);
        c
    }

    /// `Submit -p port -l rules.btm`.
    fn submit_cmd(&self, java: &Path, port: u16, rules: &Path) -> Command {
        let mut c = Command::new(java);
        c.arg("-cp")
            .arg(&self.submit)
            .arg("org.jboss.byteman.agent.submit.Submit")
            .args(["-p", &port.to_string(), "-l"])
            .arg(rules);
        c
    }
}

/// Runs `cmd` to completion (stdout and stderr captured); Err with its output if it failed.
fn run_ok(cmd: &mut Command, what: &str) -> Result<String, String> {
    let out = cmd.stdin(Stdio::null()).output().map_err(|e| format!("{what}: cannot run: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!("{what} failed ({}): {} {}", out.status, text.trim(), last_line(&out.stderr)));
    }
    Ok(text)
}

/// Runs `cmd` under `/usr/bin/time -f %M`; returns its stdout and its peak RSS in KiB.
fn run_timed_rss(ctx: &Ctx, cmd: Command, what: &str) -> Result<(String, Option<u64>), String> {
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

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| fail(&format!("cannot write {}: {e}", path.display())));
}

/// Compiles `benches/java/<dir>/*.java` into `out`.
fn javac(dirs: &[&str], out: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/java");
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

fn vm_rss_kib(pid: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// Runs `f`, turning a panic (a target that did not behave) into an error for that row.
fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
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

fn short(err: &str) -> String {
    let s: String = err.chars().take(28).collect();
    if err.chars().count() > 28 {
        format!("{s}…")
    } else {
        s
    }
}

// ---------------------------------------------------------------------------------------
// 1-3: overhead (benches/overhead.rs) + Byteman with a never-true rule

fn measure_overhead(ctx: &mut Ctx) {
    let settings = overhead::Settings {
        rounds: env_num("FAULTLINE_SUITE_ROUNDS", 6).max(1) as usize,
        warmup_ms: env_num("FAULTLINE_SUITE_WARMUP_MS", 2000),
        iterations: env_num("FAULTLINE_SUITE_ITERATIONS", 6).max(1) as usize,
        iteration_ms: env_num("FAULTLINE_SUITE_ITERATION_MS", 300).max(1),
    };
    let classes = ctx.scratch.join("bench-classes");
    overhead::compile_java(&ctx.jar, &classes);
    let scenario = ctx.scratch.join("armed-p0.toml");
    write(&scenario, overhead::ARMED_P0_SCENARIO);
    let rules = ctx.scratch.join("never.btm");
    // `$0 == null` is evaluated on each call and is never true (the receiver of an instance
    // method); Byteman cannot fold it away.
    write(
        &rules,
        "RULE never fires\nCLASS bench.Hot\nMETHOD step\nAT ENTRY\nIF $0 == null\n\
         DO throw new java.lang.IllegalStateException(\"never\")\nENDRULE\n",
    );
    let setup = overhead::Setup {
        java: ctx.java.clone(),
        lib: ctx.lib.clone(),
        classpath: format!("{}:{}", classes.display(), ctx.jar.display()),
        scenario,
        scratch: ctx.scratch.clone(),
        byteman: ctx.byteman.as_ref().ok().map(|b| (b.agent.clone(), rules.clone())),
    };
    // `baseline-aa` is a second no-agent JVM per round: baseline against baseline shows how
    // far apart two identical JVMs land (JIT code placement differs from JVM to JVM), the
    // resolution of rows 1 and 3.
    // The `-noinline` pair measures the hook where the JIT cannot hoist it: the measured
    // method compiled on its own and called, not inlined into the loop.
    let mut configs =
        vec!["baseline", "idle", "armed-p0", "after-stop", "baseline-aa", "baseline-noinline", "armed-p0-noinline"];
    if ctx.byteman.is_ok() {
        configs.push("byteman-p0");
    }
    let mut samples: BTreeMap<&str, Vec<Vec<f64>>> = BTreeMap::new();
    let mut byteman_err = None;
    for round in 1..=settings.rounds {
        for &config in &configs {
            if config == "byteman-p0" && byteman_err.is_some() {
                continue;
            }
            let runs_as = if config == "baseline-aa" { "baseline" } else { config };
            let r = guarded(config, || Ok(overhead::run_config(&setup, &settings, runs_as, round)));
            let out = match r {
                Ok(o) => o,
                Err(e) if config == "byteman-p0" => {
                    byteman_err = Some(e);
                    continue;
                }
                Err(e) => fail(&e),
            };
            let phase = if config == "after-stop" { "after-stop" } else { "run" };
            let values = out.phases.get(phase).cloned().unwrap_or_default();
            if values.len() != settings.iterations {
                let e = format!("{config}: expected {} iterations, got {}", settings.iterations, values.len());
                if config == "byteman-p0" {
                    byteman_err = Some(e);
                    continue;
                }
                fail(&e);
            }
            eprintln!("  round {round}/{} {config:<10} median {:>7.3} ns/call", settings.rounds, median(&values));
            samples.entry(config).or_default().push(values);
        }
    }
    let flat =
        |c: &str| -> Vec<f64> { samples.get(c).map(|r| r.iter().flatten().copied().collect()).unwrap_or_default() };
    // The unit of comparison is one JVM (its median ns/call): JVM-to-JVM differences are
    // larger than the iteration-to-iteration noise inside one JVM.
    let jvm_medians =
        |c: &str| -> Vec<f64> { samples.get(c).map(|r| r.iter().map(|v| median(v)).collect()).unwrap_or_default() };
    // Per-round ratios: configurations of one round ran back to back.
    let per_round_vs = |baseline: &str, c: &str, f: &dyn Fn(f64, f64) -> f64| -> Vec<f64> {
        samples[baseline]
            .iter()
            .zip(samples.get(c).into_iter().flatten())
            .map(|(b, x)| f(median(b), median(x)))
            .collect()
    };
    let per_round = |c: &str, f: &dyn Fn(f64, f64) -> f64| per_round_vs("baseline", c, f);
    let base = stat(&jvm_medians("baseline"));
    let base_s = format!("no agent {:.3} ns/call", base.med);
    let base_noinline = stat(&jvm_medians("baseline-noinline"));
    let mut json_configs = serde_json::Map::new();
    for &c in &configs {
        if let Some(s) = samples.get(c) {
            let st = stat(&jvm_medians(c));
            let all = stat(&flat(c));
            let (baseline, b) = if c.ends_with("-noinline") {
                ("baseline-noinline", base_noinline.med)
            } else {
                ("baseline", base.med)
            };
            json_configs.insert(
                c.into(),
                json!({"median_of_jvm_medians_ns": st.med, "jvm_medians_ns": jvm_medians(c),
                       "min_iteration_ns": all.min, "max_iteration_ns": all.max, "samples_ns": s,
                       "compared_with": baseline,
                       "throughput_ratio_vs_baseline": b / st.med, "added_ns_per_call": st.med - b}),
            );
        }
    }
    // 1 and 3: throughput relative to the baseline: median baseline JVM / median JVM of the
    // configuration; the min..max of the per-round ratios beside it.
    for (c, name) in [
        ("idle", "1 idle: throughput / no agent"),
        ("after-stop", "3 after stop: throughput / no agent"),
        ("baseline-aa", "1-3 resolution: no agent / no agent"),
    ] {
        let ratios = per_round(c, &|b, x| b / x);
        let rs = stat(&ratios);
        let st = stat(&jvm_medians(c));
        let ratio = base.med / st.med;
        let (target, met) =
            if c == "baseline-aa" { ("(A/A control)", None) } else { ("≥ 0.99", Some(ratio >= 0.99)) };
        ctx.rows.push(row(
            name,
            format!("{} ns/call", fmt_stat(st, 3, "")).replace("  ", " "),
            base_s.clone(),
            format!("{ratio:.4} (rounds {:.3}..{:.3})", rs.min, rs.max),
            target,
            met,
        ));
    }
    // 2: ns added per call, vs no agent and vs Byteman.
    let fl = stat(&jvm_medians("armed-p0"));
    let added = fl.med - base.med;
    let added_rounds = stat(&per_round("armed-p0", &|b, x| x - b));
    ctx.rows.insert(
        1,
        row(
            "2 armed p=0: ns added per call",
            format!("{:+.3} ns ({:.3} ns/call)", added, fl.med),
            base_s.clone(),
            format!("rounds {:+.2}..{:+.2}", added_rounds.min, added_rounds.max),
            "≤ 1.5 ns added",
            Some(added <= 1.5),
        ),
    );
    let bm_row = match (&ctx.byteman, &byteman_err) {
        (Err(e), _) | (Ok(_), Some(e)) => row(
            "2 armed p=0 vs Byteman never-true rule",
            format!("{:+.3} ns added", added),
            format!("n/a: {}", short(e)),
            "-".into(),
            "≥ 10x less than Byteman",
            None,
        ),
        (Ok(_), None) => {
            let bm = stat(&jvm_medians("byteman-p0"));
            let bm_added = bm.med - base.med;
            row(
                "2 armed p=0 vs Byteman never-true rule",
                format!("{:+.3} ns added", added),
                format!("Byteman {:+.1} ns added ({:.1} ns/call)", bm_added, bm.med),
                // Below 0.1 ns the difference is within what this machine resolves: the
                // ratio is given as a lower bound.
                if added < 0.1 {
                    format!("≥ {:.0}x less added (≤ 0.1 ns)", bm_added / 0.1)
                } else {
                    format!("{:.0}x less added", bm_added / added)
                },
                "≥ 10x less than Byteman",
                Some(bm_added >= 10.0 * added.max(0.0)),
            )
        }
    };
    ctx.rows.insert(2, bm_row);
    // 2, not inlined: what each call pays when the JIT cannot hoist the hook (reference).
    let fl_noinline = stat(&jvm_medians("armed-p0-noinline"));
    let noinline_rounds = stat(&per_round_vs("baseline-noinline", "armed-p0-noinline", &|b, x| x - b));
    ctx.rows.insert(
        3,
        row(
            "2 armed p=0, not inlined: ns added",
            format!("{:+.3} ns ({:.3} ns/call)", fl_noinline.med - base_noinline.med, fl_noinline.med),
            format!("no agent, not inlined {:.3} ns/call", base_noinline.med),
            format!("rounds {:+.2}..{:+.2}", noinline_rounds.min, noinline_rounds.max),
            "(reference)",
            None,
        ),
    );
    ctx.json.insert(
        "overhead".into(),
        json!({"method": "bench.Hot#step", "rounds": settings.rounds, "warmup_ms": settings.warmup_ms,
               "iterations": settings.iterations, "iteration_ms": settings.iteration_ms,
               "byteman_rule": "IF $0 == null (never true), AT ENTRY", "byteman_error": byteman_err,
               "configs": json_configs}),
    );
}

// ---------------------------------------------------------------------------------------
// 4-5: time to first fault (benches/attach.rs's target), second command; jattach floor

fn measure_first_fault(ctx: &mut Ctx) {
    let runs = env_num("FAULTLINE_SUITE_RUNS", 5).max(1) as usize;
    let classes = attach::compile_target();
    let rule = |name: &str| {
        format!(
            "RULE {name}\nCLASS attachbench.Target\nMETHOD {name}\nAT ENTRY\nIF true\n\
             DO throw new java.lang.IllegalStateException(\"byteman {name}\")\nENDRULE\n"
        )
    };
    let first_btm = ctx.scratch.join("first.btm");
    let second_btm = ctx.scratch.join("second.btm");
    write(&first_btm, &rule("first"));
    write(&second_btm, &rule("second"));
    let noop = build_noop_agent(&ctx.scratch);

    let (mut fl1, mut fl2, mut bm1, mut bm2, mut ja) = (vec![], vec![], vec![], vec![], vec![]);
    let mut fl_err: Vec<String> = vec![];
    let (mut bm_err, mut ja_err) = (ctx.byteman.as_ref().err().cloned(), ctx.jattach.as_ref().err().cloned());
    if ja_err.is_none() {
        if let Err(e) = &noop {
            ja_err = Some(e.clone());
        }
    }
    for run in 0..runs {
        // A: faultline
        let (a, b) = match guarded("faultline", || Ok(attach::one_run(&ctx.cli, &classes, &JVM_FLAGS))) {
            Ok(ab) => ab,
            Err(e) => {
                // A failed command is a result too: counted and shown in the table.
                eprintln!("  run {}: faultline failed: {e}", run + 1);
                fl_err.push(e);
                (f64::NAN, f64::NAN)
            }
        };
        if !a.is_nan() {
            fl1.push(a);
            fl2.push(b);
        }
        // B: Byteman Install + Submit
        if bm_err.is_none() {
            let bm = ctx.byteman.as_ref().unwrap();
            let port = 19091 + (run as u16 % 500);
            let r = guarded("byteman", || {
                let mut jvm = FreshJvm::start(&classes, &JVM_FLAGS);
                let start_a = now_micros();
                run_ok(&mut bm.install_cmd(&ctx.java, &jvm.pid, port), "Byteman Install")?;
                run_ok(&mut bm.submit_cmd(&ctx.java, port, &first_btm), "Byteman Submit")?;
                let first_at = jvm.seen("first ");
                let start_b = now_micros();
                run_ok(&mut bm.submit_cmd(&ctx.java, port, &second_btm), "Byteman Submit (second rule)")?;
                let second_at = jvm.seen("second ");
                Ok((
                    (first_at.saturating_sub(start_a)) as f64 / 1000.0,
                    (second_at.saturating_sub(start_b)) as f64 / 1000.0,
                ))
            });
            match r {
                Ok((a, b)) => {
                    bm1.push(a);
                    bm2.push(b);
                }
                Err(e) => {
                    eprintln!("  Byteman failed: {e}");
                    bm_err = Some(e);
                }
            }
        }
        // C: jattach load of a no-op agent (the floor)
        if ja_err.is_none() {
            let (jattach, noop) = (ctx.jattach.as_ref().unwrap(), noop.as_ref().unwrap());
            let r = guarded("jattach", || {
                let jvm = FreshJvm::start(&classes, &JVM_FLAGS);
                let t = Instant::now();
                let out =
                    run_ok(Command::new(jattach).arg(&jvm.pid).arg("load").arg(noop).arg("true"), "jattach load")?;
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                if !out.contains("return code: 0") && !out.contains("response code = 0") {
                    return Err(format!("jattach: unexpected reply {out:?}"));
                }
                Ok(ms)
            });
            match r {
                Ok(ms) => ja.push(ms),
                Err(e) => {
                    eprintln!("  jattach failed: {e}");
                    ja_err = Some(e);
                }
            }
        }
        eprintln!(
            "  run {}/{runs}: faultline {:.1} / {:.1} ms; Byteman {} / {} ms; jattach {} ms",
            run + 1,
            a,
            b,
            last_or_dash(&bm1),
            last_or_dash(&bm2),
            last_or_dash(&ja),
        );
    }
    if fl1.is_empty() {
        fail(&format!("faultline failed in every run: {fl_err:?}"));
    }
    let _ = std::fs::remove_dir_all(&classes);
    let (f1, f2) = (stat(&fl1), stat(&fl2));
    let failed_note =
        if fl_err.is_empty() { String::new() } else { format!(" ({} of {runs} runs FAILED)", fl_err.len()) };
    let bm_ok = bm_err.is_none() && !bm1.is_empty();
    ctx.rows.push(if bm_ok {
        let b = stat(&bm1);
        row(
            "4 fresh JVM: command -> first fault",
            fmt_stat(f1, 1, "ms") + &failed_note,
            format!("Byteman install+submit {:.0} ms", b.med),
            format!("{:.1}x faster", b.med / f1.med),
            "< 60 ms, ≥ 8x faster",
            Some(f1.med < 60.0 && b.med / f1.med >= 8.0),
        )
    } else {
        row(
            "4 fresh JVM: command -> first fault",
            fmt_stat(f1, 1, "ms") + &failed_note,
            format!("n/a: {}", short(bm_err.as_deref().unwrap_or("?"))),
            "-".into(),
            "< 60 ms, ≥ 8x faster",
            Some(false).filter(|_| f1.med >= 60.0),
        )
    });
    ctx.rows.push(match (&ja_err, ja.is_empty()) {
        (None, false) => {
            let j = stat(&ja);
            row(
                "4 floor: jattach load of a no-op agent",
                fmt_stat(f1, 1, "ms"),
                format!("jattach {:.1} [{:.1}..{:.1}] ms", j.med, j.min, j.max),
                format!("{:.2}x the floor", f1.med / j.med),
                "(floor, for reference)",
                None,
            )
        }
        _ => row(
            "4 floor: jattach load of a no-op agent",
            fmt_stat(f1, 1, "ms"),
            format!("n/a: {}", short(ja_err.as_deref().unwrap_or("?"))),
            "-".into(),
            "(floor, for reference)",
            None,
        ),
    });
    ctx.rows.push(if bm_ok {
        let b = stat(&bm2);
        row(
            "5 second command on the attached JVM",
            fmt_stat(f2, 1, "ms") + &failed_note,
            format!("Byteman submit {:.0} ms", b.med),
            format!("{:.1}x faster", b.med / f2.med),
            "< 10 ms",
            Some(f2.med < 10.0),
        )
    } else {
        row(
            "5 second command on the attached JVM",
            fmt_stat(f2, 1, "ms") + &failed_note,
            format!("n/a: {}", short(bm_err.as_deref().unwrap_or("?"))),
            "-".into(),
            "< 10 ms",
            Some(f2.med < 10.0),
        )
    });
    ctx.json.insert(
        "first_fault".into(),
        json!({"runs": runs, "unit": "ms", "faultline_first_ms": fl1, "faultline_second_ms": fl2,
               "byteman_install_submit_first_ms": bm1, "byteman_submit_second_ms": bm2,
               "jattach_load_noop_ms": ja, "byteman_error": bm_err, "jattach_error": ja_err,
               "faultline_failures": fl_err}),
    );
}

/// A native agent whose `Agent_OnAttach` returns 0, for jattach's floor.
fn build_noop_agent(scratch: &Path) -> Result<PathBuf, String> {
    let src = scratch.join("noop.c");
    let so = scratch.join("libnoop_agent.so");
    write(
        &src,
        "__attribute__((visibility(\"default\"))) int Agent_OnAttach(void *vm, char *options, void *reserved) {\n\
         \x20   (void) vm; (void) options; (void) reserved;\n    return 0;\n}\n",
    );
    run_ok(Command::new("gcc").args(["-shared", "-fPIC", "-O2", "-o"]).arg(&so).arg(&src), "gcc (no-op agent)")
        .map_err(|e| format!("no-op agent: {e}"))?;
    Ok(so)
}

// ---------------------------------------------------------------------------------------
// 6: latency accuracy

fn measure_latency(ctx: &mut Ctx) {
    let rounds = env_num("FAULTLINE_SUITE_LAT_ROUNDS", 2).max(1) as usize;
    let samples = env_num("FAULTLINE_SUITE_LAT_SAMPLES", 150).max(1) as usize;
    let skip = 10;
    let classes = ctx.scratch.join("lat-classes");
    javac(&["latbench"], &classes);
    let scenario = ctx.scratch.join("latency.toml");
    write(
        &scenario,
        "[[fault]]\nid = \"lat50\"\nkind = \"latency\"\ntarget = \"latbench.Target#work\"\ndelay = \"50ms\"\n",
    );
    let rules = ctx.scratch.join("latency.btm");
    write(
        &rules,
        "RULE latency 50 ms\nCLASS latbench.Target\nMETHOD work\nAT ENTRY\nIF true\nDO Thread.sleep(50L)\nENDRULE\n",
    );

    let run = |agent_flag: String| -> Result<Vec<f64>, String> {
        let out = Command::new(&ctx.java)
            .args(JVM_FLAGS)
            .arg(agent_flag)
            .arg("-cp")
            .arg(&classes)
            .args(["latbench.Target", &skip.to_string(), &samples.to_string()])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run java: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let added: Vec<f64> = text
            .lines()
            .filter_map(|l| l.strip_prefix("ADDED ").and_then(|v| v.trim().parse::<f64>().ok()))
            .map(|ns| ns / 1e6 - 50.0)
            .collect();
        if !out.status.success() || added.len() != samples {
            return Err(format!(
                "latency target: {} samples of {samples} ({}); {}",
                added.len(),
                out.status,
                last_line(&out.stderr)
            ));
        }
        Ok(added)
    };
    let (mut fl, mut bm): (Vec<Vec<f64>>, Vec<Vec<f64>>) = (vec![], vec![]);
    let mut bm_err = ctx.byteman.as_ref().err().cloned();
    for round in 1..=rounds {
        let f = run(format!("-agentpath:{}=scenario={}", ctx.lib.display(), scenario.display()))
            .unwrap_or_else(|e| fail(&format!("faultline {e}")));
        eprintln!(
            "  round {round}/{rounds} faultline: error p50 {:+.3} ms p99 {:+.3} ms",
            percentile(&f, 50.0),
            percentile(&f, 99.0)
        );
        fl.push(f);
        if bm_err.is_none() {
            let agent = &ctx.byteman.as_ref().unwrap().agent;
            match run(format!("-javaagent:{}=script:{}", agent.display(), rules.display())) {
                Ok(b) => {
                    eprintln!(
                        "  round {round}/{rounds} Byteman:   error p50 {:+.3} ms p99 {:+.3} ms",
                        percentile(&b, 50.0),
                        percentile(&b, 99.0)
                    );
                    bm.push(b)
                }
                Err(e) => bm_err = Some(format!("Byteman {e}")),
            }
        }
    }
    let pooled = |v: &[Vec<f64>]| -> Vec<f64> { v.iter().flatten().copied().collect() };
    for (p, target, limit) in [(50.0, "p50 within ±0.1 ms", 0.1), (99.0, "p99 within +1 ms", 1.0)] {
        let fp = percentile(&pooled(&fl), p);
        let per_round: Vec<f64> = fl.iter().map(|r| percentile(r, p)).collect();
        let rs = stat(&per_round);
        let fs = format!("{fp:+.3} [{:+.3}..{:+.3}] ms", rs.min, rs.max);
        let met = if p == 50.0 { fp.abs() <= limit } else { fp <= limit && fp >= -limit };
        ctx.rows.push(match (&bm_err, bm.is_empty()) {
            (None, false) => {
                let bp = percentile(&pooled(&bm), p);
                row(
                    &format!("6 latency 50 ms: p{p:.0} error (added−50)"),
                    fs,
                    format!("Byteman sleep(50) {bp:+.3} ms"),
                    format!("{:.1}x closer", bp.abs() / fp.abs().max(0.001)),
                    target,
                    Some(met),
                )
            }
            _ => row(
                &format!("6 latency 50 ms: p{p:.0} error (added−50)"),
                fs,
                format!("n/a: {}", short(bm_err.as_deref().unwrap_or("?"))),
                "-".into(),
                target,
                Some(met),
            ),
        });
    }
    ctx.json.insert(
        "latency".into(),
        json!({"requested_ms": 50, "method_ms": 1, "rounds": rounds, "samples_per_round": samples, "warmup_calls_skipped": skip,
               "unit": "ms added minus 50", "faultline": fl, "byteman": bm, "byteman_error": bm_err}),
    );
}

// ---------------------------------------------------------------------------------------
// 7: footprint

fn measure_footprint(ctx: &mut Ctx) {
    let runs = env_num("FAULTLINE_SUITE_FOOTPRINT_RUNS", 3).max(1) as usize;
    let classes = attach::compile_target();
    let rules = ctx.scratch.join("footprint.btm");
    write(
        &rules,
        "RULE footprint\nCLASS attachbench.Target\nMETHOD first\nAT ENTRY\nIF java.lang.System.nanoTime() == 42L\n\
         DO throw new java.lang.IllegalStateException(\"never\")\nENDRULE\n",
    );
    let settle = Duration::from_millis(1000);
    let (mut fl_rss, mut fl_cli, mut bm_rss, mut bm_cli) = (vec![], vec![], vec![], vec![]);
    let mut fl_fp_err: Vec<String> = vec![];
    let mut bm_err = ctx.byteman.as_ref().err().cloned();
    for run in 0..runs {
        let r = guarded("faultline", || {
            let jvm = FreshJvm::start(&classes, &JVM_FLAGS);
            let before = vm_rss_kib(&jvm.pid).ok_or("no VmRSS")?;
            let mut cmd = Command::new(&ctx.cli);
            cmd.args([
                "inject",
                &jvm.pid,
                "exception",
                "--target",
                "attachbench.Target#first",
                "--probability",
                "0",
                "--throw",
                "java.lang.IllegalStateException",
            ]);
            let (_, peak) = run_timed_rss(ctx, cmd, "faultline inject")?;
            std::thread::sleep(settle);
            let after = vm_rss_kib(&jvm.pid).ok_or("no VmRSS")?;
            Ok((after as f64 - before as f64, peak))
        });
        let (d, peak) = match r {
            Ok(v) => v,
            Err(e) => {
                eprintln!("  run {}: faultline failed: {e}", run + 1);
                fl_fp_err.push(e);
                continue;
            }
        };
        fl_rss.push(d / 1024.0);
        if let Some(p) = peak {
            fl_cli.push(p as f64 / 1024.0);
        }
        if bm_err.is_none() {
            let bm = ctx.byteman.as_ref().unwrap();
            let port = 19700 + run as u16;
            let r = guarded("byteman", || {
                let jvm = FreshJvm::start(&classes, &JVM_FLAGS);
                let before = vm_rss_kib(&jvm.pid).ok_or("no VmRSS")?;
                let (_, p1) = run_timed_rss(ctx, bm.install_cmd(&ctx.java, &jvm.pid, port), "Byteman Install")?;
                let (_, p2) = run_timed_rss(ctx, bm.submit_cmd(&ctx.java, port, &rules), "Byteman Submit")?;
                std::thread::sleep(settle);
                let after = vm_rss_kib(&jvm.pid).ok_or("no VmRSS")?;
                Ok((after as f64 - before as f64, p1.zip(p2).map(|(a, b)| a.max(b))))
            });
            match r {
                Ok((d, peak)) => {
                    bm_rss.push(d / 1024.0);
                    if let Some(p) = peak {
                        bm_cli.push(p as f64 / 1024.0);
                    }
                }
                Err(e) => bm_err = Some(e),
            }
        }
        eprintln!(
            "  run {}/{runs}: target RSS added: faultline {:.1} MiB, Byteman {} MiB; tool peak RSS: faultline {} MiB, Byteman {} MiB",
            run + 1,
            d / 1024.0,
            last_or_dash(&bm_rss),
            last_or_dash(&fl_cli),
            last_or_dash(&bm_cli),
        );
    }
    if fl_rss.is_empty() {
        fail(&format!("faultline failed in every footprint run: {fl_fp_err:?}"));
    }
    let _ = std::fs::remove_dir_all(&classes);
    let f = stat(&fl_rss);
    let bm_ok = bm_err.is_none() && !bm_rss.is_empty();
    ctx.rows.push(if bm_ok {
        let b = stat(&bm_rss);
        row(
            "7 target RSS added by one armed fault",
            fmt_stat(f, 1, "MiB"),
            format!("Byteman {:.1} [{:.1}..{:.1}] MiB", b.med, b.min, b.max),
            format!("{:.1}x less", b.med / f.med.max(0.01)),
            "less than Byteman",
            Some(f.med < b.med),
        )
    } else {
        row(
            "7 target RSS added by one armed fault",
            fmt_stat(f, 1, "MiB"),
            format!("n/a: {}", short(bm_err.as_deref().unwrap_or("?"))),
            "-".into(),
            "less than Byteman",
            None,
        )
    });
    let cli_row = match (fl_cli.is_empty(), bm_ok && !bm_cli.is_empty()) {
        (true, _) => {
            row("7 CLI peak RSS", "n/a: no /usr/bin/time".into(), "-".into(), "-".into(), "less than Byteman", None)
        }
        (false, true) => {
            let (c, b) = (stat(&fl_cli), stat(&bm_cli));
            row(
                "7 CLI peak RSS (Byteman: Install/Submit)",
                fmt_stat(c, 1, "MiB"),
                format!("Byteman tools {:.1} MiB", b.med),
                format!("{:.1}x less", b.med / c.med),
                "less than Byteman",
                Some(c.med < b.med),
            )
        }
        (false, false) => row(
            "7 CLI peak RSS",
            fmt_stat(stat(&fl_cli), 1, "MiB"),
            format!("n/a: {}", short(bm_err.as_deref().unwrap_or("?"))),
            "-".into(),
            "less than Byteman",
            None,
        ),
    };
    ctx.rows.push(cli_row);
    ctx.json.insert(
        "footprint".into(),
        json!({"runs": runs, "unit": "MiB", "settle_ms": settle.as_millis() as u64,
               "faultline_target_rss_added": fl_rss, "faultline_cli_peak_rss": fl_cli,
               "byteman_target_rss_added": bm_rss, "byteman_tools_peak_rss": bm_cli, "byteman_error": bm_err,
               "faultline_failures": fl_fp_err}),
    );
}

// ---------------------------------------------------------------------------------------
// 8: scale

/// A minimal class file: `public class <name> { public static int m() { return 7; } }`
/// (version 52, no constructor: it is only loaded, never instantiated).
fn class_file(internal_name: &str) -> Vec<u8> {
    let mut b = vec![0xCA, 0xFE, 0xBA, 0xBE, 0, 0, 0, 52];
    let utf8 = |b: &mut Vec<u8>, s: &str| {
        b.push(1);
        b.extend((s.len() as u16).to_be_bytes());
        b.extend(s.as_bytes());
    };
    b.extend(8u16.to_be_bytes()); // constant pool count: 7 entries
    utf8(&mut b, internal_name); // #1
    b.extend([7, 0, 1]); // #2 Class #1
    utf8(&mut b, "java/lang/Object"); // #3
    b.extend([7, 0, 3]); // #4 Class #3
    utf8(&mut b, "m"); // #5
    utf8(&mut b, "()I"); // #6
    utf8(&mut b, "Code"); // #7
    b.extend([0x00, 0x21, 0, 2, 0, 4, 0, 0, 0, 0]); // public super, this, super, no interfaces, no fields
    b.extend([0, 1, 0x00, 0x09, 0, 5, 0, 6, 0, 1]); // one method: public static m()I, one attribute
    b.extend([0, 7, 0, 0, 0, 15, 0, 1, 0, 0, 0, 0, 0, 3, 0x10, 7, 0xAC, 0, 0, 0, 0]); // Code
    b.extend([0, 0]); // no class attributes
    b
}

fn measure_scale(ctx: &mut Ctx) {
    let total = env_num("FAULTLINE_SUITE_SCALE_CLASSES", 20_000).max(20) as usize;
    let rounds = env_num("FAULTLINE_SUITE_SCALE_ROUNDS", 2).max(1) as usize;
    let packages = 20;
    let per_package = total / packages;
    let total = per_package * packages;
    let classes = ctx.scratch.join("scale-classes");
    javac(&["scalebench"], &classes);
    let mut names = String::new();
    for p in 0..packages {
        let dir = classes.join(format!("scalegen/p{p:02}"));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| fail(&format!("mkdir: {e}")));
        for c in 0..per_package {
            let internal = format!("scalegen/p{p:02}/C{c:05}");
            std::fs::write(dir.join(format!("C{c:05}.class")), class_file(&internal))
                .unwrap_or_else(|e| fail(&format!("write class: {e}")));
            names.push_str(&internal.replace('/', "."));
            names.push('\n');
        }
    }
    let names_file = ctx.scratch.join("scale-names.txt");
    write(&names_file, &names);
    let patterns = [("scalegen.p07.*#*", per_package), ("scalegen.**#*", total)];
    let mut results: Vec<Value> = vec![];
    let mut arm_ms: Vec<Vec<f64>> = vec![vec![]; patterns.len()];
    let mut pauses: Vec<Vec<f64>> = vec![vec![]; patterns.len()];
    let mut counts: Vec<Vec<(u64, usize, usize)>> = vec![vec![]; patterns.len()];
    let mut loaded_total = 0u64;
    for round in 1..=rounds {
        let log = ctx.scratch.join(format!("redefine-{round}.log"));
        let safepoints = ctx.scratch.join(format!("safepoints-{round}.log"));
        let mut child = Command::new(&ctx.java)
            .args(JVM_FLAGS)
            .arg(format!("-Xlog:redefine+class+load=info:file={}", log.display()))
            .arg(format!("-Xlog:safepoint=info:file={}", safepoints.display()))
            .arg("-cp")
            .arg(&classes)
            .arg("scalebench.Main")
            .arg(&names_file)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| fail(&format!("cannot start java: {e}")));
        let pid = child.id().to_string();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = lines.next().and_then(Result::ok).unwrap_or_default();
        let r = guarded("scale", || {
            let w: Vec<&str> = ready.split_whitespace().collect();
            if w.first() != Some(&"ready") || w.get(1).and_then(|n| n.parse::<usize>().ok()) != Some(total) {
                return Err(format!("scale target: {ready:?}"));
            }
            loaded_total = w.get(3).and_then(|n| n.parse().ok()).unwrap_or(0);
            std::thread::sleep(Duration::from_millis(500));
            // Attach and load the agent first (not timed): measure 4 covers that.
            run_ok(
                Command::new(&ctx.cli).args([
                    "inject",
                    &pid,
                    "exception",
                    "--target",
                    "scalebench.Main#idle",
                    "--probability",
                    "0",
                    "--id",
                    "warm",
                    "--throw",
                    "java.lang.IllegalStateException",
                ]),
                "faultline inject (warm)",
            )?;
            let redefined = || {
                std::fs::read_to_string(&log).map(|s| s.lines().filter(|l| l.contains("redefine")).count()).unwrap_or(0)
            };
            let mut round_results = vec![];
            // The longest pause of the application (a RedefineClasses safepoint) since `from` bytes of the log.
            let longest_pause_ms = |from: usize| -> (f64, usize) {
                let text = std::fs::read_to_string(&safepoints).unwrap_or_default();
                let pauses: Vec<f64> = text
                    .get(from..)
                    .unwrap_or("")
                    .lines()
                    .filter(|l| l.contains("\"RedefineClasses\""))
                    .filter_map(|l| l.split("At safepoint: ").nth(1))
                    .filter_map(|rest| rest.split_whitespace().next().and_then(|n| n.parse::<f64>().ok()))
                    .map(|ns| ns / 1e6)
                    .collect();
                (pauses.iter().copied().fold(0.0, f64::max), pauses.len())
            };
            let log_len = || std::fs::metadata(&safepoints).map(|m| m.len() as usize).unwrap_or(0);
            for (i, (pattern, expected)) in patterns.iter().enumerate() {
                let before = redefined();
                let pauses_from = log_len();
                let t = Instant::now();
                let reply = run_ok(
                    Command::new(&ctx.cli).args([
                        "inject",
                        &pid,
                        "exception",
                        "--target",
                        pattern,
                        "--probability",
                        "0",
                        "--id",
                        "wide",
                        "--json",
                        "--throw",
                        "java.lang.IllegalStateException",
                    ]),
                    "faultline inject (wide)",
                )?;
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                let reply: Value =
                    serde_json::from_str(reply.trim()).map_err(|e| format!("inject --json: {e}: {reply}"))?;
                let methods = reply["armed"][0]["methods"].as_u64().unwrap_or(0);
                let status: Value = serde_json::from_str(
                    run_ok(Command::new(&ctx.cli).args(["status", &pid, "--json"]), "status")?.trim(),
                )
                .map_err(|e| format!("status --json: {e}"))?;
                let fault = status["faults"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|f| f["id"] == "wide")
                    .cloned()
                    .unwrap_or(Value::Null);
                let method_count = fault["method_count"].as_u64().unwrap_or(0);
                let status_classes: BTreeSet<String> = fault["methods"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|m| m.as_str().and_then(|s| s.split('#').next()).map(str::to_string))
                    .collect();
                std::thread::sleep(Duration::from_millis(200));
                let jvm_redefined = redefined() - before;
                let t = Instant::now();
                run_ok(Command::new(&ctx.cli).args(["stop", &pid, "wide"]), "faultline stop")?;
                let stop_ms = t.elapsed().as_secs_f64() * 1000.0;
                std::thread::sleep(Duration::from_millis(200));
                let (pause_ms, pause_count) = longest_pause_ms(pauses_from);
                eprintln!(
                    "  round {round}/{rounds} {pattern}: armed in {ms:.1} ms; reply {methods} methods, status method_count {method_count} over {} classes, JVM log {jvm_redefined} classes retransformed (expected {expected}); stop {stop_ms:.1} ms; longest of {pause_count} redefinition pauses {pause_ms:.1} ms",
                    status_classes.len()
                );
                arm_ms[i].push(ms);
                pauses[i].push(pause_ms);
                counts[i].push((method_count, status_classes.len(), jvm_redefined));
                round_results.push(
                    json!({"pattern": pattern, "expected_classes": expected, "arm_ms": ms, "reply_methods": methods,
                    "status_method_count": method_count, "status_distinct_classes": status_classes.len(),
                    "jvm_log_retransformed": jvm_redefined, "stop_ms": stop_ms,
                    "redefinition_pauses": pause_count, "longest_pause_ms": pause_ms}),
                );
            }
            Ok(round_results)
        });
        let _ = child.kill();
        let _ = child.wait();
        match r {
            Ok(v) => results.push(json!({"round": round, "patterns": v})),
            Err(e) => fail(&e),
        }
    }
    for (i, (pattern, expected)) in patterns.iter().enumerate() {
        let s = stat(&arm_ms[i]);
        let c = counts[i].last().copied().unwrap_or((0, 0, 0));
        let only_matching = counts[i]
            .iter()
            .all(|&(m, cl, log)| m as usize == *expected && cl == *expected && (log == *expected || log == 0));
        row_push_scale(ctx, pattern, *expected, total, loaded_total, s, c, only_matching);
    }
    // The application is stopped while the JVM swaps classes in: the longest such pause over
    // arming and removing the widest pattern.
    let wide = stat(&pauses[patterns.len() - 1]);
    ctx.rows.push(row(
        &format!("8 longest JVM pause, arm+stop `{}`", patterns[patterns.len() - 1].0),
        fmt_stat(wide, 1, "ms"),
        format!("batches of {} classes", 500),
        "-".into(),
        "(for reference)",
        None,
    ));
    ctx.json.insert(
        "scale".into(),
        json!({"generated_classes": total, "classes_loaded_in_jvm": loaded_total, "rounds": results,
               "note": "jvm_log_retransformed counts -Xlog:redefine+class+load lines (0 if the JVM logs none)"}),
    );
}

#[allow(clippy::too_many_arguments)]
fn row_push_scale(
    ctx: &mut Ctx,
    pattern: &str,
    expected: usize,
    total: usize,
    loaded: u64,
    s: Stat,
    c: (u64, usize, usize),
    ok: bool,
) {
    ctx.rows.push(row(
        &format!("8 arm `{pattern}` ({total} gen.)"),
        fmt_stat(s, 1, "ms"),
        format!("{expected} of {loaded} loaded match"),
        format!("{} retransformed (log {})", c.1, c.2),
        "only matching retransformed",
        Some(ok),
    ));
}
