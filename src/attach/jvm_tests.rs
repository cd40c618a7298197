//! Attaching to real JVMs: JDK 17 (`java` on PATH) and, when installed, Temurin 25.
//! Skipped, with a note on stderr, when `java` and `javac` are missing. Every JVM started here
//! is killed when its guard drops, failed test or not.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use super::hotspot::{self, DEFAULT_TIMEOUT};
use super::{proc, ps};

const JDK25: &str = "/usr/lib/jvm/temurin-25-jdk-amd64/bin/java";

/// Main classes the tests start, each a distinct name so that `resolve` can tell them apart
/// while the tests run in parallel.
const MAINS: &[&str] = &[
    "AttachProbeSeventeen",
    "AttachProbeTwentyFive",
    "AttachProbeNoPerfData",
    "AttachProbeDisabled",
    "AttachProbeNobody",
    "AttachProbeAmbigAlpha",
    "AttachProbeAmbigBeta",
    "AttachProbeContainer",
];

/// The JDK's `java` and `javac` found through PATH, if any.
fn jdk17() -> Option<(PathBuf, PathBuf)> {
    let java =
        std::env::var_os("PATH")?.to_str()?.split(':').map(|dir| Path::new(dir).join("java")).find(|p| p.is_file())?;
    let java = fs::canonicalize(java).ok()?;
    let javac = java.with_file_name("javac");
    javac.is_file().then_some((java, javac))
}

/// Compiles the sleeping mains once, into a directory every user may read.
fn classes() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let Some((_, javac)) = jdk17() else {
            eprintln!("skipped: no java and javac on PATH");
            return None;
        };
        remove_stale_class_dirs();
        let dir = std::env::temp_dir().join(format!("{CLASS_DIR_PREFIX}{}", std::process::id()));
        fs::create_dir_all(&dir).expect("creates the class directory");
        let mut sources = Vec::new();
        for main in MAINS {
            let source = dir.join(format!("{main}.java"));
            let body = format!(
                "public class {main} {{ public static void main(String[] a) throws Exception {{ \
                 System.out.println(\"ready\"); System.out.flush(); Thread.sleep(600_000); }} }}"
            );
            fs::write(&source, body).expect("writes a source");
            sources.push(source);
        }
        let status = Command::new(javac)
            .arg("--release")
            .arg("11")
            .arg("-d")
            .arg(&dir)
            .args(&sources)
            .status()
            .expect("runs javac");
        assert!(status.success(), "javac failed");
        Some(dir)
    })
    .as_deref()
}

const CLASS_DIR_PREFIX: &str = "faultline-attach-test-";

/// Class directories of earlier test runs whose process is gone (statics are never dropped).
fn remove_stale_class_dirs() {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(CLASS_DIR_PREFIX)) else {
            continue;
        };
        if pid.parse::<i32>().is_ok_and(|pid| !proc::proc_dir(pid).exists()) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// A running JVM, killed on drop.
struct JvmGuard {
    child: Child,
    out: PathBuf,
    err: PathBuf,
}

impl JvmGuard {
    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    fn stderr(&self) -> String {
        fs::read_to_string(&self.err).unwrap_or_default()
    }
}

impl Drop for JvmGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_file(&self.out);
        let _ = fs::remove_file(&self.err);
    }
}

/// Starts `[prefix...] java [flags...] -cp . main` in the class directory and waits until main
/// runs. The class path is relative so that a JVM whose /tmp is overmounted still finds it.
fn start(prefix: &[&str], java: &Path, flags: &[&str], main: &str) -> JvmGuard {
    let classes = classes().expect("classes compiled");
    let out = classes.join(format!("{main}.out"));
    let err = classes.join(format!("{main}.err"));
    let mut command = match prefix.split_first() {
        Some((program, args)) => {
            let mut c = Command::new(program);
            c.args(args).arg(java);
            c
        }
        None => Command::new(java),
    };
    command
        .args(flags)
        .args(["-cp", ".", main])
        .current_dir(classes)
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out).expect("creates stdout file"))
        .stderr(fs::File::create(&err).expect("creates stderr file"));
    let guard = JvmGuard { child: command.spawn().expect("starts java"), out, err };
    let start = Instant::now();
    while !fs::read_to_string(&guard.out).unwrap_or_default().contains("ready") {
        assert!(start.elapsed() < Duration::from_secs(30), "{main} did not start: {}", guard.stderr());
        thread::sleep(Duration::from_millis(50));
    }
    guard
}

fn agent_library() -> Option<PathBuf> {
    // The test binary lives in <target>/debug/deps; the agent in <target>/debug.
    let exe = std::env::current_exe().ok()?;
    let agent = exe.parent()?.parent()?.join(proc::AGENT_LIBRARY);
    if agent.is_file() {
        Some(agent)
    } else {
        eprintln!("note: {} missing: build it with `cargo build -p faultline-agent`", agent.display());
        None
    }
}

/// The whole attach on one JVM: properties, a failing load, a real load.
fn attach_round(java: &Path, main: &str, major: u32) {
    let jvm = start(&[], java, &[], main);
    let found = ps::resolve(main).expect("resolves by main class");
    assert_eq!(found.info.pid, jvm.pid());
    assert_eq!(found.main, main);
    assert_eq!(found.jdk_major, Some(major), "version {:?}", found.jdk_version);
    assert_eq!(found.attachable, Ok(()));
    assert!(!found.agent_loaded);

    let (code, text) = hotspot::execute(&found.info, "properties", &[], DEFAULT_TIMEOUT).expect("properties");
    assert_eq!(code, 0, "{text}");
    assert!(text.contains(&format!("java.specification.version={major}")), "{text}");
    assert!(hotspot::check_socket(&found.info));

    let (code, text) =
        hotspot::execute(&found.info, "load", &["/nonexistent/libnothing.so", "true", ""], DEFAULT_TIMEOUT)
            .expect("raw load");
    eprintln!("JDK {major} reply to a load of a missing library: code {code}, text {text:?}");
    let err = hotspot::load_agent(&found.info, Path::new("/nonexistent/libnothing.so"), "", DEFAULT_TIMEOUT)
        .expect_err("missing library");
    eprintln!("JDK {major} load_agent error: {err:#}");

    if let Some(agent) = agent_library() {
        let reply = hotspot::attach_agent(&found.info, &agent, "", DEFAULT_TIMEOUT).expect("loads the agent");
        eprintln!("JDK {major} reply to a good load: {reply:?}");
        assert!(proc::agent_loaded(jvm.pid()).expect("maps"));
        let again = ps::jvm(jvm.pid()).expect("reads").expect("a JVM");
        assert!(again.agent_loaded);
        if major >= 21 {
            assert!(ps::dynamic_agent_warning(&again));
            let stderr = jvm.stderr();
            assert!(stderr.contains("agent has been loaded dynamically"), "{stderr}");
        }
    }
}

#[test]
fn jdk17_properties_and_agent_load() {
    let Some((java, _)) = jdk17() else {
        return eprintln!("skipped: no java on PATH");
    };
    attach_round(&java, "AttachProbeSeventeen", 17);
}

#[test]
fn jdk25_properties_and_agent_load() {
    if jdk17().is_none() || !Path::new(JDK25).is_file() {
        return eprintln!("skipped: no java on PATH or no {JDK25}");
    }
    attach_round(Path::new(JDK25), "AttachProbeTwentyFive", 25);
}

#[test]
fn list_finds_a_jvm_without_perf_data() {
    let Some((java, _)) = jdk17() else {
        return eprintln!("skipped: no java on PATH");
    };
    let jvm = start(&[], &java, &["-XX:-UsePerfData", "-Xmx64m"], "AttachProbeNoPerfData");
    let listed = ps::list_jvms();
    let found = listed.iter().find(|j| j.info.pid == jvm.pid()).expect("listed");
    assert_eq!(found.main, "AttachProbeNoPerfData");
    assert!(found.jdk_version.as_deref().is_some_and(|v| v.starts_with("17")), "{:?}", found.jdk_version);
    let (code, _) = hotspot::execute(&found.info, "jcmd", &["VM.version"], DEFAULT_TIMEOUT).expect("jcmd");
    assert_eq!(code, 0);
}

#[test]
fn disabled_attach_mechanism_times_out_with_a_hint() {
    let Some((java, _)) = jdk17() else {
        return eprintln!("skipped: no java on PATH");
    };
    let jvm = start(&[], &java, &["-XX:+DisableAttachMechanism"], "AttachProbeDisabled");
    let found = ps::resolve("AttachProbeDisabled").expect("resolves");
    assert!(found.attachable.is_err());
    let err = hotspot::execute(&found.info, "properties", &[], Duration::from_secs(1)).expect_err("no socket");
    assert!(err.to_string().contains("did not open its attach socket within 1s"), "{err}");
    assert!(err.to_string().contains("DisableAttachMechanism"), "{err}");
    drop(jvm);
}

#[test]
fn ambiguous_substring_lists_every_match() {
    let Some((java, _)) = jdk17() else {
        return eprintln!("skipped: no java on PATH");
    };
    let alpha = start(&[], &java, &[], "AttachProbeAmbigAlpha");
    let beta = start(&[], &java, &[], "AttachProbeAmbigBeta");
    let err = ps::resolve("AttachProbeAmbig").expect_err("two match").to_string();
    assert!(err.contains(&alpha.pid().to_string()) && err.contains(&beta.pid().to_string()), "{err}");
    assert_eq!(ps::resolve("AmbigBeta").expect("unique").info.pid, beta.pid());
    assert_eq!(ps::resolve(&alpha.pid().to_string()).expect("by pid").main, "AttachProbeAmbigAlpha");
}

/// As root, a JVM of another user is attached as that user, and the agent is copied to
/// where that user may read it.
#[test]
fn root_attaches_to_another_users_jvm() {
    let Some((java, _)) = jdk17() else {
        return eprintln!("skipped: no java on PATH");
    };
    if !nix::unistd::geteuid().is_root() {
        return eprintln!("skipped: not root");
    }
    let setpriv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];
    let jvm = start(&setpriv, &java, &[], "AttachProbeNobody");
    // setpriv execs java: same pid.
    let found = ps::resolve("AttachProbeNobody").expect("resolves");
    assert_eq!(found.info.pid, jvm.pid());
    assert_eq!(found.info.uid, 65534);
    let (code, text) = hotspot::execute(&found.info, "properties", &[], DEFAULT_TIMEOUT).expect("properties as nobody");
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("user.name=nobody"), "{text}");
    if let Some(agent) = agent_library() {
        // A library in a directory closed to nobody is copied where nobody may read it.
        let private = classes().expect("classes").join("private-nobody");
        fs::create_dir_all(&private).expect("creates a private directory");
        fs::set_permissions(&private, fs::Permissions::from_mode(0o700)).expect("closes it");
        fs::copy(&agent, private.join(proc::AGENT_LIBRARY)).expect("copies the agent");
        let placed = hotspot::place_agent(&found.info, &private.join(proc::AGENT_LIBRARY)).expect("places");
        assert_eq!(placed, Path::new("/tmp/faultline-65534/libfaultline_agent.so"));
        let meta = fs::metadata(&placed).expect("placed file");
        assert_eq!((meta.uid(), meta.mode() & 0o777), (65534, 0o755));
        hotspot::load_agent(&found.info, &placed, "", DEFAULT_TIMEOUT).expect("loads as nobody");
        assert!(proc::agent_loaded(jvm.pid()).expect("maps"));
    }
}

/// A JVM in its own pid and mount namespaces with a private /tmp, like a container's: found
/// by its host pid, attached by its inner pid through /proc/PID/root, the agent copied in.
#[test]
fn root_attaches_to_a_jvm_in_other_namespaces() {
    let Some((java, _)) = jdk17() else {
        return eprintln!("skipped: no java on PATH");
    };
    let can_unshare = nix::unistd::geteuid().is_root()
        && Command::new("unshare").args(["--mount", "--pid", "--fork", "true"]).status().is_ok_and(|s| s.success());
    if !can_unshare {
        return eprintln!("skipped: cannot unshare namespaces here");
    }
    // The class directory, under the host's /tmp, is bound to /mnt before /tmp is hidden.
    let script =
        "mount --make-rprivate / && mount --bind . /mnt && cd /mnt && mount -t tmpfs none /tmp && exec \"$0\" \"$@\"";
    let container = ["unshare", "--mount", "--pid", "--fork", "--kill-child", "sh", "-c", script];
    let _jvm = start(&container, &java, &[], "AttachProbeContainer");
    let found = ps::resolve("AttachProbeContainer").expect("resolves");
    assert_eq!(found.info.nspid, 1, "java is the namespace's first process");
    assert!(proc::other_mount_namespace(found.info.pid).expect("mnt ns"));
    assert!(proc::other_pid_namespace(found.info.pid).expect("pid ns"));
    assert_eq!(found.jdk_major, Some(17));
    let (code, text) =
        hotspot::execute(&found.info, "properties", &[], DEFAULT_TIMEOUT).expect("properties in the container");
    assert_eq!(code, 0, "{text}");
    assert!(!Path::new("/tmp/.java_pid1").exists(), "the socket is in the container's /tmp only");
    if let Some(agent) = agent_library() {
        let placed = hotspot::place_agent(&found.info, &agent).expect("places");
        assert_eq!(placed, Path::new("/tmp/faultline-0/libfaultline_agent.so"));
        assert!(found.info.host_path(&placed).is_file());
        hotspot::load_agent(&found.info, &placed, "", DEFAULT_TIMEOUT).expect("loads in the container");
        assert!(proc::agent_loaded(found.info.pid).expect("maps"));
    }
}
