//! Alarms under test: each `[[alarm]]` is polled every `every`, by running its command (exit 0
//! while firing) or by asking Prometheus or Alertmanager. Changes of state are reported with
//! the time they were seen.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::command;
use super::http::{self, HttpClient};
use super::model::{Alarm, AlarmSource};
use super::monitoring;

/// A change of an alarm's state, as seen by a poll.
#[derive(Debug, Clone)]
pub struct Change {
    pub alarm: usize,
    pub at: Instant,
    pub firing: bool,
    /// Set when the command could not run or timed out (then it counts as not firing).
    pub problem: Option<String>,
}

/// One alarm, ready to poll: its program found or its HTTP client set up, so that a typo in a
/// command or an unreadable `ca` does not cost a drill.
#[derive(Clone)]
pub struct AlarmCheck {
    pub alarm: Alarm,
    client: Option<HttpClient>,
}

impl AlarmCheck {
    pub fn new(alarm: &Alarm) -> Result<AlarmCheck> {
        let client = match &alarm.source {
            AlarmSource::Command(command) => {
                command::find_program(&format!("alarm '{}'", alarm.name), &command[0])?;
                None
            }
            AlarmSource::Prometheus { .. } | AlarmSource::Alertmanager { .. } => {
                Some(http::client(&alarm.tls).with_context(|| format!("alarm '{}'", alarm.name))?)
            }
        };
        Ok(AlarmCheck { alarm: alarm.clone(), client })
    }

    /// Polls once: Ok(true) while firing. A check that outlives `limit` counts as an error
    /// (then as not firing, with the problem journaled).
    pub async fn poll(&self, limit: Duration) -> Result<bool> {
        let a = &self.alarm;
        let deadline = Instant::now() + limit;
        let firing = match (&a.source, &self.client) {
            (AlarmSource::Command(argv), _) => command::succeeds(argv, limit).await,
            (AlarmSource::Prometheus { url, query }, Some(client)) => {
                monitoring::prometheus_firing(client, url, query, deadline).await
            }
            (AlarmSource::Alertmanager { url, alert, labels }, Some(client)) => {
                monitoring::alertmanager_firing(client, url, alert, labels, deadline).await
            }
            (_, None) => bail!("no HTTP client"),
        };
        firing.with_context(|| format!("alarm '{}'", a.name))
    }
}

/// Polls every alarm once, before anything is injected: an alarm that cannot be read (a
/// command that cannot start, a Prometheus that is down, a query it rejects) is an error
/// now rather than a finding after the drill. Returns the checks and whether each fires.
pub async fn preflight(alarms: &[Alarm]) -> Result<Vec<(AlarmCheck, bool)>> {
    let mut checks = Vec::new();
    for a in alarms {
        let check = AlarmCheck::new(a)?;
        let firing = check.poll(Duration::from_secs(10)).await?;
        checks.push((check, firing));
    }
    Ok(checks)
}

/// Polls one alarm every `every` until `until` or `stop`; sends the first state and every
/// change.
pub async fn watch_alarm(
    index: usize,
    check: AlarmCheck,
    until: Instant,
    tx: mpsc::UnboundedSender<Change>,
    mut stop: watch::Receiver<bool>,
) {
    let alarm = &check.alarm;
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
        let (firing, problem) = match check.poll(limit).await {
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
