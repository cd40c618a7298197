//! The CLI verbs, one function each. They print for people by default and JSON with
//! `--json`; errors go back to `main`, which prints one line and exits 1 (2 for a
//! [`UsageError`]). Everything the user typed is checked before the JVM is touched.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};

use faultline_model::duration::{format_duration, parse_duration};
use faultline_model::protocol::{self, Arm, Events, PoolStatus, Status, Stop};
use faultline_model::resource::{ExitMode, Resource};
use faultline_model::scenario::{FaultKind, Scenario};

use crate::attach::ps::{self, Jvm};
use crate::client::AttachedJvm;
use crate::usage::UsageError;

/// Faults injected from the CLI end after this unless `--for` says otherwise: a forgotten
/// fault must not outlive the experiment.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(600);

/// `status` of a JVM without the agent: nothing is armed there.
pub fn status_without_agent(jvm: &Jvm, json_out: bool) -> Result<()> {
    if json_out {
        println!("{}", json!({"ok": true, "pid": jvm.info.pid, "agent_loaded": false, "faults": []}));
    } else {
        println!("JVM {} ({}): 0 faults armed (no faultline agent loaded)", jvm.info.pid, jvm.main);
    }
    Ok(())
}

/// `stop` in a JVM without the agent: nothing to remove; a named id does not exist.
pub fn stop_without_agent(jvm: &Jvm, ids: &[String], json_out: bool) -> Result<()> {
    if let Some(id) = ids.first() {
        bail!("no fault with id '{id}' in JVM {}: it has no faultline agent loaded, so nothing is armed", jvm.info.pid);
    }
    if json_out {
        println!("{}", json!({"ok": true, "removed": []}));
    } else {
        println!("no faults were armed in JVM {} (no faultline agent loaded)", jvm.info.pid);
    }
    Ok(())
}

/// `events` of a JVM without the agent: there are none.
pub fn events_without_agent(jvm: &Jvm, json_out: bool) -> Result<()> {
    if !json_out {
        eprintln!("faultline: JVM {} has no faultline agent loaded: no events", jvm.info.pid);
    }
    Ok(())
}

pub fn ps(json_out: bool) -> Result<()> {
    let jvms = ps::list_jvms();
    if json_out {
        let list: Vec<Value> = jvms
            .iter()
            .map(|j| {
                json!({
                    "pid": j.info.pid,
                    "nspid": j.info.nspid,
                    "user": j.info.user,
                    "uid": j.info.uid,
                    "jdk": j.jdk_version,
                    "main": j.main,
                    "attachable": j.attachable.is_ok(),
                    "not_attachable_because": j.attachable.as_ref().err(),
                    "agent_loaded": j.agent_loaded,
                    "dynamic_agent_warning": ps::dynamic_agent_warning(j),
                })
            })
            .collect();
        println!("{}", Value::Array(list));
        return Ok(());
    }
    println!("{:>7}  {:<10} {:<10} {:<6} {:<5} MAIN", "PID", "USER", "JDK", "ATTACH", "AGENT");
    for j in &jvms {
        let attach = match &j.attachable {
            Ok(()) if ps::dynamic_agent_warning(j) => "yes*",
            Ok(()) => "yes",
            Err(_) => "no",
        };
        println!(
            "{:>7}  {:<10} {:<10} {:<6} {:<5} {}",
            j.info.pid,
            truncate(&j.info.user, 10),
            j.jdk_version.as_deref().unwrap_or("?"),
            attach,
            if j.agent_loaded { "yes" } else { "no" },
            j.main
        );
        if let Err(reason) = &j.attachable {
            println!("{:>7}  not attachable: {reason}", "");
        }
    }
    if jvms.iter().any(ps::dynamic_agent_warning) {
        println!("* JDK 21+: attaching prints a warning in the JVM unless it runs with -XX:+EnableDynamicAgentLoading");
    }
    if jvms.is_empty() {
        println!("(no JVMs found)");
    }
    Ok(())
}

/// The flags of `inject`, as scenario keys.
pub struct InjectArgs {
    pub kind: String,
    pub keys: Vec<(&'static str, KeyValue)>,
    pub id: Option<String>,
    pub lease: Option<String>,
}

pub enum KeyValue {
    /// Written as a TOML string.
    Text(String),
    /// Written as it is (a TOML number, boolean or already quoted value).
    Raw(String),
}

/// An `inject` whose flags were checked: ready to arm once the JVM is attached.
pub struct Injection {
    args: InjectArgs,
    lease: Duration,
}

impl InjectArgs {
    /// The flags as a one-fault scenario with this id; a bad flag names itself.
    fn scenario(&self, id: &str) -> Result<Scenario, UsageError> {
        let mut toml = format!("[[fault]]\nid = {}\nkind = {}\n", quote(id), quote(&self.kind));
        for (key, value) in &self.keys {
            let v = match value {
                KeyValue::Text(t) => quote(t),
                KeyValue::Raw(n) => n.clone(),
            };
            toml.push_str(&format!("{key} = {v}\n"));
        }
        Scenario::parse(&toml, "command line").map_err(|e| match &e.key {
            Some(key) => UsageError(format!("--{key}: {}", e.message)),
            None => UsageError(e.message),
        })
    }

    /// Checks every flag without touching a JVM (the id is not known yet when it is free).
    pub fn check(self) -> Result<Injection, UsageError> {
        let probe = self.id.clone().unwrap_or_else(|| format!("{}-1", self.kind));
        self.scenario(&probe)?;
        let lease = check_lease(self.lease.as_deref())?;
        Ok(Injection { args: self, lease })
    }
}

fn check_lease(text: Option<&str>) -> Result<Duration, UsageError> {
    match text {
        Some(text) => match parse_duration(text) {
            Ok(d) if d.is_zero() => Err(UsageError(format!(
                "--for: {text:?} would end the fault at once; give how long it stays armed, e.g. 5m (default {})",
                format_duration(DEFAULT_LEASE)
            ))),
            Ok(d) => Ok(d),
            Err(e) => Err(UsageError(format!("--for: {e}"))),
        },
        None => Ok(DEFAULT_LEASE),
    }
}

pub fn inject(target: &mut AttachedJvm, injection: Injection, json_out: bool) -> Result<()> {
    let id = match &injection.args.id {
        Some(id) => id.clone(),
        None => free_id(target, &injection.args.kind)?,
    };
    let scenario = injection.args.scenario(&id)?;
    arm(target, &scenario, injection.lease, json_out)
}

/// A scenario file and lease, read and checked before any JVM is touched.
pub struct Application {
    scenario: Scenario,
    lease: Duration,
}

pub fn load_application(file: &Path, lease: Option<&str>) -> Result<Application> {
    let lease = check_lease(lease)?;
    let scenario = Scenario::load(file).map_err(|e| anyhow!("{e}"))?;
    if scenario.faults.is_empty() {
        bail!("{} has no [[fault]] to arm", file.display());
    }
    Ok(Application { scenario, lease })
}

pub fn apply(target: &mut AttachedJvm, application: &Application, json_out: bool) -> Result<()> {
    arm(target, &application.scenario, application.lease, json_out)
}

fn arm(target: &mut AttachedJvm, scenario: &Scenario, lease: Duration, json_out: bool) -> Result<()> {
    let reply = target.client.call(Arm {
        default_duration_ms: Some(lease.as_millis() as u64),
        ..Arm::text(scenario.to_toml(), scenario.origin.clone())
    })?;
    if target.loaded_agent && !ps::started_with_agent(&target.jvm) {
        eprintln!(
            "faultline: note: the first fault armed in JVM {} makes HotSpot recompile its compiled code once \
             (a JIT warm-up); a JVM started with -agentpath:{} (idle, no cost) avoids it",
            target.jvm.info.pid,
            target.library.display()
        );
    }
    if json_out {
        println!("{}", protocol::reply_line(&Ok(reply)));
        return Ok(());
    }
    let wants_status = |f: &faultline_model::scenario::FaultSpec| match &f.kind {
        FaultKind::Pool { .. } => true,
        FaultKind::Resource(r) => !matches!(r, Resource::Exit { .. }),
        _ => false,
    };
    let pool_status =
        if scenario.faults.iter().any(wants_status) { Some(target.client.call(Status {})?) } else { None };
    let pid = target.jvm.info.pid;
    for (fault, armed) in scenario.faults.iter().zip(&reply.armed) {
        let lasts = format_duration(fault.duration.unwrap_or(lease));
        if let FaultKind::Pool { pool, executor, mode } = &fault.kind {
            let executor = executor.as_ref().map(|e| e.to_string());
            let aim = protocol::pool_aim(pool.as_deref(), executor.as_deref());
            println!("armed '{}' (pool {aim}, {}) in JVM {pid} for {lasts}:", fault.id, mode.as_str());
            let pools = pool_status
                .iter()
                .flat_map(|s| &s.faults)
                .find(|f| f.id == fault.id)
                .and_then(|f| f.pool.as_ref())
                .map(|p| p.pools.clone())
                .unwrap_or_default();
            for p in &pools {
                match p["identity"].as_str() {
                    Some(identity) => println!("  {identity}: {}", p["state"].as_str().unwrap_or("?")),
                    None => println!(
                        "  no matching executor yet; it stays armed and applies to pools that start later (rescanned every 200 ms)"
                    ),
                }
            }
            continue;
        }
        if let FaultKind::Resource(resource) = &fault.kind {
            if let Resource::Exit { code, mode } = resource {
                println!("armed '{}' ({resource}) in JVM {pid}: the JVM ends now", fault.id);
                if wait_until_ended(pid, EXIT_WAIT) {
                    println!("JVM {pid} ended ({} with status {code})", exit_call(*mode));
                } else {
                    bail!(
                        "JVM {pid} still runs {} after the exit fault: a shutdown hook may be holding it up \
                         (--halt skips them)",
                        format_duration(EXIT_WAIT)
                    );
                }
                continue;
            }
            let figures = pool_status
                .iter()
                .flat_map(|s| &s.faults)
                .find(|f| f.id == fault.id)
                .and_then(|f| f.resource.as_ref())
                .map(|r| figures_text(&r.figures))
                .unwrap_or_default();
            println!("armed '{}' ({resource}) in JVM {pid} for {lasts}: {figures}", fault.id);
            continue;
        }
        let methods = armed.methods;
        let target_text = fault_aim(fault);
        if let (0, Some(used)) = (methods, fault.kind.preset()) {
            println!(
                "armed '{}' ({} {}) in JVM {pid} for {lasts}: waits for classes: no class of {} is loaded yet; it \
                 applies to them as they load",
                fault.id,
                fault.kind.name(),
                target_text,
                used.preset.name
            );
        } else if methods == 0 {
            println!(
                "armed '{}' ({} {}) in JVM {pid} for {lasts}: no loaded method matches yet; it applies to classes as they load",
                fault.id,
                fault.kind.name(),
                target_text,
            );
        } else {
            println!(
                "armed '{}' ({} {}) in JVM {pid} for {lasts}: {methods} method{} instrumented",
                fault.id,
                fault.kind.name(),
                target_text,
                if methods == 1 { "" } else { "s" }
            );
        }
    }
    Ok(())
}

/// How long `inject exit` waits for the JVM to end before it says it did not.
const EXIT_WAIT: Duration = Duration::from_secs(15);

/// Whether process `pid` ended (gone, or a zombie waiting for its parent) within `wait`.
fn wait_until_ended(pid: i32, wait: Duration) -> bool {
    let deadline = std::time::Instant::now() + wait;
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"));
        // The state follows the command name in parentheses: "1234 (java) Z ...".
        let ended = match &stat {
            Err(_) => true,
            Ok(text) => text.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X')),
        };
        if ended {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn exit_call(mode: ExitMode) -> &'static str {
    match mode {
        ExitMode::Exit => "System.exit",
        ExitMode::Halt => "Runtime.halt",
    }
}

/// The fields of a resource fault's event beyond the ones every event has.
fn event_figures(e: &Value) -> Value {
    let mut figures = e.as_object().cloned().unwrap_or_default();
    for common in ["time", "fault", "kind", "phase", "fault_kind", "thread", "duration_ms"] {
        figures.remove(common);
    }
    Value::Object(figures)
}

/// A resource fault's figures as people read them: `held 512 MB, used_fraction 0.80`.
fn figures_text(figures: &Value) -> String {
    let Some(map) = figures.as_object() else {
        return "figures not read yet".into();
    };
    map.iter()
        .map(|(k, v)| match (k.strip_suffix("_bytes"), v.as_f64()) {
            (Some(name), Some(bytes)) => format!("{} {:.1} MB", name.replace('_', " "), bytes / (1 << 20) as f64),
            (None, Some(x)) if v.is_f64() => format!("{} {x:.2}", k.replace('_', " ")),
            _ => format!("{} {}", k.replace('_', " "), v.as_str().map_or_else(|| v.to_string(), str::to_string)),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A method fault as people read it: the target or preset, then where, when and what it
/// returns or answers.
fn fault_aim(fault: &faultline_model::scenario::FaultSpec) -> String {
    let mut text = fault.kind.aim().map(|a| a.to_string()).unwrap_or_default();
    if let FaultKind::Respond { status, .. } = &fault.kind {
        let statuses = fault.kind.preset().map_or(faultline_model::preset::Statuses::Http, |u| u.preset.statuses);
        text.push_str(&format!(" answering {}", statuses.show(*status)));
    }
    if fault.at == faultline_model::scenario::Point::Exit {
        text.push_str(" at exit");
    }
    if let Some(when) = &fault.when {
        text.push_str(&format!(" when {}", when.text));
    }
    if let FaultKind::Return { value, .. } = &fault.kind {
        match value {
            Some(v) => text.push_str(&format!(" returning {v}")),
            None => text.push_str(" skipping the body"),
        }
    }
    text
}

fn free_id(target: &mut AttachedJvm, kind: &str) -> Result<String> {
    let status = target.client.call(Status {})?;
    (1..)
        .map(|n| format!("{kind}-{n}"))
        .find(|id| !status.faults.iter().any(|f| &f.id == id))
        .context("no free fault id")
}

pub fn status(target: &mut AttachedJvm, json_out: bool) -> Result<()> {
    let status = target.client.call(Status {})?;
    if json_out {
        println!("{}", protocol::reply_line(&Ok(status)));
        return Ok(());
    }
    let faults = &status.faults;
    println!(
        "JVM {} ({}): {} fault{} armed",
        target.jvm.info.pid,
        target.jvm.main,
        faults.len(),
        if faults.len() == 1 { "" } else { "s" }
    );
    if faults.is_empty() {
        return Ok(());
    }
    println!(
        "{:<18} {:<9} {:>7} {:>9} {:>9} {:>10}  TARGET",
        "ID", "KIND", "METHODS", "CALLS", "INJECTED", "TIME LEFT"
    );
    for f in faults {
        let left = f
            .time_left_ms
            .map(|ms| format_duration(Duration::from_secs(ms.div_ceil(1000))))
            .unwrap_or_else(|| "-".into());
        println!(
            "{:<18} {:<9} {:>7} {:>9} {:>9} {:>10}  {}",
            f.id,
            f.kind,
            f.method_count,
            f.calls,
            f.injected,
            left,
            status_aim(f)
        );
        if let Some(preset) = &f.preset {
            // A preset hooks an API's every method: the classes it reached say more.
            if preset.classes.is_empty() {
                println!("{:<18}   waits for classes: no class of {} is loaded yet", "", preset.name);
            }
            for c in preset.classes.iter().take(10) {
                println!("{:<18}   reaches {c}", "");
            }
            if preset.classes.len() > 10 {
                println!("{:<18}   ... and {} more classes", "", preset.classes.len() - 10);
            }
        } else {
            for m in f.methods.iter().take(10) {
                println!("{:<18}   {m}", "");
            }
            if f.method_count > 10 {
                println!("{:<18}   ... and {} more", "", f.method_count - 10);
            }
        }
        for p in f.pool.iter().flat_map(|p: &PoolStatus| &p.pools) {
            match p["identity"].as_str() {
                Some(identity) => println!(
                    "{:<18}   pool {identity} ({}): occupied {}, queue {}, {}",
                    "",
                    p["threads"].as_str().unwrap_or(""),
                    p["occupied"],
                    queue_text(p),
                    p["state"].as_str().unwrap_or("")
                ),
                None => println!("{:<18}   {}", "", p["state"].as_str().unwrap_or("")),
            }
        }
        if let Some(resource) = &f.resource {
            println!("{:<18}   {}", "", figures_text(&resource.figures));
        }
        for s in f.skipped.iter().take(10) {
            println!("{:<18}   skipped {}: {}", "", s.method, s.reason);
        }
        if f.skipped.len() > 10 {
            println!("{:<18}   ... and {} more skipped (status --json lists them all)", "", f.skipped.len() - 10);
        }
    }
    if status.events_dropped > 0 {
        println!("{} events could not be written to the events file (queue full)", status.events_dropped);
    }
    Ok(())
}

/// What a fault in `status` acts on, as people read it (see `fault_aim`).
fn status_aim(f: &protocol::FaultStatus) -> String {
    let mut text = f.aim();
    if f.at.as_deref() == Some("exit") {
        text.push_str(" at exit");
    }
    if let Some(when) = &f.when {
        text.push_str(&format!(" when {when}"));
    }
    match &f.value {
        Some(Value::String(v)) => text.push_str(&format!(" returning {v}")),
        Some(_) => text.push_str(" skipping the body"),
        None => {}
    }
    if let Some(status) = f.status {
        let statuses = f
            .preset
            .as_ref()
            .and_then(|p| faultline_model::preset::find(&p.name))
            .map_or(faultline_model::preset::Statuses::Http, |p| p.statuses);
        text.push_str(&format!(" answering {}", statuses.show(status)));
    }
    text
}

/// A pool's queue as a pool event or status entry gives it: "50 of 50 filled", or
/// "unbounded" / "unknown".
fn queue_text(pool: &Value) -> String {
    match &pool["queue"] {
        Value::Number(n) => format!("{} of {n} filled", pool["queue_filled"]),
        other => other.as_str().unwrap_or("?").to_string(),
    }
}

pub fn stop(target: &mut AttachedJvm, ids: &[String], json_out: bool) -> Result<()> {
    let reply = target.client.call(Stop { ids: ids.to_vec(), ignore_missing: false })?;
    if json_out {
        println!("{}", protocol::reply_line(&Ok(reply)));
        return Ok(());
    }
    if reply.removed.is_empty() {
        println!("no faults were armed in JVM {}", target.jvm.info.pid);
    } else {
        println!(
            "removed {} from JVM {}; its methods run their original bytecode again",
            reply.removed.join(", "),
            target.jvm.info.pid
        );
    }
    Ok(())
}

pub fn events(target: &mut AttachedJvm, follow: bool, json_out: bool) -> Result<()> {
    let mut since = 0u64;
    loop {
        let reply = match target.client.call(Events { since, fault: None }) {
            Ok(reply) => reply,
            // Following a JVM that ends is the normal end of `--follow`.
            Err(_) if follow && !std::path::Path::new(&format!("/proc/{}", target.jvm.info.pid)).exists() => {
                eprintln!("faultline: JVM {} exited", target.jvm.info.pid);
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        for line in &reply.events {
            if json_out {
                println!("{line}");
            } else if let Ok(event) = serde_json::from_str::<Value>(line) {
                println!("{}", describe_event(&event));
            }
        }
        since = reply.next;
        if !follow {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// One line for people: time, fault, what happened, where.
pub fn describe_event(e: &Value) -> String {
    let time = e["time"].as_str().unwrap_or("");
    let clock = time.split('T').nth(1).map(|t| t.trim_end_matches('Z')).unwrap_or(time);
    let clock: String = clock.chars().take(12).collect();
    let fault = e["fault"].as_str().unwrap_or("");
    let kind = e["kind"].as_str().unwrap_or("");
    let at = if e["at"] == "exit" { " at exit" } else { "" };
    // A preset's injection names what the call was (the SQL, the request), not the method.
    let site = match e["preset"].as_str() {
        Some(preset) => format!("{preset} {:?}", e["matched"].as_str().unwrap_or("")),
        None => e["method"].as_str().unwrap_or("").to_string(),
    };
    let thread = e["thread"].as_str().unwrap_or("");
    let detail = match kind {
        "return" => match e["returned"].as_str() {
            Some(value) => format!("{site}{at} returned {value} on {thread}"),
            None => format!("{site} skipped on {thread}"),
        },
        "respond" => format!("{site} answered {} on {thread}", e["status"]),
        "latency" | "hang" => format!(
            "{site}{at} +{:.1} ms on {thread}{}",
            e["delay_ms"].as_f64().unwrap_or(0.0),
            if e["timed_out"] == true { ", then the caller's own timeout" } else { "" }
        ),
        "exception" => format!(
            "{site}{at} threw {} on {thread}, caught at {}",
            e["exception"].as_str().unwrap_or(""),
            e["caught"].as_str().unwrap_or("?")
        ),
        "pool" => format!(
            "{} exhausted: {} workers occupied, queue {}{}",
            e["executor"].as_str().unwrap_or(""),
            e["occupied"],
            queue_text(e),
            if e["rejecting"] == true { ", rejecting new tasks" } else { "" }
        ),
        k if faultline_model::resource::KINDS.contains(&k) => {
            format!("{}: {}", e["phase"].as_str().unwrap_or(""), figures_text(&event_figures(e)))
        }
        "released" => format!("released {}", figures_text(&event_figures(e))),
        "armed" if e["fault_kind"].as_str().is_some_and(|k| faultline_model::resource::KINDS.contains(&k)) => {
            format!("{} {}", e["fault_kind"].as_str().unwrap_or(""), figures_text(&event_figures(e)))
        }
        "armed" if e["fault_kind"] == "pool" => format!(
            "pool {} ({})",
            protocol::pool_aim(e["pool"].as_str(), e["executor"].as_str()),
            e["mode"].as_str().unwrap_or("")
        ),
        "armed" => {
            let aim = match (e["preset"].as_str(), e["match"].as_object()) {
                (Some(preset), Some(keys)) => {
                    let keys: Vec<(String, String)> =
                        keys.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string())).collect();
                    protocol::preset_aim(preset, &keys)
                }
                _ => e["target"].as_str().unwrap_or("").to_string(),
            };
            format!("{} {aim} ({} methods)", e["fault_kind"].as_str().unwrap_or(""), e["methods"])
        }
        "removed" | "expired" => format!("after {} calls, {} injections", e["calls"], e["injected"]),
        _ => e["message"].as_str().unwrap_or("").to_string(),
    };
    format!("{clock}  {fault:<16} {kind:<9} {detail}")
}

/// `faultline presets`: every preset with its keys, kinds and the libraries it is tested with.
pub fn presets(json_out: bool) -> Result<()> {
    use faultline_model::preset::{KeyForm, Statuses, PRESETS};
    if json_out {
        let list: Vec<Value> = PRESETS
            .iter()
            .map(|p| {
                json!({
                    "name": p.name,
                    "about": p.about,
                    "keys": p.keys.iter().map(|k| json!({
                        "name": k.name,
                        "form": k.form.describe(),
                        "about": k.about,
                        "example": k.example,
                    })).collect::<Vec<_>>(),
                    "kinds": p.kinds,
                    "default_throw": p.takes_kind("exception").then_some(p.default_throw),
                    "throw_names": p.throw_names.iter().map(|t| json!({"name": t.name, "about": t.about})).collect::<Vec<_>>(),
                    "hooks": p.hooks,
                    "tested_with": p.tested_with,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&Value::Array(list))?);
        return Ok(());
    }
    for (i, p) in PRESETS.iter().enumerate() {
        if i > 0 {
            println!();
        }
        println!("{}: {}", p.name, p.about);
        if p.takes_kind("exception") {
            println!("  kinds: {} (exception default: {})", p.kinds.join(", "), p.default_throw);
        } else {
            println!("  kinds: {}", p.kinds.join(", "));
        }
        if p.statuses == Statuses::Grpc {
            println!(
                "  status = \"UNAVAILABLE\": the gRPC status a respond fault ends the call with (a name, or 1..16)"
            );
        }
        for t in p.throw_names {
            println!("  throw = {:?}: {}", t.name, t.about);
        }
        for k in p.keys {
            // As a scenario file would have it: a regex in a literal string, a port as a number.
            let example = match k.form {
                KeyForm::Port => k.example.to_string(),
                KeyForm::Regex => format!("'{}'", k.example),
                _ => format!("{:?}", k.example),
            };
            println!("  {} = {example}    {}: {}", k.name, k.about, k.form.describe());
        }
        println!("  tested with: {}", p.tested_with.join(", "));
    }
    println!();
    println!("Use one in a scenario (preset = \"NAME\" and its keys) or with inject --preset NAME --KEY VALUE.");
    Ok(())
}

pub fn check(paths: &[PathBuf]) -> Result<()> {
    let mut failed = 0;
    for path in paths {
        match Scenario::load_all_errors(path) {
            Ok(scenario) if scenario.faults.is_empty() => {
                eprintln!("faultline: {} has no [[fault]] to arm", path.display());
                failed += 1;
            }
            Ok(scenario) => {
                let name = scenario.name.as_deref().unwrap_or("(unnamed)");
                println!("{}: {} ({} faults)", path.display(), name, scenario.faults.len());
                for fault in &scenario.faults {
                    println!("  {:<16} {:<9} {}", fault.id, fault.kind.name(), fault_aim(fault));
                }
            }
            Err(errors) => {
                for e in errors {
                    eprintln!("faultline: {e}");
                }
                failed += 1;
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {} scenario files are invalid", paths.len());
    }
    Ok(())
}

fn quote(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

fn truncate(text: &str, width: usize) -> String {
    text.chars().take(width).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_events_read_as_what_happened_to_the_pool() {
        let exhausted = json!({"time": "2026-11-30T10:00:01.123456Z", "fault": "orders-full", "kind": "pool",
            "executor": "com.acme.OrderExecutor@1de2164d", "occupied": 4, "queue_filled": 50, "queue": 50,
            "rejecting": true, "mode": "reject"});
        let line = describe_event(&exhausted);
        assert!(line.starts_with("10:00:01.123  orders-full      pool"), "{line}");
        assert!(
            line.ends_with("com.acme.OrderExecutor@1de2164d exhausted: 4 workers occupied, queue 50 of 50 filled, rejecting new tasks"),
            "{line}"
        );
        let unbounded = json!({"fault": "f", "kind": "pool", "executor": "E@1", "occupied": 2, "queue_filled": 0,
            "queue": "unbounded", "mode": "saturate"});
        assert!(describe_event(&unbounded).ends_with("E@1 exhausted: 2 workers occupied, queue unbounded"));
        let armed = json!({"fault": "f", "kind": "armed", "fault_kind": "pool", "pool": "orders-*", "executor": null,
            "mode": "saturate"});
        assert!(
            describe_event(&armed).ends_with("armed     pool pool orders-* (saturate)"),
            "{}",
            describe_event(&armed)
        );
    }
}
