//! `faultline drill check`: the drill proposal a team reviews before running it. Validates
//! the file, resolves and attaches to every target, runs each alarm command once, and shows
//! per fault its blast radius: the loaded methods it would hit in each JVM, or for a pool
//! fault the executors it would exhaust.
//!
//! Pool faults are previewed: the agent lists the executors they match and touches none.
//! Method faults have no dry run, so their blast radius is measured the only honest way it
//! can be: each phase's method faults are armed with `probability = 0` (no call is ever
//! affected) and a 10 s lease, the agent's status lists the methods they matched, and they
//! are removed at once. The matched methods are briefly instrumented meanwhile; the output
//! says so.
//!
//! Before attaching, it also checks that the service under test answers: a few GETs of the
//! `[load]` url and the steady-state probe url, sent by the drill's own load generator with
//! the drill's own timeout. A url where none succeeds is a problem (exit 1): the drill would
//! spend its baseline at 100% errors.

use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use hyper::Uri;
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::alarm;
use super::http;
use super::load::{open_loop, Outcome, Source};
use super::model::{AlarmSource, Drill};
use super::targets::{self, TargetJvms};
use super::{contingency, proposal};
use faultline_model::duration::format_duration;
use faultline_model::protocol::pool_aim;
use faultline_model::scenario::{FaultKind, Scenario};

/// The lease of a blast-radius probe: it is removed at once, this only bounds a crash.
const PROBE_LEASE: Duration = Duration::from_secs(10);

/// Requests sent to each service url before anything else: enough to tell a service that
/// answers from one that is down, few enough to be no load at all.
const SERVICE_REQUESTS: u32 = 3;

/// The spacing of those requests (they go out on schedule, like the drill's load).
const SERVICE_PERIOD: Duration = Duration::from_millis(100);

/// Why an alarm that fires before any fault is armed deserves a look.
const FIRING_ALREADY: &str = "firing before any fault is armed: it would fire without a fault (a likely false \
                              alarm, or an unrelated incident going on)";

pub fn check(path: &Path, json_out: bool, out: Option<&Path>, agent: Option<&Path>) -> Result<()> {
    let drill = Drill::load(path).map_err(|e| anyhow!("{e}"))?;
    contingency::check_programs(&drill)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut alarms = Vec::new();
    let mut warnings = 0;
    let mut notes = Vec::new();
    for (check, firing) in runtime.block_on(alarm::preflight(&drill.alarms))? {
        let a = &check.alarm;
        if firing {
            tracing::debug!(alarm = %a.name, "alarm is firing before any fault is armed");
        }
        warnings += usize::from(firing);
        alarms.push(json!({"name": a.name, "check": a.source.describe(), "starts": true, "firing_now": firing,
                           "warning": firing.then_some(FIRING_ALREADY)}));
    }
    let firing = alarms.iter().filter(|a| a["firing_now"] == true).count();
    if firing > 0 {
        notes.push(format!("{firing} alarm{} firing before any fault", if firing == 1 { " is" } else { "s are" }));
    }
    let service = runtime.block_on(check_service(&drill))?;
    let unsteady = service.iter().filter(|s| s.ok > 0 && s.errors > 0).count();
    warnings += unsteady;
    if unsteady > 0 {
        notes.push(format!("{unsteady} url{} failed some requests", if unsteady == 1 { "" } else { "s" }));
    }
    let problems: Vec<String> = service.iter().filter_map(ServiceCheck::problem).collect();
    let service: Vec<Value> = service.iter().map(ServiceCheck::to_json).collect();
    let resolved = targets::resolve(&drill.targets)?;
    let mut jvms = TargetJvms::attach(resolved, agent)?;
    let targets = targets::describe(&jvms);
    let (phases, hit_nothing) = blast_radius(&drill, &mut jvms)?;
    let how = "blast radius of method faults measured by arming each with probability 0 (no call affected) for at \
               most 10s and removing it at once: the matched methods were briefly instrumented; pool faults were \
               previewed (their executors listed, none touched); resource faults act on each target JVM as a whole \
               (not armed by the check)";
    warnings += hit_nothing;
    if hit_nothing > 0 {
        notes.insert(
            0,
            format!("{hit_nothing} fault{} would hit nothing as things stand", if hit_nothing == 1 { "" } else { "s" }),
        );
    }
    let proposal = proposal::build(&drill, &targets, &service, &alarms, &phases);
    if let Some(dir) = out {
        proposal::write(dir, &proposal)?;
    }
    if json_out {
        println!(
            "{}",
            json!({"drill": drill.name, "origin": drill.origin, "valid": true, "targets": targets, "alarms": alarms,
                   "service": service, "phases": phases, "warnings": warnings, "problems": problems,
                   "blast_radius_method": how, "fingerprint": proposal["fingerprint"],
                   "proposal": out.map(|d| d.join(proposal::JSON))})
        );
    } else {
        print_proposal(&drill, &targets, &alarms, &service, &phases);
        println!("note: {how}");
        if warnings > 0 {
            println!("{warnings} warning{}: {}", if warnings == 1 { "" } else { "s" }, notes.join("; "));
        }
        println!("fingerprint: {}", proposal["fingerprint"].as_str().unwrap_or(""));
        if let Some(dir) = out {
            println!(
                "proposal: {} (to review and sign) and {} (for `drill run --approved`)",
                dir.join(proposal::HTML).display(),
                dir.join(proposal::JSON).display()
            );
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("; "));
    }
    Ok(())
}

/// Per phase, what each fault would hit in the targets (the methods of method faults, the
/// executors of pool faults, the JVM of resource faults), and how many faults would hit
/// nothing. Method faults are armed with probability 0 and removed at once.
pub fn blast_radius(drill: &Drill, jvms: &mut TargetJvms) -> Result<(Vec<Value>, usize)> {
    let mut phases = Vec::new();
    let mut hit_nothing = 0;
    for phase in &drill.phases {
        let (pool_faults, method_faults): (Vec<_>, Vec<_>) = phase
            .faults
            .faults
            .iter()
            .filter(|f| f.kind.resource().is_none())
            .cloned()
            .partition(|f| matches!(f.kind, FaultKind::Pool { .. }));
        let mut probe = Scenario { faults: method_faults, ..phase.faults.clone() };
        for f in &mut probe.faults {
            f.id = format!("drill-check.{}", f.id);
            f.probability = 0.0;
            f.duration = Some(PROBE_LEASE);
        }
        let mut armed = Vec::new();
        if !probe.faults.is_empty() {
            let result = jvms.arm(&probe, PROBE_LEASE).with_context(|| format!("phase '{}'", phase.name));
            let (_, remove_error) = jvms.remove_all();
            armed = result?;
            if let Some(e) = remove_error {
                return Err(e);
            }
        }
        let previews = if pool_faults.is_empty() {
            Vec::new()
        } else {
            let pools = Scenario { faults: pool_faults, ..phase.faults.clone() };
            jvms.preview_pools(&pools).with_context(|| format!("phase '{}'", phase.name))?
        };
        let mut faults = Vec::new();
        for f in &phase.faults.faults {
            let (jvms, hits_nothing, warning) = if let Some(resource) = f.kind.resource() {
                // The JVM as a whole: nothing to probe; every target is in the radius.
                let jvms: Vec<Value> =
                    jvms.targets.iter().map(|t| json!({"pid": t.pid(), "resource": resource.to_string()})).collect();
                (jvms, false, "")
            } else if matches!(f.kind, FaultKind::Pool { .. }) {
                let jvms: Vec<Value> = previews
                    .iter()
                    .filter(|(_, id, _)| *id == f.id)
                    .map(|(pid, _, pools)| json!({"pid": pid, "pool_count": pools.len(), "pools": pools}))
                    .collect();
                let would_act = |p: &Value| !p["state"].as_str().unwrap_or("").starts_with("would be left alone");
                let none =
                    previews.iter().filter(|(_, id, _)| *id == f.id).all(|(_, _, pools)| !pools.iter().any(would_act));
                (jvms, none, "matches no executor it could exhaust in any target: it would exhaust nothing unless a matching pool starts during the drill")
            } else {
                let probe_id = format!("drill-check.{}", f.id);
                let jvms: Vec<Value> = armed
                    .iter()
                    .filter(|a| a.id == probe_id)
                    .map(|a| json!({"pid": a.pid, "method_count": a.method_count, "methods": a.methods}))
                    .collect();
                let none = jvms.iter().all(|j| j["method_count"] == 0);
                let warning = if f.kind.preset().is_some() {
                    "waits for classes in every target: none of the technology's classes is loaded, so it would hit nothing unless they load during the drill"
                } else {
                    "matches no loaded method in any target: it would hit nothing unless a matching class loads during the drill"
                };
                (jvms, none, warning)
            };
            hit_nothing += usize::from(hits_nothing);
            let (pool, executor) = match &f.kind {
                FaultKind::Pool { pool, executor, .. } => (pool.clone(), executor.as_ref().map(|e| e.to_string())),
                _ => (None, None),
            };
            faults.push(json!({
                "id": f.id,
                "kind": f.kind.name(),
                "target": f.kind.aim().map(|a| a.to_string()),
                "pool": pool,
                "executor": executor,
                "probability": f.probability,
                "jvms": jvms,
                "warning": hits_nothing.then_some(warning),
            }));
        }
        phases.push(json!({
            "name": phase.name,
            "duration_ms": phase.duration.as_millis() as u64,
            "expect": phase.expect.as_str(),
            "recover_within_ms": phase.recover_within.map(|d| d.as_millis() as u64),
            "faults": faults,
        }));
    }
    Ok((phases, hit_nothing))
}

/// What the requests to one service url came to.
struct ServiceCheck {
    /// "load url" or "steady_state url".
    what: &'static str,
    url: String,
    timeout: Duration,
    ok: usize,
    errors: usize,
    /// Each distinct outcome with how many requests ended so, in order of first appearance.
    outcomes: Vec<(String, usize)>,
    refused: bool,
    timed_out: bool,
}

impl ServiceCheck {
    fn new(what: &'static str, url: &str, timeout: Duration, results: &[Outcome]) -> ServiceCheck {
        let mut outcomes: Vec<(String, usize)> = Vec::new();
        for o in results {
            let text = match o {
                Outcome::Status(code) => format!("HTTP {code}"),
                Outcome::Timeout => format!("no answer within {}", format_duration(timeout)),
                Outcome::Failed(e) => e.clone(),
            };
            match outcomes.iter_mut().find(|(t, _)| *t == text) {
                Some((_, n)) => *n += 1,
                None => outcomes.push((text, 1)),
            }
        }
        let ok = results.iter().filter(|o| o.ok()).count();
        ServiceCheck {
            what,
            url: url.to_string(),
            timeout,
            ok,
            errors: results.len() - ok,
            outcomes,
            refused: results.iter().any(|o| matches!(o, Outcome::Failed(e) if e.contains("refused"))),
            timed_out: results.contains(&Outcome::Timeout),
        }
    }

    /// `3 of 3 requests: Connection refused (os error 111)`, or
    /// `2 of 3 requests: HTTP 200, 1 of 3 requests: HTTP 500`.
    fn detail(&self) -> String {
        let total = self.ok + self.errors;
        if total == 0 {
            return "no request was sent".to_string();
        }
        let parts: Vec<String> =
            self.outcomes.iter().map(|(text, n)| format!("{n} of {total} requests: {text}")).collect();
        parts.join(", ")
    }

    /// The reason the drill cannot run, when no request succeeded.
    fn problem(&self) -> Option<String> {
        if self.ok > 0 {
            return None;
        }
        let hint = if self.refused {
            "is the service running and listening there?".to_string()
        } else if self.timed_out {
            format!(
                "is the service up, and does it answer within the drill's timeout ({})?",
                format_duration(self.timeout)
            )
        } else {
            "the drill counts only 2xx answers as success: is the url right?".to_string()
        };
        Some(format!("{} {}: {}: {hint}", self.what, self.url, self.detail()))
    }

    fn to_json(&self) -> Value {
        json!({"what": self.what, "url": self.url, "ok": self.ok, "errors": self.errors, "detail": self.detail(),
               "problem": self.problem()})
    }
}

/// Sends [`SERVICE_REQUESTS`] GETs to the load url and to the steady-state url (when there
/// are), with the drill's load generator and timeout, the urls at the same time.
async fn check_service(drill: &Drill) -> Result<Vec<ServiceCheck>> {
    // The probe's timeout is the load's, as in `drill run`.
    let timeout = drill.load.as_ref().map_or(Duration::from_secs(2), |l| l.timeout);
    let mut urls = Vec::new();
    if let Some(l) = &drill.load {
        urls.push((Source::Load, "load url", l.url.as_str(), http::client(&l.tls).context("[load]")?));
    }
    if let Some(u) = &drill.steady.url {
        let client = http::client(&drill.steady.tls).context("[steady_state]")?;
        urls.push((Source::Probe, "steady_state url", u.as_str(), client));
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    // Never set: the generators stop by themselves after their few requests.
    let (_stop, stop_rx) = watch::channel(false);
    let start = Instant::now();
    let until = start + SERVICE_PERIOD * SERVICE_REQUESTS;
    for (source, what, url, client) in &urls {
        let uri: Uri = url.parse().with_context(|| format!("{what} {url}"))?;
        tracing::debug!(%url, "checking that the service answers");
        let (tx, stop_rx) = (tx.clone(), stop_rx.clone());
        tokio::spawn(open_loop(*source, client.clone(), uri, SERVICE_PERIOD, timeout, start, until, tx, stop_rx));
    }
    drop(tx);
    let mut results: Vec<Vec<Outcome>> = vec![Vec::new(); urls.len()];
    // Ends when the last request has ended (each by its deadline) and dropped its sender.
    while let Some(shot) = rx.recv().await {
        tracing::debug!(source = shot.source.as_str(), outcome = ?shot.outcome, "service check request");
        if let Some(i) = urls.iter().position(|(source, _, _, _)| *source == shot.source) {
            results[i].push(shot.outcome);
        }
    }
    Ok(urls.iter().zip(&results).map(|((_, what, url, _), r)| ServiceCheck::new(what, url, timeout, r)).collect())
}

fn print_proposal(drill: &Drill, targets: &[Value], alarms: &[Value], service: &[Value], phases: &[Value]) {
    println!("{}: {:?}: {} phases, {}", drill.origin, drill.name, drill.phases.len(), format_duration(drill.total()));
    if let Some(o) = &drill.objective {
        println!("  objective: {o}");
    }
    for t in targets {
        println!(
            "  target {} -> JVM {} ({})",
            t["name"].as_str().unwrap_or(""),
            t["pid"],
            t["main"].as_str().unwrap_or("")
        );
    }
    if let Some(l) = &drill.load {
        println!("  load: {} req/s GET {} (open loop, timeout {})", l.rate, l.url, format_duration(l.timeout));
    }
    let s = &drill.steady;
    let mut hyp = Vec::new();
    if let Some(x) = s.max_error_rate {
        hyp.push(format!("error rate <= {}%", x * 100.0));
    }
    if let Some(x) = s.max_p99 {
        hyp.push(format!("p99 <= {}", format_duration(x)));
    }
    println!(
        "  hypothesis: {} in every {} window, judged every {}{}",
        hyp.join(" and "),
        format_duration(s.window),
        format_duration(s.every),
        s.url.as_ref().map_or(String::new(), |u| format!("; probe GET {u}"))
    );
    for c in service {
        println!(
            "  service: {} {}: {}",
            c["what"].as_str().unwrap_or(""),
            c["url"].as_str().unwrap_or(""),
            c["detail"].as_str().unwrap_or("")
        );
        if c["problem"].is_string() {
            println!("    problem: no request succeeded: the drill would spend its baseline at 100% errors");
        } else if c["errors"].as_u64().unwrap_or(0) > 0 {
            println!("    warning: some requests failed before any fault: the baseline may not hold");
        }
    }
    for (a, spec) in alarms.iter().zip(&drill.alarms) {
        let clear = spec
            .expect_clear_within
            .map_or(String::new(), |d| format!(" and clear within {} of the last", format_duration(d)));
        println!(
            "  alarm '{}': {} every {}, must fire within {} of the first fault{clear}: {}, {} now",
            spec.name,
            spec.source.describe(),
            format_duration(spec.every),
            format_duration(spec.expect_within),
            if matches!(spec.source, AlarmSource::Command(_)) { "starts" } else { "answers" },
            if a["firing_now"] == true { "FIRING" } else { "not firing" }
        );
        if let Some(w) = a["warning"].as_str() {
            println!("    warning: {w}");
        }
    }
    for (i, (p, spec)) in phases.iter().zip(&drill.phases).enumerate() {
        let recover = spec.recover_within.map_or(String::new(), |d| format!(", recover within {}", format_duration(d)));
        println!(
            "  phase {} '{}' {} (expect {}{recover})",
            i + 1,
            spec.name,
            format_duration(spec.duration),
            spec.expect.as_str()
        );
        for f in p["faults"].as_array().into_iter().flatten() {
            println!(
                "    {} {} {}",
                f["id"].as_str().unwrap_or(""),
                f["kind"].as_str().unwrap_or(""),
                f["target"]
                    .as_str()
                    .map_or_else(|| pool_aim(f["pool"].as_str(), f["executor"].as_str()), str::to_string)
            );
            for j in f["jvms"].as_array().into_iter().flatten() {
                if let Some(pools) = j["pools"].as_array() {
                    println!("      JVM {}: {} pool(s)", j["pid"], pools.len());
                    for p in pools.iter().take(10) {
                        println!(
                            "        {} ({} workers{}): {}",
                            p["identity"].as_str().unwrap_or(""),
                            p["workers"],
                            p["max_threads"].as_u64().map_or(String::new(), |m| format!(", at most {m}")),
                            p["state"].as_str().unwrap_or("")
                        );
                    }
                    continue;
                }
                println!("      JVM {}: {} method(s)", j["pid"], j["method_count"]);
                for m in j["methods"].as_array().into_iter().flatten().take(10) {
                    println!("        {}", m.as_str().unwrap_or(""));
                }
            }
            if let Some(w) = f["warning"].as_str() {
                println!("      warning: {w}");
            }
        }
    }
    if let Some(a) = &drill.abort {
        let mut c = Vec::new();
        if let Some(x) = a.max_error_rate {
            c.push(format!("error rate > {}%", x * 100.0));
        }
        if let Some(x) = a.max_p99 {
            c.push(format!("p99 > {}", format_duration(x)));
        }
        println!("  abort: remove every fault when {} for {}", c.join(" or "), format_duration(a.sustained));
    }
    for c in &drill.contingency {
        println!(
            "  contingency on {}: '{}' {:?} (timeout {}): starts",
            c.on.as_str(),
            c.name,
            c.command,
            format_duration(c.timeout)
        );
    }
    if let Some(w) = &drill.window {
        println!(
            "  window: {} ({})",
            w.to_json(),
            w.refuses_now(drill.total()).map_or("a run started now would be inside it".to_string(), |why| format!(
                "a run started now would be refused: {why}"
            ))
        );
    }
}
