//! `faultline drill run`: the orchestration. Everything is checked before anything is
//! injected; the baseline must hold before the first fault; phases run in order, each
//! arming its faults on every target at its start and removing them at its end; load,
//! probe and alarms run on their own schedules; every outcome goes to the journal; and
//! whatever ends the drill (its end, an abort breach, a signal, an error) removes every
//! fault before the process exits, with the reason in the journal.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::alarm::{self, AlarmCheck, Change};
use super::http::{self, HttpClient};
use super::journal::{self, Journal};
use super::judge::{self, AbortTracker, Limits, Sample};
use super::load::{self, Shot, Source};
use super::model::{Drill, Expect, Trigger};
use super::targets::{self, TargetJvms, LEASE_MARGIN};
use super::{check, contingency, probe, proposal, report};
use faultline_model::protocol::Status;
use faultline_model::scenario::FaultKind;

/// How often the agents' events are collected during a drill.
const EVENTS_EVERY: Duration = Duration::from_millis(500);

/// What a finished drill leaves.
pub struct Finished {
    pub dir: PathBuf,
    pub summary: Value,
}

/// Validates, attaches, runs the drill and writes the journal, the report and summary.json.
pub fn run(
    path: &Path,
    out: Option<PathBuf>,
    json_out: bool,
    approved: Option<&Path>,
    agent: Option<&Path>,
) -> Result<Finished> {
    let drill = Drill::load(path).map_err(|e| anyhow!("{e}"))?;
    // The approved plan, the authorized window and the contingency steps are checked first:
    // a drill that may not run never attaches.
    let approval = match approved {
        Some(p) => {
            let proposal = proposal::load(p)?;
            proposal::file_unchanged(&proposal, &drill.text)?;
            Some((p.to_path_buf(), proposal))
        }
        None => None,
    };
    if let Some(why) = drill.window.as_ref().and_then(|w| w.refuses_now(drill.total())) {
        bail!("outside the authorized window: {why}; nothing was injected");
    }
    contingency::check_programs(&drill)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the drill's runtime")?;
    // Everything that can fail is tried before anything is injected: the alarms are read once,
    // the HTTP clients set up.
    let alarms = runtime.block_on(alarm::preflight(&drill.alarms))?.into_iter().map(|(check, _)| check).collect();
    let clients = Clients {
        load: drill.load.as_ref().map(|l| http::client(&l.tls).context("[load]")).transpose()?,
        probe: drill
            .steady
            .url
            .as_ref()
            .map(|_| http::client(&drill.steady.tls).context("[steady_state]"))
            .transpose()?,
        alarms,
    };
    let resolved = targets::resolve(&drill.targets)?;
    let mut jvms = TargetJvms::attach(resolved, agent)?;
    let approval = match approval {
        Some((path, proposal)) => {
            // Measured again, on the targets as they are now: approval covers what was reviewed.
            let (phases, _) = check::blast_radius(&drill, &mut jvms)?;
            let radius = proposal::radius(&phases);
            proposal::radius_within(&proposal, &radius)?;
            Some(json!({
                "proposal": path.display().to_string(),
                "fingerprint": proposal["fingerprint"],
                "proposed": proposal["created"],
                "fingerprint_now": proposal::fingerprint(&drill.text, &radius),
            }))
        }
        None => None,
    };
    let dir = out.unwrap_or_else(|| default_dir(&drill.name));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;

    let outcome = runtime.block_on(async {
        let start = Instant::now();
        let start_wall = SystemTime::now();
        let mut journal = Journal::create(&dir, start.into_std(), start_wall)?;
        let mut drive = Drive::new(&drill, clients, &mut jvms, &mut journal, start, start_wall, json_out);
        drive.out = dir.clone();
        drive.approval = approval;
        let result = drive.run().await;
        drive.finish(result.as_ref().err()).await?;
        journal.flush()?;
        result
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
    // The journal is complete whatever the outcome: the report says what happened.
    let summary = report::render(&dir)?;
    outcome?;
    Ok(Finished { dir, summary })
}

/// `drills/NAME-20261124-100001`, NAME made safe for a file name.
fn default_dir(name: &str) -> PathBuf {
    let slug: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let stamp = journal::rfc3339(SystemTime::now());
    let stamp: String = stamp[..19].chars().filter(|c| c.is_ascii_digit() || *c == 'T').collect();
    PathBuf::from("drills").join(format!(
        "{}-{}",
        if slug.is_empty() { "drill" } else { &slug },
        stamp.replace('T', "-")
    ))
}

/// The drill's HTTP clients and alarm checks, set up before anything is injected.
struct Clients {
    load: Option<HttpClient>,
    probe: Option<HttpClient>,
    alarms: Vec<AlarmCheck>,
}

/// Why a drill ended before its last phase did.
enum Ending {
    Baseline(String),
    Abort(String),
    Signal(&'static str),
    Error(String),
}

impl Ending {
    fn describe(&self) -> String {
        match self {
            Ending::Baseline(why) => format!("baseline did not hold: {why}"),
            Ending::Abort(why) => format!("aborted: {why}"),
            Ending::Signal(name) => format!("interrupted by {name}"),
            Ending::Error(e) => format!("error: {e}"),
        }
    }
}

struct Drive<'a> {
    drill: &'a Drill,
    clients: Clients,
    /// When the last fault was removed: alarms are given their `expect_clear_within` from here.
    last_removed: Option<Instant>,
    /// The drill's output directory, for contingency steps.
    out: PathBuf,
    /// The approval the drill runs under (`--approved`), journaled at its start.
    approval: Option<Value>,
    /// Whether the breach steps of the contingency plan have run (once per drill).
    breach_handled: bool,
    jvms: &'a mut TargetJvms,
    journal: &'a mut Journal,
    start: Instant,
    start_epoch_ms: f64,
    samples: Vec<Sample>,
    hypothesis: Limits,
    abort: Option<(Limits, f64, AbortTracker)>,
    shots_tx: Option<mpsc::UnboundedSender<Shot>>,
    shots_rx: mpsc::UnboundedReceiver<Shot>,
    alarms_rx: mpsc::UnboundedReceiver<Change>,
    alarms_tx: Option<mpsc::UnboundedSender<Change>>,
    alarm_state: Vec<bool>,
    stop_tx: watch::Sender<bool>,
    injections: u64,
    phase_injections: u64,
    ever_armed: Vec<(i32, String)>,
    progress: Progress,
}

impl<'a> Drive<'a> {
    fn new(
        drill: &'a Drill,
        clients: Clients,
        jvms: &'a mut TargetJvms,
        journal: &'a mut Journal,
        start: Instant,
        start_wall: SystemTime,
        json_out: bool,
    ) -> Drive<'a> {
        let (shots_tx, shots_rx) = mpsc::unbounded_channel();
        let (alarms_tx, alarms_rx) = mpsc::unbounded_channel();
        let (stop_tx, _) = watch::channel(false);
        let hypothesis =
            Limits { max_error_rate: drill.steady.max_error_rate, max_p99_ms: drill.steady.max_p99.map(ms) };
        let abort = drill.abort.as_ref().map(|a| {
            (
                Limits { max_error_rate: a.max_error_rate, max_p99_ms: a.max_p99.map(ms) },
                ms(a.sustained),
                AbortTracker::default(),
            )
        });
        Drive {
            drill,
            clients,
            last_removed: None,
            out: PathBuf::new(),
            approval: None,
            breach_handled: false,
            jvms,
            journal,
            start,
            start_epoch_ms: journal::epoch_ms(start_wall),
            samples: Vec::new(),
            hypothesis,
            abort,
            shots_tx: Some(shots_tx),
            shots_rx,
            alarms_tx: Some(alarms_tx),
            alarms_rx,
            alarm_state: vec![false; drill.alarms.len()],
            stop_tx,
            injections: 0,
            phase_injections: 0,
            ever_armed: Vec::new(),
            progress: Progress::new(json_out),
        }
    }

    fn now_ms(&self) -> f64 {
        ms(self.start.elapsed())
    }

    async fn run(&mut self) -> Result<()> {
        let d = self.drill;
        // Signals are ours from here on: a Ctrl-C must clean up, not kill the process.
        let mut sigint = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
        let mut sigterm = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
        self.journal.write("drill", json!({"drill": d.to_json()}))?;
        let targets = targets::describe(self.jvms);
        self.journal.write("targets", json!({"targets": targets}))?;
        self.journal.write(
            "approval",
            match &self.approval {
                Some(a) => a.clone(),
                None => json!({"proposal": null, "detail": "run without --approved: no approved proposal enforced"}),
            },
        )?;
        if let Some(w) = &d.window {
            self.journal.write("authorized_window", json!({"window": w.to_json(), "inside": true}))?;
        }
        self.start_generators();

        let step = d.steady.every;
        let mut tick = tokio::time::interval_at(self.start + step, step);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut events_due = self.start + EVENTS_EVERY;
        let mut flush_due = self.start + Duration::from_secs(1);
        let mut ending: Option<Ending> = None;
        let mut phase_start = self.start;
        let first_fault_phase = d.phases.iter().position(|p| !p.faults.faults.is_empty());
        for (i, phase) in d.phases.iter().enumerate() {
            let phase_end = phase_start + phase.duration;
            self.journal.write(
                "phase_start",
                json!({"phase": phase.name, "index": i, "expect": phase.expect.as_str(), "planned_ms": ms(phase.duration)}),
            )?;
            self.journal.flush()?;
            self.progress.phase(i, d.phases.len(), &phase.name, phase.expect);
            self.phase_injections = 0;
            if Some(i) == first_fault_phase {
                if let Err(why) = self.baseline_holds() {
                    self.journal.write("baseline", json!({"held": false, "detail": why}))?;
                    ending = Some(Ending::Baseline(why));
                } else {
                    self.journal.write("baseline", json!({"held": true}))?;
                }
            }
            if ending.is_none() && !phase.faults.faults.is_empty() {
                let remaining = d.total().saturating_sub(self.start.elapsed());
                let lease = remaining + LEASE_MARGIN;
                match self.jvms.arm(&phase.faults, lease) {
                    Ok(armed) => {
                        for a in armed {
                            let spec = phase.faults.faults.iter().find(|f| f.id == a.id);
                            let pool_fault = spec.is_some_and(|f| matches!(f.kind, FaultKind::Pool { .. }));
                            self.ever_armed.push((a.pid, a.id.clone()));
                            let mut record = json!({
                                "phase": phase.name, "index": i, "pid": a.pid, "fault": a.id,
                                "kind": spec.map(|f| f.kind.name()),
                                "lease_ms": ms(lease),
                            });
                            let resource = spec.and_then(|f| f.kind.resource());
                            if let Some(resource) = resource {
                                record["resource"] = json!(resource.to_string());
                            } else if pool_fault {
                                record["pools"] = json!(a.pools);
                            } else {
                                record["target"] = json!(spec.and_then(|f| f.kind.aim()).map(|a| a.to_string()));
                                record["preset"] = json!(spec.and_then(|f| f.kind.preset()).map(|p| p.preset.name));
                                record["methods"] = json!(a.methods);
                                record["method_count"] = json!(a.method_count);
                            }
                            self.journal.write("fault_armed", record)?;
                            let hit = if let Some(resource) = resource {
                                format!("the JVM as a whole ({resource})")
                            } else if pool_fault {
                                let n = a.pools.len();
                                format!("{n} pool{}", if n == 1 { "" } else { "s" })
                            } else {
                                let n = a.method_count;
                                format!("{n} method{}", if n == 1 { "" } else { "s" })
                            };
                            self.progress.note(&format!("armed '{}' in JVM {}: {hit}", a.id, a.pid));
                        }
                    }
                    Err(e) => ending = Some(Ending::Error(format!("{e:#}"))),
                }
            }
            while ending.is_none() {
                tokio::select! {
                    _ = tokio::time::sleep_until(phase_end) => break,
                    Some(shot) = self.shots_rx.recv() => self.record_shot(shot)?,
                    Some(change) = self.alarms_rx.recv() => self.record_alarm(change)?,
                    _ = sigint.recv() => ending = Some(Ending::Signal("SIGINT")),
                    _ = sigterm.recv() => ending = Some(Ending::Signal("SIGTERM")),
                    _ = tick.tick() => {
                        let now = Instant::now();
                        if let Some(why) = self.judge_window(i)? {
                            ending = Some(Ending::Abort(why));
                        }
                        if now >= events_due {
                            events_due = now + EVENTS_EVERY;
                            if let Err(e) = self.collect_events() {
                                ending = Some(Ending::Error(format!("{e:#}")));
                            }
                        }
                        if now >= flush_due {
                            flush_due = now + Duration::from_secs(1);
                            self.journal.flush()?;
                        }
                        self.show_progress(phase_end);
                    }
                }
            }
            let reason = ending.as_ref().map_or("phase end".to_string(), Ending::describe);
            if let Some(e) = &ending {
                let kind = match e {
                    Ending::Abort(_) => "abort",
                    _ => "stop",
                };
                self.journal.write(kind, json!({"reason": reason}))?;
                self.progress.note(&reason);
            }
            self.remove_faults(i, &phase.name, &reason)?;
            self.journal.write("phase_end", json!({"phase": phase.name, "index": i, "reason": reason}))?;
            self.journal.flush()?;
            if i > 0 && phase.expect == Expect::Steady && !self.breach_handled {
                if let Some(why) = self.phase_breached(i, phase_start) {
                    self.breach_handled = true;
                    self.contingency(Trigger::Breach, &format!("phase '{}' broke: {why}", phase.name)).await?;
                }
            }
            if let Some(e) = &ending {
                if !matches!(e, Ending::Baseline(_)) {
                    self.contingency(Trigger::Abort, &reason).await?;
                }
                break;
            }
            phase_start = phase_end;
        }
        if matches!(ending, None | Some(Ending::Abort(_))) {
            self.await_alarms_clearing(&mut sigint, &mut sigterm).await?;
        }
        self.progress.done();
        match ending {
            Some(Ending::Error(e)) => Err(anyhow!("{e}")),
            _ => Ok(()),
        }
    }

    /// Alarms that must clear and still fire when the phases are over are watched on, until
    /// they stop or their `expect_clear_within` from the last fault removed has passed: the
    /// drill's last phase need not be long enough for a slow alert to resolve.
    async fn await_alarms_clearing(
        &mut self,
        sigint: &mut tokio::signal::unix::Signal,
        sigterm: &mut tokio::signal::unix::Signal,
    ) -> Result<()> {
        let Some(removed) = self.last_removed else {
            return Ok(());
        };
        while let Ok(change) = self.alarms_rx.try_recv() {
            self.record_alarm(change)?;
        }
        let waiting = |d: &Drive| -> Option<Instant> {
            d.drill
                .alarms
                .iter()
                .zip(&d.alarm_state)
                .filter_map(|(a, firing)| a.expect_clear_within.filter(|_| *firing).map(|w| removed + w))
                .max()
        };
        let Some(deadline) = waiting(self) else {
            return Ok(());
        };
        if deadline <= Instant::now() {
            return Ok(());
        }
        let names: Vec<&str> = self
            .drill
            .alarms
            .iter()
            .zip(&self.alarm_state)
            .filter(|(a, firing)| **firing && a.expect_clear_within.is_some())
            .map(|(a, _)| a.name.as_str())
            .collect();
        let wait = deadline.saturating_duration_since(Instant::now());
        self.journal.write("alarm_wait", json!({"alarms": names, "up_to_ms": ms(wait)}))?;
        self.progress.note(&format!(
            "waiting up to {:.0} s for {} to stop firing",
            wait.as_secs_f64(),
            names.join(", ")
        ));
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => break,
                Some(change) = self.alarms_rx.recv() => {
                    self.record_alarm(change)?;
                    if waiting(self).is_none() {
                        break;
                    }
                }
                Some(shot) = self.shots_rx.recv() => self.record_shot(shot)?,
                _ = sigint.recv() => break,
                _ = sigterm.recv() => break,
            }
        }
        Ok(())
    }

    fn start_generators(&mut self) {
        let d = self.drill;
        let until = self.start + d.total();
        // Alarms are watched past the phases for as long as one may take to clear.
        let alarms_until = until + d.alarms.iter().filter_map(|a| a.expect_clear_within).max().unwrap_or_default();
        let tx = self.shots_tx.clone().expect("generators start once");
        if let (Some(l), Some(client)) = (&d.load, &self.clients.load) {
            let uri = l.url.parse().expect("validated URL");
            let period = Duration::from_secs_f64(1.0 / l.rate);
            tokio::spawn(load::open_loop(
                Source::Load,
                client.clone(),
                uri,
                period,
                l.timeout,
                self.start,
                until,
                tx.clone(),
                self.stop_tx.subscribe(),
            ));
        }
        if let (Some(url), Some(client)) = (&d.steady.url, &self.clients.probe) {
            let uri = url.parse().expect("validated URL");
            let timeout = d.load.as_ref().map_or(Duration::from_secs(2), |l| l.timeout);
            tokio::spawn(probe::run(
                client.clone(),
                uri,
                d.steady.every,
                timeout,
                self.start,
                until,
                tx,
                self.stop_tx.subscribe(),
            ));
        }
        let atx = self.alarms_tx.clone().expect("alarms start once");
        for (i, check) in self.clients.alarms.iter().enumerate() {
            tokio::spawn(alarm::watch_alarm(i, check.clone(), alarms_until, atx.clone(), self.stop_tx.subscribe()));
        }
    }

    fn record_shot(&mut self, shot: Shot) -> Result<()> {
        let t = shot.done.saturating_duration_since(self.start);
        let latency_ms = ms(shot.done.saturating_duration_since(shot.intended));
        let ok = shot.outcome.ok();
        let mut fields = json!({
            "src": shot.source.as_str(),
            "sent_ms": journal::round3(ms(shot.intended.saturating_duration_since(self.start))),
            "ms": journal::round3(latency_ms),
            "late_ms": journal::round3(ms(shot.sent.saturating_duration_since(shot.intended))),
            "ok": ok,
        });
        match &shot.outcome {
            load::Outcome::Status(code) => fields["status"] = json!(code),
            load::Outcome::Timeout => fields["error"] = json!("timeout"),
            load::Outcome::Failed(e) => fields["error"] = json!(e),
        }
        self.journal.write_at("request", t, fields)?;
        let sample = Sample { t_ms: ms(t), latency_ms, ok };
        // Outcomes arrive almost in order of completion; keep the list sorted.
        let mut at = self.samples.len();
        while at > 0 && self.samples[at - 1].t_ms > sample.t_ms {
            at -= 1;
        }
        self.samples.insert(at, sample);
        Ok(())
    }

    fn record_alarm(&mut self, change: Change) -> Result<()> {
        let a = &self.drill.alarms[change.alarm];
        let t = change.at.saturating_duration_since(self.start);
        self.journal.write_at(
            "alarm",
            t,
            json!({"alarm": a.name, "index": change.alarm, "firing": change.firing, "problem": change.problem}),
        )?;
        if self.alarm_state[change.alarm] != change.firing {
            self.progress.note(&format!(
                "alarm '{}' {}",
                a.name,
                if change.firing { "started firing" } else { "stopped firing" }
            ));
        }
        self.alarm_state[change.alarm] = change.firing;
        Ok(())
    }

    /// Judges the window ending now; returns the abort reason when the abort condition has
    /// been breached long enough.
    fn judge_window(&mut self, phase: usize) -> Result<Option<String>> {
        let now_ms = self.now_ms();
        let window_ms = ms(self.drill.steady.window);
        if now_ms < window_ms {
            return Ok(None);
        }
        let w = judge::window(&self.samples, now_ms, window_ms, &self.hypothesis);
        self.journal.write(
            "window",
            json!({
                "phase_index": phase, "end_ms": journal::round3(w.end_ms), "window_ms": window_ms,
                "requests": w.requests, "errors": w.errors, "error_rate": w.error_rate,
                "p50_ms": journal::round3(w.p50_ms), "p99_ms": journal::round3(w.p99_ms),
                "held": w.held, "breach": w.breach,
            }),
        )?;
        self.progress.window = Some(w);
        if let Some((limits, for_ms, tracker)) = &mut self.abort {
            let aw = judge::window(&self.samples, now_ms, window_ms, limits);
            if tracker.update(&aw, *for_ms) && self.jvms.any_armed() {
                return Ok(Some(format!(
                    "abort condition breached for {:.1} s: {}",
                    *for_ms / 1000.0,
                    aw.breach.unwrap_or_default()
                )));
            }
        }
        Ok(None)
    }

    /// Why the hypothesis broke in phase `index` (started at `start`), or None. Windows that
    /// still hold the previous phase's outcomes (and those within `recover_within`) do not
    /// count, as in the verdict.
    fn phase_breached(&self, index: usize, start: Instant) -> Option<String> {
        let phase = &self.drill.phases[index];
        let grace = self.drill.steady.window + phase.recover_within.unwrap_or_default();
        let from_ms = ms(start.saturating_duration_since(self.start) + grace);
        let ws = judge::windows(
            &self.samples,
            ms(self.drill.steady.every),
            ms(self.drill.steady.window),
            self.now_ms(),
            &self.hypothesis,
        );
        ws.iter()
            .filter(|w| w.end_ms >= from_ms)
            .find(|w| w.held == Some(false))
            .map(|w| format!("at {:.1} s: {}", w.end_ms / 1000.0, w.breach.clone().unwrap_or_default()))
    }

    /// Runs the contingency steps for `trigger`, journals each and notes it in the progress.
    async fn contingency(&mut self, trigger: Trigger, reason: &str) -> Result<()> {
        if !self.drill.contingency.iter().any(|c| c.on == trigger) {
            return Ok(());
        }
        self.progress.note(&format!("contingency on {}: {reason}", trigger.as_str()));
        for record in contingency::run(self.drill, trigger, reason, &self.out).await {
            let ok = record["ok"] == true;
            self.progress.note(&format!(
                "  step '{}': {}",
                record["name"].as_str().unwrap_or(""),
                if ok {
                    "done".to_string()
                } else if record["timed_out"] == true {
                    "TIMED OUT".to_string()
                } else {
                    format!("FAILED (exit {})", record["exit_code"])
                }
            ));
            self.journal.write("contingency", record)?;
        }
        self.journal.flush()
    }

    /// Every window so far held, and at least one saw traffic.
    fn baseline_holds(&self) -> Result<(), String> {
        let now_ms = self.now_ms();
        let ws = judge::windows(
            &self.samples,
            ms(self.drill.steady.every),
            ms(self.drill.steady.window),
            now_ms,
            &self.hypothesis,
        );
        if let Some(w) = ws.iter().find(|w| w.held == Some(false)) {
            return Err(format!("broke at {:.1} s: {}", w.end_ms / 1000.0, w.breach.clone().unwrap_or_default()));
        }
        if !ws.iter().any(|w| w.held == Some(true)) {
            return Err("no request completed before the first fault: is the service up?".into());
        }
        Ok(())
    }

    fn collect_events(&mut self) -> Result<()> {
        let events = tokio::task::block_in_place(|| self.jvms.collect_events())?;
        for (pid, event) in events {
            let t = event["time"]
                .as_str()
                .and_then(journal::parse_rfc3339_ms)
                .map(|epoch| Duration::from_secs_f64(((epoch - self.start_epoch_ms) / 1000.0).max(0.0)))
                .unwrap_or_else(|| self.start.elapsed());
            if event["kind"].as_str().is_some_and(faultline_model::scenario::is_injection_event) {
                self.injections += 1;
                self.phase_injections += 1;
            }
            self.journal.write_at("agent_event", t, json!({"pid": pid, "event": event}))?;
        }
        Ok(())
    }

    fn remove_faults(&mut self, index: usize, phase: &str, reason: &str) -> Result<()> {
        if !self.jvms.any_armed() {
            return Ok(());
        }
        let (removed, error) = tokio::task::block_in_place(|| self.jvms.remove_all());
        if !removed.is_empty() {
            self.last_removed = Some(Instant::now());
        }
        for (pid, faults) in removed {
            self.journal.write(
                "fault_removed",
                json!({"phase": phase, "index": index, "pid": pid, "faults": faults, "reason": reason}),
            )?;
            self.progress.note(&format!("removed {} from JVM {pid} ({reason})", faults.join(", ")));
        }
        if let Some(e) = error {
            self.journal.write("cleanup_error", json!({"error": format!("{e:#}")}))?;
        }
        // Outcomes of the faults' last moments.
        if let Err(e) = self.collect_events() {
            self.journal.write("cleanup_error", json!({"error": format!("{e:#}")}))?;
        }
        Ok(())
    }

    /// Stops the generators, waits for the requests in flight, removes anything still armed,
    /// checks on every target that no fault of this drill is left, and closes the journal.
    async fn finish(&mut self, error: Option<&anyhow::Error>) -> Result<()> {
        let _ = self.stop_tx.send(true);
        self.shots_tx = None;
        self.alarms_tx = None;
        let timeout = self.drill.load.as_ref().map_or(Duration::from_secs(2), |l| l.timeout);
        let deadline = Instant::now() + timeout + Duration::from_millis(500);
        loop {
            tokio::select! {
                shot = self.shots_rx.recv() => match shot {
                    Some(shot) => self.record_shot(shot)?,
                    None => break,
                },
                _ = tokio::time::sleep_until(deadline) => break,
            }
        }
        while let Ok(change) = self.alarms_rx.try_recv() {
            self.record_alarm(change)?;
        }
        let reason = error.map_or("drill end".to_string(), |e| format!("error: {e:#}"));
        let last = self.drill.phases.len().saturating_sub(1);
        self.remove_faults(last, "", &reason)?;
        let mut left = Vec::new();
        let mut problems = Vec::new();
        for t in &mut self.jvms.targets {
            let pid = t.pid();
            match tokio::task::block_in_place(|| t.call(Status {})) {
                Ok(status) => {
                    for f in &status.faults {
                        let id = f.id.as_str();
                        if self.ever_armed.iter().any(|(p, i)| *p == pid && i == id) {
                            left.push(json!({"pid": pid, "fault": id}));
                        }
                    }
                }
                Err(e) => problems.push(format!("JVM {pid}: {e:#}")),
            }
        }
        self.journal.write(
            "cleanup",
            json!({
                "verified": problems.is_empty(),
                "faults_left": left,
                "problems": problems,
                "detail": if left.is_empty() && problems.is_empty() {
                    "no fault of this drill is armed on any target".to_string()
                } else {
                    "could not confirm that every fault was removed; their leases will remove them".to_string()
                },
            }),
        )?;
        self.contingency(Trigger::End, &reason).await?;
        self.journal.write("end", json!({"reason": reason, "injections": self.injections}))?;
        self.journal.flush()
    }

    fn show_progress(&mut self, phase_end: Instant) {
        let left = phase_end.saturating_duration_since(Instant::now());
        let firing: Vec<&str> = self
            .drill
            .alarms
            .iter()
            .zip(&self.alarm_state)
            .filter(|(_, on)| **on)
            .map(|(a, _)| a.name.as_str())
            .collect();
        let window_s = self.drill.steady.window.as_secs_f64();
        self.progress.show(left, window_s, self.phase_injections, &firing);
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Live progress: one rewritten line on a terminal, plain lines every second otherwise.
/// With `--json` it goes to stderr, keeping stdout for the summary.
struct Progress {
    tty: bool,
    to_stderr: bool,
    label: String,
    last: Option<Instant>,
    window: Option<judge::Window>,
    open_line: bool,
}

impl Progress {
    fn new(json_out: bool) -> Progress {
        let tty = if json_out { std::io::stderr().is_terminal() } else { std::io::stdout().is_terminal() };
        Progress { tty, to_stderr: json_out, label: String::new(), last: None, window: None, open_line: false }
    }

    fn emit(&mut self, text: &str, newline: bool) {
        let mut out: Box<dyn Write> =
            if self.to_stderr { Box::new(std::io::stderr()) } else { Box::new(std::io::stdout()) };
        if self.tty {
            let _ = write!(out, "\r\x1b[2K{text}");
            if newline {
                let _ = writeln!(out);
            }
            self.open_line = !newline;
        } else {
            let _ = writeln!(out, "{text}");
        }
        let _ = out.flush();
    }

    fn phase(&mut self, index: usize, count: usize, name: &str, expect: Expect) {
        self.label = format!("[{}/{} {name}]", index + 1, count);
        self.emit(&format!("== phase {}/{count}: {name} (expect {})", index + 1, expect.as_str()), true);
    }

    fn note(&mut self, text: &str) {
        self.emit(&format!("   {text}"), true);
    }

    fn show(&mut self, left: Duration, window_s: f64, injections: u64, firing: &[&str]) {
        let every = if self.tty { Duration::from_millis(250) } else { Duration::from_secs(1) };
        if self.last.is_some_and(|t| t.elapsed() < every) {
            return;
        }
        self.last = Some(Instant::now());
        let (rate, err, p99) = match &self.window {
            Some(w) => (w.requests as f64 / window_s, w.error_rate * 100.0, w.p99_ms),
            None => (0.0, 0.0, 0.0),
        };
        let held = match self.window.as_ref().and_then(|w| w.held) {
            Some(true) => "holds",
            Some(false) => "BROKEN",
            None => "-",
        };
        let alarms =
            if firing.is_empty() { "none firing".to_string() } else { format!("FIRING: {}", firing.join(", ")) };
        let line = format!(
            "{} {:>5.1}s left | {rate:>6.1} req/s | err {err:>5.1}% | p99 {p99:>7.1} ms | hypothesis {held} | injections {injections} | alarms {alarms}",
            self.label,
            left.as_secs_f64()
        );
        self.emit(&line, !self.tty);
    }

    fn done(&mut self) {
        if self.tty && self.open_line {
            self.emit("", false);
            let mut out: Box<dyn Write> =
                if self.to_stderr { Box::new(std::io::stderr()) } else { Box::new(std::io::stdout()) };
            let _ = write!(out, "\r\x1b[2K");
            let _ = out.flush();
        }
    }
}
