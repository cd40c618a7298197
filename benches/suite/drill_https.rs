//! Row 13: what https costs a drill's figures. Two demo services (`faultline-demo.jar`, `serve`),
//! one plain HTTP and one HTTPS (a self-signed EC certificate made by the JDK's keytool, trusted
//! through the drill's `ca` key), each loaded by `faultline drill run` with a fault-free drill
//! (open-loop load of its `/health` at `FAULTLINE_SUITE_HTTPS_RATE` requests/s for
//! `FAULTLINE_SUITE_HTTPS_SECONDS`), interleaved http, https, http, https. The row is the p50
//! the drill measured over https minus over http in the same round (server and client TLS
//! together: what a team reading the report sees), and the share of the asked rate that the
//! https load kept. Absolute targets against the plain-HTTP baseline of the same run; no peer
//! (the other tools' drills do not generate load).
//!
//! The row's first line is what the drill's load generator itself adds to a latency figure:
//! before each round, the suite's own client sends the same number of GETs at the same pace
//! over one keep-alive socket to the plain service (blocking I/O, timed from its write to the
//! end of the answer); the line is the drill's http p50 minus that socket's p50.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use faultline_bench::{env_num, self_signed_keystore};
use serde_json::{json, Value};

use crate::harness::{fail, percentile, row, stat, write, Ctx};

/// A demo service, killed on drop.
pub(crate) struct Demo {
    pub(crate) child: Child,
    pub(crate) url: String,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn start_demo(java: &Path, jar: &Path, tls: Option<&Path>) -> Demo {
    let mut cmd = Command::new(java);
    cmd.arg("-Dsun.net.httpserver.nodelay=true").arg("-cp").arg(jar).args([
        "com.acme.DemoMain",
        "serve",
        "--port",
        "0",
    ]);
    if let Some(store) = tls {
        cmd.arg("--tls-keystore").arg(store).args(["--tls-password", "changeit"]);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| fail(&format!("row 13: cannot start the demo service: {e}")));
    let mut line = String::new();
    let stdout = child.stdout.take().unwrap_or_else(|| fail("row 13: no stdout from the demo"));
    let _ = BufReader::new(stdout).read_line(&mut line);
    let port = line
        .trim()
        .trim_end_matches(" (https)")
        .strip_prefix("listening on 127.0.0.1:")
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or_else(|| fail(&format!("row 13: unexpected first line from the demo: {line:?}")));
    let scheme = if tls.is_some() { "https" } else { "http" };
    // The health endpoint answers in microseconds: the transport's cost is not lost in the
    // order processing's own spread.
    Demo { child, url: format!("{scheme}://127.0.0.1:{port}/health") }
}

/// Times `count` GETs of the plain service's `url` over one keep-alive connection, one every
/// `period` (the drill's pace), each from its write to the end of its answer (ms): the round
/// trip without the drill's load generator, to see what the generator itself adds.
fn raw_round_trips(url: &str, count: u64, period: std::time::Duration) -> Result<Vec<f64>, String> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").ok_or_else(|| format!("not a plain http URL: {url}"))?;
    let (authority, path) = rest.split_once('/').ok_or_else(|| format!("no path in {url}"))?;
    let stream = std::net::TcpStream::connect(authority).map_err(|e| format!("connect {authority}: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(2))).map_err(|e| e.to_string())?;
    let mut writer = stream.try_clone().map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream);
    let request = format!("GET /{path} HTTP/1.1\r\nHost: {authority}\r\n\r\n");
    let start = std::time::Instant::now();
    let mut ms = Vec::new();
    for n in 0..count {
        let intended = start + period.mul_f64(n as f64);
        if let Some(wait) = intended.checked_duration_since(std::time::Instant::now()) {
            std::thread::sleep(wait);
        }
        let sent = std::time::Instant::now();
        writer.write_all(request.as_bytes()).map_err(|e| format!("write: {e}"))?;
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).map_err(|e| format!("read: {e}"))? == 0 {
                return Err("the service closed the connection".into());
            }
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().map_err(|_| format!("bad content-length: {line:?}"))?;
                }
            }
        }
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).map_err(|e| format!("read body: {e}"))?;
        ms.push(sent.elapsed().as_secs_f64() * 1e3);
    }
    Ok(ms)
}

/// Runs a fault-free drill against `url`; (p50 ms, p99 ms, requests, error rate).
fn drill(ctx: &Ctx, name: &str, url: &str, trust: &str, rate: u64, seconds: u64) -> (f64, f64, f64, f64) {
    let file = ctx.scratch.join(format!("{name}.toml"));
    write(
        &file,
        &format!(
            "name = \"suite row 13 {name}\"\n\n[load]\nurl = \"{url}\"\nrate = {rate}\ntimeout = \"2s\"\n{trust}\n\n\
             [steady_state]\nevery = \"100ms\"\nwindow = \"1s\"\nmax_error_rate = 0.5\n\n\
             [[phase]]\nname = \"load\"\nduration = \"{seconds}s\"\n"
        ),
    );
    let out_dir = ctx.scratch.join(format!("{name}-out"));
    let _ = std::fs::remove_dir_all(&out_dir);
    let out = Command::new(&ctx.cli)
        .args(["drill", "run"])
        .arg(&file)
        .arg("--out")
        .arg(&out_dir)
        .arg("--json")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .unwrap_or_else(|e| fail(&format!("row 13: cannot run faultline drill: {e}")));
    // Latencies from the journal (µs resolution), not the summary's rounded percentiles.
    let journal = std::fs::read_to_string(out_dir.join("journal.jsonl"))
        .unwrap_or_else(|e| fail(&format!("row 13: {name}: no journal ({e}; {})", out.status)));
    let (mut ms, mut errors) = (Vec::new(), 0usize);
    for record in journal.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()) {
        if record["type"] == "request" {
            ms.push(record["ms"].as_f64().unwrap_or(f64::NAN));
            errors += usize::from(record["ok"] != true);
        }
    }
    if ms.is_empty() {
        fail(&format!("row 13: {name}: no request in the journal"));
    }
    let n = ms.len() as f64;
    (percentile(&ms, 50.0), percentile(&ms, 99.0), n, errors as f64 / n)
}

pub(crate) fn measure(ctx: &mut Ctx) {
    let rounds = env_num("FAULTLINE_SUITE_HTTPS_ROUNDS", 3).max(1) as usize;
    let rate = env_num("FAULTLINE_SUITE_HTTPS_RATE", 200).max(1);
    let seconds = env_num("FAULTLINE_SUITE_HTTPS_SECONDS", 6).max(2);
    let demo_jar = ctx.cli.with_file_name("faultline-demo.jar");
    if !demo_jar.exists() {
        fail(&format!("row 13 needs {}: cargo build --release --workspace", demo_jar.display()));
    }
    let (store, pem) =
        self_signed_keystore(&ctx.scratch, "https-demo").unwrap_or_else(|e| fail(&format!("row 13: {e}")));
    let plain = start_demo(&ctx.java, &demo_jar, None);
    let tls = start_demo(&ctx.java, &demo_jar, Some(&store));
    let ca = format!("ca = \"{}\"", pem.display());
    // Warm-up: class loading and JIT in both services and TLS session set-up, not measured.
    drill(ctx, "http-warmup", &plain.url, "", rate, 3);
    drill(ctx, "https-warmup", &tls.url, &ca, rate, 3);
    let (mut added, mut kept, mut raw) = (Vec::new(), Vec::new(), Vec::new());
    let (mut generator, mut socket_p50) = (Vec::new(), Vec::new());
    let period = std::time::Duration::from_secs_f64(1.0 / rate as f64);
    for round in 1..=rounds {
        let socket = raw_round_trips(&plain.url, rate * seconds, period)
            .unwrap_or_else(|e| fail(&format!("row 13, round {round}: the suite's own client: {e}")));
        let socket = percentile(&socket, 50.0);
        let http = drill(ctx, &format!("http-{round}"), &plain.url, "", rate, seconds);
        generator.push(http.0 - socket);
        socket_p50.push(socket);
        let https = drill(ctx, &format!("https-{round}"), &tls.url, &ca, rate, seconds);
        eprintln!(
            "  round {round}/{rounds} socket p50 {socket:.3} ms | http p50 {:.3} ms p99 {:.3} ms | https p50 {:.3} ms p99 {:.3} ms, {} requests, errors {:.2}%",
            http.0,
            http.1,
            https.0,
            https.1,
            https.2,
            https.3 * 100.0
        );
        added.push(https.0 - http.0);
        // The phase counts requests completed within it; the last `timeout` of sends may still be in flight.
        kept.push(https.2 / (rate as f64 * seconds as f64) * (1.0 - https.3));
        raw.push(json!({"http": {"p50_ms": http.0, "p99_ms": http.1, "requests": http.2, "error_rate": http.3},
                        "https": {"p50_ms": https.0, "p99_ms": https.1, "requests": https.2, "error_rate": https.3}}));
    }
    let g = stat(&generator);
    ctx.rows.push(row(
        "13 drill load over http: p50 added by the generator",
        format!("{:+.3} ms [{:+.3}..{:+.3}]", g.med, g.min, g.max),
        format!("one socket, same pace {:.3} ms p50", stat(&socket_p50).med),
        "drill p50 − socket p50, same round".to_string(),
        "≤ +0.25 ms every round",
        Some(g.max <= 0.25),
    ));
    let a = stat(&added);
    let k = stat(&kept);
    let http_p50: Vec<f64> = raw.iter().filter_map(|r| r["http"]["p50_ms"].as_f64()).collect();
    let met = a.max <= 0.2 && k.min >= 0.98;
    ctx.rows.push(row(
        "13 drill load over https: p50 added",
        format!("{:+.3} ms [{:+.3}..{:+.3}]", a.med, a.min, a.max),
        format!("http, same service {:.3} ms p50", stat(&http_p50).med),
        format!("rate kept {:.3} [{:.3}..]", k.med, k.min),
        "≤ +0.2 ms every round, ≥ 0.98 kept",
        Some(met),
    ));
    ctx.json.insert(
        "drill_https".into(),
        json!({"rate": rate, "seconds": seconds, "rounds": raw, "socket_p50_ms": socket_p50, "generator_p50_added_ms": generator, "p50_added_ms": added, "rate_kept": kept,
               "certificate": "self-signed EC P-256 (keytool), trusted with `ca`"}),
    );
}
