//! Row 15: broad patterns on a real service. Tomcat 10 embedded (Debian `libtomcat10-java`)
//! serves `GET /item?id=N`, one row read through Tomcat's JDBC pool from H2 in memory
//! (`broadbench.Main`); the suite's own client loads it over keep-alive connections, as fast
//! as it answers, and counts the requests answered per second. Fresh JVMs, interleaved:
//! - `baseline`: no agent;
//! - `broad`: the agent with a scenario armed at startup (`-agentpath:…=scenario=…`): one
//!   exception fault with `probability = 0` on every method of the HTTP server
//!   (`org.apache.catalina.**`, `org.apache.coyote.**`, `org.apache.tomcat.**`, which holds the
//!   pool and Tomcat's utilities), of the database (`org.h2.**`) and of
//!   `java.util.concurrent.**`.
//!
//! The row is the throughput of `broad` over `baseline`, per round and pooled. Checks, each
//! `broad` JVM: every fault reached methods and saw calls and injected nothing (the agent's
//! status, asked by the program after the timed windows), and every answer was a 200 with the
//! row asked for. No peer: Byteman's rules name one class (or one interface) each, so it has
//! no way to arm a package tree.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use faultline_bench::{env_num, median, JVM_FLAGS};
use serde_json::{json, Value};

use crate::harness::{fail, row, stat, write, Ctx};

/// Debian's jars the service needs (file under /usr/share/java, package).
const JARS: &[(&str, &str)] = &[
    ("tomcat10-catalina.jar", "libtomcat10-java"),
    ("tomcat10-coyote.jar", "libtomcat10-java"),
    ("tomcat10-util.jar", "libtomcat10-java"),
    ("tomcat10-util-scan.jar", "libtomcat10-java"),
    ("tomcat10-juli.jar", "libtomcat10-java"),
    ("tomcat10-api.jar", "libtomcat10-java"),
    ("tomcat10-servlet-api.jar", "libtomcat10-java"),
    ("tomcat10-jaspic-api.jar", "libtomcat10-java"),
    ("tomcat10-annotations-api.jar", "libtomcat10-java"),
    ("tomcat10-jni.jar", "libtomcat10-java"),
    ("tomcat10-jdbc.jar", "libtomcat10-java"),
    ("h2.jar", "libh2-java"),
];

/// The patterns armed with probability 0, one fault each (id, target).
const PATTERNS: &[(&str, &str)] = &[
    ("catalina", "org.apache.catalina.**#*"),
    ("coyote", "org.apache.coyote.**#*"),
    ("tomcat", "org.apache.tomcat.**#*"),
    ("h2", "org.h2.**#*"),
    ("juc", "java.util.concurrent.**#*"),
];

/// Rows of the service's table (`broadbench.Main.ROWS`).
const ROWS: u64 = 1024;

pub(crate) fn measure(ctx: &mut Ctx) {
    let rounds = env_num("FAULTLINE_SUITE_BROAD_ROUNDS", 3).max(1) as usize;
    let warmup_ms = env_num("FAULTLINE_SUITE_BROAD_WARMUP_MS", 20_000);
    let iterations = env_num("FAULTLINE_SUITE_BROAD_ITERATIONS", 5).max(1) as usize;
    let iteration_ms = env_num("FAULTLINE_SUITE_BROAD_ITERATION_MS", 2000).max(100);
    let clients = env_num("FAULTLINE_SUITE_BROAD_CLIENTS", 8).max(1) as usize;
    // JVM flags for both configurations, to see what the JIT's limits do to the row.
    let extra_flags = std::env::var("FAULTLINE_SUITE_BROAD_JVM_FLAGS").unwrap_or_default();

    let mut jars = Vec::new();
    for (file, package) in JARS {
        let path = PathBuf::from("/usr/share/java").join(file);
        if !path.exists() {
            fail(&format!(
                "row 15 needs {}: install Debian's package {package} (apt-get install -y {package}), \
                 or leave the row out (FAULTLINE_SUITE_ONLY)",
                path.display()
            ));
        }
        jars.push(path.display().to_string());
    }
    let classes = ctx.scratch.join("broad-classes");
    let compile_cp = format!("{}:{}", jars.join(":"), ctx.jar.display());
    faultline_bench::overhead::compile_sources("broadbench", &compile_cp, &classes);
    let classpath = format!("{}:{compile_cp}", classes.display());

    // A subset of the patterns, by id, to see what each costs (`juc,h2`).
    let only = std::env::var("FAULTLINE_SUITE_BROAD_ONLY").ok();
    let patterns: Vec<(&str, &str)> = PATTERNS
        .iter()
        .copied()
        .filter(|(id, _)| only.as_deref().is_none_or(|o| o.split(',').any(|x| x.trim() == *id)))
        .collect();
    if patterns.is_empty() {
        fail("FAULTLINE_SUITE_BROAD_ONLY names none of catalina, coyote, tomcat, h2, juc");
    }
    let scenario = ctx.scratch.join("broad.toml");
    let mut text = String::from("name = \"suite row 15: broad patterns, never fire\"\n");
    for (id, target) in &patterns {
        text.push_str(&format!(
            "\n[[fault]]\nid = \"{id}\"\nkind = \"exception\"\nthrow = \"java.lang.IllegalStateException\"\ntarget = \"{target}\"\nprobability = 0\n"
        ));
    }
    write(&scenario, &text);

    let configs = ["baseline", "broad"];
    let mut rates: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
    let mut reached: Vec<Value> = Vec::new();
    for round in 1..=rounds {
        for config in configs {
            let events = ctx.scratch.join(format!("broad-{config}-{round}.jsonl"));
            let mut cmd = Command::new(&ctx.java);
            cmd.args(JVM_FLAGS);
            cmd.args(extra_flags.split_whitespace());
            if config == "broad" {
                cmd.arg(ctx.agent_at_startup(&scenario, &events));
                // The program's status request finds the library already loaded.
                cmd.arg(format!("-Dfaultline.agent={}", ctx.lib.display()));
            }
            cmd.args(["-cp", &classpath, "broadbench.Main"]);
            let mut service = Service::start(cmd, config, round);
            let windows = load(service.port, clients, warmup_ms, iterations, iteration_ms)
                .unwrap_or_else(|e| fail(&format!("row 15, round {round}, {config}: {e}")));
            if config == "broad" {
                let status = service.status();
                reached.push(
                    check_status(&status, &patterns).unwrap_or_else(|e| fail(&format!("row 15, round {round}: {e}"))),
                );
            }
            service.quit();
            let m = median(&windows);
            eprintln!(
                "  round {round}/{rounds} {config:<8} median {m:>8.0} requests/s (windows {})",
                windows.iter().map(|w| format!("{w:.0}")).collect::<Vec<_>>().join(" ")
            );
            rates.entry(config).or_default().push(m);
        }
    }

    let base = stat(&rates["baseline"]);
    let ours = stat(&rates["broad"]);
    let per_round: Vec<f64> = rates["broad"].iter().zip(&rates["baseline"]).map(|(b, a)| b / a).collect();
    let rs = stat(&per_round);
    let ratio = ours.med / base.med;
    let name = "15 broad patterns on Tomcat: throughput";
    let target = "≥ 0.9 of no agent, every round";
    ctx.rows.push(row(
        name,
        format!("{:.0} [{:.0}..{:.0}] req/s", ours.med, ours.min, ours.max),
        format!("no agent {:.0} [{:.0}..{:.0}] req/s", base.med, base.min, base.max),
        format!("{ratio:.3} (rounds {:.3}..{:.3})", rs.min, rs.max),
        target,
        Some(rs.min >= 0.9),
    ));
    ctx.json.insert(
        "broad_patterns".into(),
        json!({
            "service": "Tomcat 10 embedded, GET /item?id=N, tomcat-jdbc pool, H2 in memory",
            "patterns": patterns.iter().map(|(_, t)| *t).collect::<Vec<_>>(),
            "rounds": rounds, "warmup_ms": warmup_ms, "iterations": iterations, "iteration_ms": iteration_ms,
            "clients": clients, "requests_per_s": rates, "per_round_ratio": per_round, "ratio": ratio,
            "faults_reached": reached,
        }),
    );
}

/// The service's JVM, its stdin for commands and its stdout for answers.
struct Service {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    port: u16,
    what: String,
}

impl Service {
    fn start(mut cmd: Command, config: &str, round: usize) -> Service {
        let what = format!("row 15, round {round}, {config}");
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| fail(&format!("{what}: cannot run java: {e}")));
        let stdin = child.stdin.take().unwrap_or_else(|| fail("no stdin"));
        let mut stdout = BufReader::new(child.stdout.take().unwrap_or_else(|| fail("no stdout")));
        let mut line = String::new();
        let port = loop {
            line.clear();
            if stdout.read_line(&mut line).unwrap_or(0) == 0 {
                let _ = child.kill();
                fail(&format!("{what}: the service ended before it served"));
            }
            if let Some(p) = line.trim().strip_prefix("READY ") {
                break p.parse().unwrap_or_else(|_| fail(&format!("{what}: bad port in {line:?}")));
            }
        };
        Service { child, stdin, stdout, port, what }
    }

    /// The agent's status, as the program prints it (`CHECK status <json>`); the program then
    /// removes every fault.
    fn status(&mut self) -> Value {
        self.command("check");
        let mut line = String::new();
        loop {
            line.clear();
            if self.stdout.read_line(&mut line).unwrap_or(0) == 0 {
                fail(&format!("{}: the service ended before it printed its status", self.what));
            }
            if let Some(json) = line.trim().strip_prefix("CHECK status ") {
                return serde_json::from_str(json)
                    .unwrap_or_else(|e| fail(&format!("{}: unreadable status ({e})", self.what)));
            }
        }
    }

    fn command(&mut self, text: &str) {
        if let Err(e) = writeln!(self.stdin, "{text}").and_then(|()| self.stdin.flush()) {
            fail(&format!("{}: cannot send {text:?} to the service: {e}", self.what));
        }
    }

    fn quit(mut self) {
        self.command("quit");
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Every fault of the scenario reached methods, saw calls, injected nothing; returns what each
/// reached, for the JSON.
fn check_status(status: &Value, patterns: &[(&str, &str)]) -> Result<Value, String> {
    let faults = status["faults"].as_array().ok_or("the status lists no faults")?;
    let mut out = serde_json::Map::new();
    for (id, target) in patterns {
        let f = faults
            .iter()
            .find(|f| f["id"] == *id)
            .ok_or_else(|| format!("fault {id} ({target}) is not in the status"))?;
        let methods = f["method_count"].as_u64().unwrap_or(0);
        let calls = f["calls"].as_u64().unwrap_or(0);
        if methods == 0 || calls == 0 || f["injected"] != 0 {
            return Err(format!(
                "fault {id} ({target}): {methods} methods, {calls} calls, {} injected; expected methods and calls, \
                 nothing injected",
                f["injected"]
            ));
        }
        out.insert(id.to_string(), json!({"methods": methods, "calls": calls}));
    }
    Ok(Value::Object(out))
}

/// Loads the service with `clients` keep-alive connections, each sending the next request as
/// soon as the answer is in; after the warm-up, counts the answers of each window. Every answer
/// must be a 200 naming the row asked for.
fn load(port: u16, clients: usize, warmup_ms: u64, iterations: usize, iteration_ms: u64) -> Result<Vec<f64>, String> {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let error: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    let mut threads = Vec::new();
    for c in 0..clients {
        let (done, stop, error) = (done.clone(), stop.clone(), error.clone());
        threads.push(std::thread::spawn(move || {
            if let Err(e) = client(port, c as u64, &done, &stop) {
                error.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(e);
                stop.store(true, Ordering::Relaxed);
            }
        }));
    }
    let failed = || error.lock().unwrap_or_else(|p| p.into_inner()).clone();
    std::thread::sleep(Duration::from_millis(warmup_ms));
    let mut windows = Vec::new();
    for _ in 0..iterations {
        if failed().is_some() {
            break;
        }
        let (n0, t0) = (done.load(Ordering::Relaxed), Instant::now());
        std::thread::sleep(Duration::from_millis(iteration_ms));
        let (n1, t1) = (done.load(Ordering::Relaxed), Instant::now());
        windows.push((n1 - n0) as f64 / (t1 - t0).as_secs_f64());
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    match failed() {
        Some(e) => Err(e),
        None => Ok(windows),
    }
}

/// One keep-alive connection: `GET /item?id=N` for N in turn, each answer read in full.
fn client(port: u16, first: u64, done: &AtomicU64, stop: &AtomicBool) -> Result<(), String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("cannot connect: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).map_err(|e| e.to_string())?;
    let mut buf = Vec::with_capacity(4096);
    let mut id = first * 97;
    while !stop.load(Ordering::Relaxed) {
        id = (id + 1) % ROWS;
        let request = format!("GET /item?id={id} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        stream.write_all(request.as_bytes()).map_err(|e| format!("cannot send: {e}"))?;
        let (status, body) = read_response(&mut stream, &mut buf)?;
        let expected = format!("{id} {} item-{id}\n", id * 7);
        if status != 200 || body != expected.as_bytes() {
            return Err(format!(
                "GET /item?id={id}: status {status}, body {:?} (expected 200, {expected:?})",
                String::from_utf8_lossy(&body)
            ));
        }
        done.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

/// Reads one HTTP/1.1 response with a Content-Length; `buf` keeps bytes read past it.
fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(u16, Vec<u8>), String> {
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).map_err(|e| format!("cannot read the answer: {e}"))?;
        if n == 0 {
            return Err("the service closed the connection".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).into_owned();
    let status: u16 = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length").then(|| v.trim().parse().ok())?
        })
        .ok_or_else(|| format!("an answer without Content-Length: {head:?}"))?;
    while buf.len() < header_end + length {
        let n = stream.read(&mut chunk).map_err(|e| format!("cannot read the answer: {e}"))?;
        if n == 0 {
            return Err("the service closed the connection".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = buf[header_end..header_end + length].to_vec();
    buf.drain(..header_end + length);
    Ok((status, body))
}
