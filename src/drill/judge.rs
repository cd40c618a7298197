//! Judging a drill: sliding windows over request outcomes, the hypothesis in each, time to
//! detect and time to recover, alarm timeliness, and the expectations of the drill file.
//! Pure functions over data, so the live run and `drill report` reach the same verdict from
//! the same records, and the rules are tested without a JVM.

use serde_json::{json, Value};

/// One request outcome. Times are milliseconds since the drill's start; `t_ms` is when the
/// outcome was known (latency is measured from the intended send time, so a stalled server
/// shows the wait its users would see).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub t_ms: f64,
    pub latency_ms: f64,
    pub ok: bool,
}

/// The steady-state hypothesis, or an abort condition: both are limits on a window.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Limits {
    pub max_error_rate: Option<f64>,
    pub max_p99_ms: Option<f64>,
}

/// The hypothesis judged over the samples known in `(end_ms - window, end_ms]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub end_ms: f64,
    pub requests: usize,
    pub errors: usize,
    pub error_rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// None when the window saw no outcome: nothing to judge.
    pub held: Option<bool>,
    /// Why it broke, for people: "error rate 12.0% > 1.0%; p99 340 ms > 100 ms".
    pub breach: Option<String>,
}

/// Nearest-rank percentile of sorted values; 0 for none.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Figures of a set of samples: (requests, errors, p50, p99).
pub fn figures<'a>(samples: impl Iterator<Item = &'a Sample>) -> (usize, usize, f64, f64) {
    let mut latencies = Vec::new();
    let mut errors = 0;
    for s in samples {
        latencies.push(s.latency_ms);
        errors += usize::from(!s.ok);
    }
    latencies.sort_by(f64::total_cmp);
    (latencies.len(), errors, percentile(&latencies, 50.0), percentile(&latencies, 99.0))
}

/// Judges the window ending at `end_ms`; `samples` sorted by `t_ms`.
pub fn window(samples: &[Sample], end_ms: f64, window_ms: f64, limits: &Limits) -> Window {
    let from = samples.partition_point(|s| s.t_ms <= end_ms - window_ms);
    let to = samples.partition_point(|s| s.t_ms <= end_ms);
    let (requests, errors, p50_ms, p99_ms) = figures(samples[from..to].iter());
    let error_rate = if requests == 0 { 0.0 } else { errors as f64 / requests as f64 };
    let mut reasons = Vec::new();
    if requests > 0 {
        if let Some(max) = limits.max_error_rate {
            if error_rate > max {
                reasons.push(format!("error rate {:.1}% > {:.1}%", error_rate * 100.0, max * 100.0));
            }
        }
        if let Some(max) = limits.max_p99_ms {
            if p99_ms > max {
                reasons.push(format!("p99 {p99_ms:.0} ms > {max:.0} ms"));
            }
        }
    }
    Window {
        end_ms,
        requests,
        errors,
        error_rate,
        p50_ms,
        p99_ms,
        held: (requests > 0).then_some(reasons.is_empty()),
        breach: (!reasons.is_empty()).then(|| reasons.join("; ")),
    }
}

/// The windows a drill judges: one every `step_ms`, from the first full window to `until_ms`.
pub fn windows(samples: &[Sample], step_ms: f64, window_ms: f64, until_ms: f64, limits: &Limits) -> Vec<Window> {
    let mut out = Vec::new();
    let first = (window_ms / step_ms).ceil() as u64;
    let last = (until_ms / step_ms).floor() as u64;
    for k in first..=last {
        out.push(window(samples, k as f64 * step_ms, window_ms, limits));
    }
    out
}

/// Tracks an abort condition that must be breached for a sustained time.
#[derive(Debug, Default)]
pub struct AbortTracker {
    since_ms: Option<f64>,
}

impl AbortTracker {
    /// Feeds one judged window; true once the condition has been breached for `for_ms`.
    pub fn update(&mut self, w: &Window, for_ms: f64) -> bool {
        if w.breach.is_some() {
            let since = *self.since_ms.get_or_insert(w.end_ms);
            w.end_ms - since >= for_ms
        } else {
            if w.held.is_some() {
                self.since_ms = None;
            }
            false
        }
    }
}

/// What happened in one phase, as the run recorded it.
#[derive(Debug, Clone, Default)]
pub struct PhaseRun {
    pub name: String,
    pub expect: String,
    pub recover_within_ms: Option<f64>,
    pub start_ms: f64,
    pub end_ms: f64,
    pub start: String,
    pub end: String,
    pub armed_ms: Option<f64>,
    pub removed_ms: Option<f64>,
    pub has_faults: bool,
}

#[derive(Debug, Clone, Default)]
pub struct AlarmRun {
    pub name: String,
    pub expect_within_ms: f64,
    pub expect_clear_within_ms: Option<f64>,
    /// (t_ms, firing) at every change, the first poll included.
    pub changes: Vec<(f64, bool)>,
}

/// Everything the verdict is computed from.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub name: String,
    pub step_ms: f64,
    pub window_ms: f64,
    pub hypothesis: Limits,
    pub phases: Vec<PhaseRun>,
    pub samples: Vec<Sample>,
    /// How late the generator sent each request (ms after its intended time; none in journals
    /// written before the field).
    pub late_ms: Vec<f64>,
    /// (t_ms, phase index) of every injection event.
    pub injections: Vec<(f64, usize)>,
    pub alarms: Vec<AlarmRun>,
    /// Why the drill ended early: an abort breach, a signal, an error, a baseline that did not hold.
    pub aborted: Option<String>,
    pub stopped: Option<String>,
    pub baseline_failed: Option<String>,
    pub end_ms: f64,
    /// The drill file's name without its extension: runs of one drill share it.
    pub drill_id: String,
    /// When the run started (RFC 3339).
    pub started: String,
    /// The approved proposal's fingerprint, when the drill ran with `--approved`.
    pub approved: Option<String>,
    pub contingency: Vec<StepRun>,
}

/// A contingency step as it ran.
#[derive(Debug, Clone, Default)]
pub struct StepRun {
    pub name: String,
    pub on: String,
    pub ok: bool,
    pub timed_out: bool,
    pub exit_code: Option<i64>,
    pub duration_ms: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    pub what: String,
    pub held: bool,
    pub detail: String,
}

/// The verdict and figures of a drill.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub windows: Vec<Window>,
    /// Phase index of each window, None when it is not judged (mixed with a faulty phase,
    /// in a recovery grace, or after the drill stopped).
    pub judged_in: Vec<Option<usize>>,
    pub phase_held: Vec<bool>,
    pub first_armed_ms: Option<f64>,
    pub last_removed_ms: Option<f64>,
    pub time_to_detect_ms: Option<f64>,
    pub time_to_recover_ms: Option<f64>,
    pub expectations: Vec<Expectation>,
    pub passed: bool,
}

impl Facts {
    fn phase_at(&self, t_ms: f64) -> Option<usize> {
        self.phases.iter().position(|p| t_ms >= p.start_ms && t_ms <= p.end_ms)
    }
}

/// Judges a drill.
pub fn evaluate(f: &Facts) -> Verdict {
    let windows = windows(&f.samples, f.step_ms, f.window_ms, f.end_ms, &f.hypothesis);
    let first_armed_ms = f.phases.iter().filter_map(|p| p.armed_ms).reduce(f64::min);
    let last_removed_ms = f.phases.iter().filter_map(|p| p.removed_ms).reduce(f64::max);

    // A window is judged in the phase it ends in, unless it still holds samples from the
    // faults of an earlier phase (or lies within that phase's recovery allowance).
    let judged_in: Vec<Option<usize>> = windows
        .iter()
        .map(|w| {
            let i = f.phase_at(w.end_ms)?;
            let p = &f.phases[i];
            if i > 0 {
                if let Some(removed) = f.phases[i - 1].removed_ms {
                    let grace = f.window_ms.max(p.recover_within_ms.unwrap_or(0.0));
                    if w.end_ms < removed + grace {
                        return None;
                    }
                }
            }
            Some(i)
        })
        .collect();
    let phase_held: Vec<bool> = (0..f.phases.len())
        .map(|i| windows.iter().zip(&judged_in).filter(|(_, j)| **j == Some(i)).all(|(w, _)| w.held != Some(false)))
        .collect();

    let time_to_detect_ms = first_armed_ms.and_then(|armed| {
        windows.iter().find(|w| w.end_ms >= armed && w.held == Some(false)).map(|w| w.end_ms - armed)
    });
    let recovery =
        |removed: f64| windows.iter().find(|w| w.end_ms > removed && w.held == Some(true)).map(|w| w.end_ms - removed);
    let time_to_recover_ms = last_removed_ms.and_then(recovery);

    let mut expectations = Vec::new();
    let first_fault_phase = f.phases.iter().position(|p| p.has_faults).unwrap_or(f.phases.len());
    // The baseline: every phase before the first fault.
    let baseline: Vec<(&Window, usize)> = windows
        .iter()
        .zip(&judged_in)
        .filter_map(|(w, j)| j.filter(|&i| i < first_fault_phase).map(|i| (w, i)))
        .collect();
    let baseline_breach = baseline.iter().find(|(w, _)| w.held == Some(false));
    let baseline_seen = baseline.iter().any(|(w, _)| w.held.is_some());
    let (held, detail) = match (&f.baseline_failed, baseline_breach, baseline_seen) {
        (Some(why), _, _) => (false, format!("{why}; nothing was injected")),
        (None, Some((w, _)), _) => {
            (false, format!("broke at {:.1} s: {}", w.end_ms / 1000.0, w.breach.clone().unwrap_or_default()))
        }
        (None, None, false) => (false, "no request completed before the first fault: nothing to judge".to_string()),
        (None, None, true) => (true, format!("held in all {} windows before the first fault", baseline.len())),
    };
    expectations.push(Expectation { what: "steady state before any fault (baseline)".into(), held, detail });

    if f.baseline_failed.is_none() {
        for (i, p) in f.phases.iter().enumerate().skip(first_fault_phase) {
            if p.end_ms <= p.start_ms && p.start.is_empty() {
                continue; // never started
            }
            if p.expect == "steady" {
                let breach = windows.iter().zip(&judged_in).find(|(w, j)| **j == Some(i) && w.held == Some(false));
                let n = judged_in.iter().filter(|j| **j == Some(i)).count();
                let (held, detail) = match breach {
                    Some((w, _)) => (
                        false,
                        format!(
                            "broke {:.1} s into the phase: {}",
                            (w.end_ms - p.start_ms) / 1000.0,
                            w.breach.clone().unwrap_or_default()
                        ),
                    ),
                    None => (true, format!("held in all {n} judged windows")),
                };
                expectations.push(Expectation { what: format!("steady state during '{}'", p.name), held, detail });
            }
            if let (Some(within), Some(removed)) =
                (p.recover_within_ms, i.checked_sub(1).and_then(|j| f.phases[j].removed_ms))
            {
                let r = recovery(removed);
                let (held, detail) = match r {
                    Some(ms) if ms <= within => {
                        (true, format!("hypothesis held again {:.1} s after the faults were removed", ms / 1000.0))
                    }
                    Some(ms) => (
                        false,
                        format!("hypothesis held again only {:.1} s after the faults were removed", ms / 1000.0),
                    ),
                    None => (false, "the hypothesis did not hold again before the drill ended".to_string()),
                };
                expectations.push(Expectation { what: format!("recovery within {}", secs(within)), held, detail });
            }
        }
        for a in &f.alarms {
            let (fired_after, _) = alarm_outcome(a, first_armed_ms);
            let in_time = fired_after.is_some_and(|ms| ms <= a.expect_within_ms);
            let early = a.changes.iter().any(|&(t, on)| on && first_armed_ms.is_none_or(|armed| t < armed));
            let mut detail = match fired_after {
                Some(ms) => format!("fired {:.1} s after the first fault", ms / 1000.0),
                None if first_armed_ms.is_none() => "no fault was armed".to_string(),
                None => "never fired after the first fault".to_string(),
            };
            if early {
                detail.push_str("; it was already firing before any fault (a false alarm?)");
            }
            expectations.push(Expectation {
                what: format!("alarm '{}' fires within {}", a.name, secs(a.expect_within_ms)),
                held: in_time,
                detail,
            });
            // Clearing is judged for an alarm that fired: one that never did is already a finding.
            if let (Some(within), Some(_)) = (a.expect_clear_within_ms, fired_after) {
                let (held, detail) = match alarm_clearing(a, last_removed_ms, f.end_ms) {
                    Clearing::NoFaultRemoved => (false, "no fault was removed".to_string()),
                    Clearing::Cleared(ms) => {
                        (ms <= within, format!("stopped firing {:.1} s after the last fault was removed", ms / 1000.0))
                    }
                    Clearing::StillFiring(ms) => (
                        false,
                        format!(
                            "still firing when the drill ended, {:.1} s after the last fault was removed",
                            ms / 1000.0
                        ),
                    ),
                };
                expectations.push(Expectation {
                    what: format!("alarm '{}' clears within {}", a.name, secs(within)),
                    held,
                    detail,
                });
            }
        }
    }
    for step in &f.contingency {
        let detail = if step.timed_out {
            format!("timed out after {:.1} s and was killed", step.duration_ms / 1000.0)
        } else {
            match step.exit_code {
                Some(code) => format!("exited {code} after {:.1} s", step.duration_ms / 1000.0),
                None => "could not be started, or ended by a signal".to_string(),
            }
        };
        expectations.push(Expectation {
            what: format!("contingency step '{}' (on {}) succeeds", step.name, step.on),
            held: step.ok,
            detail,
        });
    }
    if let Some(why) = &f.aborted {
        expectations.push(Expectation { what: "no abort".into(), held: false, detail: why.clone() });
    }
    if let Some(why) = &f.stopped {
        expectations.push(Expectation { what: "the drill runs to its end".into(), held: false, detail: why.clone() });
    }
    let passed = expectations.iter().all(|e| e.held);
    Verdict {
        windows,
        judged_in,
        phase_held,
        first_armed_ms,
        last_removed_ms,
        time_to_detect_ms,
        time_to_recover_ms,
        expectations,
        passed,
    }
}

/// (ms from the first fault armed to the first time the alarm was seen firing after it,
/// whether it ever fired during the drill).
pub fn alarm_outcome(a: &AlarmRun, first_armed_ms: Option<f64>) -> (Option<f64>, bool) {
    let ever = a.changes.iter().any(|&(_, on)| on);
    let Some(armed) = first_armed_ms else {
        return (None, ever);
    };
    // Firing already when the fault was armed counts from the arm itself.
    let mut firing_at_arm = false;
    for &(t, on) in &a.changes {
        if t <= armed {
            firing_at_arm = on;
        }
    }
    if firing_at_arm {
        return (Some(0.0), ever);
    }
    (a.changes.iter().find(|&&(t, on)| on && t > armed).map(|&(t, _)| t - armed), ever)
}

/// How an alarm ended, counted from the last fault removed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Clearing {
    NoFaultRemoved,
    /// Not firing from this many ms after the last fault was removed to the end (0 when it
    /// had stopped before).
    Cleared(f64),
    /// Firing at the end of the drill, this many ms after the last fault was removed.
    StillFiring(f64),
}

/// When the alarm stopped firing for good: its last change to not firing, counted from the
/// last fault removed (a flapping alarm clears at its last stop, not its first).
pub fn alarm_clearing(a: &AlarmRun, last_removed_ms: Option<f64>, end_ms: f64) -> Clearing {
    let Some(removed) = last_removed_ms else {
        return Clearing::NoFaultRemoved;
    };
    match a.changes.last() {
        Some(&(t, true)) => Clearing::StillFiring((end_ms.max(t) - removed).max(0.0)),
        Some(&(t, false)) => Clearing::Cleared((t - removed).max(0.0)),
        None => Clearing::Cleared(0.0),
    }
}

fn secs(ms: f64) -> String {
    if ms >= 1000.0 && (ms / 1000.0).fract() == 0.0 {
        format!("{}s", ms / 1000.0)
    } else if ms >= 1000.0 {
        format!("{:.1}s", ms / 1000.0)
    } else {
        format!("{ms:.0}ms")
    }
}

/// `summary.json`, exactly as the contract shapes it.
pub fn summary(f: &Facts, v: &Verdict) -> Value {
    let first_armed = v.first_armed_ms;
    json!({
        "name": f.name,
        "drill_id": f.drill_id,
        "started": f.started,
        "approved_fingerprint": f.approved,
        "passed": v.passed,
        "aborted": f.aborted.is_some() || f.stopped.is_some() || f.baseline_failed.is_some(),
        "phases": f.phases.iter().enumerate().filter(|(_, p)| !p.start.is_empty()).map(|(i, p)| {
            let (requests, errors, p50, p99) = figures(f.samples.iter().filter(|s| s.t_ms >= p.start_ms && s.t_ms < p.end_ms));
            json!({
                "name": p.name,
                "start": p.start,
                "end": p.end,
                "expect": p.expect,
                "held": v.phase_held[i],
                "requests": requests,
                "error_rate": round(if requests == 0 { 0.0 } else { errors as f64 / requests as f64 }, 4),
                "p50_ms": round(p50, 1),
                "p99_ms": round(p99, 1),
                "injections": f.injections.iter().filter(|(_, j)| *j == i).count(),
            })
        }).collect::<Vec<_>>(),
        "time_to_detect_ms": v.time_to_detect_ms.map(|x| x.round() as u64),
        "time_to_recover_ms": v.time_to_recover_ms.map(|x| x.round() as u64),
        "alarms": f.alarms.iter().map(|a| {
            let (after, _) = alarm_outcome(a, first_armed);
            let clearing = after.map(|_| alarm_clearing(a, v.last_removed_ms, f.end_ms));
            let cleared_after = match clearing {
                Some(Clearing::Cleared(ms)) => Some(ms),
                _ => None,
            };
            json!({
                "name": a.name,
                "fired": after.is_some(),
                "first_fired_after_ms": after.map(|x| x.round() as u64),
                "in_time": after.is_some_and(|ms| ms <= a.expect_within_ms),
                "cleared": match clearing {
                    Some(Clearing::Cleared(_)) => Some(true),
                    Some(Clearing::StillFiring(_)) => Some(false),
                    _ => None,
                },
                "cleared_after_ms": cleared_after.map(|x| x.round() as u64),
                "cleared_in_time": a.expect_clear_within_ms.and_then(|within| clearing.map(|_| cleared_after.is_some_and(|ms| ms <= within))),
            })
        }).collect::<Vec<_>>(),
        "expectations": v.expectations.iter().map(|e| json!({"id": finding_id(&e.what), "what": e.what, "held": e.held, "detail": e.detail})).collect::<Vec<_>>(),
        "findings": v.expectations.iter().filter(|e| !e.held).map(|e| json!({"id": finding_id(&e.what), "what": e.what, "detail": e.detail})).collect::<Vec<_>>(),
        "contingency": f.contingency.iter().map(|c| json!({"name": c.name, "on": c.on, "ok": c.ok, "timed_out": c.timed_out, "exit_code": c.exit_code, "duration_ms": c.duration_ms.round() as u64})).collect::<Vec<_>>(),
        "generator": generator(&f.late_ms).map(|g| json!({
            "late_over_1ms": g.over,
            "late_p99_ms": round(g.p99_ms, 3),
            "late_max_ms": round(g.max_ms, 3),
            "fell_behind": g.fell_behind(),
        })),
    })
}

/// How well the load generator kept its schedule: its lateness is in every latency of the run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Generator {
    pub requests: usize,
    /// Requests sent more than [`Generator::LATE_MS`] after their time.
    pub over: usize,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Generator {
    pub const LATE_MS: f64 = 1.0;

    /// More than 1% of the requests left over 1 ms late: the latencies then carry the
    /// generator's own delay (an overloaded machine), not only the service's.
    pub fn fell_behind(&self) -> bool {
        self.over * 100 > self.requests
    }
}

/// None for a journal without lateness (written before it was recorded) or without requests.
pub fn generator(late_ms: &[f64]) -> Option<Generator> {
    if late_ms.is_empty() {
        return None;
    }
    let mut sorted = late_ms.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some(Generator {
        requests: sorted.len(),
        over: sorted.iter().filter(|&&x| x > Generator::LATE_MS).count(),
        p99_ms: percentile(&sorted, 99.0),
        max_ms: sorted[sorted.len() - 1],
    })
}

/// A finding's id, the same in every run of a drill for the same expectation: what lets a
/// review say which findings are gone, which remain and which are new.
pub fn finding_id(what: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(what.as_bytes());
    format!("F-{:02x}{:02x}{:02x}{:02x}", digest[0], digest[1], digest[2], digest[3])
}

fn round(x: f64, digits: i32) -> f64 {
    let m = 10f64.powi(digits);
    (x * m).round() / m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steady(from_ms: f64, to_ms: f64, every_ms: f64, latency_ms: f64, ok: bool) -> Vec<Sample> {
        let mut out = Vec::new();
        let mut t = from_ms;
        while t < to_ms {
            out.push(Sample { t_ms: t, latency_ms, ok });
            t += every_ms;
        }
        out
    }

    fn limits() -> Limits {
        Limits { max_error_rate: Some(0.01), max_p99_ms: Some(100.0) }
    }

    fn phase(name: &str, expect: &str, start: f64, end: f64) -> PhaseRun {
        PhaseRun {
            name: name.into(),
            expect: expect.into(),
            start_ms: start,
            end_ms: end,
            start: "s".into(),
            end: "e".into(),
            ..Default::default()
        }
    }

    /// baseline 0-4 s, slow 4-8 s (faults armed at 4 s, removed at 8 s), recovery 8-12 s.
    fn drill(slow_latency: f64, recover_within_ms: Option<f64>) -> Facts {
        let mut samples = steady(0.0, 4000.0, 10.0, 5.0, true);
        samples.extend(steady(4000.0, 8000.0, 10.0, slow_latency, true));
        samples.extend(steady(8000.0, 12000.0, 10.0, 5.0, true));
        let mut slow = phase("slow", "degraded", 4000.0, 8000.0);
        slow.armed_ms = Some(4000.0);
        slow.removed_ms = Some(8000.0);
        slow.has_faults = true;
        let mut recovery = phase("recovery", "steady", 8000.0, 12000.0);
        recovery.recover_within_ms = recover_within_ms;
        Facts {
            name: "t".into(),
            step_ms: 250.0,
            window_ms: 1000.0,
            hypothesis: limits(),
            phases: vec![phase("baseline", "steady", 0.0, 4000.0), slow, recovery],
            samples,
            end_ms: 12000.0,
            ..Default::default()
        }
    }

    #[test]
    fn percentile_is_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
        assert_eq!(percentile(&[], 99.0), 0.0);
    }

    #[test]
    fn window_counts_only_its_span() {
        let s = steady(0.0, 2000.0, 100.0, 5.0, true);
        let w = window(&s, 1000.0, 500.0, &limits());
        assert_eq!(w.requests, 5); // 600, 700, 800, 900, 1000
        assert_eq!(w.held, Some(true));
    }

    #[test]
    fn window_breaks_on_error_rate_and_p99() {
        let mut s = steady(0.0, 1000.0, 10.0, 5.0, true);
        s[50].ok = false;
        s[51].ok = false;
        let w = window(&s, 1000.0, 1000.0, &limits());
        assert_eq!(w.held, Some(false));
        assert!(w.breach.as_deref().unwrap().contains("error rate 2.0% > 1.0%"));
        let s = steady(0.0, 1000.0, 10.0, 150.0, true);
        let w = window(&s, 1000.0, 1000.0, &limits());
        assert!(w.breach.as_deref().unwrap().contains("p99 150 ms > 100 ms"));
    }

    #[test]
    fn empty_window_is_not_judged() {
        let w = window(&[], 1000.0, 1000.0, &limits());
        assert_eq!(w.held, None);
    }

    #[test]
    fn detects_a_breach_within_one_step_of_the_fault() {
        let v = evaluate(&drill(300.0, Some(2000.0)));
        let ttd = v.time_to_detect_ms.unwrap();
        assert!(ttd <= 250.0, "{ttd}");
    }

    #[test]
    fn recovery_is_measured_from_the_last_removal() {
        let v = evaluate(&drill(300.0, Some(2000.0)));
        // Slow samples leave the 1 s window 1 s after removal.
        assert_eq!(v.time_to_recover_ms, Some(1000.0));
        assert!(v.passed, "{:?}", v.expectations);
        let rec = v.expectations.iter().find(|e| e.what.starts_with("recovery")).unwrap();
        assert!(rec.held && rec.detail.contains("1.0 s"), "{rec:?}");
    }

    #[test]
    fn slow_recovery_fails_its_expectation() {
        let mut f = drill(300.0, Some(1000.0));
        // Still slow for 2 s after removal.
        for s in f.samples.iter_mut().filter(|s| s.t_ms >= 8000.0 && s.t_ms < 10000.0) {
            s.latency_ms = 300.0;
        }
        let v = evaluate(&f);
        assert_eq!(v.time_to_recover_ms, Some(3000.0));
        assert!(!v.passed);
        let rec = v.expectations.iter().find(|e| e.what.starts_with("recovery")).unwrap();
        assert!(!rec.held);
    }

    #[test]
    fn breach_in_a_steady_fault_phase_fails_the_drill() {
        let mut f = drill(300.0, None);
        f.phases[1].expect = "steady".into();
        let v = evaluate(&f);
        assert!(!v.passed);
        assert!(!v.phase_held[1]);
        let e = v.expectations.iter().find(|e| e.what.contains("'slow'")).unwrap();
        assert!(e.detail.contains("p99 300 ms > 100 ms"), "{e:?}");
    }

    #[test]
    fn degraded_phase_may_break() {
        let v = evaluate(&drill(300.0, None));
        assert!(v.passed, "{:?}", v.expectations);
        assert!(!v.phase_held[1]);
    }

    #[test]
    fn baseline_breach_fails_and_is_explained() {
        let mut f = drill(5.0, None);
        for s in f.samples.iter_mut().filter(|s| s.t_ms < 2000.0) {
            s.ok = false;
        }
        let v = evaluate(&f);
        assert!(!v.passed);
        assert!(!v.expectations[0].held);
        assert!(v.expectations[0].detail.contains("error rate"));
    }

    #[test]
    fn alarm_timeliness() {
        let a = AlarmRun {
            name: "a".into(),
            expect_within_ms: 2000.0,
            expect_clear_within_ms: None,
            changes: vec![(0.0, false), (5500.0, true)],
        };
        assert_eq!(alarm_outcome(&a, Some(4000.0)).0, Some(1500.0));
        let never = AlarmRun {
            name: "n".into(),
            expect_within_ms: 2000.0,
            expect_clear_within_ms: None,
            changes: vec![(0.0, false)],
        };
        assert_eq!(alarm_outcome(&never, Some(4000.0)).0, None);
        let mut f = drill(300.0, None);
        f.alarms = vec![a, never];
        let v = evaluate(&f);
        let s = summary(&f, &v);
        assert_eq!(s["alarms"][0]["in_time"], true);
        assert_eq!(s["alarms"][0]["first_fired_after_ms"], 1500);
        assert_eq!(s["alarms"][1]["fired"], false);
        assert_eq!(s["alarms"][1]["in_time"], false);
        assert!(!v.passed);
    }

    #[test]
    fn alarm_clearing_counts_from_the_last_fault_removed() {
        let alarm = |changes: Vec<(f64, bool)>| AlarmRun {
            name: "a".into(),
            expect_within_ms: 2000.0,
            expect_clear_within_ms: Some(3000.0),
            changes,
        };
        // Faults armed at 4 s, removed at 8 s (see `drill`).
        let cleared = alarm(vec![(0.0, false), (5000.0, true), (10_500.0, false)]);
        let flapping = alarm(vec![(0.0, false), (5000.0, true), (8500.0, false), (9000.0, true), (11_900.0, false)]);
        let stuck = alarm(vec![(0.0, false), (5000.0, true)]);
        assert_eq!(alarm_clearing(&cleared, Some(8000.0), 12_000.0), Clearing::Cleared(2500.0));
        assert_eq!(alarm_clearing(&flapping, Some(8000.0), 12_000.0), Clearing::Cleared(3900.0));
        assert_eq!(alarm_clearing(&stuck, Some(8000.0), 12_000.0), Clearing::StillFiring(4000.0));
        let mut f = drill(300.0, None);
        f.alarms = vec![cleared, flapping, stuck];
        let v = evaluate(&f);
        let s = summary(&f, &v);
        assert_eq!(s["alarms"][0]["cleared"], true);
        assert_eq!(s["alarms"][0]["cleared_after_ms"], 2500);
        assert_eq!(s["alarms"][0]["cleared_in_time"], true);
        assert_eq!(s["alarms"][1]["cleared_in_time"], false);
        assert_eq!(s["alarms"][2]["cleared"], false);
        assert_eq!(s["alarms"][2]["cleared_after_ms"], Value::Null);
        let clears: Vec<_> = v.expectations.iter().filter(|e| e.what.contains("clears within 3s")).collect();
        assert_eq!(clears.iter().map(|e| e.held).collect::<Vec<_>>(), [true, false, false]);
        assert!(clears[2].detail.contains("still firing"), "{}", clears[2].detail);
    }

    #[test]
    fn abort_needs_a_sustained_breach() {
        let mut t = AbortTracker::default();
        let bad = |end_ms| Window {
            end_ms,
            requests: 1,
            errors: 1,
            error_rate: 1.0,
            p50_ms: 0.0,
            p99_ms: 0.0,
            held: Some(false),
            breach: Some("x".into()),
        };
        let good = |end_ms| Window { held: Some(true), breach: None, ..bad(end_ms) };
        assert!(!t.update(&bad(1000.0), 1000.0));
        assert!(!t.update(&good(1500.0), 1000.0));
        assert!(!t.update(&bad(2000.0), 1000.0));
        assert!(t.update(&bad(3000.0), 1000.0));
    }

    #[test]
    fn the_generator_fell_behind_when_more_than_one_request_in_a_hundred_left_late() {
        assert_eq!(generator(&[]), None);
        let mut late = vec![0.1; 98];
        late.extend([1.5, 0.9]);
        let g = generator(&late).unwrap();
        assert_eq!((g.requests, g.over, g.max_ms), (100, 1, 1.5));
        assert!(!g.fell_behind());
        late[0] = 4.0;
        let g = generator(&late).unwrap();
        assert_eq!((g.over, g.max_ms), (2, 4.0));
        assert!(g.fell_behind());
        let s = summary(&Facts { late_ms: late, ..drill(300.0, None) }, &evaluate(&drill(300.0, None)));
        assert_eq!(s["generator"]["late_over_1ms"], 2);
        assert_eq!(s["generator"]["fell_behind"], true);
        assert_eq!(s["generator"]["late_max_ms"], 4.0);
    }

    #[test]
    fn summary_has_the_contract_fields() {
        let f = drill(300.0, Some(2000.0));
        let s = summary(&f, &evaluate(&f));
        for key in
            ["name", "passed", "aborted", "phases", "time_to_detect_ms", "time_to_recover_ms", "alarms", "expectations"]
        {
            assert!(s.get(key).is_some(), "{key}");
        }
        let p = &s["phases"][1];
        for key in
            ["name", "start", "end", "expect", "held", "requests", "error_rate", "p50_ms", "p99_ms", "injections"]
        {
            assert!(p.get(key).is_some(), "{key}");
        }
        assert_eq!(p["requests"], 400);
        assert_eq!(p["p99_ms"], 300.0);
    }
}
