//! The drill's target JVMs: resolving them, arming a phase's faults on every one, removing
//! them, and collecting the agents' events. Whatever happens to the run (an
//! error, a signal, a panic), `remove_all` runs before the process exits, and every fault
//! also carries a lease so that a `kill -9` of the CLI cannot leave one behind.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use faultline_model::protocol::{Arm, Call, Events, Preview, Status, Stop};
use faultline_model::scenario::Scenario;
use serde_json::Value;

use crate::attach::hotspot;
use crate::attach::ps::{self, Jvm};
use crate::client::{agent_library, AgentClient, AttachedJvm};

/// Added to the drill's remaining time for a fault's lease: long enough that a slow phase
/// boundary never lets a fault lapse early, short enough that a killed CLI's faults go soon.
pub const LEASE_MARGIN: Duration = Duration::from_secs(10);

/// The JVMs named by a drill's `targets`, each resolved once; two names for one JVM are an
/// error (its faults would be armed twice).
pub fn resolve(names: &[String]) -> Result<Vec<(String, Jvm)>> {
    let mut seen: BTreeMap<i32, String> = BTreeMap::new();
    let mut out = Vec::new();
    for name in names {
        let jvm = ps::resolve(name).with_context(|| format!("target {name:?}"))?;
        if let Some(other) = seen.insert(jvm.info.pid, name.clone()) {
            bail!(
                "targets {other:?} and {name:?} both resolve to JVM {} ({}): list each JVM once",
                jvm.info.pid,
                jvm.main
            );
        }
        out.push((name.clone(), jvm));
    }
    Ok(out)
}

/// One target JVM of the drill. The drill connects for each request instead of holding the
/// channel open: a JVM that restarts its channel (or the agent's idle close) is re-attached.
/// The targets as found, for the journal and the proposal: name as written, pid, main class, JDK.
pub fn describe(jvms: &TargetJvms) -> Vec<Value> {
    jvms.targets
        .iter()
        .map(|t| serde_json::json!({"name": t.name, "pid": t.pid(), "main": t.jvm.main, "jdk": t.jvm.jdk_version}))
        .collect()
}

pub struct TargetJvm {
    pub name: String,
    pub jvm: Jvm,
    library: std::path::PathBuf,
    /// The events cursor: only events after the drill started are collected.
    next_event: u64,
    /// Fault ids this drill armed here and has not removed yet.
    armed: Vec<String>,
}

impl TargetJvm {
    pub fn pid(&self) -> i32 {
        self.jvm.info.pid
    }

    /// One request on a fresh connection (re-attaching if the agent's channel has closed).
    pub fn call<C: Call>(&self, request: C) -> Result<C::Reply> {
        let mut client = AgentClient::connect(&self.jvm, &self.library, hotspot::DEFAULT_TIMEOUT)
            .with_context(|| format!("lost target JVM {} ({})", self.pid(), self.name))?;
        client.call(request)
    }
}

/// A fault armed in one JVM, as the journal records it.
pub struct ArmedRecord {
    pub pid: i32,
    pub id: String,
    pub methods: Vec<String>,
    pub method_count: u64,
    /// Pool faults: the executors found and their state, as the agent's status lists them.
    pub pools: Vec<Value>,
}

/// Every target JVM of a drill, and what the drill armed in each.
pub struct TargetJvms {
    pub targets: Vec<TargetJvm>,
}

impl TargetJvms {
    /// Attaches to every resolved JVM (loading the agent where needed).
    pub fn attach(resolved: Vec<(String, Jvm)>, agent: Option<&Path>) -> Result<TargetJvms> {
        let mut targets = Vec::new();
        for (name, jvm) in resolved {
            let pid = jvm.info.pid;
            drop(jvm); // AttachedJvm::open resolves it again, with the agent state after loading.
            let mut target = AttachedJvm::open(&pid.to_string(), agent).with_context(|| format!("target {name:?}"))?;
            let next_event = target.client.call(Events { since: u64::MAX, fault: None })?.next;
            let library = agent_library(agent)?;
            targets.push(TargetJvm { name, jvm: target.jvm, library, next_event, armed: Vec::new() });
        }
        Ok(TargetJvms { targets })
    }

    /// Arms `scenario` on every target, each fault leased for `lease` (a fault's own shorter
    /// duration stands). On a failure, what was armed stays recorded for `remove_all`.
    pub fn arm(&mut self, scenario: &Scenario, lease: Duration) -> Result<Vec<ArmedRecord>> {
        let mut leased = scenario.clone();
        for fault in &mut leased.faults {
            fault.duration = Some(fault.duration.map_or(lease, |d| d.min(lease)));
        }
        let mut out = Vec::new();
        for t in &mut self.targets {
            let pid = t.pid();
            let reply = t
                .call(Arm {
                    default_duration_ms: Some(lease.as_millis() as u64),
                    ..Arm::text(leased.to_toml(), scenario.origin.clone())
                })
                .with_context(|| format!("arming {} in JVM {pid}", leased.origin))?;
            t.armed.extend(reply.armed.into_iter().map(|a| a.id));
            let status = t.call(Status {})?;
            for fault in &leased.faults {
                let s = status.faults.iter().find(|f| f.id == fault.id);
                let methods = s.map(|s| s.methods.clone()).unwrap_or_default();
                let method_count = s.map_or(0, |s| s.method_count as u64);
                // An executor entry has an identity; a fault that found none lists only a state.
                let pools = s
                    .and_then(|s| s.pool.as_ref())
                    .map(|p| p.pools.iter().filter(|p| p["identity"].is_string()).cloned().collect())
                    .unwrap_or_default();
                out.push(ArmedRecord { pid, id: fault.id.clone(), methods, method_count, pools });
            }
        }
        Ok(out)
    }

    /// The executors each pool fault of `scenario` would act on in each target, without
    /// arming anything: (pid, fault id, pools as the agent lists them).
    pub fn preview_pools(&self, scenario: &Scenario) -> Result<Vec<(i32, String, Vec<Value>)>> {
        let mut out = Vec::new();
        for t in &self.targets {
            let pid = t.pid();
            let reply = t
                .call(Preview { scenario: scenario.to_toml(), origin: scenario.origin.clone() })
                .with_context(|| format!("previewing the pool faults of {} in JVM {pid}", scenario.origin))?;
            out.extend(reply.faults.into_iter().map(|f| (pid, f.id, f.pools)));
        }
        Ok(out)
    }

    /// Removes the faults this drill armed, on every target; returns (pid, removed ids)
    /// and the first error, after trying every target.
    pub fn remove_all(&mut self) -> (Vec<(i32, Vec<String>)>, Option<anyhow::Error>) {
        let mut removed = Vec::new();
        let mut first_error = None;
        for t in &mut self.targets {
            if t.armed.is_empty() {
                continue;
            }
            let pid = t.pid();
            match t.call(Stop { ids: t.armed.clone(), ignore_missing: false }) {
                Ok(reply) => {
                    removed.push((pid, reply.removed));
                    t.armed.clear();
                }
                Err(e) => {
                    if first_error.is_none() {
                        first_error = Some(anyhow!("removing faults from JVM {pid}: {e:#}"));
                    }
                }
            }
        }
        (removed, first_error)
    }

    /// Whether any fault of this drill is still armed.
    pub fn any_armed(&self) -> bool {
        self.targets.iter().any(|t| !t.armed.is_empty())
    }

    /// New agent events of every target since the last call, as (pid, event).
    pub fn collect_events(&mut self) -> Result<Vec<(i32, Value)>> {
        let mut out = Vec::new();
        for t in &mut self.targets {
            let pid = t.pid();
            let reply = t.call(Events { since: t.next_event, fault: None })?;
            for line in &reply.events {
                if let Ok(event) = serde_json::from_str::<Value>(line) {
                    out.push((pid, event));
                }
            }
            t.next_event = reply.next;
        }
        Ok(out)
    }
}

impl Drop for TargetJvms {
    /// The last line of defence: a panic or an early return still removes the faults.
    fn drop(&mut self) {
        if self.any_armed() {
            let (_, error) = self.remove_all();
            if let Some(e) = error {
                eprintln!("faultline: {e:#}; the fault's lease will remove it");
            }
        }
    }
}
