//! The contingency plan: `[[contingency]]` steps run, in the order written, when their trigger
//! happens (an abort, a breach, the end), always after the drill's faults are removed. A step
//! that fails or outlives its timeout is a finding, never a hang of the drill.

use std::path::Path;

use anyhow::Result;
use serde_json::{json, Value};

use super::command;
use super::model::{Drill, Trigger};

/// Every step's program can be started: checked before anything is injected.
pub fn check_programs(drill: &Drill) -> Result<()> {
    for c in &drill.contingency {
        command::find_program(&format!("contingency '{}'", c.name), &c.command[0])?;
    }
    Ok(())
}

/// Runs the steps for `trigger`; one journal record per step. The steps see the drill's
/// name, its output directory and why they run in `FAULTLINE_DRILL_*` variables.
pub async fn run(drill: &Drill, trigger: Trigger, reason: &str, out: &Path) -> Vec<Value> {
    let mut records = Vec::new();
    for c in drill.contingency.iter().filter(|c| c.on == trigger) {
        let env = [
            ("FAULTLINE_DRILL_NAME", drill.name.clone()),
            ("FAULTLINE_DRILL_OUT", out.display().to_string()),
            ("FAULTLINE_DRILL_TRIGGER", trigger.as_str().to_string()),
            ("FAULTLINE_DRILL_REASON", reason.to_string()),
        ];
        let record = match command::run_captured(&c.command, &env, c.timeout).await {
            Ok(f) => json!({
                "name": c.name, "on": trigger.as_str(), "reason": reason, "command": c.command,
                "exit_code": f.exit_code, "timed_out": f.timed_out, "ok": f.exit_code == Some(0),
                "output": f.output, "duration_ms": f.elapsed.as_secs_f64() * 1000.0,
            }),
            Err(e) => json!({
                "name": c.name, "on": trigger.as_str(), "reason": reason, "command": c.command,
                "exit_code": null, "timed_out": false, "ok": false, "output": format!("{e:#}"), "duration_ms": 0.0,
            }),
        };
        records.push(record);
    }
    records
}
