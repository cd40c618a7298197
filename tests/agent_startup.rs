//! The agent loaded at JVM start: `-agentpath:` and `-javaagent:` with a scenario file.

mod common;

use common::*;

#[test]
fn agentpath_scenario_throws_the_configured_exception() {
    let dir = Scratch::new("agentpath");
    let scenario = dir.write("s.toml", CLIENT_DOWN_SCENARIO);
    let run =
        run_java(&[agentpath(&format!("scenario={}", scenario.display()))], &["fixtures.Cases", "startupException"]);
    run.assert_passed("startupException");
}

#[test]
fn javaagent_scenario_throws_the_configured_exception() {
    let dir = Scratch::new("javaagent");
    let scenario = dir.write("s.toml", CLIENT_DOWN_SCENARIO);
    let flag = format!("-javaagent:{}=scenario={}", agent_jar().display(), scenario.display());
    let run = run_java(&[flag], &["fixtures.Cases", "startupException"]);
    run.assert_passed("startupException");
    // At JVM start the target's class is not loaded yet, as with -agentpath: that is no
    // reason to warn.
    assert!(!run.stderr.contains("matches no loaded method"), "a false warning at start:\n{}", run.stderr);
}

#[test]
fn agentpath_latency_delays_each_call_by_the_requested_time() {
    let dir = Scratch::new("latency");
    let scenario = dir
        .write("s.toml", "[[fault]]\nkind = \"latency\"\ntarget = \"fixtures.Targets$Repo#save\"\ndelay = \"40ms\"\n");
    let run =
        run_java(&[agentpath(&format!("scenario={}", scenario.display()))], &["fixtures.Cases", "startupLatency"]);
    run.assert_passed("startupLatency");
    let times: Vec<f64> = run.values("save_ms").iter().map(|v| v.parse().expect("number")).collect();
    assert_eq!(times.len(), 5, "{}", run.describe());
    for t in &times {
        assert!(*t >= 40.0, "a call took {t} ms, less than the 40 ms delay: {times:?}");
    }
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    assert!(sorted[2] < 40.0 + 15.0, "median {} ms is far above 40 ms: {times:?}", sorted[2]);
}

/// The first latency fault runs the wait's firing path thousands of times on a thread of its
/// own (0 ns waits, events dropped), so the JIT's thresholds on that path fall there and not
/// on an application's 128th or 256th wait. Five real waits alone never get
/// `Fault.waitAndReport` compiled; the rehearsal leaves no event behind.
#[test]
fn the_first_latency_fault_rehearses_its_wait_and_leaves_no_trace() {
    let dir = Scratch::new("rehearsal");
    let scenario = dir.write(
        "s.toml",
        "[[fault]]\nid = \"slow\"\nkind = \"latency\"\ntarget = \"fixtures.Targets$Repo#save\"\ndelay = \"40ms\"\n",
    );
    let events = dir.path("events.jsonl");
    let run = run_java(
        &[
            "-XX:+PrintCompilation".to_string(),
            agentpath(&format!("scenario={},events={}", scenario.display(), events.display())),
        ],
        &["fixtures.Cases", "startupLatency"],
    );
    run.assert_passed("startupLatency");
    assert!(
        run.stdout.contains("io.faultline.boot.Fault::waitAndReport"),
        "the wait's path was not compiled before the program ended: no rehearsal ran\n{}",
        run.describe()
    );
    let (text, lines) = read_events(&events);
    let fired: Vec<&serde_json::Value> = lines.iter().filter(|v| v["kind"] == "latency").collect();
    assert_eq!(fired.len(), 5, "one event per real wait, none from the rehearsal:\n{text}");
    assert!(fired.iter().all(|v| v["fault"] == "slow" && v["thread"] == "main"), "{text}");
    assert!(!text.contains("rehearsal"), "the rehearsal reached the events:\n{text}");
}

#[test]
fn events_file_gets_one_json_line_per_outcome() {
    let dir = Scratch::new("events");
    let scenario = dir.write("s.toml", &CLIENT_DOWN_SCENARIO.replace("[[fault]]", "[[fault]]\nid = \"pay\""));
    let events = dir.path("events.jsonl");
    let run = run_java(
        &[agentpath(&format!("scenario={},events={}", scenario.display(), events.display()))],
        &["fixtures.Cases", "startupException"],
    );
    run.assert_passed("startupException");
    let (_, lines) = read_events(&events);
    let armed = lines.iter().find(|v| v["kind"] == "armed").expect("an armed event");
    assert_eq!(armed["fault"], "pay");
    let fired = lines.iter().find(|v| v["kind"] == "exception").expect("an exception event");
    assert_eq!(fired["fault"], "pay");
    assert_eq!(fired["method"], "fixtures.Targets$Client#charge(J)Ljava/lang/String;");
    assert_eq!(fired["exception"], "java.sql.SQLException");
    assert_eq!(fired["thread"], "main");
    let caught = fired["caught"].as_str().expect("caught is a string");
    assert!(caught.starts_with("fixtures.Cases#chargeOutcome(J)Ljava/lang/Throwable;:"), "caught = {caught}");
    assert!(fired["time"].as_str().is_some_and(|t| t.ends_with('Z') && t.contains('T')), "time = {}", fired["time"]);
}

#[test]
fn bad_scenario_is_reported_and_the_jvm_runs_without_faults() {
    let dir = Scratch::new("bad");
    let scenario = dir.write(
        "bad.toml",
        "[[fault]]\nkind = \"latency\"\ntarget = \"fixtures.Targets$Repo#save\"\ndelay = \"soon\"\n",
    );
    let run =
        run_java(&[agentpath(&format!("scenario={}", scenario.display()))], &["fixtures.Cases", "runsWithoutFaults"]);
    run.assert_passed("runsWithoutFaults");
    assert!(
        run.stderr.contains("bad.toml:4") && run.stderr.contains("delay"),
        "stderr must name file, line and key:\n{}",
        run.stderr
    );
    assert!(run.stderr.contains("without faults"), "{}", run.stderr);
}

#[test]
fn unknown_agent_option_is_reported_and_the_jvm_runs_without_faults() {
    let run = run_java(&[agentpath("scenaro=x.toml")], &["fixtures.Cases", "runsWithoutFaults"]);
    run.assert_passed("runsWithoutFaults");
    assert!(run.stderr.contains("unknown option 'scenaro'"), "{}", run.stderr);
}

#[test]
fn exception_class_that_is_not_throwable_is_reported_at_start() {
    let dir = Scratch::new("notthrowable");
    let scenario = dir.write(
        "s.toml",
        "[[fault]]\nkind = \"exception\"\ntarget = \"fixtures.Targets$Client#charge\"\nthrow = \"java.lang.String\"\n",
    );
    let run =
        run_java(&[agentpath(&format!("scenario={}", scenario.display()))], &["fixtures.Cases", "runsWithoutFaults"]);
    run.assert_passed("runsWithoutFaults");
    assert!(run.stderr.contains("java.lang.String is not a Throwable"), "{}", run.stderr);
}

#[test]
fn missing_scenario_file_is_reported() {
    let run = run_java(&[agentpath("scenario=/nonexistent/faults.toml")], &["fixtures.Cases", "runsWithoutFaults"]);
    run.assert_passed("runsWithoutFaults");
    assert!(run.stderr.contains("/nonexistent/faults.toml"), "{}", run.stderr);
}

#[test]
fn a_second_copy_of_the_agent_is_refused_with_the_active_path() {
    let dir = Scratch::new("twocopies");
    let copy = dir.path("libfaultline_agent.so");
    std::fs::copy(agent_lib(), &copy).expect("copy the agent");
    // The JVM starts with the original; the in-process API is pointed at the copy.
    let run = run_java(
        &[agentpath(""), format!("-Dfaultline.agent={}", copy.display())],
        &["fixtures.Cases", "apiCheckedExceptionUndeclared"],
    );
    assert_ne!(run.status, 0, "{}", run.describe());
    let out = format!("{}{}", run.stdout, run.stderr);
    assert!(
        out.contains("another copy of the faultline agent") && out.contains(&agent_lib().display().to_string()),
        "{}",
        run.describe()
    );
}

/// `mr.Catcher`, whose `call` catches the fault thrown by `target`; `padding` blank lines
/// move the catch, so the base and versioned classes of a multi-release jar differ by line.
fn catcher_source(padding: usize) -> String {
    format!(
        "package mr;\n\npublic class Catcher {{\n    static void target() {{\n    }}\n\n    \
         static String call() {{\n        try {{\n            target();\n            return \"ran\";\n{}        \
         }} catch (IllegalStateException e) {{\n            return \"caught\";\n        }}\n    }}\n\n    \
         public static void main(String[] args) {{\n        for (int i = 0; i < 100; i++) {{\n            \
         if (call().equals(\"caught\")) {{\n                System.out.println(\"caught\");\n                \
         return;\n            }}\n        }}\n        System.out.println(\"never caught\");\n    }}\n}}\n",
        "\n".repeat(padding)
    )
}

/// The catch-site lookup reads class files straight from their jar: from a multi-release
/// jar, the entry the class loader took (the JDK's version), not the base one.
#[test]
fn the_catch_site_in_a_multi_release_jar_comes_from_the_versioned_class() {
    let dir = Scratch::new("mrjar");
    for (version, padding) in [("base", 0), ("v11", 5)] {
        std::fs::create_dir_all(dir.path(&format!("{version}/mr"))).expect("mkdir");
        let source = dir.write(&format!("{version}/mr/Catcher.java"), &catcher_source(padding));
        let status = std::process::Command::new(javac())
            .args(["--release", "11", "-g", "-d"])
            .arg(dir.path(&format!("{version}/classes")))
            .arg(&source)
            .status()
            .expect("run javac");
        assert!(status.success(), "javac for the {version} class");
    }
    let jar = dir.path("mr.jar");
    let status = std::process::Command::new("jar")
        .arg("--create")
        .arg("--file")
        .arg(&jar)
        .arg("-C")
        .arg(dir.path("base/classes"))
        .arg(".")
        .args(["--release", "11", "-C"])
        .arg(dir.path("v11/classes"))
        .arg(".")
        .status()
        .expect("run jar");
    assert!(status.success(), "jar --release 11");
    let scenario = dir.write(
        "s.toml",
        "[[fault]]\nid = \"mr\"\nkind = \"exception\"\ntarget = \"mr.Catcher#target\"\n\
         throw = \"java.lang.IllegalStateException\"\n",
    );
    let events = dir.path("events.jsonl");
    let mut cmd = std::process::Command::new(java());
    cmd.arg(agentpath(&format!("scenario={},events={}", scenario.display(), events.display())))
        .arg("-cp")
        .arg(&jar)
        .arg("mr.Catcher");
    let run = run_with_timeout(cmd, std::time::Duration::from_secs(60));
    assert!(run.stdout.lines().any(|l| l == "caught"), "{}", run.describe());
    let (text, lines) = read_events(&events);
    let fired =
        lines.iter().find(|v| v["kind"] == "exception").unwrap_or_else(|| panic!("no exception event in {text}"));
    // The catch clause is on line 11 of the base class and 16 of the versioned one.
    assert_eq!(fired["caught"], "mr.Catcher#call()Ljava/lang/String;:16", "{fired}");
}
