//! What is armed: `status` (every fault with its matches and counters), the counters of one
//! fault (armed or removed), and the preview of pool faults (`drill check`).

use std::time::Instant;

use faultline_model::protocol::{
    CountersReply, FaultStatus, PoolPreview, PoolStatus, PresetStatus, ResourceStatus, SkippedMethod, StatusReply,
};
use faultline_model::scenario::{FaultKind, Scenario};
use jni::JNIEnv;
use serde_json::Value;

use super::Agent;
use crate::boot::{self, module_access, pools};
use crate::sync::Locked;

impl Agent {
    /// The counters of a fault: read from its Java object while armed, from its removal
    /// event after.
    pub fn counters(&self, env: &mut JNIEnv, id: &str) -> Result<CountersReply, String> {
        let hooks = self.hooks()?;
        let table = self.table();
        match table.iter().find(|f| f.spec.id == id) {
            Some(f) => {
                let (calls, injected) = hooks.counters(env, &f.java);
                Ok(CountersReply { calls, injected })
            }
            None => self.final_counters(id),
        }
    }

    /// Counters of a removed fault, from its removal event.
    fn final_counters(&self, id: &str) -> Result<CountersReply, String> {
        for line in self.events.since(0, Some(id)).0.iter().rev() {
            if let Ok(v) = serde_json::from_str::<Value>(line) {
                if matches!(v["kind"].as_str(), Some("removed" | "expired")) {
                    let (calls, injected) = (v["calls"].as_i64().unwrap_or(0), v["injected"].as_i64().unwrap_or(0));
                    return Ok(CountersReply { calls, injected });
                }
            }
        }
        Err(format!("no fault with id '{id}' is or was armed in this JVM"))
    }

    /// What the pool faults of `scenario` would act on if armed now, without arming them (see
    /// `Pools.preview`); other kinds are left out. An error is what arming would say.
    pub fn preview_pools(&self, env: &mut JNIEnv, scenario: &Scenario) -> Result<Vec<PoolPreview>, String> {
        let hooks = self.hooks()?;
        let mut out = Vec::new();
        for spec in &scenario.faults {
            if let FaultKind::Pool { pool, executor, mode } = &spec.kind {
                module_access::open_packages_for_pools(&self.jvmti, hooks, env);
                let found = pools::preview(env, &spec.id, pool.as_deref(), executor.as_ref(), mode.as_str())?;
                out.push(PoolPreview { id: spec.id.clone(), pools: json_array(found) });
            }
        }
        Ok(out)
    }

    pub fn status(&self, env: &mut JNIEnv) -> Result<StatusReply, String> {
        let hooks = self.hooks()?;
        let now = Instant::now();
        let mut faults = Vec::new();
        for f in self.table().iter() {
            let (calls, injected) = hooks.counters(env, &f.java);
            let (methods, classes) = f.reached();
            let hits = f.hits.locked();
            let pool = match &f.spec.kind {
                FaultKind::Pool { pool, executor, mode } => Some(PoolStatus {
                    pool: pool.clone(),
                    executor: executor.as_ref().map(|e| e.text().to_string()),
                    mode: mode.as_str().to_string(),
                    pools: json_array(boot::described(env, &f.java)),
                }),
                _ => None,
            };
            faults.push(FaultStatus {
                id: f.spec.id.clone(),
                kind: f.spec.kind.name().to_string(),
                target: f.spec.kind.target().map(|t| t.to_string()),
                armed_at: humantime::format_rfc3339_micros(f.armed_wall).to_string(),
                method_count: methods.len(),
                methods,
                skipped: hits
                    .skipped
                    .iter()
                    .map(|(method, reason)| SkippedMethod { method: method.clone(), reason: reason.clone() })
                    .collect(),
                calls,
                injected,
                time_left_ms: f.deadline.map(|d| d.saturating_duration_since(now).as_millis() as u64),
                at: f.spec.kind.target().map(|_| f.spec.at.as_str().to_string()),
                when: f.spec.when.as_ref().map(|w| w.text.clone()),
                value: match &f.spec.kind {
                    FaultKind::Return { value, .. } => {
                        Some(value.as_ref().map_or(serde_json::Value::Null, |v| v.to_string().into()))
                    }
                    _ => None,
                },
                pool,
                preset: f.spec.kind.preset().map(|used| PresetStatus {
                    name: used.preset.name.to_string(),
                    keys: used.values().into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
                    classes: classes.iter().map(|c| c.replace('/', ".")).collect(),
                }),
                status: match &f.spec.kind {
                    FaultKind::Respond { status, .. } => Some(*status),
                    _ => None,
                },
                resource: f.spec.kind.resource().map(|r| ResourceStatus {
                    about: r.to_string(),
                    settings: r.json_pairs().into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
                    figures: boot::described(env, &f.java),
                }),
            });
        }
        Ok(StatusReply { faults, events_dropped: self.events.dropped(), pid: std::process::id() })
    }
}

/// The elements of a JSON array the Java side wrote; nothing for anything else.
fn json_array(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        _ => Vec::new(),
    }
}
