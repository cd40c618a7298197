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

use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use serde_json::{json, Value};

use super::alarm;
use super::inject::{self, Injector};
use super::model::Drill;
use crate::duration::format_duration;
use crate::scenario::{FaultKind, Scenario};

/// The lease of a blast-radius probe: it is removed at once, this only bounds a crash.
const PROBE_LEASE: Duration = Duration::from_secs(10);

pub fn check(path: &Path, json_out: bool, agent: Option<&Path>) -> Result<()> {
    let drill = Drill::load(path).map_err(|e| anyhow!("{e}"))?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut alarms = Vec::new();
    for a in &drill.alarms {
        alarm::find_program(a)?;
        let firing = runtime.block_on(alarm::poll_once(a, Duration::from_secs(10)))?;
        alarms.push(json!({"name": a.name, "command": a.command, "starts": true, "firing_now": firing}));
    }
    let resolved = inject::resolve(&drill.targets)?;
    let mut injector = Injector::attach(resolved, agent)?;
    let targets: Vec<Value> =
        injector.targets.iter().map(|t| json!({"name": t.name, "pid": t.pid(), "main": t.jvm.main})).collect();

    let mut phases = Vec::new();
    let mut warnings = 0;
    for phase in &drill.phases {
        let (pool_faults, method_faults): (Vec<_>, Vec<_>) =
            phase.faults.faults.iter().cloned().partition(|f| matches!(f.kind, FaultKind::Pool { .. }));
        let mut probe = Scenario { faults: method_faults, ..phase.faults.clone() };
        for f in &mut probe.faults {
            f.id = format!("drill-check.{}", f.id);
            f.probability = 0.0;
            f.duration = Some(PROBE_LEASE);
        }
        let mut armed = Vec::new();
        if !probe.faults.is_empty() {
            let result = injector.arm(&probe, PROBE_LEASE).with_context(|| format!("phase '{}'", phase.name));
            let (_, remove_error) = injector.remove_all();
            armed = result?;
            if let Some(e) = remove_error {
                return Err(e);
            }
        }
        let previews = if pool_faults.is_empty() {
            Vec::new()
        } else {
            let pools = Scenario { faults: pool_faults, ..phase.faults.clone() };
            injector.preview_pools(&pools).with_context(|| format!("phase '{}'", phase.name))?
        };
        let mut faults = Vec::new();
        for f in &phase.faults.faults {
            let (jvms, hits_nothing, warning) = if matches!(f.kind, FaultKind::Pool { .. }) {
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
                (jvms, none, "matches no loaded method in any target: it would hit nothing unless a matching class loads during the drill")
            };
            warnings += usize::from(hits_nothing);
            let (pool, executor) = match &f.kind {
                FaultKind::Pool { pool, executor, .. } => (pool.clone(), executor.as_ref().map(|e| e.to_string())),
                _ => (None, None),
            };
            faults.push(json!({
                "id": f.id,
                "kind": f.kind.name(),
                "target": f.kind.target().map(|t| t.to_string()),
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
    let how = "blast radius of method faults measured by arming each with probability 0 (no call affected) for at \
               most 10s and removing it at once: the matched methods were briefly instrumented; pool faults were \
               previewed (their executors listed, none touched)";
    if json_out {
        println!(
            "{}",
            json!({"drill": drill.name, "origin": drill.origin, "valid": true, "targets": targets, "alarms": alarms,
                   "phases": phases, "warnings": warnings, "blast_radius_method": how})
        );
        return Ok(());
    }
    print_proposal(&drill, &targets, &alarms, &phases);
    println!("note: {how}");
    if warnings > 0 {
        println!("{warnings} fault{} would hit nothing as things stand", if warnings == 1 { "" } else { "s" });
    }
    Ok(())
}

fn print_proposal(drill: &Drill, targets: &[Value], alarms: &[Value], phases: &[Value]) {
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
    for (a, spec) in alarms.iter().zip(&drill.alarms) {
        println!(
            "  alarm '{}': {:?} every {}, must fire within {} of the first fault: starts, {} now",
            spec.name,
            spec.command,
            format_duration(spec.every),
            format_duration(spec.expect_within),
            if a["firing_now"] == true { "FIRING" } else { "not firing" }
        );
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
                f["target"].as_str().map_or_else(|| pool_aim(f), str::to_string)
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
}

/// How a pool fault is aimed, for people: `pool GLOB`, `executor PATTERN`, or both.
fn pool_aim(fault: &Value) -> String {
    let parts: Vec<String> =
        ["pool", "executor"].iter().filter_map(|key| fault[*key].as_str().map(|v| format!("{key} {v}"))).collect();
    parts.join(" ")
}
