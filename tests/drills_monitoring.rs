//! Drills that verify real monitoring: Debian's Prometheus scrapes the demo service's
//! `/metrics` every second and evaluates alert rules, Debian's Alertmanager receives the
//! alerts, and `[[alarm]]`s read both. Also: monitoring that cannot be read is refused before
//! anything is injected, and load and probes over https (a self-signed certificate made by
//! the JDK's keytool, trusted with `ca` or with `insecure = true`).

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::demo::{Demo, SLOW_PAYMENT};
use common::drill::drill;
use common::*;
use serde_json::Value;

/// One drill at a time: their latency figures are not distorted by each other.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// A plain GET on loopback: (status, body).
fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status = out.split(' ').nth(1)?.parse().ok()?;
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Some((status, body))
}

/// The alert rules Prometheus evaluates every second: checkout's p99 over 200 ms, at once
/// (`CheckoutSlow`) and only when sustained for ten minutes (`CheckoutSlowSustained`, which
/// no short drill can see fire).
const RULES: &str = r#"groups:
  - name: demo
    interval: 1s
    rules:
      - alert: CheckoutSlow
        expr: histogram_quantile(0.99, sum by (le) (rate(demo_request_duration_seconds_bucket{path="/checkout"}[4s]))) > 0.2
        labels:
          service: checkout
      - alert: CheckoutSlowSustained
        expr: histogram_quantile(0.99, sum by (le) (rate(demo_request_duration_seconds_bucket{path="/checkout"}[4s]))) > 0.2
        for: 10m
        labels:
          service: checkout
"#;

/// Query of the Prometheus alarm: the same condition as the rule.
const SLOW_QUERY: &str =
    r#"histogram_quantile(0.99, sum by (le) (rate(demo_request_duration_seconds_bucket{path="/checkout"}[4s]))) > 0.2"#;

/// Prometheus and Alertmanager on free loopback ports, with their data in a scratch
/// directory; both killed on drop.
struct Monitoring {
    prometheus: Child,
    alertmanager: Child,
    prometheus_port: u16,
    alertmanager_port: u16,
    _scratch: Scratch,
}

impl Monitoring {
    fn start(demo_port: u16) -> Monitoring {
        let scratch = Scratch::new("monitoring");
        let (prometheus_port, alertmanager_port) = (free_port(), free_port());
        let am_config = scratch.write(
            "alertmanager.yml",
            "route:\n  receiver: nobody\n  group_wait: 0s\n  group_interval: 1s\nreceivers:\n  - name: nobody\n",
        );
        let alertmanager = Command::new("prometheus-alertmanager")
            .arg(format!("--config.file={}", am_config.display()))
            .arg(format!("--storage.path={}", scratch.path("am-data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{alertmanager_port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus-alertmanager (Debian package prometheus-alertmanager)");
        let rules = scratch.write("rules.yml", RULES);
        let config = scratch.write(
            "prometheus.yml",
            &format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
                 rule_files:\n  - {rules}\n\
                 alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['127.0.0.1:{alertmanager_port}']\n\
                 scrape_configs:\n  - job_name: demo\n    static_configs:\n      - targets: ['127.0.0.1:{demo_port}']\n",
                rules = rules.display()
            ),
        );
        let prometheus = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", scratch.path("prom-data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{prometheus_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus (Debian package prometheus)");
        let m = Monitoring { prometheus, alertmanager, prometheus_port, alertmanager_port, _scratch: scratch };
        for (port, what) in [(prometheus_port, "Prometheus"), (alertmanager_port, "Alertmanager")] {
            let deadline = Instant::now() + Duration::from_secs(30);
            while http_get(port, "/-/ready").map(|(s, _)| s) != Some(200) {
                assert!(Instant::now() < deadline, "{what} did not become ready");
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        // The demo scraped at least once, so that the queries have series to work on.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let up = http_get(prometheus_port, "/api/v1/query?query=up%7Bjob%3D%22demo%22%7D%3D%3D1")
                .and_then(|(_, body)| serde_json::from_str::<Value>(&body).ok())
                .is_some_and(|v| v["data"]["result"].as_array().is_some_and(|r| !r.is_empty()));
            if up {
                break;
            }
            assert!(Instant::now() < deadline, "Prometheus never scraped the demo's /metrics");
            std::thread::sleep(Duration::from_millis(250));
        }
        m
    }

    fn prometheus(&self) -> String {
        format!("http://127.0.0.1:{}", self.prometheus_port)
    }

    fn alertmanager(&self) -> String {
        format!("http://127.0.0.1:{}", self.alertmanager_port)
    }
}

impl Drop for Monitoring {
    fn drop(&mut self) {
        for child in [&mut self.prometheus, &mut self.alertmanager] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A drill against `demo`: baseline, 8 s of slow payments, then a recovery; `alarms` TOML.
fn drill_text(demo: &Demo, alarms: &str, extra_load: &str) -> String {
    format!(
        r#"name = "monitoring sees slow checkouts"
targets = ["{pid}"]

[load]
url = "{load}"
rate = 8
timeout = "2s"
{extra_load}

[steady_state]
every = "100ms"
window = "1s"
max_error_rate = 0.01
max_p99 = "150ms"

{alarms}

[[phase]]
name = "baseline"
duration = "3s"

[[phase]]
name = "slow payment"
duration = "8s"
expect = "degraded"
{SLOW_PAYMENT}

[[phase]]
name = "recovery"
duration = "3s"
recover_within = "3s"
"#,
        pid = demo.pid(),
        load = demo.url("/checkout"),
    )
}

fn alarm_toml(name: &str, source: &str, expect_within: &str, clear_within: &str) -> String {
    format!(
        "[[alarm]]\nname = \"{name}\"\n{source}\nevery = \"500ms\"\nexpect_within = \"{expect_within}\"\n\
         expect_clear_within = \"{clear_within}\"\n"
    )
}

#[test]
fn real_prometheus_and_alertmanager_alarms_fire_in_time_and_clear_after_recovery() {
    let _serial = serial();
    let demo = Demo::start();
    let monitoring = Monitoring::start(demo.port);
    let alarms = [
        alarm_toml(
            "p99 query",
            &format!("prometheus = \"{}\"\nquery = '{SLOW_QUERY}'", monitoring.prometheus()),
            "6s",
            "15s",
        ),
        alarm_toml(
            "checkout slow alert",
            &format!(
                "alertmanager = \"{}\"\nalert = \"CheckoutSlow\"\nlabels = {{ service = \"checkout\" }}",
                monitoring.alertmanager()
            ),
            "7s",
            "20s",
        ),
    ]
    .join("\n");
    let text = drill_text(&demo, &alarms, "");

    let check = drill("check", &text, &[]);
    assert_eq!(check.run.status, 0, "{}", check.run.describe());
    assert!(check.run.stdout.contains("Alertmanager http://127.0.0.1"), "{}", check.run.describe());
    assert!(check.run.stdout.contains("answers, not firing now"), "{}", check.run.describe());

    let d = drill("run", &text, &[]);
    let s = d.summary();
    assert_eq!(d.run.status, 0, "{}\n{s:#}", d.run.describe());
    for name in ["p99 query", "checkout slow alert"] {
        let a = d.alarm(name);
        assert_eq!(a["fired"], true, "{a}");
        assert_eq!(a["in_time"], true, "{a}");
        assert_eq!(a["cleared"], true, "{a}");
        assert_eq!(a["cleared_in_time"], true, "{a}");
        // Prometheus' rate window is 4 s: the alarm cannot clear the instant the fault goes.
        let cleared = a["cleared_after_ms"].as_f64().unwrap();
        assert!(cleared > 500.0, "cleared {cleared} ms after the fault was removed: {a}");
        assert_eq!(d.expectation(&format!("alarm '{name}' clears within"))["held"], true);
    }
    // The query's alarm sees what the rule sees, and Alertmanager hears of it after Prometheus.
    let query = d.alarm("p99 query")["first_fired_after_ms"].as_f64().unwrap();
    let alert = d.alarm("checkout slow alert")["first_fired_after_ms"].as_f64().unwrap();
    assert!(alert + 1500.0 >= query, "alert {alert} ms, query {query} ms");
    // The recovery phase (3 s) is shorter than Prometheus' rate window (4 s): the drill waited
    // for the alarms to clear after its last phase, and says so.
    let journal = std::fs::read_to_string(d.dir.join("journal.jsonl")).unwrap();
    assert!(journal.contains("\"type\":\"alarm_wait\""), "{}", d.run.describe());
    assert!(d.run.stdout.contains("to stop firing"), "{}", d.run.describe());
    let report = std::fs::read_to_string(d.dir.join("report.html")).unwrap();
    assert!(report.contains("alarm cleared"), "the timeline marks the clearing");
    assert!(report.contains("cleared after the last fault removed"));
    assert!(demo.armed().is_empty());
}

#[test]
fn an_alert_rule_that_cannot_fire_in_time_and_an_alarm_that_never_clears_are_findings() {
    let _serial = serial();
    let demo = Demo::start();
    let monitoring = Monitoring::start(demo.port);
    let alarms = [
        alarm_toml(
            "sustained alert",
            &format!("alertmanager = \"{}\"\nalert = \"CheckoutSlowSustained\"", monitoring.alertmanager()),
            "7s",
            "10s",
        ),
        // Fires as soon as the demo has served one checkout, and never stops: a broken alarm.
        alarm_toml(
            "stuck query",
            &format!(
                "prometheus = \"{}\"\nquery = 'demo_requests_total{{path=\"/checkout\",outcome=\"ok\"}} > 0'",
                monitoring.prometheus()
            ),
            "7s",
            "2s",
        ),
    ]
    .join("\n");
    let d = drill("run", &drill_text(&demo, &alarms, ""), &[]);
    let s = d.summary();
    assert_eq!(d.run.status, 1, "{}\n{s:#}", d.run.describe());
    let sustained = d.alarm("sustained alert");
    assert_eq!(sustained["fired"], false, "{sustained}");
    assert_eq!(d.expectation("alarm 'sustained alert' fires within")["held"], false);
    let stuck = d.alarm("stuck query");
    assert_eq!(stuck["cleared"], false, "{stuck}");
    let e = d.expectation("alarm 'stuck query' clears within");
    assert_eq!(e["held"], false, "{e}");
    assert!(e["detail"].as_str().unwrap().contains("still firing"), "{e}");
    let early = d.expectation("alarm 'stuck query' fires within");
    assert!(early["detail"].as_str().unwrap().contains("already firing before any fault"), "{early}");
    let report = std::fs::read_to_string(d.dir.join("report.html")).unwrap();
    assert!(report.contains("still firing at the end"), "the alarm table says so");
    assert!(demo.armed().is_empty());
}

#[test]
fn monitoring_that_cannot_be_read_is_refused_before_anything_is_injected() {
    let _serial = serial();
    let demo = Demo::start();
    let monitoring = Monitoring::start(demo.port);
    let closed = free_port();
    let cases = [
        (format!("prometheus = \"http://127.0.0.1:{closed}\"\nquery = 'up'"), "Prometheus at http://127.0.0.1"),
        (format!("alertmanager = \"http://127.0.0.1:{closed}\"\nalert = \"X\""), "Alertmanager at http://127.0.0.1"),
        (format!("prometheus = \"{}\"\nquery = 'rate(up[5s'", monitoring.prometheus()), "rejected the query"),
        // Alertmanager where Prometheus is expected: an answer that is not a query result.
        (format!("prometheus = \"{}\"\nquery = 'up'", monitoring.alertmanager()), "Prometheus"),
    ];
    for (source, needle) in &cases {
        let text = drill_text(&demo, &alarm_toml("a", source, "5s", "5s"), "");
        for verb in ["check", "run"] {
            let d = drill(verb, &text, &[]);
            assert_eq!(d.run.status, 1, "{verb} {source}: {}", d.run.describe());
            assert!(d.run.stderr.contains(needle), "{verb} {source}: {}", d.run.describe());
            assert!(d.run.stderr.contains("alarm 'a'"), "{}", d.run.describe());
            assert!(!d.dir.join("journal.jsonl").exists(), "nothing ran");
            assert!(demo.armed().is_empty());
        }
    }
}

#[test]
fn load_and_probes_speak_https_with_a_ca_or_insecure() {
    let _serial = serial();
    let scratch = Scratch::new("tls");
    let (store, pem) = faultline_bench::self_signed_keystore(&scratch.path(""), "demo").expect("a keystore");
    let demo = Demo::start_with(&["--tls-keystore", store.to_str().unwrap(), "--tls-password", "changeit"]);
    assert!(demo.url("/health").starts_with("https://"));
    let probe = format!("url = \"{}\"", demo.url("/health"));
    let text = |load_trust: &str, probe_trust: &str| {
        drill_text(&demo, "", load_trust)
            .replace("[steady_state]\n", &format!("[steady_state]\n{probe}\n{probe_trust}\n"))
    };

    // Untrusted: the service is refused, with the TLS reason, before anything is injected.
    let d = drill("check", &text("", ""), &[]);
    assert_eq!(d.run.status, 1, "{}", d.run.describe());
    assert!(d.run.stdout.to_lowercase().contains("certificate"), "{}", d.run.describe());

    // Trusted through `ca` (the file next to the drill) for the load, `insecure` for the probe.
    let trusted = text("ca = \"demo.pem\"", "insecure = true");
    let d = drill("check", &trusted, &[("demo.pem", &pem)]);
    assert_eq!(d.run.status, 0, "{}", d.run.describe());
    let d = drill("run", &trusted, &[("demo.pem", &pem)]);
    let s = d.summary();
    assert_eq!(d.run.status, 0, "{}\n{s:#}", d.run.describe());
    let requests = s["phases"][0]["requests"].as_u64().unwrap();
    assert!(requests >= 15, "baseline over https: {s:#}");
    assert!(s["phases"][1]["injections"].as_u64().unwrap() > 10, "{s:#}");
    let journal = std::fs::read_to_string(d.dir.join("journal.jsonl")).unwrap();
    let probes = journal.lines().filter(|l| l.contains("\"src\":\"probe\"") && l.contains("\"status\":200")).count();
    assert!(probes > 50, "the probe answered over https {probes} times");
    assert!(demo.armed().is_empty());
}
