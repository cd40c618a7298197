//! The drill file: what to inject, when, against which JVMs, and what the service is
//! expected to do meanwhile. Read from TOML as strictly as scenarios are: every error names
//! the file, the line and the key. Faults, inline or in a scenario file, are parsed by the
//! scenario module: there is one parser of faults.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::{Spanned, Value};

use faultline_model::duration::format_duration;
use faultline_model::scenario::{RawTable, Scenario, ScenarioError};
use faultline_model::toml_table::{Source, Table};

/// The keys of a drill file's top level.
const TOP_KEYS: [&str; 10] =
    ["name", "objective", "targets", "load", "steady_state", "alarm", "phase", "abort", "window", "contingency"];
const WINDOW_KEYS: [&str; 5] = ["not_before", "not_after", "days", "hours", "timezone"];
const CONTINGENCY_KEYS: [&str; 4] = ["name", "on", "command", "timeout"];
const LOAD_KEYS: [&str; 5] = ["url", "rate", "timeout", "ca", "insecure"];
const STEADY_KEYS: [&str; 7] = ["url", "every", "window", "max_error_rate", "max_p99", "ca", "insecure"];
const ALARM_KEYS: [&str; 12] = [
    "name",
    "command",
    "prometheus",
    "query",
    "alertmanager",
    "alert",
    "labels",
    "every",
    "expect_within",
    "expect_clear_within",
    "ca",
    "insecure",
];
const PHASE_KEYS: [&str; 6] = ["name", "duration", "scenario", "fault", "expect", "recover_within"];
const ABORT_KEYS: [&str; 3] = ["max_error_rate", "max_p99", "for"];

/// The highest request rate a drill may ask for: enough for any loopback service test,
/// low enough that a typo (`rate = 100000`) cannot flood the machine.
pub const MAX_RATE: f64 = 5000.0;
/// The longest drill accepted, so that every loop of a run is bounded in time.
pub const MAX_TOTAL: Duration = Duration::from_secs(24 * 3600);

/// A validated drill.
#[derive(Debug, Clone)]
pub struct Drill {
    pub name: String,
    pub objective: Option<String>,
    /// As written: pids or substrings of main classes, resolved when the drill runs.
    pub targets: Vec<String>,
    pub load: Option<Load>,
    pub steady: SteadyState,
    pub alarms: Vec<Alarm>,
    pub phases: Vec<Phase>,
    pub abort: Option<Abort>,
    /// When the drill is authorized to run.
    pub window: Option<Window>,
    pub contingency: Vec<Contingency>,
    /// The file's path, for messages.
    pub origin: String,
    /// The file's text as parsed: what a proposal fingerprints and an approval compares.
    pub text: String,
}

/// When a drill may run: between two instants, on some days between some hours, or both. The
/// whole drill must fit: `drill run` refuses when it would start or end outside.
#[derive(Debug, Clone)]
pub struct Window {
    pub not_before: Option<jiff::Timestamp>,
    pub not_after: Option<jiff::Timestamp>,
    /// Days of the week, in `timezone`; empty for every day.
    pub days: Vec<jiff::civil::Weekday>,
    /// Time of day, `[from, to)`, in `timezone`.
    pub hours: Option<(jiff::civil::Time, jiff::civil::Time)>,
    pub timezone: jiff::tz::TimeZone,
    /// As written (`UTC` by default), for messages.
    pub timezone_name: String,
}

impl Window {
    /// Why a drill of length `total` started now may not run in this window, or None.
    pub fn refuses_now(&self, total: Duration) -> Option<String> {
        let start = jiff::Timestamp::now();
        let end = start.checked_add(jiff::SignedDuration::try_from(total).unwrap_or(jiff::SignedDuration::MAX));
        self.refuses(start, end.unwrap_or(jiff::Timestamp::MAX))
    }

    /// Why a drill from `start` to `end` may not run in this window, or None when it may.
    pub fn refuses(&self, start: jiff::Timestamp, end: jiff::Timestamp) -> Option<String> {
        if let Some(nb) = self.not_before {
            if start < nb {
                return Some(format!("it would start at {start:.0}, before the window opens ({nb:.0})"));
            }
        }
        if let Some(na) = self.not_after {
            if end > na {
                return Some(format!("it would end at {end:.0}, after the window closes ({na:.0})"));
            }
        }
        for (what, at) in [("start", start), ("end", end)] {
            let local = at.to_zoned(self.timezone.clone());
            if !self.days.is_empty() && !self.days.contains(&local.weekday()) {
                return Some(format!(
                    "it would {what} on a {:?} ({local:.0}), outside the authorized days ({})",
                    local.weekday(),
                    self.days.iter().map(|d| format!("{d:?}")).collect::<Vec<_>>().join(", ")
                ));
            }
            if let Some((from, to)) = self.hours {
                let t = local.time();
                // The end may fall on the closing minute itself.
                let inside = t >= from && (t < to || (what == "end" && t == to));
                if !inside {
                    return Some(format!(
                        "it would {what} at {} {}, outside the authorized hours {}-{}",
                        t.strftime("%H:%M:%S"),
                        self.timezone_name,
                        from.strftime("%H:%M"),
                        to.strftime("%H:%M")
                    ));
                }
            }
        }
        if self.hours.is_some() {
            let (a, b) = (start.to_zoned(self.timezone.clone()), end.to_zoned(self.timezone.clone()));
            if a.date() != b.date() {
                return Some("it would run across midnight, outside one day's authorized hours".into());
            }
        }
        None
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "not_before": self.not_before.map(|t| t.to_string()),
            "not_after": self.not_after.map(|t| t.to_string()),
            "days": self.days.iter().map(|d| format!("{d:?}")).collect::<Vec<_>>(),
            "hours": self.hours.map(|(a, b)| format!("{}-{}", a.strftime("%H:%M"), b.strftime("%H:%M"))),
            "timezone": self.timezone_name,
        })
    }
}

/// What a contingency step answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The drill stopped early: an abort breach, a signal, an error.
    Abort,
    /// A phase whose hypothesis had to hold broke.
    Breach,
    /// The drill is over, whatever its outcome.
    End,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Abort => "abort",
            Trigger::Breach => "breach",
            Trigger::End => "end",
        }
    }
}

/// A step of the contingency plan: a command run, after the faults are removed, when its
/// trigger happens.
#[derive(Debug, Clone)]
pub struct Contingency {
    pub name: String,
    pub on: Trigger,
    pub command: Vec<String>,
    pub timeout: Duration,
}

/// Traffic the drill generates itself, open loop.
#[derive(Debug, Clone)]
pub struct Load {
    pub url: String,
    pub rate: f64,
    pub timeout: Duration,
    pub tls: Trust,
}

/// Which server certificates an https URL accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// The operating system's trusted roots.
    System,
    /// Only certificates issued by the PEM certificates of this file (`ca = "..."`), such as a
    /// self-signed one.
    Ca(PathBuf),
    /// Any certificate (`insecure = true`): encrypted, but not authenticated.
    Insecure,
}

/// The hypothesis, judged over a sliding window every `every`.
#[derive(Debug, Clone)]
pub struct SteadyState {
    pub url: Option<String>,
    pub every: Duration,
    pub window: Duration,
    pub max_error_rate: Option<f64>,
    pub max_p99: Option<Duration>,
    pub tls: Trust,
}

/// A monitoring check under test, polled every `every`.
#[derive(Debug, Clone)]
pub struct Alarm {
    pub name: String,
    pub source: AlarmSource,
    /// For a Prometheus or Alertmanager behind https.
    pub tls: Trust,
    pub every: Duration,
    pub expect_within: Duration,
    /// It must stop firing within this time after the last fault is removed.
    pub expect_clear_within: Option<Duration>,
}

/// Where an alarm's state comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlarmSource {
    /// Firing while the command exits 0.
    Command(Vec<String>),
    /// Firing while the instant query returns a non-empty vector or matrix (as Prometheus'
    /// own alerting rules count it), or a scalar above zero.
    Prometheus { url: String, query: String },
    /// Firing while an active (not silenced, not inhibited) alert has this name and labels.
    Alertmanager { url: String, alert: String, labels: BTreeMap<String, String> },
}

impl AlarmSource {
    /// How the check reads in plans and progress lines.
    pub fn describe(&self) -> String {
        match self {
            AlarmSource::Command(command) => format!("{command:?}"),
            // Quoted as TOML's literal strings are, when it can be: PromQL is full of double quotes.
            AlarmSource::Prometheus { url, query } if !query.contains('\'') => {
                format!("Prometheus {url} query '{query}'")
            }
            AlarmSource::Prometheus { url, query } => format!("Prometheus {url} query {query:?}"),
            AlarmSource::Alertmanager { url, alert, labels } if labels.is_empty() => {
                format!("Alertmanager {url} alert {alert:?}")
            }
            AlarmSource::Alertmanager { url, alert, labels } => {
                let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
                format!("Alertmanager {url} alert {alert:?} {{{}}}", labels.join(", "))
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The hypothesis must hold in every window of the phase.
    Steady,
    /// The hypothesis may break.
    Degraded,
}

impl Expect {
    pub fn as_str(self) -> &'static str {
        match self {
            Expect::Steady => "steady",
            Expect::Degraded => "degraded",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Phase {
    pub name: String,
    pub duration: Duration,
    /// The faults armed on every target at the phase start; empty for none.
    pub faults: Scenario,
    pub expect: Expect,
    pub recover_within: Option<Duration>,
    /// 1-based line of the `[[phase]]` header.
    pub line: usize,
}

/// Remove every fault at once when breached for `sustained`.
#[derive(Debug, Clone)]
pub struct Abort {
    pub max_error_rate: Option<f64>,
    pub max_p99: Option<Duration>,
    pub sustained: Duration,
}

impl Drill {
    /// Reads and validates a drill file; a phase's `scenario` path is relative to the file.
    pub fn load(path: &Path) -> Result<Drill, ScenarioError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
            origin: origin.clone(),
            line: None,
            key: None,
            message: format!("cannot read the drill file: {e}"),
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Drill::parse(&text, &origin, &base)
    }

    /// Parses and validates a drill; `base` is where relative scenario paths start.
    pub fn parse(text: &str, origin: &str, base: &Path) -> Result<Drill, ScenarioError> {
        DrillParser { source: Source { text, origin }, base }.drill()
    }

    /// The sum of the phases.
    pub fn total(&self) -> Duration {
        self.phases.iter().map(|p| p.duration).sum()
    }

    /// Whether any phase arms a fault.
    pub fn injects(&self) -> bool {
        self.phases.iter().any(|p| !p.faults.faults.is_empty())
    }

    /// The drill as JSON, recorded at the head of the journal so that the report needs
    /// nothing else.
    pub fn to_json(&self) -> serde_json::Value {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        serde_json::json!({
            "name": self.name,
            "objective": self.objective,
            "origin": self.origin,
            "targets": self.targets,
            "load": self.load.as_ref().map(|l| serde_json::json!({"url": l.url, "rate": l.rate, "timeout_ms": ms(l.timeout)})),
            "steady_state": {
                "url": self.steady.url,
                "every_ms": ms(self.steady.every),
                "window_ms": ms(self.steady.window),
                "max_error_rate": self.steady.max_error_rate,
                "max_p99_ms": self.steady.max_p99.map(ms),
            },
            "alarms": self.alarms.iter().map(|a| {
                let mut alarm = serde_json::json!({
                    "name": a.name, "check": a.source.describe(), "every_ms": ms(a.every),
                    "expect_within_ms": ms(a.expect_within), "expect_clear_within_ms": a.expect_clear_within.map(ms),
                });
                match &a.source {
                    AlarmSource::Command(command) => alarm["command"] = serde_json::json!(command),
                    AlarmSource::Prometheus { url, query } => {
                        alarm["prometheus"] = serde_json::json!(url);
                        alarm["query"] = serde_json::json!(query);
                    }
                    AlarmSource::Alertmanager { url, alert, labels } => {
                        alarm["alertmanager"] = serde_json::json!(url);
                        alarm["alert"] = serde_json::json!(alert);
                        alarm["labels"] = serde_json::json!(labels);
                    }
                }
                alarm
            }).collect::<Vec<_>>(),
            "phases": self.phases.iter().map(|p| serde_json::json!({
                "name": p.name,
                "duration_ms": ms(p.duration),
                "expect": p.expect.as_str(),
                "recover_within_ms": p.recover_within.map(ms),
                "faults": p.faults.faults.iter().map(|f| serde_json::json!({
                    "id": f.id,
                    "kind": f.kind.name(),
                    "target": f.kind.aim().map(|a| a.to_string()),
                    "toml": f.to_toml(),
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "abort": self.abort.as_ref().map(|a| serde_json::json!({
                "max_error_rate": a.max_error_rate, "max_p99_ms": a.max_p99.map(ms), "for_ms": ms(a.sustained),
            })),
            "window": self.window.as_ref().map(Window::to_json),
            "contingency": self.contingency.iter().map(|c| serde_json::json!({
                "name": c.name, "on": c.on.as_str(), "command": c.command, "timeout_ms": ms(c.timeout),
            })).collect::<Vec<_>>(),
        })
    }
}

/// The second look at the file, once its top level is known to be sound: the tables with
/// their own spans, which the first look loses.
#[derive(Deserialize)]
struct RawSections {
    load: Option<Spanned<RawTable>>,
    steady_state: Option<Spanned<RawTable>>,
    #[serde(default)]
    alarm: Vec<Spanned<RawTable>>,
    #[serde(default)]
    phase: Vec<Spanned<RawTable>>,
    #[serde(rename = "abort")]
    abort_: Option<Spanned<RawTable>>,
    window: Option<Spanned<RawTable>>,
    #[serde(default)]
    contingency: Vec<Spanned<RawTable>>,
}

/// The third look: each phase's `[[phase.fault]]` tables with their spans.
#[derive(Deserialize)]
struct RawPhaseFaults {
    #[serde(default)]
    phase: Vec<PhaseFaults>,
}

#[derive(Deserialize)]
struct PhaseFaults {
    #[serde(default)]
    fault: Vec<Spanned<RawTable>>,
}

struct DrillParser<'a> {
    source: Source<'a>,
    base: &'a Path,
}

impl<'a> std::ops::Deref for DrillParser<'a> {
    type Target = Source<'a>;
    fn deref(&self) -> &Source<'a> {
        &self.source
    }
}

impl DrillParser<'_> {
    fn drill(&self) -> Result<Drill, ScenarioError> {
        let top: RawTable = toml::from_str(self.text).map_err(|e| self.syntax_error(&e))?;
        let top = self.table(top, None, 1);
        top.check_known_keys(&TOP_KEYS)?;
        for (key, want_table) in [("load", true), ("steady_state", true), ("abort", true), ("window", true)] {
            if let Some(entry) = top.get(key) {
                if want_table && !entry.value.is_table() {
                    return Err(top.wrong_type(entry, &format!("a table, [{key}]")));
                }
            }
        }
        for key in ["alarm", "phase", "contingency"] {
            if let Some(entry) = top.get(key) {
                match &entry.value {
                    Value::Array(items) if items.iter().all(Value::is_table) => {}
                    Value::Table(_) => {
                        return Err(top.error_at(key, format!("write each {key} as [[{key}]], with double brackets")))
                    }
                    _ => return Err(top.wrong_type(entry, &format!("[[{key}]] tables"))),
                }
            }
        }
        let name =
            top.required_string("name", "what the drill is about, e.g. name = \"checkout survives a slow gateway\"")?;
        let objective = top.string("objective")?.map(|(_, s)| s.to_string());
        let targets = match top.get("targets") {
            None => Vec::new(),
            Some(entry) => top.string_list(entry)?,
        };

        let raw: RawSections = toml::from_str(self.text).map_err(|e| self.syntax_error(&e))?;
        let load = match raw.load {
            Some(t) => Some(self.load(t)?),
            None => None,
        };
        let Some(steady) = raw.steady_state else {
            return Err(self.error(
                None,
                Some("steady_state"),
                "missing, and required: the hypothesis, e.g. [steady_state] with window = \"2s\" and max_error_rate = 0.01"
                    .into(),
            ));
        };
        let steady = self.steady(steady, load.is_some())?;
        let alarms = raw.alarm.into_iter().map(|t| self.alarm(t)).collect::<Result<Vec<_>, _>>()?;
        let mut alarm_names = BTreeMap::new();
        for alarm in &alarms {
            if alarm_names.insert(alarm.name.clone(), ()).is_some() {
                return Err(self.error(None, Some("alarm.name"), format!("two alarms are named {:?}", alarm.name)));
            }
        }
        let faults: RawPhaseFaults = toml::from_str(self.text).map_err(|e| self.syntax_error(&e))?;
        if raw.phase.is_empty() {
            return Err(self.error(None, Some("phase"), "missing, and required: at least one [[phase]]".into()));
        }
        let mut phases = Vec::new();
        for (table, inline) in raw.phase.into_iter().zip(faults.phase.into_iter().map(|p| p.fault)) {
            phases.push(self.phase(table, inline, phases.len())?);
        }
        let abort = match raw.abort_ {
            Some(t) => Some(self.abort(t)?),
            None => None,
        };
        let window = match raw.window {
            Some(t) => Some(self.window(t)?),
            None => None,
        };
        let contingency = raw.contingency.into_iter().map(|t| self.contingency(t)).collect::<Result<Vec<_>, _>>()?;
        let drill = Drill {
            name,
            objective,
            targets,
            load,
            steady,
            alarms,
            phases,
            abort,
            window,
            contingency,
            origin: self.origin.into(),
            text: self.text.into(),
        };
        self.check_whole(&drill, &top)?;
        Ok(drill)
    }

    /// Rules that span sections.
    fn check_whole(&self, drill: &Drill, top: &Table) -> Result<(), ScenarioError> {
        if drill.total() > MAX_TOTAL {
            return Err(self.error(None, Some("phase.duration"), "the phases add up to more than 24h".into()));
        }
        if drill.injects() && drill.targets.is_empty() {
            return Err(top.missing("targets", "the JVMs to inject into, e.g. targets = [\"com.acme.DemoMain\"]"));
        }
        let first = &drill.phases[0];
        if !first.faults.faults.is_empty() || first.duration < drill.steady.window {
            return Err(self.error(
                Some(first.line),
                Some("phase"),
                format!(
                    "the first phase must be a baseline: no faults, and at least as long as steady_state.window ({}), \
                     so that the hypothesis is seen to hold before anything is injected",
                    format_duration(drill.steady.window)
                ),
            ));
        }
        if let Some(p) = drill.phases.iter().find(|p| p.expect == Expect::Steady && p.recover_within.is_some()) {
            let index = drill.phases.iter().position(|q| q.line == p.line).unwrap_or(0);
            let before_has_faults = index > 0 && !drill.phases[index - 1].faults.faults.is_empty();
            if !before_has_faults {
                return Err(self.error(
                    Some(p.line),
                    Some("phase.recover_within"),
                    "applies after a phase with faults only: the previous phase arms none".into(),
                ));
            }
        }
        Ok(())
    }

    fn load(&self, table: Spanned<RawTable>) -> Result<Load, ScenarioError> {
        let s = self.section(table, "load", &LOAD_KEYS)?;
        let url = loopback_url(&s, "url")?
            .ok_or_else(|| s.missing("url", "where to send requests, e.g. \"http://127.0.0.1:8080/checkout\""))?;
        let rate =
            s.number("rate", "a number")?.ok_or_else(|| s.missing("rate", "requests per second, e.g. rate = 100"))?;
        if !(rate > 0.0 && rate <= MAX_RATE) {
            return Err(s.error_at(
                "rate",
                format!("must be above 0 and at most {MAX_RATE} requests per second, found {rate}"),
            ));
        }
        let timeout = s.positive_duration("timeout")?.unwrap_or(Duration::from_secs(2));
        let tls = self.trust(&s, "url", Some(&url))?;
        Ok(Load { url, rate, timeout, tls })
    }

    fn steady(&self, table: Spanned<RawTable>, has_load: bool) -> Result<SteadyState, ScenarioError> {
        let s = self.section(table, "steady_state", &STEADY_KEYS)?;
        let url = loopback_url(&s, "url")?;
        if url.is_none() && !has_load {
            return Err(s.missing("url", "something to measure: a probe url here, or a [load] section"));
        }
        let every = s.positive_duration("every")?.unwrap_or(Duration::from_millis(200));
        if every < Duration::from_millis(20) {
            return Err(s.error_at("every", "must be at least 20ms"));
        }
        let window = s.positive_duration("window")?.unwrap_or(Duration::from_secs(2));
        if window < every {
            return Err(s.error_at("window", format!("must be at least `every` ({})", format_duration(every))));
        }
        let max_error_rate = fraction(&s, "max_error_rate")?;
        let max_p99 = s.positive_duration("max_p99")?;
        if max_error_rate.is_none() && max_p99.is_none() {
            return Err(s.missing("max_error_rate", "a hypothesis: max_error_rate, max_p99 or both"));
        }
        let tls = self.trust(&s, "url", url.as_deref())?;
        Ok(SteadyState { url, every, window, max_error_rate, max_p99, tls })
    }

    fn alarm(&self, table: Spanned<RawTable>) -> Result<Alarm, ScenarioError> {
        let s = self.section(table, "alarm", &ALARM_KEYS)?;
        let name = s.required_string("name", "what the alarm is called")?;
        let given: Vec<&str> =
            ["command", "prometheus", "alertmanager"].into_iter().filter(|k| s.get(k).is_some()).collect();
        if given.len() > 1 {
            return Err(
                s.error_at(given[1], format!("an alarm reads one source: `{}` or `{}`, not both", given[0], given[1]))
            );
        }
        // Keys that belong to one source only: a stray one means the alarm is not what was meant.
        let owner = |key: &str| match key {
            "query" => "prometheus",
            "alert" | "labels" => "alertmanager",
            _ => "",
        };
        for key in ["query", "alert", "labels"] {
            if s.get(key).is_some() && given.first() != Some(&owner(key)) {
                return Err(s.error_at(key, format!("applies to `{}` alarms only", owner(key))));
            }
        }
        let source = match given.first() {
            None => {
                return Err(s.missing(
                    "command",
                    "where the alarm's state comes from: command = [...], prometheus = URL with query, \
                     or alertmanager = URL with alert",
                ))
            }
            Some(&"command") => {
                let entry = s.get("command").ok_or_else(|| s.missing("command", "the check to run"))?;
                let command = s.string_list(entry)?;
                if command.is_empty() || command[0].is_empty() {
                    return Err(s.error_at("command", "must name a program to run"));
                }
                AlarmSource::Command(command)
            }
            Some(&"prometheus") => {
                let url = monitoring_url(&s, "prometheus", "http://127.0.0.1:9090")?;
                let query = s.required_string(
                    "query",
                    "the PromQL expression that returns a result while the alarm fires, \
                     e.g. query = 'rate(demo_requests_total{outcome=\"error\"}[10s]) > 0.5'",
                )?;
                AlarmSource::Prometheus { url, query }
            }
            Some(_) => {
                let url = monitoring_url(&s, "alertmanager", "http://127.0.0.1:9093")?;
                let alert = s.required_string(
                    "alert",
                    "the alert's name (its alertname label), e.g. alert = \"CheckoutSlow\"",
                )?;
                let labels = s.string_map("labels")?.unwrap_or_default();
                let valid = |n: &str| {
                    n.chars()
                        .enumerate()
                        .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()))
                };
                if let Some(bad) = labels.keys().find(|n| n.is_empty() || !valid(n)) {
                    return Err(s.error_at(
                        "labels",
                        format!("{bad:?} is not a label name (letters, digits and _, not starting with a digit)"),
                    ));
                }
                if labels.contains_key("alertname") {
                    return Err(s.error_at("labels", "name the alert with `alert`, not with an alertname label"));
                }
                AlarmSource::Alertmanager { url, alert, labels }
            }
        };
        let url = match &source {
            AlarmSource::Command(_) => None,
            AlarmSource::Prometheus { url, .. } | AlarmSource::Alertmanager { url, .. } => Some(url.as_str()),
        };
        let url_key = given.first().copied().unwrap_or("command");
        let tls = self.trust(&s, url_key, url)?;
        let every = s.positive_duration("every")?.unwrap_or(Duration::from_secs(1));
        if every < Duration::from_millis(100) {
            return Err(s.error_at("every", "must be at least 100ms"));
        }
        let expect_within = s
            .positive_duration("expect_within")?
            .ok_or_else(|| s.missing("expect_within", "how soon after the first fault it must fire, e.g. \"30s\""))?;
        let expect_clear_within = s.positive_duration("expect_clear_within")?;
        Ok(Alarm { name, source, tls, every, expect_within, expect_clear_within })
    }

    fn window(&self, table: Spanned<RawTable>) -> Result<Window, ScenarioError> {
        let s = self.section(table, "window", &WINDOW_KEYS)?;
        let instant = |key: &str| -> Result<Option<jiff::Timestamp>, ScenarioError> {
            match s.string(key)? {
                None => Ok(None),
                Some((_, text)) => text.parse::<jiff::Timestamp>().map(Some).map_err(|e| {
                    s.error_at(
                        key,
                        format!(
                            "{text:?} is not an RFC 3339 time with an offset, e.g. \"2026-12-05T09:00:00+01:00\" ({e})"
                        ),
                    )
                }),
            }
        };
        let (not_before, not_after) = (instant("not_before")?, instant("not_after")?);
        if let (Some(a), Some(b)) = (not_before, not_after) {
            if b <= a {
                return Err(s.error_at("not_after", format!("{b:.0} is not after not_before ({a:.0})")));
            }
        }
        if let Some(b) = not_after {
            let now = jiff::Timestamp::now();
            if b <= now {
                return Err(s.error_at(
                    "not_after",
                    format!("the window closed at {b:.0}, in the past (now {now:.0}): authorize a new one"),
                ));
            }
        }
        let timezone_name = s.non_empty_string("timezone")?.unwrap_or_else(|| "UTC".to_string());
        let timezone = jiff::tz::TimeZone::get(&timezone_name).map_err(|e| {
            s.error_at(
                "timezone",
                format!("unknown time zone {timezone_name:?}: an IANA name such as \"Europe/Berlin\" or \"UTC\" ({e})"),
            )
        })?;
        let days = match s.get("days") {
            None => Vec::new(),
            Some(entry) => {
                let mut days = Vec::new();
                for name in s.string_list(entry)? {
                    use jiff::civil::Weekday::*;
                    let day = match name.to_ascii_lowercase().get(..3).unwrap_or("") {
                        "mon" => Monday,
                        "tue" => Tuesday,
                        "wed" => Wednesday,
                        "thu" => Thursday,
                        "fri" => Friday,
                        "sat" => Saturday,
                        "sun" => Sunday,
                        _ => {
                            return Err(s.error_at(
                                "days",
                                format!("{name:?} is not a day of the week; write e.g. [\"mon\", \"tue\"]"),
                            ))
                        }
                    };
                    days.push(day);
                }
                if days.is_empty() {
                    return Err(s.error_at("days", "must name at least one day"));
                }
                days
            }
        };
        let hours = match s.string("hours")? {
            None => None,
            Some((_, text)) => {
                let bad = || s.error_at("hours", format!("{text:?} is not a range of the day such as \"09:00-17:00\""));
                let (a, b) = text.split_once('-').ok_or_else(bad)?;
                let time = |t: &str| t.trim().parse::<jiff::civil::Time>().map_err(|_| bad());
                let (from, to) = (time(a)?, time(b)?);
                if to <= from {
                    return Err(s.error_at(
                        "hours",
                        format!(
                            "{text:?} ends before it starts; a window across midnight is two drills' worth: split it"
                        ),
                    ));
                }
                Some((from, to))
            }
        };
        if not_before.is_none() && not_after.is_none() && days.is_empty() && hours.is_none() {
            return Err(s.missing("not_after", "a window: not_before and/or not_after, or days and/or hours"));
        }
        Ok(Window { not_before, not_after, days, hours, timezone, timezone_name })
    }

    fn contingency(&self, table: Spanned<RawTable>) -> Result<Contingency, ScenarioError> {
        let s = self.section(table, "contingency", &CONTINGENCY_KEYS)?;
        let name = s.required_string("name", "what the step does, e.g. name = \"restart the payment gateway\"")?;
        let on = match s.string("on")? {
            None => return Err(s.missing("on", "when it runs: \"abort\", \"breach\" or \"end\"")),
            Some((_, "abort")) => Trigger::Abort,
            Some((_, "breach")) => Trigger::Breach,
            Some((_, "end")) => Trigger::End,
            Some((_, other)) => {
                return Err(
                    s.error_at("on", format!("unknown value {other:?}; expected \"abort\", \"breach\" or \"end\""))
                )
            }
        };
        let entry = s.get("command").ok_or_else(|| {
            s.missing("command", "the program to run, e.g. command = [\"systemctl\", \"restart\", \"gateway\"]")
        })?;
        let command = s.string_list(entry)?;
        if command.is_empty() || command[0].is_empty() {
            return Err(s.error_at("command", "must name a program to run"));
        }
        let timeout = s.positive_duration("timeout")?.unwrap_or(Duration::from_secs(30));
        Ok(Contingency { name, on, command, timeout })
    }

    /// `ca` and `insecure`, which only mean something for an https `url`.
    fn trust(&self, s: &Table, url_key: &str, url: Option<&str>) -> Result<Trust, ScenarioError> {
        let insecure = s.boolean("insecure")?.unwrap_or(false);
        let ca = s.non_empty_string("ca")?;
        let https = url.is_some_and(|u| u.starts_with("https://"));
        for (key, given) in [("ca", ca.is_some()), ("insecure", s.get("insecure").is_some())] {
            if given && !https {
                return Err(s.error_at(
                    key,
                    format!(
                        "applies to an https `{url_key}` only; this one is {}",
                        url.map_or("not given".into(), |u| format!("{u:?}"))
                    ),
                ));
            }
        }
        match (ca, insecure) {
            (Some(_), true) => {
                Err(s.error_at("insecure", "give `ca` (the certificate to trust) or `insecure = true`, not both"))
            }
            (Some(path), false) => {
                let full = self.base.join(&path);
                let pem = std::fs::read(&full).map_err(|e| {
                    s.error_at(
                        "ca",
                        format!("cannot read {} (paths are relative to the drill file): {e}", full.display()),
                    )
                })?;
                if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
                    return Err(s.error_at(
                        "ca",
                        format!("{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)", full.display()),
                    ));
                }
                Ok(Trust::Ca(full))
            }
            (None, true) => Ok(Trust::Insecure),
            (None, false) => Ok(Trust::System),
        }
    }

    fn phase(
        &self,
        table: Spanned<RawTable>,
        inline: Vec<Spanned<RawTable>>,
        index: usize,
    ) -> Result<Phase, ScenarioError> {
        let s = self.section(table, "phase", &PHASE_KEYS)?;
        let name = match s.string("name")? {
            Some((_, n)) if !n.is_empty() => n.to_string(),
            Some(_) => return Err(s.error_at("name", "must not be empty")),
            None => format!("phase {}", index + 1),
        };
        let duration = s
            .positive_duration("duration")?
            .ok_or_else(|| s.missing("duration", "how long the phase lasts, e.g. duration = \"20s\""))?;
        if let Some(entry) = s.get("fault") {
            if !matches!(&entry.value, Value::Array(items) if items.iter().all(Value::is_table)) {
                return Err(s.wrong_type(entry, "[[phase.fault]] tables"));
            }
        }
        let faults = match (s.string("scenario")?, inline.is_empty()) {
            (Some((entry, _)), false) => {
                return Err(s.error_at(&entry.key, "a phase takes a scenario file or [[phase.fault]] tables, not both"))
            }
            (Some((_, path)), true) => {
                let full: PathBuf = self.base.join(path);
                if !full.is_file() {
                    return Err(s.error_at(
                        "scenario",
                        format!("no scenario file at {} (paths are relative to the drill file)", full.display()),
                    ));
                }
                Scenario::load(&full)?
            }
            (None, _) => Scenario::from_fault_tables(self.text, self.origin, inline)?,
        };
        let expect = match s.string("expect")? {
            None | Some((_, "steady")) => Expect::Steady,
            Some((_, "degraded")) => Expect::Degraded,
            Some((entry, other)) => {
                return Err(
                    s.error_at(&entry.key, format!("unknown value {other:?}; expected \"steady\" or \"degraded\""))
                )
            }
        };
        let recover_within = s.positive_duration("recover_within")?;
        if recover_within.is_some() && expect == Expect::Degraded {
            return Err(s.error_at("recover_within", "applies to steady phases only: this one expects \"degraded\""));
        }
        Ok(Phase { name, duration, faults, expect, recover_within, line: s.header })
    }

    fn abort(&self, table: Spanned<RawTable>) -> Result<Abort, ScenarioError> {
        let s = self.section(table, "abort", &ABORT_KEYS)?;
        let max_error_rate = fraction(&s, "max_error_rate")?;
        let max_p99 = s.positive_duration("max_p99")?;
        if max_error_rate.is_none() && max_p99.is_none() {
            return Err(s.missing("max_error_rate", "when to abort: max_error_rate, max_p99 or both"));
        }
        let sustained = s.duration("for")?.unwrap_or(Duration::ZERO);
        Ok(Abort { max_error_rate, max_p99, sustained })
    }

    /// One table of the drill file, its keys checked against `known`; keys in errors are
    /// dotted (`load.rate`).
    fn section(&self, table: Spanned<RawTable>, name: &str, known: &[&str]) -> Result<Table<'_>, ScenarioError> {
        let section = self.spanned_table(table, Some(name));
        section.check_known_keys(known)?;
        Ok(section)
    }
}

/// A share between 0 and 1.
fn fraction(s: &Table, key: &str) -> Result<Option<f64>, ScenarioError> {
    match s.number(key, "a number")? {
        Some(x) if !(0.0..=1.0).contains(&x) => {
            Err(s.error_at(key, format!("must be between 0 and 1 (a share: 0.01 is 1%), found {x}")))
        }
        other => Ok(other),
    }
}

fn loopback_url(s: &Table, key: &str) -> Result<Option<String>, ScenarioError> {
    match s.string(key)? {
        None => Ok(None),
        Some((_, text)) => check_url(text).map(|()| Some(text.to_string())).map_err(|m| s.error_at(key, m)),
    }
}

/// A Prometheus or Alertmanager: any host (monitoring is rarely on the service's machine, and
/// a poll every `every` loads nobody), http or https, a path prefix allowed, no query.
fn monitoring_url(s: &Table, key: &str, example: &str) -> Result<String, ScenarioError> {
    let text = s.required_string(key, &format!("the server's base URL, e.g. {key} = \"{example}\""))?;
    let uri: hyper::Uri = text.parse().map_err(|e| s.error_at(key, format!("invalid URL {text:?}: {e}")))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none_or(str::is_empty) {
        return Err(s.error_at(key, format!("{text:?} is not an http(s) URL; expected e.g. \"{example}\"")));
    }
    if uri.query().is_some() {
        return Err(s.error_at(key, format!("{text:?}: give the server's base URL, without a query")));
    }
    Ok(text.trim_end_matches('/').to_string())
}

/// Drills send traffic to services on this host only: faultline attaches to local JVMs, so
/// their HTTP ports are local, and a drill must never load someone else's server.
pub fn check_url(text: &str) -> Result<(), String> {
    let uri: hyper::Uri = text.parse().map_err(|e| format!("invalid URL {text:?}: {e}"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        Some(other) => {
            return Err(format!(
                "{text:?}: scheme {other:?} is not http or https; expected e.g. \"http://127.0.0.1:8080/health\""
            ))
        }
        None => return Err(format!("{text:?} is not an http URL; expected e.g. \"http://127.0.0.1:8080/health\"")),
    }
    let host = uri.host().unwrap_or("");
    let loopback = host == "localhost"
        || host.trim_start_matches('[').trim_end_matches(']') == "::1"
        || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        return Err(format!(
            "{text:?}: host {host:?} is not a loopback address; drills send traffic to this host only \
             (127.0.0.1, localhost or [::1])"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "checkout survives a slow payment gateway"
objective = "orders keep flowing"
targets = ["com.acme.DemoMain"]

[load]
url = "http://127.0.0.1:8080/checkout"
rate = 50

[steady_state]
url = "http://127.0.0.1:8080/health"
window = "2s"
max_error_rate = 0.01
max_p99 = "100ms"

[[alarm]]
name = "gateway alert"
command = ["true"]
expect_within = "5s"

[[phase]]
name = "baseline"
duration = "3s"

[[phase]]
name = "slow payment"
duration = "4s"
expect = "degraded"

[[phase.fault]]
id = "slow-pay"
kind = "latency"
target = "com.acme.PaymentClient#charge(long)"
delay = "300ms"

[[phase]]
name = "recovery"
duration = "3s"
recover_within = "2s"

[abort]
max_error_rate = 0.5
for = "2s"
"#;

    fn parse(text: &str) -> Result<Drill, ScenarioError> {
        Drill::parse(text, "drill.toml", Path::new("."))
    }

    fn err(text: &str) -> ScenarioError {
        match parse(text) {
            Ok(d) => panic!("parsed: {d:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn parses_a_complete_drill() {
        let d = parse(GOOD).unwrap();
        assert_eq!(d.phases.len(), 3);
        assert_eq!(d.phases[1].faults.faults[0].id, "slow-pay");
        assert_eq!(d.phases[1].faults.faults[0].line, 30);
        assert_eq!(d.phases[1].expect, Expect::Degraded);
        assert_eq!(d.phases[2].recover_within, Some(Duration::from_secs(2)));
        assert_eq!(d.load.as_ref().unwrap().timeout, Duration::from_secs(2));
        assert_eq!(d.total(), Duration::from_secs(10));
        assert_eq!(d.abort.as_ref().unwrap().sustained, Duration::from_secs(2));
    }

    #[test]
    fn unknown_top_key_names_line_and_suggests() {
        let e = err(&GOOD.replace("objective =", "objectiv ="));
        assert_eq!(e.line, Some(3));
        assert_eq!(e.key.as_deref(), Some("objectiv"));
        assert!(e.message.contains("did you mean 'objective'"), "{e}");
    }

    #[test]
    fn unknown_key_in_a_section_is_dotted() {
        let e = err(&GOOD.replace("rate = 50", "rate = 50\nburst = 3"));
        assert_eq!(e.key.as_deref(), Some("load.burst"));
        assert_eq!(e.line, Some(9));
    }

    #[test]
    fn phase_duration_is_required() {
        let e = err(&GOOD.replace("duration = \"4s\"\n", ""));
        assert_eq!(e.key.as_deref(), Some("phase.duration"));
        assert_eq!(e.line, Some(25));
        assert!(e.message.contains("missing"), "{e}");
    }

    #[test]
    fn inline_fault_errors_are_located_in_the_drill_file() {
        let e = err(&GOOD.replace("delay = \"300ms\"", "delay = \"soon\""));
        assert_eq!(e.origin, "drill.toml");
        assert_eq!(e.line, Some(34));
        assert_eq!(e.key.as_deref(), Some("delay"));
    }

    #[test]
    fn missing_scenario_file_is_an_error() {
        let text = GOOD.replace("expect = \"degraded\"", "expect = \"degraded\"\nscenario = \"nope.toml\"");
        let text = text.split("[[phase.fault]]").next().unwrap().to_string()
            + "[[phase]]\nname = \"recovery\"\nduration = \"3s\"\n";
        let e = err(&text);
        assert_eq!(e.key.as_deref(), Some("phase.scenario"));
        assert!(e.message.contains("no scenario file"), "{e}");
    }

    #[test]
    fn url_must_be_http_on_loopback() {
        for (url, needle) in [
            ("ftp://127.0.0.1/x", "not http"),
            ("https://example.com/x", "not a loopback"),
            ("http://example.com/x", "not a loopback"),
            ("127.0.0.1:8080", "http"),
        ] {
            let e = err(&GOOD.replace("http://127.0.0.1:8080/checkout", url));
            assert_eq!(e.key.as_deref(), Some("load.url"), "{url}");
            assert!(e.message.contains(needle), "{url}: {e}");
        }
        assert!(check_url("http://localhost:1/").is_ok());
        assert!(check_url("http://[::1]:1/").is_ok());
        assert!(check_url("https://127.0.0.1:8443/").is_ok());
    }

    #[test]
    fn first_phase_must_be_a_fault_free_baseline() {
        let e = err(&GOOD
            .replace("duration = \"3s\"\n\n[[phase]]\nname = \"slow", "duration = \"1s\"\n\n[[phase]]\nname = \"slow"));
        assert!(e.message.contains("baseline"), "{e}");
    }

    #[test]
    fn steady_state_needs_a_hypothesis() {
        let e = err(&GOOD.replace("max_error_rate = 0.01\nmax_p99 = \"100ms\"", ""));
        assert_eq!(e.key.as_deref(), Some("steady_state.max_error_rate"));
    }

    #[test]
    fn unknown_phase_subtable_is_refused() {
        let text = GOOD.replace("[[phase.fault]]", "[[phase.faultx]]");
        let e = err(&text);
        assert!(e.message.contains("unknown key"), "{e}");
    }

    #[test]
    fn phase_with_scenario_and_inline_faults_is_refused() {
        let e = err(&GOOD.replace("expect = \"degraded\"", "expect = \"degraded\"\nscenario = \"x.toml\""));
        assert!(e.message.contains("not both"), "{e}");
    }

    #[test]
    fn single_bracket_phase_is_refused() {
        let e = err("name = \"x\"\n[steady_state]\nurl = \"http://127.0.0.1:1/\"\nmax_error_rate = 0.1\n[phase]\nduration = \"3s\"\n");
        assert!(e.message.contains("double brackets"), "{e}");
    }

    #[test]
    fn alarms_from_prometheus_and_alertmanager() {
        let prometheus = "[[alarm]]\nname = \"errors\"\nprometheus = \"http://127.0.0.1:9090/\"\n\
                          query = 'rate(x[10s]) > 0.5'\nexpect_within = \"30s\"\nexpect_clear_within = \"1m\"\n";
        let alertmanager = "[[alarm]]\nname = \"slow\"\nalertmanager = \"https://am.example:9093\"\nalert = \"Slow\"\n\
                            labels = { service = \"checkout\" }\ninsecure = true\nexpect_within = \"1m\"\n";
        let base = GOOD.replace("[[alarm]]", &format!("{prometheus}\n{alertmanager}\n[[alarm]]"));
        let d = parse(&base).expect("parses");
        assert_eq!(
            d.alarms[0].source,
            AlarmSource::Prometheus { url: "http://127.0.0.1:9090".into(), query: "rate(x[10s]) > 0.5".into() }
        );
        assert_eq!(d.alarms[0].expect_clear_within, Some(Duration::from_secs(60)));
        assert_eq!(d.alarms[0].tls, Trust::System);
        assert!(matches!(&d.alarms[1].source, AlarmSource::Alertmanager { alert, labels, .. }
            if alert == "Slow" && labels["service"] == "checkout"));
        assert_eq!(d.alarms[1].tls, Trust::Insecure);
        assert_eq!(d.alarms[2].expect_clear_within, None);
        let check = |from: &str, to: &str, key: &str, message: &str| {
            let e = err(&base.replacen(from, to, 1));
            assert_eq!(e.key.as_deref(), Some(key), "{e}");
            assert!(e.message.contains(message), "{e}");
        };
        check("query = 'rate(x[10s]) > 0.5'", "", "alarm.query", "missing");
        check("alert = \"Slow\"", "alert = \"Slow\"\ncommand = [\"true\"]", "alarm.alertmanager", "not both");
        check(
            "prometheus = \"http://127.0.0.1:9090/\"",
            "command = [\"true\"]",
            "alarm.query",
            "`prometheus` alarms only",
        );
        check(
            "prometheus = \"http://127.0.0.1:9090/\"",
            "prometheus = \"127.0.0.1:9090\"",
            "alarm.prometheus",
            "not an http(s) URL",
        );
        check(
            "prometheus = \"http://127.0.0.1:9090/\"",
            "prometheus = \"http://h:9090/?x=1\"",
            "alarm.prometheus",
            "without a query",
        );
        check(
            "labels = { service = \"checkout\" }",
            "labels = { service = 1 }",
            "alarm.labels",
            "expected strings only",
        );
        check("labels = { service = \"checkout\" }", "labels = { 1x = \"a\" }", "alarm.labels", "not a label name");
        check("labels = { service = \"checkout\" }", "labels = { alertname = \"a\" }", "alarm.labels", "with `alert`");
        check("https://am.example:9093", "http://am.example:9093", "alarm.insecure", "https");
        check("insecure = true", "insecure = \"yes\"", "alarm.insecure", "true or false");
        check(
            "expect_clear_within = \"1m\"",
            "expect_clear_within = \"0s\"",
            "alarm.expect_clear_within",
            "greater than zero",
        );
        check("command = [\"true\"]\n", "", "alarm.command", "prometheus = URL");
    }

    #[test]
    fn the_example_drills_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/drills");
        let mut parsed = 0;
        for entry in std::fs::read_dir(&dir).expect("examples/drills") {
            let path = entry.expect("a directory entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                Drill::load(&path).unwrap_or_else(|e| panic!("{e}"));
                parsed += 1;
            }
        }
        assert!(parsed >= 3, "{parsed} example drills");
    }

    #[test]
    fn https_urls_take_a_ca_or_insecure() {
        let dir = std::env::temp_dir().join(format!("faultline-drill-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ca.pem"), "-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n").unwrap();
        std::fs::write(dir.join("empty.pem"), "nothing here\n").unwrap();
        let https =
            GOOD.replace("http://127.0.0.1:8080/checkout\"", "https://127.0.0.1:8443/checkout\"\nca = \"ca.pem\"");
        let d = Drill::parse(&https, "d.toml", &dir).expect("parses");
        assert_eq!(d.load.as_ref().map(|l| &l.tls), Some(&Trust::Ca(dir.join("ca.pem"))));
        assert_eq!(d.steady.tls, Trust::System);
        let e = Drill::parse(&https.replace("ca.pem", "empty.pem"), "d.toml", &dir).unwrap_err();
        assert!(e.message.contains("no PEM certificate"), "{e}");
        let e = Drill::parse(&https.replace("ca.pem", "missing.pem"), "d.toml", &dir).unwrap_err();
        assert!(e.message.contains("cannot read"), "{e}");
        let e = Drill::parse(&https.replace("ca = \"ca.pem\"", "ca = \"ca.pem\"\ninsecure = true"), "d.toml", &dir)
            .unwrap_err();
        assert!(e.message.contains("not both"), "{e}");
        let e = err(&GOOD.replace("rate = 50", "rate = 50\ninsecure = true"));
        assert_eq!(e.key.as_deref(), Some("load.insecure"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn alarm_needs_expect_within_and_a_command() {
        let e = err(&GOOD.replace("expect_within = \"5s\"\n", ""));
        assert_eq!(e.key.as_deref(), Some("alarm.expect_within"));
        let e = err(&GOOD.replace("command = [\"true\"]", "command = []"));
        assert_eq!(e.key.as_deref(), Some("alarm.command"));
    }

    #[test]
    fn rate_is_bounded() {
        let e = err(&GOOD.replace("rate = 50", "rate = 100000"));
        assert_eq!(e.key.as_deref(), Some("load.rate"));
    }
}
