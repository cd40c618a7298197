//! The drill lifecycle around a run, against the real demo service: the proposal `drill check
//! --out` writes, a run enforcing it (`--approved`), the authorized window, contingency steps
//! on abort, breach and end, and the review of one run against an earlier one.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::demo::{Demo, SLOW_PAYMENT};
use common::drill::{drill, journal, records, DrillRun};
use common::*;
use serde_json::Value;

/// One drill at a time: their latency figures are not distorted by each other.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// A drill against `demo`: baseline, `middle` (TOML of the phases after it) and `extra`
/// (top-level tables such as `[window]` or `[[contingency]]`).
fn drill_text(demo: &Demo, rate: u32, middle: &str, extra: &str) -> String {
    format!(
        r#"name = "lifecycle"
objective = "checkout survives a slow payment gateway"
targets = ["{pid}"]

[load]
url = "{load}"
rate = {rate}
timeout = "2s"

[steady_state]
url = "{health}"
every = "100ms"
window = "1s"
max_error_rate = 0.01
max_p99 = "150ms"

{extra}

[[phase]]
name = "baseline"
duration = "2500ms"
{middle}
"#,
        pid = demo.pid(),
        load = demo.url("/checkout"),
        health = demo.url("/health"),
    )
}

fn slow_then_recovery(delay: &str, slow_s: u32, recover_within: &str) -> String {
    format!(
        "[[phase]]\nname = \"slow payment\"\nduration = \"{slow_s}s\"\nexpect = \"degraded\"\n{}\n\
         [[phase]]\nname = \"recovery\"\nduration = \"4s\"\nrecover_within = \"{recover_within}\"\n",
        SLOW_PAYMENT.replace("400ms", delay)
    )
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// `faultline drill VERB FILE ARGS...` on a drill file that stays in `dir`.
fn drill_in(dir: &Scratch, file: &str, args: &[&str]) -> JvmRun {
    let mut cmd = Command::new(artifacts().join("faultline"));
    cmd.arg("drill").arg(args[0]).arg(dir.path(file)).args(&args[1..]);
    run_with_timeout(cmd, Duration::from_secs(120))
}

#[test]
fn a_proposal_is_written_an_approved_run_passes_and_a_widened_target_is_refused() {
    let _serial = serial();
    let demo = Demo::start();
    let dir = Scratch::new("proposal");
    let end_step = "[[contingency]]\nname = \"tell the channel\"\non = \"end\"\n\
                    command = [\"sh\", \"-c\", \"echo drill $FAULTLINE_DRILL_NAME ended: $FAULTLINE_DRILL_REASON\"]\n";
    let text = drill_text(&demo, 20, &slow_then_recovery("100ms", 3, "3s"), end_step);
    dir.write("drill.toml", &text);
    let out = dir.path("proposal");

    let check = drill_in(&dir, "drill.toml", &["check", "--out", out.to_str().unwrap()]);
    assert_eq!(check.status, 0, "{}", check.describe());
    let p = read_json(&out.join("proposal.json"));
    let fingerprint = p["fingerprint"].as_str().unwrap().to_string();
    assert_eq!(fingerprint.len(), 64);
    assert!(check.stdout.contains(&format!("fingerprint: {fingerprint}")), "{}", check.describe());
    assert_eq!(
        p["blast_radius"]["slow-pay"],
        serde_json::json!(["com.acme.PaymentClient#charge(J)Ljava/lang/String;"]),
        "{p:#}"
    );
    assert_eq!(p["targets"][0]["pid"].as_i64(), Some(i64::from(demo.pid().parse::<i32>().unwrap())));
    assert!(p["targets"][0]["jdk"].as_str().is_some_and(|v| !v.is_empty()), "{p:#}");
    assert_eq!(p["drill_text"], text.as_str());
    let html = std::fs::read_to_string(out.join("proposal.html")).unwrap();
    for needle in [
        "Proposal: lifecycle",
        "checkout survives a slow payment gateway",
        "com.acme.PaymentClient#charge(J)Ljava/lang/String;",
        "Calls of the hit methods wait",
        "Abort criteria",
        "tell the channel",
        "Sign-off",
        fingerprint.as_str(),
    ] {
        assert!(html.contains(needle), "proposal.html lacks {needle:?}");
    }
    assert!(demo.armed().is_empty(), "the check left nothing armed");

    // The approved plan runs, and its report refers to it.
    let approved = out.join("proposal.json");
    let run_out = dir.path("run");
    let run = drill_in(
        &dir,
        "drill.toml",
        &["run", "--approved", approved.to_str().unwrap(), "--out", run_out.to_str().unwrap()],
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    let j = journal(&run_out);
    let approval = records(&j, "approval");
    assert_eq!(approval[0]["fingerprint"], fingerprint.as_str(), "{:#}", approval[0]);
    let steps = records(&j, "contingency");
    assert_eq!(steps.len(), 1, "{steps:?}");
    assert_eq!(steps[0]["on"], "end");
    assert_eq!(steps[0]["exit_code"], 0);
    assert_eq!(steps[0]["output"].as_str().unwrap().trim(), "drill lifecycle ended: drill end");
    let report = std::fs::read_to_string(run_out.join("report.html")).unwrap();
    assert!(report.contains(&fingerprint), "the signed report names the approved plan");
    assert!(report.contains("Acceptance criteria") && report.contains("Improvement points"));
    assert_eq!(read_json(&run_out.join("summary.json"))["approved_fingerprint"], fingerprint.as_str());

    // The fault widened after approval: refused, with what changed, before anything is armed.
    dir.write(
        "drill.toml",
        &text.replace("target = \"com.acme.PaymentClient#charge(long)\"", "target = \"com.acme.PaymentClient#*\""),
    );
    let refused_out = dir.path("refused");
    let refused = drill_in(
        &dir,
        "drill.toml",
        &["run", "--approved", approved.to_str().unwrap(), "--out", refused_out.to_str().unwrap()],
    );
    assert_eq!(refused.status, 1, "{}", refused.describe());
    assert!(refused.stderr.contains("changed since the proposal was approved"), "{}", refused.describe());
    assert!(refused.stderr.contains("- target = \"com.acme.PaymentClient#charge(long)\""), "{}", refused.describe());
    assert!(refused.stderr.contains("+ target = \"com.acme.PaymentClient#*\""), "{}", refused.describe());
    assert!(!refused_out.exists(), "nothing ran");
    assert!(demo.armed().is_empty());

    // A file that is not a proposal is refused as such.
    let not = drill_in(&dir, "drill.toml", &["run", "--approved", run_out.join("summary.json").to_str().unwrap()]);
    assert_eq!(not.status, 1, "{}", not.describe());
    assert!(not.stderr.contains("is not a drill proposal"), "{}", not.describe());
}

#[test]
fn a_run_outside_its_window_is_refused_and_bad_lifecycle_tables_are_errors() {
    let _serial = serial();
    let demo = Demo::start();
    let phases = slow_then_recovery("100ms", 2, "3s");
    let later = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(2);
    let much_later = later + jiff::SignedDuration::from_hours(1);
    let tomorrow = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).weekday().next();
    let cases = [
        (
            format!("[window]\nnot_before = \"{later:.0}\"\nnot_after = \"{much_later:.0}\"\n"),
            "before the window opens",
        ),
        (format!("[window]\ndays = [\"{}\"]\n", &format!("{tomorrow:?}")[..3]), "outside the authorized days"),
    ];
    for (window, needle) in &cases {
        let d = drill("run", &drill_text(&demo, 20, &phases, window), &[]);
        assert_eq!(d.run.status, 1, "{}", d.run.describe());
        assert!(d.run.stderr.contains("outside the authorized window"), "{}", d.run.describe());
        assert!(d.run.stderr.contains(needle), "{}", d.run.describe());
        assert!(!d.dir.exists(), "nothing ran");
        // `drill check` says so without refusing: a proposal is written ahead of its window.
        let c = drill("check", &drill_text(&demo, 20, &phases, window), &[]);
        assert_eq!(c.run.status, 0, "{}", c.run.describe());
        assert!(c.run.stdout.contains("a run started now would be refused"), "{}", c.run.describe());
    }
    let past = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1);
    let bad = [
        (format!("[window]\nnot_after = \"{past:.0}\"\n"), "window.not_after", "in the past"),
        (
            format!("[window]\nnot_before = \"{much_later:.0}\"\nnot_after = \"{later:.0}\"\n"),
            "window.not_after",
            "is not after not_before",
        ),
        ("[window]\nhours = \"17:00-09:00\"\n".to_string(), "window.hours", "ends before it starts"),
        ("[window]\ndays = [\"someday\"]\n".to_string(), "window.days", "not a day of the week"),
        (
            "[[contingency]]\nname = \"x\"\non = \"failure\"\ncommand = [\"true\"]\n".to_string(),
            "contingency.on",
            "expected \"abort\", \"breach\" or \"end\"",
        ),
        (
            "[[contingency]]\nname = \"x\"\non = \"end\"\ncommand = [\"no-such-program-here\"]\n".to_string(),
            "",
            "contingency 'x': command \"no-such-program-here\" cannot be started",
        ),
    ];
    for (table, key, needle) in &bad {
        let c = drill("check", &drill_text(&demo, 20, &phases, table), &[]);
        assert_eq!(c.run.status, 1, "{table}: {}", c.run.describe());
        assert!(c.run.stderr.contains(key) && c.run.stderr.contains(needle), "{table}: {}", c.run.describe());
    }
    assert!(demo.armed().is_empty());
}

#[test]
fn contingency_steps_run_on_abort_and_on_breach_and_a_failing_step_is_a_finding() {
    let _serial = serial();
    let demo = Demo::start();
    // Abort: payments 400 ms slower at 40 checkouts/s overload the 4 order workers.
    let steps = "[[contingency]]\nname = \"restart the gateway\"\non = \"abort\"\n\
                 command = [\"sh\", \"-c\", \"echo restarting after: $FAULTLINE_DRILL_REASON\"]\n\n\
                 [[contingency]]\nname = \"page the owner\"\non = \"abort\"\ncommand = [\"sh\", \"-c\", \"echo no pager >&2; exit 3\"]\n\n\
                 [[contingency]]\nname = \"slow cleanup\"\non = \"abort\"\ncommand = [\"sleep\", \"30\"]\ntimeout = \"1s\"\n\n\
                 [[contingency]]\nname = \"on breach\"\non = \"breach\"\ncommand = [\"true\"]\n\n\
                 [abort]\nmax_p99 = \"300ms\"\nfor = \"1s\"\n";
    let phases = slow_then_recovery("400ms", 8, "3s");
    let started = Instant::now();
    let d = drill("run", &drill_text(&demo, 40, &phases, steps), &[]);
    assert!(started.elapsed() < Duration::from_secs(40), "a step that hangs must not hang the drill");
    assert_eq!(d.run.status, 1, "{}", d.run.describe());
    let j = d.journal();
    assert!(!records(&j, "abort").is_empty(), "the drill aborted: {}", d.run.describe());
    let ran: Vec<&Value> = records(&j, "contingency");
    let names: Vec<&str> = ran.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["restart the gateway", "page the owner", "slow cleanup"], "{ran:#?}");
    assert!(
        ran[0]["output"].as_str().unwrap().contains("restarting after: aborted: abort condition breached"),
        "{:#}",
        ran[0]
    );
    assert_eq!(ran[1]["exit_code"], 3);
    assert!(ran[1]["output"].as_str().unwrap().contains("no pager"));
    assert_eq!(ran[2]["timed_out"], true);
    // The steps ran after the faults were removed.
    let removed = records(&j, "fault_removed")[0]["t_ms"].as_f64().unwrap();
    assert!(ran[0]["t_ms"].as_f64().unwrap() >= removed);
    assert_eq!(d.expectation("contingency step 'restart the gateway' (on abort) succeeds")["held"], true);
    assert_eq!(d.expectation("contingency step 'page the owner' (on abort) succeeds")["held"], false);
    let slow = d.expectation("contingency step 'slow cleanup' (on abort) succeeds");
    assert!(slow["detail"].as_str().unwrap().contains("timed out"), "{slow}");
    let report = std::fs::read_to_string(d.dir.join("report.html")).unwrap();
    assert!(report.contains("<h2>Contingency</h2>") && report.contains("restarting after: aborted"));
    assert!(demo.armed().is_empty());

    // Breach: a phase that must hold breaks while a fault is armed in it.
    let breach_step = "[[contingency]]\nname = \"open an incident\"\non = \"breach\"\n\
                       command = [\"sh\", \"-c\", \"echo $FAULTLINE_DRILL_TRIGGER: $FAULTLINE_DRILL_REASON\"]\n";
    let must_hold = format!("[[phase]]\nname = \"must hold\"\nduration = \"3s\"\n{SLOW_PAYMENT}");
    let d = drill("run", &drill_text(&demo, 20, &must_hold, breach_step), &[]);
    assert_eq!(d.run.status, 1, "{}", d.run.describe());
    let ran = d.journal().into_iter().filter(|r| r["type"] == "contingency").collect::<Vec<_>>();
    assert_eq!(ran.len(), 1, "{ran:#?}");
    let output = ran[0]["output"].as_str().unwrap();
    assert!(output.starts_with("breach: phase 'must hold' broke"), "{output}");
    assert_eq!(d.expectation("contingency step 'open an incident' (on breach) succeeds")["held"], true);
    assert!(demo.armed().is_empty());
}

#[test]
fn two_runs_of_a_drill_are_compared_and_the_faster_recovery_shows() {
    let _serial = serial();
    let demo = Demo::start();
    // The first run overloads the service (400 ms payments at 40/s: a queue builds up that
    // takes seconds to drain), the second barely (100 ms at 10/s).
    let first: DrillRun = drill("run", &drill_text(&demo, 40, &slow_then_recovery("400ms", 3, "1s"), ""), &[]);
    let second: DrillRun = drill("run", &drill_text(&demo, 10, &slow_then_recovery("100ms", 3, "1s"), ""), &[]);
    let (a, b) = (first.summary(), second.summary());
    assert_eq!(a["drill_id"], "drill");
    let (ttr_a, ttr_b) = (a["time_to_recover_ms"].as_f64().unwrap(), b["time_to_recover_ms"].as_f64().unwrap());
    assert!(ttr_b < ttr_a, "the second run recovered faster: {ttr_b} vs {ttr_a} ms");
    let finding = first.expectation("recovery within 1s");
    assert_eq!(finding["held"], false, "{a:#}");
    assert_eq!(second.expectation("recovery within 1s")["held"], true, "{b:#}");

    let mut cmd = Command::new(artifacts().join("faultline"));
    cmd.args(["drill", "report"]).arg(&second.dir).arg("--compare").arg(&first.dir);
    let report = run_with_timeout(cmd, Duration::from_secs(30));
    assert_eq!(report.status, 0, "{}", report.describe());
    let html = std::fs::read_to_string(second.dir.join("report.html")).unwrap();
    let review = &html[html.find("Review across runs").expect("a review section")..];
    assert!(review.contains(a["started"].as_str().unwrap()) && review.contains(b["started"].as_str().unwrap()));
    assert!(
        review.contains(&format!("{:.1} s", ttr_a / 1000.0)) && review.contains(&format!("{:.1} s", ttr_b / 1000.0))
    );
    assert!(review.contains("<svg"), "a trend plot");
    let gone = &review[review.find(">gone<").unwrap()..review.find(">remain<").unwrap()];
    assert!(gone.contains(finding["id"].as_str().unwrap()) && gone.contains("recovery within 1s"), "{gone}");

    // Another drill's run is not compared.
    let other = drill(
        "run",
        &drill_text(&demo, 10, &slow_then_recovery("100ms", 2, "3s"), "").replace("lifecycle", "other"),
        &[],
    );
    let renamed = other.dir.with_file_name("renamed");
    std::fs::create_dir_all(&renamed).unwrap();
    let records = std::fs::read_to_string(other.dir.join("journal.jsonl")).unwrap().replace("drill.toml", "other.toml");
    std::fs::write(renamed.join("journal.jsonl"), records).unwrap();
    let mut cmd = Command::new(artifacts().join("faultline"));
    cmd.args(["drill", "report"]).arg(&second.dir).arg("--compare").arg(&renamed);
    let refused = run_with_timeout(cmd, Duration::from_secs(30));
    assert_eq!(refused.status, 1, "{}", refused.describe());
    assert!(refused.stderr.contains("a run of drill 'other', not of 'drill'"), "{}", refused.describe());
    assert!(demo.armed().is_empty());
}
