//! Shared test support: the built artifacts, the Java fixtures compiled once per test
//! binary, and running a real JVM with the agent.

#![allow(dead_code)]

pub mod databases;
pub mod demo;
pub mod drill;
pub mod footprint;
pub mod presets;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// `target/<profile>/`, where the build put the agent, the jars and the CLI.
pub fn artifacts() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>").to_path_buf();
    for a in ["libfaultline_agent.so", "faultline-agent.jar"] {
        assert!(
            dir.join(a).exists(),
            "{} is missing: build the workspace first (cargo build --release --workspace)",
            dir.join(a).display()
        );
    }
    dir
}

pub fn agent_lib() -> PathBuf {
    artifacts().join("libfaultline_agent.so")
}

pub fn agent_jar() -> PathBuf {
    artifacts().join("faultline-agent.jar")
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `java` to test with: FAULTLINE_TEST_JAVA, then JAVA_HOME, then PATH.
pub fn java() -> PathBuf {
    if let Some(j) = std::env::var_os("FAULTLINE_TEST_JAVA") {
        return PathBuf::from(j);
    }
    if let Some(home) = std::env::var_os("JAVA_HOME") {
        let j = PathBuf::from(home).join("bin/java");
        if j.exists() {
            return j;
        }
    }
    PathBuf::from("java")
}

/// `$JAVA_HOME/bin/javac`, else `javac` from the PATH.
pub fn javac() -> PathBuf {
    if let Some(home) = std::env::var_os("JAVA_HOME") {
        let j = PathBuf::from(home).join("bin/javac");
        if j.exists() {
            return j;
        }
    }
    PathBuf::from("javac")
}

/// A scratch directory removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("faultline-test-{}-{tag}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Scratch(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).expect("write scratch file");
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Compiles `tests/java/**` once (for Java 11, so every supported JDK runs them).
pub fn fixture_classes() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = std::env::temp_dir().join(format!("faultline-fixtures-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir_all(&out).expect("create fixture dir");
        let mut sources = Vec::new();
        collect_java(&repo_root().join("tests/java"), &mut sources);
        let status = Command::new(javac())
            .args(["--release", "11", "-nowarn", "-encoding", "UTF-8", "-d"])
            .arg(&out)
            .arg("-cp")
            .arg(agent_jar())
            .args(&sources)
            .status()
            .expect("run javac");
        assert!(status.success(), "compiling the Java fixtures failed");
        out
    })
}

fn collect_java(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read fixture dir").flatten() {
        let p = entry.path();
        if p.is_dir() {
            collect_java(&p, out);
        } else if p.extension().is_some_and(|e| e == "java") {
            out.push(p);
        }
    }
}

pub struct JvmRun {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl JvmRun {
    /// `key=value` lines printed by the fixture.
    pub fn values(&self, key: &str) -> Vec<String> {
        let prefix = format!("{key}=");
        self.stdout.lines().filter_map(|l| l.strip_prefix(&prefix)).map(str::to_string).collect()
    }

    pub fn value(&self, key: &str) -> String {
        self.values(key).into_iter().next().unwrap_or_else(|| panic!("no {key}= in output:\n{}", self.describe()))
    }

    pub fn describe(&self) -> String {
        format!("exit {}\n--- stdout\n{}\n--- stderr\n{}", self.status, self.stdout, self.stderr)
    }

    pub fn assert_passed(&self, case: &str) {
        assert!(
            self.status == 0 && self.stdout.lines().any(|l| l == format!("PASS {case}")),
            "case {case} failed:\n{}",
            self.describe()
        );
    }
}

/// Runs `java <jvm_args> -cp <fixtures>:<agent jar> <main_args>` with a time limit.
pub fn run_java(jvm_args: &[String], main_args: &[&str]) -> JvmRun {
    let cp = format!("{}:{}", fixture_classes().display(), agent_jar().display());
    let mut cmd = Command::new(java());
    cmd.args(jvm_args).arg("-cp").arg(cp).args(main_args);
    run_with_timeout(cmd, Duration::from_secs(120))
}

pub fn run_with_timeout(mut cmd: Command, limit: Duration) -> JvmRun {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel::<Output>();
    std::thread::spawn(move || {
        if let Ok(out) = child.wait_with_output() {
            let _ = tx.send(out);
        }
    });
    match rx.recv_timeout(limit) {
        Ok(out) => JvmRun {
            status: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        },
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("{cmd:?} did not finish within {limit:?}");
        }
    }
}

/// One JSON value per line; panics on a line that is not JSON.
pub fn json_lines<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<serde_json::Value> {
    lines.map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect()
}

/// An agent's events file: its text and its events.
pub fn read_events(path: &Path) -> (String, Vec<serde_json::Value>) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("events file {}: {e}", path.display()));
    let events = json_lines(text.lines());
    (text, events)
}

/// `-agentpath:<lib>=<options>`
pub fn agentpath(options: &str) -> String {
    if options.is_empty() {
        format!("-agentpath:{}", agent_lib().display())
    } else {
        format!("-agentpath:{}={options}", agent_lib().display())
    }
}

/// Runs one `fixtures.Cases` behaviour through the in-process API.
/// This JVM's entry in `faultline ps --json`.
pub fn ps_entry(pid: u32) -> serde_json::Value {
    let run = faultline(&["ps", "--json"]);
    let list: serde_json::Value = serde_json::from_str(&run.stdout).expect("ps --json is JSON");
    list.as_array()
        .expect("array")
        .iter()
        .find(|j| j["pid"].as_u64() == Some(u64::from(pid)))
        .cloned()
        .unwrap_or_else(|| panic!("ps does not list JVM {pid}:\n{}", run.stdout))
}

/// A `-javaagent:` jar in `dir` whose `Premain-Class` is the fixture class `main` (retransform
/// capable), holding that class and its nested classes.
pub fn fixture_agent_jar(dir: &Scratch, main: &str) -> PathBuf {
    let manifest = dir.write("manifest.txt", &format!("Premain-Class: {main}\nCan-Retransform-Classes: true\n"));
    let jar = dir.path(&format!("{main}.jar"));
    let path = main.replace('.', "/");
    let (package, simple) = path.rsplit_once('/').expect("a class in a package");
    let mut cmd = Command::new("jar");
    cmd.arg("--create").arg("--file").arg(&jar).arg("--manifest").arg(&manifest);
    for entry in std::fs::read_dir(fixture_classes().join(package)).expect("fixture classes") {
        let file = entry.expect("entry").file_name().to_string_lossy().into_owned();
        if file == format!("{simple}.class") || file.starts_with(&format!("{simple}$")) {
            cmd.arg("-C").arg(fixture_classes()).arg(format!("{package}/{file}"));
        }
    }
    assert!(cmd.status().expect("jar").success(), "jar for {main}");
    jar
}

pub fn api_case(case: &str) -> JvmRun {
    let run = run_java(&[format!("-Dfaultline.agent={}", agent_lib().display())], &["fixtures.Cases", case]);
    run.assert_passed(case);
    run
}

/// A JVM running `fixtures.Service` in the background, its stdout in a file; killed on drop.
pub struct Service {
    pub child: std::process::Child,
    pub out: PathBuf,
    _dir: Scratch,
}

impl Service {
    pub fn start(jvm_args: &[String]) -> Service {
        let cp = format!("{}:{}", fixture_classes().display(), agent_jar().display());
        Service::launch(jvm_args, &cp, &["fixtures.Service", "120"])
    }

    /// Starts `main_and_args` on class path `cp` and waits for its "ready" line.
    pub fn launch(jvm_args: &[String], cp: &str, main_and_args: &[&str]) -> Service {
        Service::launch_after(None, jvm_args, cp, main_and_args)
    }

    /// As `launch`, with the shell command `setup` run first in the JVM's own process (a
    /// `ulimit`, say), which then becomes the JVM.
    pub fn launch_after(setup: Option<&str>, jvm_args: &[String], cp: &str, main_and_args: &[&str]) -> Service {
        let dir = Scratch::new("service");
        let out = dir.path("stdout.txt");
        let file = std::fs::File::create(&out).expect("create service output");
        let err = std::fs::File::create(dir.path("stderr.txt")).expect("create service stderr");
        let mut cmd = match setup {
            Some(setup) => {
                let mut sh = Command::new("sh");
                sh.arg("-c").arg(format!("{setup} && exec \"$0\" \"$@\"")).arg(java());
                sh
            }
            None => Command::new(java()),
        };
        let child = cmd
            .args(jvm_args)
            .arg("-cp")
            .arg(cp)
            .args(main_and_args)
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .spawn()
            .expect("start the service JVM");
        let service = Service { child, out, _dir: dir };
        service.wait_for("ready", Duration::from_secs(30));
        service
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self._dir.path("stderr.txt")).unwrap_or_default()
    }

    /// Waits until a line containing `text` appears; returns the whole output then.
    pub fn wait_for(&self, text: &str, limit: Duration) -> String {
        let deadline = std::time::Instant::now() + limit;
        loop {
            let out = self.output();
            if out.contains(text) {
                return out;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no '{text}' from the service within {limit:?}:\n{out}\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Output lines appended after `mark` bytes (see `output().len()`).
    pub fn lines_since(&self, mark: usize) -> Vec<String> {
        self.output().get(mark..).unwrap_or("").lines().map(str::to_string).collect()
    }

    /// Waits for `n` worker calls after `mark` and returns their lines.
    pub fn calls_since(&self, mark: usize, n: usize) -> Vec<String> {
        self.lines_matching_since(mark, |l| l.starts_with("call "), n)
    }

    /// Waits for `n` lines containing `text` after `mark` and returns them.
    pub fn calls_since_matching(&self, mark: usize, text: &str, n: usize) -> Vec<String> {
        self.lines_matching_since(mark, |l| l.contains(text), n)
    }

    fn lines_matching_since(&self, mark: usize, wanted: impl Fn(&str) -> bool, n: usize) -> Vec<String> {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let lines: Vec<String> = self.lines_since(mark).into_iter().filter(|l| wanted(l)).collect();
            if lines.len() >= n {
                return lines;
            }
            assert!(std::time::Instant::now() < deadline, "only {} lines after mark:\n{}", lines.len(), self.output());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the `faultline` CLI.
pub fn faultline(args: &[&str]) -> JvmRun {
    let mut cmd = Command::new(artifacts().join("faultline"));
    cmd.args(args);
    run_with_timeout(cmd, Duration::from_secs(60))
}

/// A startup scenario used by several suites: the payment client throws a checked exception.
pub const CLIENT_DOWN_SCENARIO: &str = r#"
name = "payment client down"
[[fault]]
kind = "exception"
target = "fixtures.Targets$Client#charge"
throw = "java.sql.SQLException"
message = "db down"
"#;
