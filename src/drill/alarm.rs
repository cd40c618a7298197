//! Alarms under test: each `[[alarm]]` command is run every `every`; it exits 0 while the
//! alarm is firing. Changes of state are reported with the time they were seen.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::model::Alarm;

/// A change of an alarm's state, as seen by a poll.
#[derive(Debug, Clone)]
pub struct Change {
    pub alarm: usize,
    pub at: Instant,
    pub firing: bool,
    /// Set when the command could not run or timed out (then it counts as not firing).
    pub problem: Option<String>,
}

/// Where the alarm's program is, or why it cannot be started: checked before anything is
/// injected, so a typo in a command does not cost a drill.
pub fn find_program(alarm: &Alarm) -> Result<PathBuf> {
    let program = &alarm.command[0];
    let executable = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        p.is_file() && p.metadata().is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let p = PathBuf::from(program);
        if executable(&p) {
            return Ok(p);
        }
        bail!("alarm '{}': command {:?} cannot be started: not an executable file", alarm.name, program);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let p = dir.join(program);
        if executable(&p) {
            return Ok(p);
        }
    }
    bail!("alarm '{}': command {:?} cannot be started: not found on PATH", alarm.name, program)
}

/// Runs the alarm's command once: Ok(true) when it exits 0 (firing). A command that outlives
/// `limit` is killed and counts as not firing.
pub async fn poll_once(alarm: &Alarm, limit: Duration) -> Result<bool> {
    let mut child = tokio::process::Command::new(&alarm.command[0])
        .args(&alarm.command[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("alarm '{}': cannot start {:?}", alarm.name, alarm.command[0]))?;
    match tokio::time::timeout(limit, child.wait()).await {
        Ok(status) => Ok(status.context("waiting for the alarm command")?.success()),
        Err(_) => {
            let _ = child.kill().await;
            bail!("alarm '{}': the command ran longer than {limit:?} and was killed", alarm.name)
        }
    }
}

/// Polls one alarm every `every` until `until` or `stop`; sends the first state and every
/// change.
pub async fn watch_alarm(
    index: usize,
    alarm: Alarm,
    until: Instant,
    tx: mpsc::UnboundedSender<Change>,
    mut stop: watch::Receiver<bool>,
) {
    let mut last: Option<bool> = None;
    // A check may take longer than its period (a synthetic request to a slow service): it is
    // given a few seconds before it counts as not firing, and the next poll waits for it.
    let limit = alarm.every.max(Duration::from_secs(5));
    let most =
        (until.saturating_duration_since(Instant::now()).as_secs_f64() / alarm.every.as_secs_f64()).ceil() as u64 + 1;
    let mut next = Instant::now();
    for _ in 0..most {
        if next >= until || *stop.borrow() {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {}
            _ = stop.changed() => break,
        }
        let (firing, problem) = match poll_once(&alarm, limit).await {
            Ok(firing) => (firing, None),
            Err(e) => (false, Some(format!("{e:#}"))),
        };
        // Stamped when the check answered: what it saw is known from then on, never earlier.
        let at = Instant::now();
        if last != Some(firing) || problem.is_some() {
            let _ = tx.send(Change { alarm: index, at, firing, problem });
            last = Some(firing);
        }
        next = (next + alarm.every).max(Instant::now());
    }
}
