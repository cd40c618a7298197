//! Building Java from a Cargo build script with the JDK's own `javac` and `jar` (no Maven,
//! which these machines cannot reach): find the JDK, compile a source tree for Java 11, pack
//! a jar, and embed compiled classes into a Rust file. Used by the agent's build (the hook
//! classes it embeds) and by `faultline-jars` (the jars shipped beside it).

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The JDK tools: `$JAVA_HOME/bin` first, else the PATH.
pub struct Jdk {
    javac: PathBuf,
    jar: PathBuf,
}

impl Jdk {
    pub fn find() -> Jdk {
        let bin = env::var_os("JAVA_HOME").map(|home| PathBuf::from(home).join("bin"));
        let tool = |name: &str| match &bin {
            Some(dir) if dir.join(name).exists() => dir.join(name),
            _ => PathBuf::from(name),
        };
        Jdk { javac: tool("javac"), jar: tool("jar") }
    }

    /// Compiles every .java file under `src` for Java 11 (one build serves JDK 11 to 25).
    pub fn compile(&self, src: &Path, out: &Path, classpath: &[&Path]) {
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

    pub fn jar(&self, jar: &Path, manifest: Option<&Path>, classes: &Path) {
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

pub fn collect(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
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
pub fn embed_classes(classes: &Path, rust_file: &Path) {
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

/// `target/<profile>/`, three levels above a build script's OUT_DIR: where the artifacts go.
pub fn artifact_dir(out_dir: &Path) -> PathBuf {
    out_dir.ancestors().nth(3).expect("OUT_DIR is target/<profile>/build/<pkg>/out").to_path_buf()
}
