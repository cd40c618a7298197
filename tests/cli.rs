//! The `faultline` CLI against real running JVMs started without any agent flag: attach,
//! inject each kind, see the effect from the Java side, stop, see it gone.

mod common;

use common::*;
use std::time::Duration;

fn pid(s: &Service) -> String {
    s.pid().to_string()
}

fn ok(run: &JvmRun) {
    assert_eq!(run.status, 0, "faultline failed:\n{}", run.describe());
}

#[test]
fn ps_finds_a_jvm_started_without_perf_data() {
    let s = Service::start(&["-XX:-UsePerfData".into()]);
    let run = faultline(&["ps", "--json"]);
    ok(&run);
    let list: serde_json::Value = serde_json::from_str(&run.stdout).expect("ps --json is JSON");
    let me = list.as_array().expect("array").iter().find(|j| j["pid"] == s.pid()).expect("our JVM is listed");
    assert_eq!(me["main"], "fixtures.Service");
    assert_eq!(me["attachable"], true);
    assert!(me["jdk"].as_str().is_some_and(|v| v.chars().next().is_some_and(|c| c.is_ascii_digit())), "{me}");
    let table = faultline(&["ps"]);
    ok(&table);
    assert!(table.stdout.lines().any(|l| l.contains(&pid(&s)) && l.contains("fixtures.Service")), "{}", table.stdout);
}

#[test]
fn exception_injected_by_attach_reaches_the_code_and_stop_restores_it() {
    let s = Service::start(&[]);
    let run = faultline(&[
        "inject",
        &pid(&s),
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
    ok(&run);
    assert!(run.stdout.contains("armed 'boom'") && run.stdout.contains("1 method instrumented"), "{}", run.stdout);
    let mark = s.output().len();
    let calls = s.calls_since(mark, 3);
    assert!(calls.iter().all(|c| c == "call ex java.io.IOException: from the cli"), "{calls:?}");

    let status = faultline(&["status", &pid(&s), "--json"]);
    ok(&status);
    let v: serde_json::Value = serde_json::from_str(&status.stdout).expect("JSON");
    let fault = &v["faults"][0];
    assert_eq!(fault["id"], "boom");
    assert!(fault["injected"].as_i64().unwrap_or(0) >= 3, "{fault}");
    assert!(
        fault["time_left_ms"].as_u64().is_some_and(|ms| ms > 500_000 && ms <= 600_000),
        "default lease is 10m: {fault}"
    );

    ok(&faultline(&["stop", &pid(&s), "boom"]));
    let mark = s.output().len();
    let calls = s.calls_since(mark, 3);
    assert!(calls.iter().all(|c| c.starts_with("call ok")), "after stop: {calls:?}");

    let events = faultline(&["events", &pid(&s), "--json"]);
    ok(&events);
    let lines: Vec<serde_json::Value> =
        events.stdout.lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    let fired = lines.iter().find(|e| e["kind"] == "exception").expect("an exception event");
    assert_eq!(fired["thread"], "worker");
    assert!(fired["caught"].as_str().is_some_and(|c| c.starts_with("fixtures.Service#lambda$main$")), "{fired}");
    assert!(lines.iter().any(|e| e["kind"] == "removed" && e["fault"] == "boom"));
}

#[test]
fn latency_injected_by_attach_slows_the_calls() {
    let s = Service::start(&[]);
    ok(&faultline(&["inject", &pid(&s), "latency", "--target", "fixtures.Targets$Repo#save", "--delay", "80ms"]));
    let mark = s.output().len();
    let calls = s.calls_since(mark, 3);
    for c in &calls {
        let ms: u64 = c.strip_prefix("call ok ").and_then(|m| m.parse().ok()).unwrap_or_else(|| panic!("{calls:?}"));
        assert!(ms >= 80, "{calls:?}");
    }
    ok(&faultline(&["stop", &pid(&s)]));
}

#[test]
fn hang_injected_by_attach_holds_the_call_until_stop() {
    let s = Service::start(&[]);
    ok(&faultline(&["inject", &pid(&s), "hang", "--target", "fixtures.Targets$Repo#save", "--max", "60s"]));
    std::thread::sleep(Duration::from_millis(300));
    let mark = s.output().len();
    std::thread::sleep(Duration::from_millis(500));
    assert!(s.lines_since(mark).iter().all(|l| !l.starts_with("call ")), "a call completed while hung");
    ok(&faultline(&["stop", &pid(&s)]));
    let calls = s.calls_since(mark, 2);
    let held: u64 = calls[0].strip_prefix("call ok ").and_then(|m| m.parse().ok()).expect("ms");
    assert!(held >= 500, "the hung call returned after {held} ms: {calls:?}");
}

#[test]
fn lease_ends_the_fault_without_the_cli() {
    let s = Service::start(&[]);
    ok(&faultline(&[
        "inject",
        &pid(&s),
        "exception",
        "--target",
        "fixtures.Targets$Repo#save",
        "--throw",
        "java.lang.IllegalStateException",
        "--for",
        "1s",
    ]));
    // The CLI has exited: only the agent's lease can end the fault.
    std::thread::sleep(Duration::from_millis(1500));
    let mark = s.output().len();
    let calls = s.calls_since(mark, 3);
    assert!(calls.iter().all(|c| c.starts_with("call ok")), "{calls:?}");
    let events = faultline(&["events", &pid(&s), "--json"]);
    assert!(events.stdout.contains("\"kind\":\"expired\""), "{}", events.stdout);
}

#[test]
fn second_inject_reuses_the_loaded_agent() {
    let s = Service::start(&[]);
    for n in 0..3 {
        let id = format!("f{n}");
        ok(&faultline(&[
            "inject",
            &pid(&s),
            "latency",
            "--target",
            "fixtures.Targets$Repo#save",
            "--delay",
            "1ms",
            "--id",
            &id,
        ]));
    }
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", s.pid())).expect("maps");
    let mut paths: Vec<&str> = maps
        .lines()
        .filter(|l| l.contains("libfaultline_agent.so"))
        .filter_map(|l| l.split_whitespace().nth(5))
        .collect();
    paths.dedup();
    assert_eq!(paths.len(), 1, "one agent library only: {paths:?}");
    let status = faultline(&["status", &pid(&s), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&status.stdout).expect("JSON");
    assert_eq!(v["faults"].as_array().map(Vec::len), Some(3), "{v}");
}

#[test]
fn jvm_started_with_the_agent_flag_is_driven_the_same_way() {
    let s = Service::start(&[agentpath("")]);
    ok(&faultline(&[
        "inject",
        &pid(&s),
        "exception",
        "--target",
        "fixtures.Targets$Repo#save",
        "--throw",
        "java.lang.IllegalStateException",
    ]));
    let mark = s.output().len();
    assert!(s.calls_since(mark, 2).iter().all(|c| c.starts_with("call ex java.lang.IllegalStateException")));
    ok(&faultline(&["stop", &pid(&s)]));
}

#[test]
fn apply_arms_a_scenario_file() {
    let s = Service::start(&[]);
    let dir = Scratch::new("apply");
    let file = dir.write(
        "s.toml",
        "[[fault]]\nid = \"a\"\nkind = \"exception\"\ntarget = \"fixtures.Targets$Repo#save\"\nthrow = \"java.io.IOException\"\nprobability = 1.0\n",
    );
    let run = faultline(&["apply", &pid(&s), file.to_str().expect("utf-8")]);
    ok(&run);
    let mark = s.output().len();
    assert!(s.calls_since(mark, 2).iter().all(|c| c.starts_with("call ex java.io.IOException")));
    ok(&faultline(&["stop", &pid(&s)]));
}

#[test]
fn inject_stop_cycles_do_not_grow_the_jvm() {
    let s = Service::start(&[]);
    let stats = |s: &Service| -> (u64, u64, u64) {
        let mark = s.output().len();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(line) = s.lines_since(mark).into_iter().find(|l| l.starts_with("stats ")) {
                let num = |k: &str| -> u64 {
                    line.split_whitespace()
                        .find_map(|w| w.strip_prefix(&format!("{k}=")))
                        .and_then(|v| v.parse().ok())
                        .expect("stat")
                };
                return (num("classes"), num("metaspace"), num("threads"));
            }
            assert!(std::time::Instant::now() < deadline, "no stats line");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let cycle = |n: usize| {
        let id = format!("c{n}");
        ok(&faultline(&[
            "inject",
            &pid(&s),
            "exception",
            "--target",
            "fixtures.Targets$Repo#save",
            "--throw",
            "java.lang.IllegalStateException",
            "--id",
            &id,
        ]));
        ok(&faultline(&["stop", &pid(&s), &id]));
    };
    for n in 0..5 {
        cycle(n);
    }
    let warm = stats(&s);
    for n in 5..100 {
        cycle(n);
    }
    let after = stats(&s);
    println!("after 5 cycles: {warm:?}; after 100: {after:?}");
    assert!(after.0 <= warm.0 + 5, "loaded classes grew from {} to {}", warm.0, after.0);
    assert!(after.1 <= warm.1 + 512 * 1024, "metaspace grew from {} to {} bytes", warm.1, after.1);
    assert!(after.2 <= warm.2, "threads grew from {} to {}", warm.2, after.2);
}

#[test]
fn pid_that_does_not_exist_is_a_one_line_error() {
    let run = faultline(&["status", "999999999"]);
    assert_eq!(run.status, 1, "{}", run.describe());
    assert!(run.stderr.starts_with("faultline: ") && run.stderr.trim().lines().count() == 1, "{}", run.stderr);
}

#[test]
fn process_that_is_not_a_jvm_is_refused() {
    let mut sleeper = std::process::Command::new("sleep").arg("30").spawn().expect("sleep");
    let run = faultline(&["status", &sleeper.id().to_string()]);
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    assert_eq!(run.status, 1, "{}", run.describe());
    assert!(run.stderr.contains("not a JVM"), "{}", run.stderr);
}

#[test]
fn jvm_that_refuses_attach_is_reported() {
    let s = Service::start(&["-XX:+DisableAttachMechanism".into()]);
    let run = faultline(&["inject", &pid(&s), "latency", "--target", "fixtures.Targets$Repo#save", "--delay", "1ms"]);
    assert_eq!(run.status, 1, "{}", run.describe());
    assert!(run.stderr.contains("DisableAttachMechanism"), "{}", run.stderr);
    let mark = s.output().len();
    assert!(s.calls_since(mark, 2).iter().all(|c| c.starts_with("call ok")), "the JVM is left as it was");
}

#[test]
fn name_that_matches_no_jvm_is_an_error() {
    let run = faultline(&["status", "no.such.MainClass"]);
    assert_eq!(run.status, 1, "{}", run.describe());
    assert!(run.stderr.contains("no.such.MainClass"), "{}", run.stderr);
}

#[test]
fn stop_of_an_unknown_fault_is_an_error() {
    let s = Service::start(&[]);
    let run = faultline(&["stop", &pid(&s), "nope"]);
    assert_eq!(run.status, 1, "{}", run.describe());
    assert!(run.stderr.contains("no fault with id 'nope'"), "{}", run.stderr);
}

#[test]
fn bad_fault_flags_name_the_flag() {
    let s = Service::start(&[]);
    let run = faultline(&["inject", &pid(&s), "latency", "--target", "fixtures.Targets$Repo#save", "--delay", "fast"]);
    assert_eq!(run.status, 1, "{}", run.describe());
    assert!(run.stderr.contains("--delay"), "{}", run.stderr);
    let run = faultline(&[
        "inject",
        &pid(&s),
        "exception",
        "--target",
        "fixtures.Targets$Repo#save",
        "--throw",
        "com.nowhere.Nope",
    ]);
    assert_eq!(run.status, 1, "{}", run.describe());
    assert!(run.stderr.contains("com.nowhere.Nope"), "{}", run.stderr);
    let status = faultline(&["status", &pid(&s), "--json"]);
    assert!(status.stdout.contains("\"faults\":[]"), "nothing half-applied: {}", status.stdout);
}

#[test]
fn bad_usage_exits_2() {
    let run = faultline(&["inject"]);
    assert_eq!(run.status, 2, "{}", run.describe());
}

#[test]
fn another_retransforming_agent_and_faultline_coexist() {
    let dir = Scratch::new("otheragent");
    let manifest = dir.write("manifest.txt", "Premain-Class: fixtures.OtherAgent\nCan-Retransform-Classes: true\n");
    let jar = dir.path("other.jar");
    let status = std::process::Command::new("jar")
        .arg("--create")
        .arg("--file")
        .arg(&jar)
        .arg("--manifest")
        .arg(&manifest)
        .arg("-C")
        .arg(fixture_classes())
        .arg("fixtures/OtherAgent.class")
        .arg("-C")
        .arg(fixture_classes())
        .arg("fixtures/OtherAgent$1.class")
        .status()
        .expect("jar");
    assert!(status.success());
    let s = Service::start(&[format!("-javaagent:{}", jar.display())]);
    ok(&faultline(&[
        "inject",
        &pid(&s),
        "exception",
        "--target",
        "fixtures.Targets$Repo#save",
        "--throw",
        "java.lang.IllegalStateException",
        "--message",
        "coexist",
    ]));
    // Over a second the other agent retransforms the class about ten times: our hook must stay.
    std::thread::sleep(Duration::from_millis(1000));
    let mark = s.output().len();
    let calls = s.calls_since(mark, 5);
    assert!(calls.iter().all(|c| c == "call ex java.lang.IllegalStateException: coexist"), "{calls:?}");
    ok(&faultline(&["stop", &pid(&s)]));
    std::thread::sleep(Duration::from_millis(300));
    let mark = s.output().len();
    let calls = s.calls_since(mark, 5);
    assert!(calls.iter().all(|c| c.starts_with("call ok")), "{calls:?}");
    let out = s.wait_for("other-agent retransforms=", Duration::from_secs(10));
    assert!(!out.contains("other-agent failed"), "{out}");
}

#[test]
fn jvm_of_another_user_is_refused_when_not_root() {
    if !std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
    {
        eprintln!("skipped: switching to another user needs root");
        return;
    }
    let s = Service::start(&[]);
    let cli = artifacts().join("faultline");
    let mut cmd = std::process::Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(&cli).args([
        "inject",
        &pid(&s),
        "latency",
        "--target",
        "fixtures.Targets$Repo#save",
        "--delay",
        "1ms",
    ]);
    let run = run_with_timeout(cmd, Duration::from_secs(30));
    assert_eq!(run.status, 1, "{}", run.describe());
    assert!(run.stderr.contains("uid 0") || run.stderr.to_lowercase().contains("permission"), "{}", run.stderr);
    let mark = s.output().len();
    assert!(s.calls_since(mark, 2).iter().all(|c| c.starts_with("call ok")), "the JVM is left as it was");
}
