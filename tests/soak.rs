//! Soak: 1,000 faults armed and removed in the demo order service while 16 client threads
//! keep it busy over keep-alive HTTP/1.1, through every way in (`faultline inject`/`stop`,
//! scenario files with several faults, leases that run out, the control socket, stop of
//! all). The service must answer every request as if nothing were armed, the JVM must end
//! alive with nothing armed, and its classes, metaspace, threads and file descriptors must
//! be as many after cycle 1,000 as after cycle 100.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::demo::Demo;
use common::footprint::{self, Footprint};
use common::*;
use faultline::client::AttachedJvm;
use faultline_model::protocol::{Arm, ArmReply, Counters, Status, Stop};
use serde_json::Value;

/// Faults whose effect no HTTP outcome shows, each as scenario keys (without its id): 1 ms
/// more, a probability of 0, a condition that never holds (amounts and quantities are
/// positive), a method the service never calls, a path nobody requests.
const QUIET_FAULTS: [&str; 8] = [
    "kind = \"latency\"\ntarget = \"com.acme.OrderRepository#save\"\ndelay = \"1ms\"\n",
    "kind = \"exception\"\ntarget = \"com.acme.PaymentClient#charge(long)\"\nthrow = \"java.net.SocketTimeoutException\"\nprobability = 0.0\n",
    "kind = \"exception\"\ntarget = \"com.acme.PaymentClient#charge(long)\"\nwhen = \"arg0 < 0\"\nthrow = \"java.io.IOException\"\n",
    "kind = \"exception\"\ntarget = \"com.acme.WarehouseInventory#available\"\nat = \"exit\"\nthrow = \"java.lang.IllegalStateException\"\n",
    "kind = \"return\"\ntarget = \"com.acme.Inventory+#reserve\"\nwhen = \"arg1 < 0\"\nvalue = false\n",
    "kind = \"respond\"\npreset = \"http-server\"\npath = \"/never*\"\nstatus = 503\n",
    "kind = \"latency\"\npreset = \"http-server\"\npath = \"/health\"\ndelay = \"1ms\"\n",
    "kind = \"hang\"\ntarget = \"com.acme.PaymentClient#charge(long)\"\nwhen = \"arg0 < 0\"\nmax = \"1s\"\n",
];

/// The same kinds of quiet fault as `faultline inject` arguments (after the PID).
const QUIET_INJECTIONS: [&[&str]; 5] = [
    &["latency", "--target", "com.acme.OrderRepository#save", "--delay", "1ms"],
    &[
        "exception",
        "--target",
        "com.acme.PaymentClient#charge(long)",
        "--throw",
        "java.net.SocketTimeoutException",
        "--probability",
        "0",
    ],
    &[
        "exception",
        "--target",
        "com.acme.WarehouseInventory#available",
        "--at",
        "exit",
        "--throw",
        "java.lang.IllegalStateException",
    ],
    &["return", "--target", "com.acme.Inventory+#reserve", "--when", "arg1 < 0", "--value", "false"],
    &["respond", "--preset", "http-server", "--path", "/never*", "--status", "503"],
];

const CLIENTS: usize = 16;
const ROUNDS: usize = 40;
/// Faults armed and removed per round (see `Soak::round`).
const CYCLES_PER_ROUND: usize = 25;
/// The round after which the baseline is sampled: cycle 100.
const WARM_ROUND: usize = 4;
/// A lease this short runs out while the round goes on.
const LEASE: Duration = Duration::from_millis(200);

/// What one client thread saw: outcomes counted by name, the slowest answer.
#[derive(Default)]
struct Tally {
    outcomes: BTreeMap<String, u64>,
    slowest_ms: f64,
}

impl Tally {
    fn count(&mut self, outcome: String) {
        *self.outcomes.entry(outcome).or_default() += 1;
    }
}

/// One keep-alive connection's request/response exchange: the status and the body.
fn exchange(reader: &mut BufReader<TcpStream>, path: &str) -> std::io::Result<(u16, String)> {
    reader.get_mut().write_all(format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())?;
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "closed before the status line"));
    }
    let status = line.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let mut length = 0;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "closed in the headers"));
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// One client thread: `/checkout` three times, then `/health`, over one keep-alive connection
/// (a new one after any error), until `stop`; every outcome counted.
fn client(port: u16, stop: Arc<AtomicBool>, answered: Arc<AtomicU64>) -> Tally {
    let mut tally = Tally::default();
    let mut conn: Option<BufReader<TcpStream>> = None;
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        if conn.is_none() {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(s) => {
                    // An answer slower than this is a hang.
                    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                    s.set_nodelay(true).unwrap();
                    conn = Some(BufReader::new(s));
                }
                Err(e) => {
                    tally.count(format!("connect error: {e}"));
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            }
        }
        let reader = conn.as_mut().unwrap();
        let path = if n % 4 == 3 { "/health" } else { "/checkout" };
        n += 1;
        let t0 = Instant::now();
        match exchange(reader, path) {
            Ok((status, body)) => {
                tally.slowest_ms = tally.slowest_ms.max(t0.elapsed().as_secs_f64() * 1000.0);
                answered.fetch_add(1, Ordering::Relaxed);
                let what = serde_json::from_str::<Value>(&body)
                    .ok()
                    .and_then(|b| b["status"].as_str().map(str::to_string))
                    .unwrap_or_else(|| body.trim().to_string());
                tally.count(format!("{path} {status} {what}"));
            }
            Err(e) => {
                tally.count(format!("{path} connection error: {e}"));
                conn = None;
            }
        }
    }
    tally
}

/// The soak's state: the service, a control connection kept open, and what was counted.
struct Soak {
    demo: Demo,
    pid: String,
    control: AttachedJvm,
    scratch: Scratch,
    armed: usize,
    removed: usize,
    /// Calls the socket's single latency faults saw before their removal.
    calls_seen: i64,
    cli_runs: usize,
    cli_time: Duration,
    /// Faults armed that target `LAMBDA_HOST` (directly or as an `Inventory+` subtype): each
    /// retransforms it at most twice, when armed and when removed.
    lambda_host_faults: usize,
}

impl Soak {
    fn cli(&mut self, args: &[&str]) -> Value {
        let t0 = Instant::now();
        let run = faultline(args);
        self.cli_time += t0.elapsed();
        self.cli_runs += 1;
        assert_eq!(run.status, 0, "faultline {args:?}:\n{}", run.describe());
        serde_json::from_str(run.stdout.trim()).unwrap_or_else(|e| panic!("{args:?} --json: {e}:\n{}", run.stdout))
    }

    /// Counts the faults a reply armed; each must have reached a method.
    /// Notes the faults of `text` (a scenario, or one fault's CLI arguments) that target
    /// `LAMBDA_HOST` (`WarehouseInventory#available`, `Inventory+#reserve`).
    fn note_targets(&mut self, text: &str) {
        self.lambda_host_faults += text.split("[[fault]]").filter(|f| f.contains("Inventory")).count();
    }

    fn count_armed(&mut self, armed: &Value, expected: usize) -> Vec<String> {
        let list = armed["armed"].as_array().unwrap_or_else(|| panic!("no armed list: {armed}"));
        assert_eq!(list.len(), expected, "{armed}");
        for f in list {
            assert!(f["methods"].as_u64().is_some_and(|m| m > 0), "a fault instrumented nothing: {armed}");
        }
        self.armed += list.len();
        list.iter().map(|f| f["id"].as_str().unwrap().to_string()).collect()
    }

    fn count_removed(&mut self, reply: &Value, expected: &[String]) {
        let mut removed: Vec<String> =
            reply["removed"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
        removed.sort();
        let mut expected = expected.to_vec();
        expected.sort();
        assert_eq!(removed, expected, "stop removed other faults than those armed");
        self.removed += removed.len();
    }

    fn socket_arm(&mut self, scenario: String, lease: Option<Duration>) -> ArmReply {
        self.note_targets(&scenario);
        let reply = self
            .control
            .client
            .call(Arm {
                default_duration_ms: lease.map(|l| l.as_millis() as u64),
                ..Arm::text(scenario, "soak".into())
            })
            .expect("arm over the control socket");
        let ids = self.count_armed(&serde_json::to_value(&reply).unwrap(), reply.armed.len());
        assert!(!ids.is_empty());
        reply
    }

    fn armed_ids(&mut self) -> Vec<String> {
        self.control.client.call(Status {}).expect("status").faults.into_iter().map(|f| f.id).collect()
    }

    /// One round of 25 cycles, each a fault armed and then removed, by every way in.
    fn round(&mut self, r: usize) {
        let pid = self.pid.clone();
        // 2: `faultline inject --id` then `faultline stop ID`.
        for k in 0..2 {
            let id = format!("cli-{r}-{k}");
            let mut args = vec!["inject", pid.as_str()];
            args.extend_from_slice(QUIET_INJECTIONS[(2 * r + k) % QUIET_INJECTIONS.len()]);
            args.extend_from_slice(&["--id", &id, "--json"]);
            self.note_targets(&args.join(" "));
            let armed = self.cli(&args);
            self.count_armed(&armed, 1);
            let stopped = self.cli(&["stop", &pid, &id, "--json"]);
            self.count_removed(&stopped, &[id]);
        }
        // 6: a scenario file of six faults by `faultline apply`, then `faultline stop` of all.
        let file = (0..6)
            .map(|k| format!("[[fault]]\nid = \"file-{r}-{k}\"\n{}\n", QUIET_FAULTS[(r + k) % QUIET_FAULTS.len()]))
            .collect::<String>();
        self.note_targets(&file);
        let path = self.scratch.write(&format!("round-{r}.toml"), &file);
        let armed = self.cli(&["apply", &pid, path.to_str().unwrap(), "--json"]);
        let ids = self.count_armed(&armed, 6);
        let stopped = self.cli(&["stop", &pid, "--json"]);
        self.count_removed(&stopped, &ids);
        // 4: one fault at a time over the control socket, stopped by id; the latency fault's
        // counters say it was on the path of the load.
        for k in 0..4 {
            let id = format!("sock-{r}-{k}");
            let fault = QUIET_FAULTS[(4 * r + k) % QUIET_FAULTS.len()];
            self.socket_arm(format!("[[fault]]\nid = \"{id}\"\n{fault}"), None);
            let stopped = self.control.client.call(Stop { ids: vec![id.clone()], ignore_missing: false }).unwrap();
            self.count_removed(&serde_json::to_value(&stopped).unwrap(), std::slice::from_ref(&id));
            if fault == QUIET_FAULTS[0] {
                self.calls_seen += self.control.client.call(Counters { id }).expect("counters").calls;
            }
        }
        // 8: every quiet fault at once over the socket, then stop of all.
        let all = QUIET_FAULTS.iter().enumerate().map(|(k, f)| format!("[[fault]]\nid = \"all-{r}-{k}\"\n{f}\n"));
        let reply = self.socket_arm(all.collect(), None);
        let stopped = self.control.client.call(Stop::default()).unwrap();
        let ids: Vec<String> = reply.armed.into_iter().map(|a| a.id).collect();
        self.count_removed(&serde_json::to_value(&stopped).unwrap(), &ids);
        // 5: leases that run out by themselves: one from `faultline inject --for`, four armed
        // over a connection of their own (its agent thread ends with it).
        let id = format!("lease-{r}");
        let mut args = vec!["inject", pid.as_str()];
        args.extend_from_slice(QUIET_INJECTIONS[r % QUIET_INJECTIONS.len()]);
        let lease = format!("{}ms", LEASE.as_millis());
        args.extend_from_slice(&["--id", &id, "--for", &lease, "--json"]);
        self.note_targets(&args.join(" "));
        let armed = self.cli(&args);
        let mut leased = self.count_armed(&armed, 1);
        {
            let mut own = AttachedJvm::open(&pid, Some(&agent_lib())).expect("a second control connection");
            let scenario = (0..4)
                .map(|k| {
                    format!("[[fault]]\nid = \"lease-{r}-{k}\"\n{}\n", QUIET_FAULTS[(r + 3 * k) % QUIET_FAULTS.len()])
                })
                .collect::<String>();
            self.note_targets(&scenario);
            let reply = own
                .client
                .call(Arm {
                    default_duration_ms: Some(LEASE.as_millis() as u64),
                    ..Arm::text(scenario, "lease".into())
                })
                .expect("arm leased faults");
            self.count_armed(&serde_json::to_value(&reply).unwrap(), 4);
            leased.extend(reply.armed.into_iter().map(|a| a.id));
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = self.armed_ids();
            if left.is_empty() {
                break;
            }
            assert!(left.iter().all(|id| leased.contains(id)), "armed beyond the leases: {left:?}");
            assert!(Instant::now() < deadline, "leases of {LEASE:?} still armed after 10 s: {left:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
        self.removed += leased.len();
        assert_eq!(self.armed, self.removed, "round {r}: every armed fault removed");
        assert_eq!(self.removed, (r + 1) * CYCLES_PER_ROUND);
    }
}

/// The one class the soak retransforms that has a lambda (`computeIfAbsent` in `reserve`).
const LAMBDA_HOST: &str = "com.acme.WarehouseInventory";

/// A footprint with what the soak must tell apart from the rest.
#[derive(Debug, Clone, Copy)]
struct Sample {
    jvm: Footprint,
    /// Lambda proxy classes of `LAMBDA_HOST` (see `footprint::lambda_proxies`).
    proxies: u64,
    /// Workers of the demo's payment `HttpClient`: its default executor is a cached pool that
    /// grows to the exchanges in flight and lets a thread go after 60 s idle, so their number
    /// follows the load, not the cycles.
    http_client_workers: u64,
}

impl Sample {
    /// Threads that are not the `HttpClient`'s: the JVM's, the service's, the agent's.
    fn other_threads(&self) -> u64 {
        self.jvm.threads.saturating_sub(self.http_client_workers)
    }

    fn other_classes(&self) -> u64 {
        self.jvm.classes.saturating_sub(self.proxies)
    }
}

/// The JVM's footprint once the agent's connection threads of the round have ended: they end
/// just after their reply, so wait (bounded) for those threads to come down to `floor`.
fn settled_sample(pid: u32, floor: Option<u64>) -> Sample {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let jvm = footprint::sample(pid);
        let names = footprint::thread_names(pid);
        let http_client_workers =
            names.iter().filter(|n| n.starts_with("HttpClient-") && n.contains("-Wo")).count() as u64;
        let s = Sample { jvm, proxies: footprint::lambda_proxies(pid, LAMBDA_HOST), http_client_workers };
        if floor.is_none_or(|f| s.other_threads() <= f) || Instant::now() >= deadline {
            return s;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_thousand_arm_stop_cycles_under_load_leave_the_service_answering_and_the_jvm_flat() {
    // C1 only, as in the CLI's cycle test: full tiered compilation keeps adding profiles
    // (metaspace) for hundreds of cycles with or without faultline, and would hide a leak.
    let demo = Demo::start_with_jvm(&["-XX:TieredStopAtLevel=1"], &[]);
    let pid = demo.pid();
    let jvm_pid: u32 = pid.parse().unwrap();
    let port = demo.port;

    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (stop, answered) = (stop.clone(), answered.clone());
            std::thread::spawn(move || client(port, stop, answered))
        })
        .collect();

    // The first fault by the CLI loads the agent; then a control connection kept open.
    let mut soak = Soak {
        pid: pid.clone(),
        control: {
            let first = faultline(&[
                "inject",
                &pid,
                "latency",
                "--target",
                "com.acme.OrderRepository#save",
                "--delay",
                "1ms",
                "--id",
                "first",
            ]);
            assert_eq!(first.status, 0, "{}", first.describe());
            let mut c = AttachedJvm::open(&pid, Some(&agent_lib())).expect("the control connection");
            c.client.call(Stop { ids: vec!["first".into()], ignore_missing: false }).expect("stop the first");
            c
        },
        demo,
        scratch: Scratch::new("soak"),
        armed: 0,
        removed: 0,
        calls_seen: 0,
        cli_runs: 0,
        cli_time: Duration::ZERO,
        lambda_host_faults: 0,
    };

    let started = Instant::now();
    let mut per_round = Vec::new();
    let mut first = None;
    let mut warm = None;
    for r in 0..ROUNDS {
        let before = answered.load(Ordering::Relaxed);
        let t0 = Instant::now();
        soak.round(r);
        per_round.push((answered.load(Ordering::Relaxed) - before, t0.elapsed()));
        if r == 0 {
            first = Some(settled_sample(jvm_pid, None));
        }
        if r + 1 == WARM_ROUND {
            warm = Some((settled_sample(jvm_pid, None), soak.lambda_host_faults));
        }
    }
    let cycling = started.elapsed();
    let (warm, warm_host_faults) = warm.unwrap();
    let last = settled_sample(jvm_pid, Some(warm.other_threads()));

    stop.store(true, Ordering::Relaxed);
    let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
    let mut slowest_ms = 0f64;
    for c in clients {
        let t = c.join().expect("a client thread");
        slowest_ms = slowest_ms.max(t.slowest_ms);
        for (k, v) in t.outcomes {
            *outcomes.entry(k).or_default() += v;
        }
    }
    let total: u64 = outcomes.values().sum();
    let fewest = per_round.iter().map(|(n, _)| *n).min().unwrap();
    let slowest_round = per_round.iter().map(|(_, d)| *d).max().unwrap();

    println!("cycles: {} faults armed and removed in {ROUNDS} rounds, {:.1} s", soak.removed, cycling.as_secs_f64());
    println!(
        "  CLI: {} runs, {:.0} ms each on average; slowest round {:.2} s",
        soak.cli_runs,
        soak.cli_time.as_secs_f64() * 1000.0 / soak.cli_runs as f64,
        slowest_round.as_secs_f64()
    );
    println!("  calls seen by the socket's 1 ms latency faults before removal: {}", soak.calls_seen);
    println!(
        "requests: {total} by {CLIENTS} clients ({:.0}/s), fewest answered in one round {fewest}, slowest {slowest_ms:.1} ms",
        total as f64 / cycling.as_secs_f64()
    );
    for (k, v) in &outcomes {
        println!("  {v:>8}  {k}");
    }
    for (name, s) in [("after cycle 25", first.unwrap()), ("after cycle 100", warm), ("after cycle 1000", last)] {
        println!(
            "{name:>16}: {} classes ({} lambda proxies of {LAMBDA_HOST}), metaspace {} KB (and {} KB freed), {} threads ({} HttpClient workers), {} fds, RSS {} MB",
            s.jvm.classes,
            s.proxies,
            s.jvm.metaspace_kb,
            s.jvm.metaspace_freed_kb,
            s.jvm.threads,
            s.http_client_workers,
            s.jvm.fds,
            s.jvm.rss_kb / 1024
        );
    }
    let host_retransforms = 2 * (soak.lambda_host_faults - warm_host_faults);
    println!(
        "  faults on {LAMBDA_HOST} from cycle 100 to 1000: {} (at most {host_retransforms} retransformations)",
        soak.lambda_host_faults - warm_host_faults
    );

    // Every request answered as if nothing were armed.
    let fine = |k: &str| k == "/checkout 200 OK" || k == "/health 200 ok";
    let bad: Vec<_> = outcomes.iter().filter(|(k, _)| !fine(k)).collect();
    assert!(bad.is_empty(), "outcomes the quiet faults do not explain: {bad:?}");
    assert!(fewest > 0, "a round of cycles ({slowest_round:?} at most) went by without one answered request");
    assert!(soak.calls_seen > 0, "the latency faults saw no call: the load did not reach them");
    assert_eq!(soak.removed, ROUNDS * CYCLES_PER_ROUND);

    // Alive, answering, nothing armed.
    assert_eq!(soak.demo.get("/health").0, 200, "the service answers after the soak");
    assert!(soak.demo.armed().is_empty(), "faults left armed: {:?}", soak.demo.armed());

    // Flat between cycle 100 and cycle 1000. Classes: besides the lambda proxies (below), up
    // to 32 more, measured 3 to 9: the JDK's own LambdaForms spun on first use, a previous
    // version of a retransformed class still running. A leak of one class per round would
    // pass 32; one per cycle, 900.
    assert!(
        last.other_classes() <= warm.other_classes() + 32,
        "live classes (besides the lambda proxies) grew from {} to {}",
        warm.other_classes(),
        last.other_classes()
    );
    // A retransformed class's lambdas link again when next run and each link defines a proxy
    // class that the class loader keeps (JDK-8302154, as designed): at most one per
    // retransformation of LAMBDA_HOST, whose one lambda runs once per batch of 100 units.
    let new_proxies = last.proxies - warm.proxies;
    assert!(
        new_proxies <= host_retransforms as u64,
        "{new_proxies} new lambda proxies of {LAMBDA_HOST} for at most {host_retransforms} retransformations"
    );
    // Metaspace in use (less the blocks freed into the loaders' free lists, printed apart):
    // each proxy costs about 1.6 KB (measured: +191 KB for 122 proxies on JDK 25, +210 KB for
    // 118 on JDK 17), allowed 3 KB; 128 KB for the rest, whatever the cycles (the classes
    // above): a leak of 150 bytes per cycle would pass it.
    let allowed_kb = warm.jvm.metaspace_kb + 3 * new_proxies + 128;
    assert!(
        last.jvm.metaspace_kb <= allowed_kb,
        "metaspace grew from {} KB to {} KB over 900 cycles (allowed {allowed_kb} KB with {new_proxies} proxies)",
        warm.jvm.metaspace_kb,
        last.jvm.metaspace_kb
    );
    assert!(
        last.other_threads() <= warm.other_threads(),
        "threads (besides the HttpClient's workers) grew from {} to {}",
        warm.other_threads(),
        last.other_threads()
    );
    // The payment HttpClient's pool grows to the charges in flight: 4 orders threads.
    assert!(last.http_client_workers <= CLIENTS as u64, "{} HttpClient workers", last.http_client_workers);
    // Two descriptors of slack: a keep-alive connection of the HttpClient to the gateway may
    // be closing or opening as the sample is taken (measured: 45 or 46 at every sample).
    assert!(last.jvm.fds <= warm.jvm.fds + 2, "file descriptors grew from {} to {}", warm.jvm.fds, last.jvm.fds);
}
