//! Builds the Java artifacts shipped beside the agent library, with the JDK's `javac` and
//! `jar` (no Maven), into `target/<profile>/`:
//! - `faultline-agent.jar` (`java-agent/src/`), the `-javaagent:` entry and in-process API;
//! - `faultline-junit.jar` (`junit/src/`), the JUnit 5 extension, when the JUnit API jar is
//!   found (`$FAULTLINE_JUNIT_JARS` or `/usr/share/java`, Debian's `junit5`);
//! - `faultline-demo.jar` (`demo/src/`), the bundled demo service.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

use faultline_javac::{artifact_dir, Jdk};

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent().expect("jars/ sits in the workspace root").to_path_buf();
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let java_agent = root.join("java-agent");
    println!("cargo:rerun-if-changed={}", java_agent.display());
    println!("cargo:rerun-if-changed={}", root.join("demo/src").display());
    println!("cargo:rerun-if-env-changed=JAVA_HOME");
    println!("cargo:rerun-if-changed={}", root.join("junit/src").display());
    println!("cargo:rerun-if-env-changed=FAULTLINE_JUNIT_JARS");

    let jdk = Jdk::find();
    let artifacts = artifact_dir(&out_dir);

    // The API calls the hook classes (found at run time in the bootstrap loader): compiled
    // here only to compile against.
    let boot_out = out_dir.join("boot-classes");
    jdk.compile(&java_agent.join("boot"), &boot_out, &[]);
    let api_out = out_dir.join("api-classes");
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
