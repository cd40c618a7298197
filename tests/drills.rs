//! `faultline drill` against the real demo service (a JVM serving HTTP on a free loopback
//! port): verdicts, time to detect and recover, alarms, Ctrl-C, a baseline that does not
//! hold, and bad drill files. Drills run one at a time so that their latency figures are not
//! distorted by each other on a small machine.

mod common;

use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::demo::{Demo, SLOW_PAYMENT};
use common::drill::{journal, records, run_drill};
use common::*;
use serde_json::Value;

/// One drill at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// A drill file against `demo`: a fast baseline, then `phases` (TOML text).
fn drill_text(demo: &Demo, name: &str, steady: &str, phases: &str) -> String {
    format!(
        r#"name = "{name}"
objective = "test drill"
targets = ["{pid}"]

[load]
url = "{load}"
rate = 40
timeout = "2s"

[steady_state]
url = "{health}"
every = "100ms"
window = "1s"
{steady}

[[phase]]
name = "baseline"
duration = "2500ms"
{phases}
"#,
        pid = demo.pid(),
        load = demo.url("/checkout"),
        health = demo.url("/health"),
    )
}

const HYPOTHESIS: &str = "max_error_rate = 0.01\nmax_p99 = \"150ms\"";

#[test]
fn broken_hypothesis_exits_1_with_the_breach_detected_shortly_after_the_fault() {
    let _serial = serial();
    let demo = Demo::start();
    let phases = format!("[[phase]]\nname = \"slow payment\"\nduration = \"3s\"\n{SLOW_PAYMENT}");
    let d = run_drill(&drill_text(&demo, "breaks", HYPOTHESIS, &phases));
    assert_eq!(d.run.status, 1, "{}", d.run.describe());
    let s = d.summary();
    assert_eq!(s["passed"], false);
    assert_eq!(s["aborted"], false);
    let ttd = s["time_to_detect_ms"].as_f64().unwrap_or_else(|| panic!("no time to detect: {s:#}"));
    assert!(ttd <= 1500.0, "breach detected {ttd} ms after the fault: {s:#}");
    let e = d.expectation("steady state during 'slow payment'");
    assert_eq!(e["held"], false, "{e}");
    assert!(e["detail"].as_str().unwrap().contains("p99"), "{e}");
    assert!(d.expectation("steady state before any fault")["held"] == true, "{s:#}");
    assert!(s["phases"][1]["injections"].as_u64().unwrap() > 10, "{s:#}");
    assert!(d.run.stdout.contains("verdict: FAILED"), "{}", d.run.describe());
    assert!(demo.armed().is_empty());
}

#[test]
fn degraded_then_recovered_drill_passes_with_its_time_to_recover() {
    let _serial = serial();
    let demo = Demo::start();
    let phases = format!(
        "[[phase]]\nname = \"slow payment\"\nduration = \"3s\"\nexpect = \"degraded\"\n{SLOW_PAYMENT}\n\
         [[phase]]\nname = \"recovery\"\nduration = \"4s\"\nrecover_within = \"2500ms\"\n"
    );
    let d = run_drill(&drill_text(&demo, "recovers", HYPOTHESIS, &phases));
    assert_eq!(d.run.status, 0, "{}\n{:#}", d.run.describe(), d.summary());
    let s = d.summary();
    assert_eq!(s["passed"], true);
    let ttr = s["time_to_recover_ms"].as_f64().unwrap_or_else(|| panic!("no time to recover: {s:#}"));
    assert!(ttr > 0.0 && ttr <= 2500.0, "{s:#}");
    assert!(s["time_to_detect_ms"].as_f64().is_some(), "the slow phase broke the hypothesis: {s:#}");
    let e = d.expectation("recovery within");
    assert_eq!(e["held"], true);
    assert!(e["detail"].as_str().unwrap().contains("after the faults were removed"), "{e}");
    let phases = s["phases"].as_array().unwrap();
    assert_eq!(phases.len(), 3);
    assert_eq!(phases[1]["held"], false);
    assert!(phases[1]["p99_ms"].as_f64().unwrap() >= 400.0, "{s:#}");
    assert!(phases[2]["p50_ms"].as_f64().unwrap() < 100.0, "{s:#}");
    // The journal has every boundary and the faults armed and removed.
    let j = d.journal();
    assert_eq!(records(&j, "phase_start").len(), 3);
    assert_eq!(records(&j, "phase_end").len(), 3);
    assert_eq!(records(&j, "fault_armed").len(), 1);
    assert_eq!(records(&j, "fault_removed")[0]["faults"][0], "slow-pay");
    assert!(records(&j, "agent_event").iter().any(|r| r["event"]["kind"] == "latency"));
    assert!(!records(&j, "window").is_empty());
    assert!(d.run.stdout.contains("report: "), "{}", d.run.stdout);
    // The report is self-contained and re-renders from the journal alone.
    let html = std::fs::read_to_string(d.dir.join("report.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("Acceptance and sign-off"), "{html}");
    // Every request says how late the generator sent it, and the summary and the report count
    // the late ones from there.
    let late: Vec<f64> = records(&j, "request")
        .iter()
        .map(|r| r["late_ms"].as_f64().unwrap_or_else(|| panic!("a request without late_ms: {r}")))
        .collect();
    assert!(!late.is_empty() && late.iter().all(|&x| x >= 0.0), "{late:?}");
    let over = late.iter().filter(|&&x| x > 1.0).count();
    assert_eq!(s["generator"]["late_over_1ms"], over, "{s:#}");
    assert_eq!(s["generator"]["fell_behind"], over * 100 > late.len(), "{s:#}");
    assert!(html.contains("The load generator"), "{html}");
    for fetch in ["<script src", "<link", "<img", "url(http", "@import"] {
        assert!(!html.contains(fetch), "the report must not fetch anything: {fetch}");
    }
    std::fs::remove_file(d.dir.join("report.html")).unwrap();
    std::fs::remove_file(d.dir.join("summary.json")).unwrap();
    let again = faultline(&["drill", "report", d.dir.to_str().unwrap()]);
    assert_eq!(again.status, 0, "{}", again.describe());
    assert_eq!(d.summary(), s);
    assert!(d.dir.join("report.html").exists());
}

/// Inline faults of a drill take the whole vocabulary: a return fault with a condition makes
/// the warehouse refuse widgets, and a fault at exit fails gizmo saves after they committed.
#[test]
fn a_drill_phase_with_conditions_a_return_fault_and_an_exit_fault() {
    let _serial = serial();
    let demo = Demo::start();
    let phases = r#"
[[phase]]
name = "widgets and gizmos fail"
duration = "3s"
expect = "degraded"

[[phase.fault]]
id = "no-widgets"
kind = "return"
target = "com.acme.Inventory+#reserve"
when = "arg0 == 'widget'"
value = false

[[phase.fault]]
id = "lost-gizmo-saves"
kind = "exception"
target = "com.acme.OrderRepository#save"
at = "exit"
when = "arg0.item == 'gizmo'"
throw = "java.lang.IllegalStateException"

[[phase]]
name = "recovery"
duration = "3s"
recover_within = "2500ms"
"#;
    let d = run_drill(&drill_text(&demo, "vocabulary", HYPOTHESIS, phases));
    assert_eq!(d.run.status, 0, "{}\n{:#}", d.run.describe(), d.summary());
    let s = d.summary();
    let faulty = &s["phases"][1];
    assert_eq!(faulty["held"], false, "{s:#}");
    // Items cycle widget, gadget, gizmo, sprocket: half the orders fail.
    let error_rate = faulty["error_rate"].as_f64().unwrap();
    assert!((0.35..=0.65).contains(&error_rate), "error rate {error_rate}: {s:#}");
    assert!(faulty["injections"].as_u64().unwrap() > 20, "{s:#}");
    let j = d.journal();
    let events = records(&j, "agent_event");
    let returned = events.iter().find(|r| r["event"]["kind"] == "return").expect("a return event");
    assert_eq!(returned["event"]["returned"], "false", "{returned}");
    let at_exit = events.iter().find(|r| r["event"]["kind"] == "exception").expect("an exception event");
    assert_eq!(at_exit["event"]["at"], "exit", "{at_exit}");
    assert!(events
        .iter()
        .filter(|r| r["event"]["kind"] == "return")
        .all(|r| r["event"]["method"].as_str().is_some_and(|m| m.contains("#reserve(Ljava/lang/String;I)Z"))));
    assert!(demo.armed().is_empty());
}

#[test]
fn a_drill_phase_with_a_preset_answers_requests_and_the_report_names_them() {
    let _serial = serial();
    let demo = Demo::start();
    let phases = r#"
[[phase]]
name = "the edge sheds checkouts"
duration = "3s"
expect = "degraded"

[[phase.fault]]
id = "shed-checkout"
kind = "respond"
preset = "http-server"
path = "/checkout*"
status = 503
probability = 0.5

[[phase]]
name = "recovery"
duration = "3s"
recover_within = "2500ms"
"#;
    let d = run_drill(&drill_text(&demo, "presets", HYPOTHESIS, phases));
    assert_eq!(d.run.status, 0, "{}\n{:#}", d.run.describe(), d.summary());
    let s = d.summary();
    let faulty = &s["phases"][1];
    let error_rate = faulty["error_rate"].as_f64().unwrap();
    assert!((0.3..=0.7).contains(&error_rate), "half the checkouts answered 503: {error_rate}: {s:#}");
    assert_eq!(s["phases"][2]["held"], true, "{s:#}");
    let journal = d.journal();
    let events = records(&journal, "agent_event");
    let answered: Vec<&Value> = events.into_iter().filter(|r| r["event"]["kind"] == "respond").collect();
    assert!(answered.len() > 10, "{}", answered.len());
    assert!(answered.iter().all(|r| r["event"]["preset"] == "http-server"
        && r["event"]["matched"].as_str().is_some_and(|m| m.starts_with("GET /checkout"))
        && r["event"]["status"] == 503));
    let html = std::fs::read_to_string(d.dir.join("report.html")).unwrap();
    assert!(
        html.contains("what it hit") && html.contains("<code>GET /checkout</code>") && html.contains("answered 503"),
        "the report names the requests the preset answered"
    );
    assert!(demo.armed().is_empty());
}

#[test]
fn alarm_fired_in_time_and_alarm_that_never_fires_are_both_reported() {
    let _serial = serial();
    let demo = Demo::start();
    // A synthetic-checkout monitor: firing while a checkout takes more than 200 ms.
    let monitor = format!(
        "import time,urllib.request,sys\nt=time.time()\ntry:\n urllib.request.urlopen('{}',timeout=1).read()\nexcept Exception:\n sys.exit(0)\nsys.exit(0 if time.time()-t>0.2 else 1)",
        demo.url("/checkout")
    );
    let phases = format!(
        "[[phase]]\nname = \"slow payment\"\nduration = \"4s\"\nexpect = \"degraded\"\n{SLOW_PAYMENT}\n\
         [[phase]]\nname = \"recovery\"\nduration = \"2s\"\n\n\
         [[alarm]]\nname = \"checkout latency monitor\"\ncommand = [\"python3\", \"-c\", {monitor:?}]\nevery = \"300ms\"\nexpect_within = \"3s\"\n\n\
         [[alarm]]\nname = \"silent pager\"\ncommand = [\"false\"]\nevery = \"500ms\"\nexpect_within = \"3s\"\n"
    );
    let d = run_drill(&drill_text(&demo, "alarms", HYPOTHESIS, &phases));
    assert_eq!(d.run.status, 1, "{}", d.run.describe());
    let s = d.summary();
    let alarms = s["alarms"].as_array().unwrap();
    assert_eq!(alarms[0]["name"], "checkout latency monitor");
    assert_eq!(alarms[0]["fired"], true, "{s:#}");
    assert_eq!(alarms[0]["in_time"], true, "{s:#}");
    assert!(alarms[0]["first_fired_after_ms"].as_f64().unwrap() <= 3000.0);
    assert_eq!(alarms[1]["fired"], false, "{s:#}");
    assert_eq!(alarms[1]["in_time"], false, "{s:#}");
    assert!(alarms[1]["first_fired_after_ms"].is_null());
    assert_eq!(d.expectation("alarm 'checkout latency monitor'")["held"], true);
    let silent = d.expectation("alarm 'silent pager'");
    assert_eq!(silent["held"], false);
    assert!(silent["detail"].as_str().unwrap().contains("never fired"), "{silent}");
    assert!(records(&d.journal(), "alarm").iter().any(|r| r["firing"] == true));
}

#[test]
fn ctrl_c_during_a_fault_phase_removes_every_fault_and_the_journal_says_so() {
    let _serial = serial();
    let demo = Demo::start();
    let phases =
        format!("[[phase]]\nname = \"long slow payment\"\nduration = \"60s\"\nexpect = \"degraded\"\n{SLOW_PAYMENT}");
    let scratch = Scratch::new("drill-int");
    let file = scratch.write("drill.toml", &drill_text(&demo, "interrupted", HYPOTHESIS, &phases));
    let dir = scratch.path("out");
    let mut child = Command::new(artifacts().join("faultline"))
        .args(["drill", "run"])
        .arg(&file)
        .arg("--out")
        .arg(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(dir.join("journal.jsonl")).unwrap_or_default().contains("\"fault_armed\"") {
        assert!(Instant::now() < deadline, "the fault was never armed");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(demo.armed().len(), 1, "the fault is armed during the phase");
    assert!(demo.get("/checkout").1 >= 350.0, "the service is slow under the fault");
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the CLI did not exit after SIGINT");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(1));
    assert!(demo.armed().is_empty(), "no fault left behind");
    let (code, ms) = demo.get("/checkout");
    assert_eq!(code, 200);
    assert!(ms < 200.0, "the service is fast again: {ms} ms");
    let j = journal(&dir);
    let stop = records(&j, "stop");
    assert_eq!(stop[0]["reason"], "interrupted by SIGINT", "{stop:?}");
    let removed = records(&j, "fault_removed");
    assert_eq!(removed[0]["faults"][0], "slow-pay");
    assert_eq!(removed[0]["reason"], "interrupted by SIGINT");
    let cleanup = records(&j, "cleanup");
    assert_eq!(cleanup[0]["verified"], true, "{cleanup:?}");
    assert!(cleanup[0]["faults_left"].as_array().unwrap().is_empty());
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["passed"], false);
    assert_eq!(summary["aborted"], true);
}

#[test]
fn baseline_that_does_not_hold_injects_nothing() {
    let _serial = serial();
    let demo = Demo::start();
    let phases = format!("[[phase]]\nname = \"slow payment\"\nduration = \"3s\"\n{SLOW_PAYMENT}");
    // /nope answers 404: every request fails, the service is "not steady" before we touch it.
    let text = drill_text(&demo, "unsteady", HYPOTHESIS, &phases).replace(&demo.url("/checkout"), &demo.url("/nope"));
    let d = run_drill(&text);
    assert_eq!(d.run.status, 1, "{}", d.run.describe());
    let j = d.journal();
    assert!(records(&j, "fault_armed").is_empty(), "nothing is injected");
    assert_eq!(records(&j, "baseline")[0]["held"], false);
    assert!(records(&j, "agent_event").is_empty());
    let e = d.expectation("steady state before any fault");
    assert_eq!(e["held"], false);
    assert!(e["detail"].as_str().unwrap().contains("nothing was injected"), "{e}");
    assert_eq!(d.summary()["aborted"], true);
    assert!(demo.armed().is_empty());
}

#[test]
fn drill_check_shows_the_blast_radius_without_leaving_a_fault() {
    let _serial = serial();
    let demo = Demo::start();
    let phases = format!(
        "[[phase]]\nname = \"slow payment\"\nduration = \"3s\"\n{SLOW_PAYMENT}\n\
         [[phase.fault]]\nid = \"typo\"\nkind = \"latency\"\ntarget = \"com.acme.NoSuchClass#run\"\ndelay = \"1ms\"\n\n\
         [[phase]]\nname = \"orders pool full\"\nduration = \"3s\"\n\
         [[phase.fault]]\nid = \"orders-full\"\nkind = \"pool\"\npool = \"orders-*\"\nmode = \"reject\"\n"
    );
    let scratch = Scratch::new("drill-check");
    let file = scratch.write("drill.toml", &drill_text(&demo, "check", HYPOTHESIS, &phases));
    let run = faultline(&["drill", "check", file.to_str().unwrap()]);
    assert_eq!(run.status, 0, "{}", run.describe());
    assert!(run.stdout.contains("com.acme.PaymentClient#charge(J)Ljava/lang/String;"), "{}", run.stdout);
    assert!(run.stdout.contains("warning: matches no loaded method"), "{}", run.stdout);
    assert!(run.stdout.contains("probability 0"), "the output says how it measured: {}", run.stdout);
    assert!(run.stdout.contains("com.acme.OrderExecutor@"), "the pool it would exhaust: {}", run.stdout);
    assert!(run.stdout.contains("would be made to reject new tasks"), "{}", run.stdout);
    assert!(demo.armed().is_empty());
    let json = faultline(&["drill", "check", file.to_str().unwrap(), "--json"]);
    let v: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["phases"][1]["faults"][0]["jvms"][0]["method_count"], 1);
    let pool = &v["phases"][2]["faults"][0];
    assert_eq!(pool["jvms"][0]["pool_count"], 1, "{pool}");
    assert_eq!(pool["jvms"][0]["pools"][0]["workers"], 4, "{pool}");
    assert_eq!(v["warnings"], 1);
    // A check touches no pool: the agent never armed the pool fault, so nothing was exhausted.
    let events = faultline(&["events", &demo.pid(), "--json"]);
    assert_eq!(events.status, 0, "{}", events.describe());
    assert!(!events.stdout.contains("orders-full"), "the pool fault was armed by a check: {}", events.stdout);
    let threads = std::fs::read_dir(format!("/proc/{}/task", demo.pid()))
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("faultline-pool"))
        .count();
    assert_eq!(threads, 0, "no pool scanner thread was started");
}

#[test]
fn a_pool_phase_is_journaled_and_reported_as_pools_exhausted() {
    let _serial = serial();
    let demo = Demo::start();
    let phases = "[[phase]]\nname = \"orders pool full\"\nduration = \"3s\"\nexpect = \"degraded\"\n\n\
                  [[phase.fault]]\nid = \"orders-full\"\nkind = \"pool\"\npool = \"orders-*\"\n";
    let d = run_drill(&drill_text(&demo, "pool", HYPOTHESIS, phases));
    assert!(matches!(d.run.status, 0 | 1), "{}", d.run.describe());
    let j = d.journal();
    let armed = records(&j, "fault_armed");
    assert_eq!(armed.len(), 1, "{armed:?}");
    assert_eq!(armed[0]["kind"], "pool");
    let pools = armed[0]["pools"].as_array().unwrap_or_else(|| panic!("no pools: {}", armed[0]));
    assert_eq!(pools.len(), 1, "{}", armed[0]);
    assert!(pools[0]["identity"].as_str().unwrap_or("").starts_with("com.acme.OrderExecutor@"), "{}", armed[0]);
    assert!(armed[0].get("method_count").is_none(), "a pool fault has no methods: {}", armed[0]);
    assert!(
        d.run.stdout.contains("armed 'orders-full' in JVM") && d.run.stdout.contains(": 1 pool"),
        "{}",
        d.run.stdout
    );
    let end = records(&j, "end");
    assert!(end[0]["injections"].as_u64().unwrap_or(0) >= 1, "the exhaustion counts as an injection: {}", end[0]);
    let html = std::fs::read_to_string(d.dir.join("report.html")).unwrap();
    assert!(html.contains("pools hit") && html.contains("com.acme.OrderExecutor@"), "report lists the pool");
    assert!(demo.armed().is_empty(), "nothing left armed");
}

#[test]
fn a_resource_phase_is_journaled_checked_and_released() {
    let _serial = serial();
    let demo = Demo::start();
    let phases = "[[phase]]\nname = \"noisy neighbour\"\nduration = \"3s\"\nexpect = \"degraded\"\n\n\
                  [[phase.fault]]\nid = \"burn\"\nkind = \"cpu\"\ncores = 1\nload = 0.5\n\n\
                  [[phase.fault]]\nid = \"leak\"\nkind = \"threads\"\ncount = 40\n";
    let text = drill_text(&demo, "resource", HYPOTHESIS, phases);
    // The check names the JVM as the blast radius and arms nothing.
    let dir = Scratch::new("resource-check");
    let file = dir.write("drill.toml", &text);
    let check = faultline(&["drill", "check", file.to_str().unwrap(), "--json"]);
    assert_eq!(check.status, 0, "{}", check.describe());
    let v: Value = serde_json::from_str(&check.stdout).expect("check JSON");
    let fault = &v["phases"][1]["faults"][0];
    assert_eq!(fault["jvms"][0]["resource"], "cpu 1 cores at load 0.5", "{fault}");
    assert!(fault["warning"].is_null(), "{fault}");
    assert!(demo.armed().is_empty(), "the check armed a resource fault");

    let d = run_drill(&text);
    assert!(matches!(d.run.status, 0 | 1), "{}", d.run.describe());
    let j = d.journal();
    let armed = records(&j, "fault_armed");
    assert_eq!(armed.len(), 2, "{armed:?}");
    assert_eq!(armed[0]["kind"], "cpu");
    assert_eq!(armed[0]["resource"], "cpu 1 cores at load 0.5", "{}", armed[0]);
    assert!(
        d.run.stdout.contains("armed 'leak' in JVM") && d.run.stdout.contains("the JVM as a whole"),
        "{}",
        d.run.stdout
    );
    let end = records(&j, "end");
    assert!(end[0]["injections"].as_u64().unwrap_or(0) >= 2, "reaching each target counts: {}", end[0]);
    let html = std::fs::read_to_string(d.dir.join("report.html")).unwrap();
    assert!(html.contains("the whole JVM: threads 40 waiting"), "the report names what the fault acts on");
    assert!(demo.armed().is_empty(), "nothing left armed");
    // The fault's own threads (busy and held ones), by the names the kernel knows them by.
    let threads: Vec<String> = std::fs::read_dir(format!("/proc/{}/task", demo.pid()))
        .map(|tasks| tasks.flatten().filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok()).collect())
        .unwrap_or_default();
    let left: Vec<&String> =
        threads.iter().filter(|c| c.starts_with("faultline-cpu") || c.starts_with("faultline-held")).collect();
    assert!(left.is_empty(), "the fault threads outlived the drill: {left:?}");
}

#[test]
fn bad_drill_files_are_refused_before_anything_is_injected() {
    let _serial = serial();
    let demo = Demo::start();
    let good = drill_text(
        &demo,
        "bad",
        HYPOTHESIS,
        &format!("[[phase]]\nname = \"slow payment\"\nduration = \"3s\"\n{SLOW_PAYMENT}"),
    );
    let scratch = Scratch::new("drill-bad");
    let mut not_a_jvm = Command::new("sleep").arg("60").spawn().unwrap();
    let not_a_jvm_pid = not_a_jvm.id().to_string();
    let cases: Vec<(&str, String, &str)> = vec![
        ("unknown key", good.replace("rate = 40", "rate = 40\nrps = 3"), "drill.toml:8: key 'load.rps': unknown key"),
        ("missing phase duration", good.replace("duration = \"3s\"\n", ""), "key 'phase.duration': missing"),
        (
            "scenario file missing",
            good.replace(SLOW_PAYMENT, "scenario = \"no-such.toml\"\n"),
            "key 'phase.scenario': no scenario file",
        ),
        (
            "not a running JVM",
            good.replace(&format!("[\"{}\"]", demo.pid()), &format!("[\"{not_a_jvm_pid}\"]")),
            "is not a JVM",
        ),
        (
            "no such JVM",
            good.replace(&format!("[\"{}\"]", demo.pid()), "[\"com.acme.NoSuchMain\"]"),
            "no JVM's main class",
        ),
        (
            "two targets, one JVM",
            good.replace(&format!("[\"{}\"]", demo.pid()), &format!("[\"{0}\", \"0{0}\"]", demo.pid())),
            "both resolve to JVM",
        ),
        (
            "alarm that cannot start",
            good.clone() + "\n[[alarm]]\nname = \"x\"\ncommand = [\"/no/such/pager\"]\nexpect_within = \"5s\"\n",
            "cannot be started",
        ),
        ("URL not http", good.replace(&demo.url("/health"), "ftp://127.0.0.1/health"), "key 'steady_state.url'"),
        ("bad inline fault", good.replace("delay = \"400ms\"", "delay = \"fast\""), "key 'delay': invalid duration"),
    ];
    for (what, text, needle) in cases {
        let file = scratch.write("drill.toml", &text);
        for verb in ["run", "check"] {
            let run =
                faultline(&["drill", verb, file.to_str().unwrap(), "--out", scratch.path("out").to_str().unwrap()]);
            let run = if verb == "check" { faultline(&["drill", verb, file.to_str().unwrap()]) } else { run };
            assert_eq!(run.status, 1, "{what} ({verb}): {}", run.describe());
            assert!(run.stderr.contains(needle), "{what} ({verb}): expected {needle:?} in:\n{}", run.stderr);
            assert_eq!(run.stderr.lines().count(), 1, "{what}: one line:\n{}", run.stderr);
        }
        assert!(!scratch.path("out").join("journal.jsonl").exists(), "{what}: nothing ran");
    }
    let _ = not_a_jvm.kill();
    let _ = not_a_jvm.wait();
    assert!(demo.armed().is_empty());
    let usage = faultline(&["drill", "run"]);
    assert_eq!(usage.status, 2, "{}", usage.describe());
}

#[test]
fn drill_check_fails_when_the_load_url_does_not_answer_and_warns_of_an_alarm_already_firing() {
    let _serial = serial();
    let demo = Demo::start();
    // A loopback port where nothing listens: bound, then closed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dead = format!("http://127.0.0.1:{closed}/checkout");
    let phases = format!(
        "[[phase]]\nname = \"slow payment\"\nduration = \"3s\"\n{SLOW_PAYMENT}\n\
         [[alarm]]\nname = \"always on\"\ncommand = [\"true\"]\nexpect_within = \"3s\"\n"
    );
    let text = drill_text(&demo, "dead", HYPOTHESIS, &phases).replace(&demo.url("/checkout"), &dead);
    let scratch = Scratch::new("drill-check-dead");
    let file = scratch.write("drill.toml", &text);
    let run = faultline(&["drill", "check", file.to_str().unwrap()]);
    assert_eq!(run.status, 1, "{}", run.describe());
    assert_eq!(run.stderr.lines().count(), 1, "one line:\n{}", run.stderr);
    assert!(run.stderr.contains(&format!("load url {dead}")), "names the url: {}", run.stderr);
    assert!(run.stderr.to_lowercase().contains("connection refused"), "{}", run.stderr);
    assert!(!run.stderr.contains("/health"), "the steady-state url answers: {}", run.stderr);
    assert!(run.stdout.contains("would fire without a fault"), "{}", run.stdout);
    assert!(demo.armed().is_empty(), "nothing left armed");
    let json = faultline(&["drill", "check", file.to_str().unwrap(), "--json"]);
    assert_eq!(json.status, 1, "{}", json.describe());
    let v: Value = serde_json::from_str(&json.stdout).unwrap();
    let service = v["service"].as_array().unwrap();
    assert_eq!(service[0]["url"], dead.as_str(), "{v:#}");
    assert_eq!((service[0]["ok"].as_u64(), service[0]["errors"].as_u64()), (Some(0), Some(3)), "{v:#}");
    assert_eq!(service[1]["url"], demo.url("/health").as_str(), "{v:#}");
    assert_eq!(service[1]["errors"], 0, "{v:#}");
    assert_eq!(v["alarms"][0]["firing_now"], true);
    assert_eq!(v["warnings"], 1, "the alarm firing before any fault: {v:#}");
    assert!(demo.armed().is_empty(), "nothing left armed");
}
