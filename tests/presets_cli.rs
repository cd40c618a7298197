//! Presets from the command line: `faultline presets`, and `inject --preset` into a running
//! JVM (a small service updating two tables of an H2 database every 50 ms), with `status`,
//! `events` and `stop` as a user would run them.

mod common;

use std::time::Duration;

use common::presets::preset_service;
use common::*;

fn ok(run: &JvmRun) {
    assert_eq!(run.status, 0, "{}", run.describe());
}

#[test]
fn presets_lists_every_preset_with_its_keys() {
    let run = faultline(&["presets"]);
    ok(&run);
    for name in ["jdbc:", "jdbc-connect:", "http-server:", "http-client:", "dns:", "socket:"] {
        assert!(run.stdout.lines().any(|l| l.starts_with(name)), "{name} missing:\n{}", run.stdout);
    }
    assert!(run.stdout.contains("sql = '(?i)^\\s*update\\s+orders\\b'"), "{}", run.stdout);
    let run = faultline(&["presets", "--json"]);
    ok(&run);
    let list: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let jdbc = list.as_array().unwrap().iter().find(|p| p["name"] == "jdbc").expect("jdbc");
    assert_eq!(jdbc["kinds"], serde_json::json!(["exception", "latency", "hang"]));
    assert!(jdbc["keys"].as_array().unwrap().iter().any(|k| k["name"] == "sql"));
    assert!(jdbc["tested_with"].as_array().unwrap().iter().any(|t| t.as_str().unwrap().contains("PostgreSQL")));
}

#[test]
fn inject_preset_fails_exactly_the_named_statements_until_stop() {
    let s = preset_service("presets.JdbcService", &["120"]);
    let pid = s.pid().to_string();
    let run = faultline(&[
        "inject",
        &pid,
        "exception",
        "--preset",
        "jdbc",
        "--sql",
        r"(?i)^\s*update\s+orders\b",
        "--id",
        "orders-down",
    ]);
    ok(&run);
    assert!(run.stdout.contains("armed 'orders-down' (exception preset jdbc sql="), "{}", run.stdout);
    let mark = s.output().len();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let lines = loop {
        let lines = s.lines_since(mark);
        if lines.iter().filter(|l| l.contains("orders failed")).count() >= 3 {
            break lines;
        }
        assert!(std::time::Instant::now() < deadline, "no failures:\n{}", s.output());
        std::thread::sleep(Duration::from_millis(50));
    };
    let failed_orders = lines.iter().filter(|l| l.contains("orders failed")).count();
    assert!(
        lines.iter().filter(|l| l.contains("orders failed")).all(|l| l.contains("SQLTransientConnectionException")),
        "{lines:?}"
    );
    assert!(!lines.iter().any(|l| l.contains("customers failed")), "customers keep working: {lines:?}");
    assert!(failed_orders >= 3);

    let status = faultline(&["status", &pid]);
    ok(&status);
    assert!(status.stdout.contains("preset jdbc sql="), "{}", status.stdout);
    assert!(status.stdout.contains("reaches org.h2.jdbc.JdbcPreparedStatement"), "{}", status.stdout);
    let events = faultline(&["events", &pid]);
    ok(&events);
    assert!(
        events.stdout.lines().any(|l| l.contains("orders-down") && l.contains("jdbc \"UPDATE orders SET total")),
        "events name the SQL:\n{}",
        events.stdout
    );
    let json = faultline(&["events", &pid, "--json"]);
    let fired: Vec<serde_json::Value> = json
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|e: &serde_json::Value| e["kind"] == "exception")
        .collect();
    assert!(fired.iter().all(|e| e["preset"] == "jdbc" && e["matched"].as_str().unwrap().starts_with("UPDATE orders")));

    ok(&faultline(&["stop", &pid]));
    let mark = s.output().len();
    let after = s.calls_since_matching(mark, "orders ok", 3);
    assert!(after.len() >= 3);
}

#[test]
fn bad_preset_flags_are_refused_before_anything_is_armed() {
    let s = preset_service("presets.JdbcService", &["120"]);
    let pid = s.pid().to_string();
    let run = faultline(&["inject", &pid, "exception", "--preset", "jbdc"]);
    assert_eq!(run.status, 2, "{}", run.describe());
    assert!(run.stderr.contains("--preset: unknown preset \"jbdc\" (did you mean 'jdbc'?)"), "{}", run.stderr);
    let run = faultline(&["inject", &pid, "exception", "--preset", "jdbc", "--path", "/x"]);
    assert_eq!(run.status, 2, "{}", run.describe());
    assert!(run.stderr.contains("--path: is not a key of the jdbc preset"), "{}", run.stderr);
    let run = faultline(&["inject", &pid, "respond", "--preset", "http-server", "--status", "700"]);
    assert_eq!(run.status, 2, "{}", run.describe());
    assert!(run.stderr.contains("--status: 700 is not an HTTP status"), "{}", run.stderr);
    let run =
        faultline(&["inject", &pid, "exception", "--preset", "jms", "--destination", "orders.*", "--side", "both"]);
    assert_eq!(run.status, 2, "{}", run.describe());
    assert!(run.stderr.contains("--side: "), "{}", run.stderr);
    assert!(run.stderr.contains("producer"), "{}", run.stderr);
    let run = faultline(&["inject", &pid, "respond", "--preset", "grpc", "--side", "client", "--status", "UNAVAILBLE"]);
    assert_eq!(run.status, 2, "{}", run.describe());
    assert!(run.stderr.contains("--status: "), "{}", run.stderr);
    // A regular expression is compiled by the agent: refused there, and nothing is armed.
    let run = faultline(&["inject", &pid, "exception", "--preset", "jdbc", "--sql", "update (orders"]);
    assert_ne!(run.status, 0, "{}", run.describe());
    assert!(run.stderr.contains("key 'sql': the regular expression does not compile"), "{}", run.stderr);
    let status = faultline(&["status", &pid, "--json"]);
    let reply: serde_json::Value = serde_json::from_str(&status.stdout).expect("JSON");
    assert_eq!(reply["faults"], serde_json::json!([]), "{}", status.stdout);
}

/// The README documents every preset with an example, and every scenario example in it parses
/// (`faultline check`), so the documentation cannot drift from the parser.
#[test]
fn every_preset_has_a_readme_example_and_every_readme_scenario_parses() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let list: serde_json::Value = serde_json::from_str(&faultline(&["presets", "--json"]).stdout).expect("JSON");
    for p in list.as_array().unwrap() {
        let name = p["name"].as_str().unwrap();
        assert!(readme.contains(&format!("preset = \"{name}\"")), "README has no example of preset {name}");
    }
    let scratch = Scratch::new("readme");
    let mut files = Vec::new();
    for (i, block) in readme.split("```toml\n").skip(1).enumerate() {
        let block = block.split("```").next().unwrap_or("");
        // Scenario examples only: drill files have phases and are checked by their own tests.
        if block.contains("[[fault]]") && !block.contains("[[phase") {
            files.push(scratch.write(&format!("readme-{i}.toml"), block));
        }
    }
    assert!(files.len() >= 2, "no scenario examples found in README.md");
    let mut args = vec!["check"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let run = faultline(&args);
    assert_eq!(run.status, 0, "a README scenario example does not parse:\n{}", run.describe());
}

/// CI runs the README's test command, exactly: the command a new user copies is the one that
/// is tested, set-up included.
#[test]
fn ci_runs_the_readme_test_command() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let ci = std::fs::read_to_string(repo_root().join(".ci/run")).expect(".ci/run");
    let command = ci.lines().rev().find(|l| !l.trim().is_empty() && !l.starts_with('#')).unwrap_or("").trim();
    assert!(command.starts_with(".ci/prerequisites && "), "{command}");
    assert!(readme.contains(&format!("```sh\n{command}\n```")), "the README's test command is not {command:?}");
}
