//! The JUnit 5 extension (`faultline-junit.jar`): the example suite in `junit/examples/` runs
//! green through the JUnit console launcher, and the self-test in `junit/selftest/` fails where
//! it must (bad annotations, failing bodies) with messages naming the annotation and the key.
//!
//! Needs Debian's `junit5` (`/usr/share/java/junit-jupiter-api.jar` and
//! `junit-platform-console-standalone.jar`), or `FAULTLINE_JUNIT_JARS` naming a directory
//! holding them; `.ci/prerequisites` installs it.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Tests in `junit/examples/`.
const EXAMPLE_TESTS: u32 = 18;

/// The directory holding the JUnit jars; fails (never skips) when they are missing.
fn junit_jars() -> PathBuf {
    let dir =
        std::env::var_os("FAULTLINE_JUNIT_JARS").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/share/java"));
    for jar in ["junit-jupiter-api.jar", "junit-platform-console-standalone.jar"] {
        assert!(
            dir.join(jar).is_file(),
            "{} is missing: install Debian's junit5 package (apt-get install junit5; .ci/prerequisites does it), \
             or set FAULTLINE_JUNIT_JARS to a directory holding the JUnit 5 jars",
            dir.join(jar).display()
        );
    }
    dir
}

fn extension_jar() -> PathBuf {
    let jar = artifacts().join("faultline-junit.jar");
    assert!(
        jar.is_file(),
        "{} is missing: the build skips it when junit-jupiter-api.jar is absent (install Debian's junit5 \
         package), then rebuild (cargo build --release --workspace)",
        jar.display()
    );
    jar
}

fn java_sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())).flatten() {
        let p = entry.path();
        if p.is_dir() {
            java_sources(&p, out);
        } else if p.extension().is_some_and(|e| e == "java") {
            out.push(p);
        }
    }
}

/// The jars a suite is compiled and run against (besides the JUnit launcher).
fn suite_classpath() -> Vec<PathBuf> {
    let jars = junit_jars();
    let demo = artifacts().join("faultline-demo.jar");
    assert!(demo.is_file(), "{} is missing: build the workspace first", demo.display());
    vec![extension_jar(), agent_jar(), demo, jars.join("junit-jupiter-api.jar")]
}

fn join(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(":")
}

/// Compiles `junit/<suite>/**/*.java` for Java 11 into `out`.
fn compile_suite(suite: &str, out: &Path) {
    let mut sources = Vec::new();
    java_sources(&repo_root().join("junit").join(suite), &mut sources);
    assert!(!sources.is_empty(), "no Java sources under junit/{suite}");
    let mut cp = suite_classpath();
    for extra in ["apiguardian-api.jar", "opentest4j.jar"] {
        cp.push(junit_jars().join(extra));
    }
    let output = Command::new(javac())
        .args(["--release", "11", "-encoding", "UTF-8", "-Xlint:-options", "-d"])
        .arg(out)
        .arg("-cp")
        .arg(join(&cp))
        .args(&sources)
        .output()
        .expect("run javac");
    assert!(
        output.status.success(),
        "compiling junit/{suite} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs the console launcher on one package, from the repository root (scenario paths are
/// relative to it). No JVM flag: the extension installs the agent it finds next to its jar.
fn run_suite(classes: &Path, package: &str, config: &[&str]) -> JvmRun {
    let mut cp = vec![classes.to_path_buf()];
    cp.extend(suite_classpath());
    let mut cmd = Command::new(java());
    cmd.current_dir(repo_root())
        .arg("-jar")
        .arg(junit_jars().join("junit-platform-console-standalone.jar"))
        .args(["--disable-banner", "--disable-ansi-colors", "--details=tree", "--details-theme=ascii"])
        .arg("--class-path")
        .arg(join(&cp))
        .arg(format!("--select-package={package}"))
        .arg("--config=junit.jupiter.testclass.order.default=org.junit.jupiter.api.ClassOrderer$OrderAnnotation");
    for c in config {
        cmd.arg(format!("--config={c}"));
    }
    run_with_timeout(cmd, Duration::from_secs(240))
}

/// `[        12 tests successful      ]` -> 12
fn summary(run: &JvmRun, what: &str) -> u32 {
    let needle = format!(" tests {what} ");
    run.stdout
        .lines()
        .find(|l| l.trim_start().starts_with('[') && l.contains(&needle))
        .and_then(|l| l.trim_start_matches(|c: char| c == '[' || c.is_whitespace()).split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no '{what}' count in the launcher's summary:\n{}", run.describe()))
}

/// The launcher's report of one failed test: from its `JUnit Jupiter:Class:method()` line in
/// the "Failures" section to the next one.
fn failure_of<'a>(run: &'a JvmRun, class: &str, method: &str) -> &'a str {
    let section = run
        .stdout
        .find("Failures (")
        .map(|i| &run.stdout[i..])
        .unwrap_or_else(|| panic!("no Failures section:\n{}", run.describe()));
    let head = format!("JUnit Jupiter:{class}:{method}(");
    let start = section.find(&head).unwrap_or_else(|| panic!("{class}.{method} did not fail:\n{}", run.describe()));
    let rest = &section[start + head.len()..];
    let end = rest.find("JUnit Jupiter:").unwrap_or(rest.len());
    &section[start..start + head.len() + end]
}

#[test]
fn example_suite_passes_with_faults_that_fired_and_left_nothing_armed() {
    let dir = Scratch::new("junit-examples");
    let classes = dir.path("classes");
    compile_suite("examples", &classes);
    let run = run_suite(&classes, "com.acme.resilience", &[]);
    assert_eq!(run.status, 0, "the example suite failed:\n{}", run.describe());
    assert_eq!(summary(&run, "failed"), 0, "{}", run.describe());
    assert_eq!(summary(&run, "successful"), EXAMPLE_TESTS, "{}", run.describe());
    assert_eq!(summary(&run, "aborted"), 0, "{}", run.describe());
    // The class that checks nothing stayed armed ran after every other one.
    let last = run.stdout.rfind("NothingStaysArmedTest").expect("NothingStaysArmedTest ran");
    for other in [
        "PaymentTimeoutTest",
        "PaymentRetryTest",
        "OrderPoolSaturationTest",
        "ProgrammaticFaultsTest",
        "ScenarioFileTest",
        "ScopeTest",
        "ClassLevelFaultTest",
        "WhenTheDatabaseFails",
        "BigOrderTest",
    ] {
        let at = run.stdout.find(other).unwrap_or_else(|| panic!("{other} did not run:\n{}", run.describe()));
        assert!(at < last, "{other} ran after NothingStaysArmedTest:\n{}", run.describe());
    }
}

/// Test classes and methods run concurrently: each test's faults fire on its own threads only
/// (two tests arm the same fault id at once), and the @Isolated classes run alone.
#[test]
fn example_suite_passes_when_tests_run_in_parallel() {
    let dir = Scratch::new("junit-parallel");
    let classes = dir.path("classes");
    compile_suite("examples", &classes);
    let run = run_suite(
        &classes,
        "com.acme.resilience",
        &[
            "junit.jupiter.execution.parallel.enabled=true",
            "junit.jupiter.execution.parallel.mode.default=concurrent",
            "junit.jupiter.execution.parallel.mode.classes.default=concurrent",
        ],
    );
    assert_eq!(run.status, 0, "the example suite failed in parallel:\n{}", run.describe());
    assert_eq!(summary(&run, "successful"), EXAMPLE_TESTS, "{}", run.describe());
}

#[test]
fn bad_annotations_fail_the_test_with_the_annotation_and_the_key() {
    let dir = Scratch::new("junit-selftest");
    let classes = dir.path("classes");
    compile_suite("selftest", &classes);
    let run = run_suite(&classes, "com.acme.selftest", &[]);
    assert_eq!(run.status, 1, "the self-test must report failures:\n{}", run.describe());
    assert_eq!(summary(&run, "failed"), 14, "{}", run.describe());
    assert_eq!(summary(&run, "successful"), 3, "{}", run.describe());

    let on = |m: &str| format!("on com.acme.selftest.BadAnnotationsTest#{m}");
    let expect = |method: &str, parts: &[&str]| {
        let report = failure_of(&run, "BadAnnotationsTest", method);
        assert!(
            report.contains("io.faultline.junit.FaultConfigurationException")
                || report.contains("java.lang.IllegalArgumentException"),
            "{method}: not failed by the extension:\n{report}"
        );
        for part in parts {
            assert!(report.contains(part), "{method}: no '{part}' in:\n{report}");
        }
        assert!(!report.contains("the body must not run"), "{method}: the body ran:\n{report}");
    };
    expect(
        "unknownKind",
        &[&format!("@InjectFault(id=\"typo-kind\", kind=\"latncy\") {}", on("unknownKind")), "key 'kind'"],
    );
    expect(
        "badDuration",
        &[&format!("@InjectFault(id=\"bad-delay\", kind=\"latency\") {}", on("badDuration")), "key 'delay'", "soon"],
    );
    expect(
        "invalidTarget",
        &[&format!("@InjectFault(id=\"bad-target\", kind=\"latency\") {}", on("invalidTarget")), "key 'target'"],
    );
    expect(
        "abstractExceptionClass",
        &[
            &format!("@InjectFault(id=\"abstract-raise\", kind=\"exception\") {}", on("abstractExceptionClass")),
            "abstract",
        ],
    );
    expect("raiseOnALatencyFault", &[&on("raiseOnALatencyFault"), "key 'throw' (attribute raise)"]);
    expect(
        "targetMatchesNothing",
        &[
            &format!("@InjectFault(id=\"typo-target\", kind=\"latency\") {}", on("targetMatchesNothing")),
            "target 'com.acme.OrderRepositry#save' matched no method",
        ],
    );
    expect(
        "missingScenarioFile",
        &["@FaultScenario(\"scenarios/no-such-scenario.toml\")", "cannot read the scenario file"],
    );
    expect(
        "badScenarioFile",
        &["@FaultScenario(\"junit/selftest/bad-delay.toml\")", "junit/selftest/bad-delay.toml:13: key 'delay'"],
    );
    expect("sameIdTwice", &["fault id 'twice' is used twice in this test"]);
    expect("badProgrammaticFault", &["BadAnnotationsTest.badProgrammaticFault", "key 'delay'"]);
    let scoped = failure_of(&run, "PoolFaultsTest", "scopedPoolFault");
    for part in ["@FaultScenario(\"junit/selftest/pool.toml\")", "cannot be scoped to one test", "global = true"] {
        assert!(scoped.contains(part), "scopedPoolFault: no '{part}' in:\n{scoped}");
    }
    assert!(!run.stdout.contains("JUnit Jupiter:PoolFaultsTest:globalPoolFault("), "{}", run.describe());
    let scoped = failure_of(&run, "ResourceFaultsTest", "scopedResourceFault");
    for part in ["@InjectFault(id=\"scoped-threads\", kind=\"threads\")", "acts on the JVM as a whole", "global = true"]
    {
        assert!(scoped.contains(part), "scopedResourceFault: no '{part}' in:\n{scoped}");
    }
    assert!(!run.stdout.contains("JUnit Jupiter:ResourceFaultsTest:globalResourceFault("), "{}", run.describe());

    assert!(
        failure_of(&run, "CleanupAfterFailureTest", "bodyThrows").contains("the body failed on purpose"),
        "{}",
        run.describe()
    );
    assert!(
        failure_of(&run, "CleanupAfterFailureTest", "bodyTimesOut").contains("timed out after 500 milliseconds"),
        "{}",
        run.describe()
    );
    assert!(!run.stdout.contains("JUnit Jupiter:CleanupAfterFailureTest:nothingLeftArmed("), "{}", run.describe());
}
