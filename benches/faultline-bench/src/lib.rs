//! What the three bench targets of faultline share (`cargo bench --bench overhead`,
//! `--bench attach` and `--bench suite`): the JVMs and the measurement of the overhead
//! measures ([`overhead`]: `bench.Hot#step` per configuration), of the time to first fault
//! ([`attach`]: fresh `attachbench.Target` JVMs and `faultline inject`), and the helpers
//! around them (environment knobs, JDK tools, where the build put the agent, the median).
//!
//! The Java sources stay in `benches/java/`; [`java_sources`] finds them.

pub mod attach;
pub mod overhead;
pub mod shift;

use std::path::{Path, PathBuf};
use std::process::{exit, Command};

/// Flags every JVM gets, whatever the configuration (the overhead bench and every JVM of the
/// suite).
pub const JVM_FLAGS: [&str; 3] = ["-Xms256m", "-Xmx256m", "-XX:+UseParallelGC"];

/// `benches/java/`: the Java sources of the benchmarks' targets.
pub fn java_sources() -> PathBuf {
    // This crate is `benches/faultline-bench/`.
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).join("java")
}

/// `target/<profile>/`: the running executable is `target/<profile>/deps/<bench>-<hash>`.
pub fn artifact_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|e| fail(&format!("cannot find this executable: {e}")));
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| fail(&format!("unexpected location {}", exe.display())))
}

/// `$JAVA_HOME/bin/<name>` when it exists, else `<name>` from `PATH`.
pub fn jdk_tool(name: &str) -> PathBuf {
    if let Some(home) = std::env::var_os("JAVA_HOME") {
        let p = PathBuf::from(home).join("bin").join(name);
        if p.exists() {
            return p;
        }
    }
    PathBuf::from(name)
}

pub fn java_version(java: &Path) -> String {
    Command::new(java)
        .arg("-version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stderr).lines().next().map(str::to_string))
        .unwrap_or_else(|| fail(&format!("cannot run {} -version (is a JDK installed?)", java.display())))
}

pub fn env_num(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().unwrap_or_else(|_| fail(&format!("{name}={v:?} is not a whole number"))),
        Err(_) => default,
    }
}

pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Prints the error and exits. The prefix is the overhead bench's, where these helpers
/// began; the suite reports its own errors with `suite:`.
pub fn fail(message: &str) -> ! {
    eprintln!("overhead bench: {message}");
    exit(1);
}

/// A PKCS#12 keystore (`FILE.p12`, password `changeit`) holding a self-signed EC certificate
/// for 127.0.0.1 and localhost, and that certificate in PEM (`FILE.pem`), made by the JDK's
/// keytool in `dir`: what the demo serves HTTPS with, for the https row of the suite and the
/// drill tests.
pub fn self_signed_keystore(dir: &Path, name: &str) -> Result<(PathBuf, PathBuf), String> {
    let keytool = jdk_tool("keytool");
    let store = dir.join(format!("{name}.p12"));
    let pem = dir.join(format!("{name}.pem"));
    let _ = std::fs::remove_file(&store);
    let run = |args: &[&str]| {
        let out = Command::new(&keytool).args(args).output().map_err(|e| format!("cannot run keytool: {e}"))?;
        if !out.status.success() {
            return Err(format!("keytool {}: {}", args[0], String::from_utf8_lossy(&out.stderr).trim()));
        }
        Ok(())
    };
    let s = store.to_string_lossy().into_owned();
    run(&[
        "-genkeypair",
        "-keystore",
        &s,
        "-storetype",
        "PKCS12",
        "-storepass",
        "changeit",
        "-alias",
        "demo",
        "-keyalg",
        "EC",
        "-groupname",
        "secp256r1",
        "-validity",
        "2",
        "-dname",
        "CN=127.0.0.1",
        "-ext",
        "SAN=ip:127.0.0.1,dns:localhost",
    ])?;
    run(&[
        "-exportcert",
        "-rfc",
        "-keystore",
        &s,
        "-storepass",
        "changeit",
        "-alias",
        "demo",
        "-file",
        &pem.to_string_lossy(),
    ])?;
    Ok((store, pem))
}
