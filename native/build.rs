//! Builds the Java side with the JDK's own `javac` and `jar` (no Maven):
//! - the hook classes (`java-agent/boot/`), embedded into the agent library and defined by
//!   it in the bootstrap class loader at start;
//! - `faultline-agent.jar` (`java-agent/src/`), the `-javaagent:` entry and in-process API;
//! - `faultline-demo.jar` (`demo/src/`), the bundled demo service;
//! - `faultline-junit.jar` (`junit/src/`), the JUnit 5 extension, when the JUnit API jar is
//!   found (`$FAULTLINE_JUNIT_JARS` or `/usr/share/java`, Debian's `junit5`).
//!
//! The jars are copied next to the agent library in `target/<profile>/`.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent().expect("native/ sits in the workspace root").to_path_buf();
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let java_agent = root.join("java-agent");
    println!("cargo:rerun-if-changed={}", java_agent.display());
    println!("cargo:rerun-if-changed={}", root.join("demo/src").display());
    println!("cargo:rerun-if-env-changed=JAVA_HOME");
    println!("cargo:rerun-if-changed={}", root.join("junit/src").display());
    println!("cargo:rerun-if-env-changed=FAULTLINE_JUNIT_JARS");

    let jdk = Jdk::find();

    let boot_out = out_dir.join("boot-classes");
    jdk.compile(&java_agent.join("boot"), &boot_out, &[]);
    embed_classes(&boot_out, &out_dir.join("boot_classes.rs"));

    let artifacts = artifact_dir(&out_dir);
    let api_out = out_dir.join("api-classes");
    // The API calls the hook classes (found at run time in the bootstrap loader).
    jdk.compile(&java_agent.join("src"), &api_out, &[&boot_out]);
    let manifest = out_dir.join("agent-manifest.txt");
    fs::write(
        &manifest,
        "Premain-Class: io.faultline.Agent\nAgent-Class: io.faultline.Agent\nImplementation-Title: faultline\n",
    )
    .expect("write the jar manifest");
    jdk.jar(&artifacts.join("faultline-agent.jar"), Some(&manifest), &api_out);

    let demo_src = root.join("demo/src");
    if demo_src.is_dir() {
        let demo_out = out_dir.join("demo-classes");
        jdk.compile(&demo_src, &demo_out, &[]);
        jdk.jar(&artifacts.join("faultline-demo.jar"), None, &demo_out);
    }

    build_junit(&jdk, &root, &out_dir, &artifacts, &api_out, &boot_out);
}

/// `faultline-junit.jar`: the JUnit 5 extension, compiled against the API classes and the
/// JUnit Jupiter API jar. Without that jar the build goes on and says so.
fn build_junit(jdk: &Jdk, root: &Path, out_dir: &Path, artifacts: &Path, api_out: &Path, boot_out: &Path) {
    let src = root.join("junit/src");
    if !src.is_dir() {
        return;
    }
    let jar_dir =
        env::var_os("FAULTLINE_JUNIT_JARS").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/share/java"));
    let api = jar_dir.join("junit-jupiter-api.jar");
    if !api.is_file() {
        // Build again once the jar appears (the directory changes when a package adds it).
        // A path that does not exist would make every build run this script again.
        if jar_dir.is_dir() {
            println!("cargo:rerun-if-changed={}", jar_dir.display());
        }
        let _ = fs::remove_file(artifacts.join("faultline-junit.jar"));
        println!(
            "cargo:warning=faultline-junit.jar was not built: {} is missing (install Debian's junit5 package, \
             or set FAULTLINE_JUNIT_JARS to a directory holding junit-jupiter-api.jar)",
            api.display()
        );
        return;
    }
    println!("cargo:rerun-if-changed={}", api.display());
    let mut classpath: Vec<PathBuf> = vec![api_out.to_path_buf(), boot_out.to_path_buf(), api];
    // What the Jupiter API's own signatures refer to, when present.
    for extra in ["apiguardian-api.jar", "opentest4j.jar", "junit-platform-commons.jar"] {
        if jar_dir.join(extra).is_file() {
            classpath.push(jar_dir.join(extra));
        }
    }
    let refs: Vec<&Path> = classpath.iter().map(PathBuf::as_path).collect();
    let junit_out = out_dir.join("junit-classes");
    jdk.compile(&src, &junit_out, &refs);
    jdk.jar(&artifacts.join("faultline-junit.jar"), None, &junit_out);
}

/// `target/<profile>/`, three levels above this build script's OUT_DIR.
fn artifact_dir(out_dir: &Path) -> PathBuf {
    out_dir.ancestors().nth(3).expect("OUT_DIR is target/<profile>/build/<pkg>/out").to_path_buf()
}

struct Jdk {
    javac: PathBuf,
    jar: PathBuf,
}

impl Jdk {
    fn find() -> Jdk {
        let bin = env::var_os("JAVA_HOME").map(|home| PathBuf::from(home).join("bin"));
        let tool = |name: &str| match &bin {
            Some(dir) if dir.join(name).exists() => dir.join(name),
            _ => PathBuf::from(name),
        };
        Jdk { javac: tool("javac"), jar: tool("jar") }
    }

    /// Compiles every .java file under `src` for Java 11 (one build serves JDK 11 to 25).
    fn compile(&self, src: &Path, out: &Path, classpath: &[&Path]) {
        let _ = fs::remove_dir_all(out);
        fs::create_dir_all(out).expect("create the class output directory");
        let mut sources = Vec::new();
        collect(src, "java", &mut sources);
        sources.sort();
        let mut cmd = Command::new(&self.javac);
        // String concatenation through StringBuilder, not invokedynamic: the first indy
        // concatenation in a fresh JVM bootstraps java.lang.invoke (tens of milliseconds), and
        // the hook must not pay that on the application thread of the first injection.
        cmd.args([
            "--release",
            "11",
            "-XDstringConcat=inline",
            "-encoding",
            "UTF-8",
            "-Xlint:-options",
            "-nowarn",
            "-d",
        ])
        .arg(out);
        if !classpath.is_empty() {
            let cp = env::join_paths(classpath).expect("classpath entries are plain paths");
            cmd.arg("-cp").arg(cp);
        }
        cmd.args(&sources);
        run(&mut cmd, "javac (install a JDK 11+ and put javac on PATH or set JAVA_HOME)");
    }

    fn jar(&self, jar: &Path, manifest: Option<&Path>, classes: &Path) {
        let _ = fs::remove_file(jar);
        let mut cmd = Command::new(&self.jar);
        match manifest {
            Some(m) => cmd.arg("--create").arg("--file").arg(jar).arg("--manifest").arg(m),
            None => cmd.arg("--create").arg("--file").arg(jar),
        };
        cmd.arg("-C").arg(classes).arg(".");
        run(&mut cmd, "jar");
    }
}

fn run(cmd: &mut Command, what: &str) {
    let status = cmd.status().unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(status.success(), "{what} failed: {cmd:?}");
}

fn collect(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
}

/// Writes `pub static BOOT_CLASSES: &[(&str, &[u8])]`, outer classes before nested ones.
fn embed_classes(classes: &Path, rust_file: &Path) {
    let mut files = Vec::new();
    collect(classes, "class", &mut files);
    let mut entries: Vec<(String, PathBuf)> = files
        .into_iter()
        .map(|path| {
            let rel = path.strip_prefix(classes).expect("under the class dir");
            let name = rel.with_extension("").to_string_lossy().replace('\\', "/");
            (name, path)
        })
        .collect();
    entries.sort_by(|a, b| a.0.len().cmp(&b.0.len()).then(a.0.cmp(&b.0)));
    let mut text = String::from("pub static BOOT_CLASSES: &[(&str, &[u8])] = &[\n");
    for (name, path) in entries {
        text.push_str(&format!("    ({name:?}, include_bytes!({:?})),\n", path.display().to_string()));
    }
    text.push_str("];\n");
    fs::write(rust_file, text).expect("write boot_classes.rs");
}
