//! Scenarios: the one model of faults, read from TOML.
//!
//! Every way of arming a fault (a scenario file at startup, `faultline
//! apply`, `faultline inject`, the Java API, the JUnit extension) ends up as a
//! [`Scenario`] of [`FaultSpec`]s parsed here, so the rules for what a valid
//! fault is live in one place. A fault built in code can be checked by the
//! same rules with `Scenario::parse(&spec.to_toml(), origin)`, which is also
//! how it travels to the agent.
//!
//! The parser reads the file into TOML values with their byte spans rather
//! than through `#[derive(Deserialize)]`, because every error must name the
//! line and key at fault, explain the rule, and list what is valid; serde's
//! generic messages cannot do that.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use toml::{Spanned, Value};

use crate::condition::{Condition, MethodShape};
use crate::duration::format_duration;
use crate::preset::{self, PresetUse};
use crate::resource::{self, ExitMode, Resource, ThreadState};
use crate::returns::ReturnValue;
use crate::spelling::suggestion;
use crate::target::{check_binary_name, ClassPattern, TargetPattern};
use crate::toml_table::type_name;
use crate::toml_table::{unknown_key, Entry, Source, Table};
pub use crate::toml_table::{RawTable, ScenarioError};

/// How long a hang fault blocks a thread when its `max` is not given: long
/// enough to trip any sane timeout, short enough that a forgotten fault does
/// not hold a thread forever.
pub const DEFAULT_HANG_MAX: Duration = Duration::from_secs(600);

/// The keys a scenario file may have at the top level.
const TOP_KEYS: [&str; 3] = ["name", "description", "fault"];

/// The keys a `[[fault]]` table may have, in the order `to_toml` writes them.
const FAULT_KEYS: [&str; 30] = [
    "id",
    "kind",
    "target",
    "preset",
    "at",
    "when",
    "value",
    "status",
    "delay",
    "jitter",
    "probability",
    "after",
    "limit",
    "duration",
    "threads",
    "scope",
    "throw",
    "message",
    "max",
    "pool",
    "executor",
    "mode",
    "fill",
    "cores",
    "load",
    "count",
    "state",
    "every",
    "size",
    "code",
];

/// The values of `kind`.
const KINDS: [&str; 13] = [
    "latency",
    "exception",
    "hang",
    "return",
    "respond",
    "pool",
    "heap",
    "cpu",
    "threads",
    "gc",
    "metaspace",
    "direct",
    "exit",
];
/// The kinds as error messages list them.
const KINDS_LISTED: &str =
    "latency, exception, hang, return, respond, pool, heap, cpu, threads, gc, metaspace, direct, exit";
/// The longest fault id: ids are shown in tables and typed on command lines.
const MAX_ID_LEN: usize = 64;
/// Kinds of fault that act on calls of methods (every kind but `pool`, which acts on executors).
const METHOD_KINDS: [&str; 5] = ["latency", "exception", "hang", "return", "respond"];

/// Whether an agent event of this kind is an injection (a fault acting on the application),
/// as opposed to a lifecycle event (`armed`, `removed`, `expired`, `warning`).
pub fn is_injection_event(kind: &str) -> bool {
    KINDS.contains(&kind)
}

/// A set of faults to arm together, as read from one file or command.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: Option<String>,
    pub description: Option<String>,
    /// In file order; may be empty.
    pub faults: Vec<FaultSpec>,
    /// Where the scenario came from, for messages: a file path or `<inline>`.
    pub origin: String,
}

/// One fault: what to do (`kind`) and when to do it.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    /// Unique within the scenario; `f1`, `f2`, ... by position when not given.
    pub id: String,
    pub kind: FaultKind,
    /// Chance that a matching call is injected, in 0..=1.
    pub probability: f64,
    /// Matching calls to let through before the first injection.
    pub after: u64,
    /// Most injections to make; None for unlimited.
    pub limit: Option<u64>,
    /// Remove the fault after this long; None to keep it until stopped. (The
    /// CLI's default of 10m is the CLI's to apply: a file means what it says.)
    pub duration: Option<Duration>,
    /// Only calls on threads whose name matches this glob: `*` is any run of
    /// characters, `?` one character.
    pub threads: Option<String>,
    /// Only calls on threads inside this scope: the thread that entered it (with
    /// `Faultline.enterScope`) and the threads it starts meanwhile. The JUnit extension
    /// uses it to keep one test's faults out of tests running beside it.
    pub scope: Option<String>,
    /// Only calls that meet this condition (evaluated after threads, scope and after;
    /// before probability and limit).
    pub when: Option<Condition>,
    /// Where in the call the fault acts: at entry (before the body) or at exit (after the
    /// body returned normally).
    pub at: Point,
    /// 1-based line of the fault's `[[fault]]` header, for messages.
    pub line: usize,
}

/// Which calls a fault acts on: the methods of a target pattern, or a preset's failure mode.
#[derive(Debug, Clone, PartialEq)]
pub enum Aim {
    Target(TargetPattern),
    Preset(PresetUse),
}

impl fmt::Display for Aim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Aim::Target(t) => f.write_str(t.text()),
            Aim::Preset(p) => write!(f, "{p}"),
        }
    }
}

/// What a fault does, with the settings that only make sense for that kind.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    /// Sleep before the target method runs.
    Latency {
        aim: Aim,
        delay: Duration,
        /// Uniform spread around `delay`: each call sleeps delay ± jitter.
        jitter: Duration,
    },
    /// Throw from the target method, whether or not it declares the exception.
    Exception {
        aim: Aim,
        /// Java binary class name, e.g. `java.net.SocketTimeoutException` or
        /// `com.acme.Outer$Err`; with a preset, also one of its symbolic names (`timeout`).
        throw: String,
        message: Option<String>,
    },
    /// Block the calling thread until the fault is removed or `max` passes.
    Hang { aim: Aim, max: Duration },
    /// Return `value` instead of running the body (at entry) or instead of the body's
    /// result (at exit); on a void method (no value), skip the body.
    Return { aim: Aim, value: Option<ReturnValue> },
    /// Answer the request with `status` and an empty body (presets of HTTP servers and
    /// clients): the application never sees the request, or nothing is sent.
    Respond { aim: Aim, status: u16 },
    /// Exhaust a thread pool, chosen by worker thread names and/or executor
    /// class.
    Pool {
        /// Glob on the pool's worker thread names.
        pool: Option<String>,
        executor: Option<ClassPattern>,
        mode: PoolMode,
    },
    /// A resource of the JVM as a whole: heap, CPU, threads, GC, metaspace, direct memory, exit.
    Resource(Resource),
}

impl FaultKind {
    /// The kind as written in `kind = "..."` and in events.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Latency { .. } => "latency",
            FaultKind::Exception { .. } => "exception",
            FaultKind::Hang { .. } => "hang",
            FaultKind::Return { .. } => "return",
            FaultKind::Respond { .. } => "respond",
            FaultKind::Pool { .. } => "pool",
            FaultKind::Resource(r) => r.kind(),
        }
    }

    /// The calls the fault acts on; None for pool and resource faults, which act on executors
    /// and on the JVM as a whole.
    pub fn aim(&self) -> Option<&Aim> {
        match self {
            FaultKind::Latency { aim, .. }
            | FaultKind::Exception { aim, .. }
            | FaultKind::Hang { aim, .. }
            | FaultKind::Return { aim, .. }
            | FaultKind::Respond { aim, .. } => Some(aim),
            FaultKind::Pool { .. } | FaultKind::Resource(_) => None,
        }
    }

    /// The resource of a resource fault.
    pub fn resource(&self) -> Option<&Resource> {
        match self {
            FaultKind::Resource(r) => Some(r),
            _ => None,
        }
    }

    /// The target pattern of a fault aimed at methods; None for presets and pools.
    pub fn target(&self) -> Option<&TargetPattern> {
        match self.aim() {
            Some(Aim::Target(t)) => Some(t),
            _ => None,
        }
    }

    /// The preset of a fault aimed by one.
    pub fn preset(&self) -> Option<&PresetUse> {
        match self.aim() {
            Some(Aim::Preset(p)) => Some(p),
            _ => None,
        }
    }
}

/// How a pool fault exhausts its pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PoolMode {
    /// Occupy every worker and fill the queue, so new tasks wait.
    #[default]
    Saturate,
    /// Make the pool reject new tasks outright.
    Reject,
}

impl PoolMode {
    /// The mode as written in `mode = "..."`.
    pub fn as_str(self) -> &'static str {
        match self {
            PoolMode::Saturate => "saturate",
            PoolMode::Reject => "reject",
        }
    }
}

impl fmt::Display for PoolMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where in a call a fault acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Point {
    /// Before the method's body runs.
    #[default]
    Entry,
    /// After the body returned normally (not when it threw): its side effects are done.
    Exit,
}

impl Point {
    /// As written in `at = "..."` and in events.
    pub fn as_str(self) -> &'static str {
        match self {
            Point::Entry => "entry",
            Point::Exit => "exit",
        }
    }
}

impl Scenario {
    /// Parses and validates a scenario; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
        Parser(Source { text, origin }).scenario()
    }

    /// Parses fault tables that sit inside a larger TOML document (a drill's
    /// `[[phase.fault]]`) by exactly the rules of a scenario's `[[fault]]`.
    /// The tables' spans are offsets into `text`, so errors name their line
    /// in that document.
    pub fn from_fault_tables(
        text: &str,
        origin: &str,
        tables: Vec<Spanned<RawTable>>,
    ) -> Result<Scenario, ScenarioError> {
        let faults = Parser(Source { text, origin }).faults(tables)?;
        let scenario = Scenario { name: None, description: None, faults, origin: origin.to_string() };
        scenario.refuse_test_scope()?;
        Ok(scenario)
    }

    /// `scope` ties a fault to the threads of one test, and only the JUnit extension (which
    /// writes it into the scenario text it arms) has such a test. In a file or a drill the
    /// fault would never fire: refused, with the alternative.
    fn refuse_test_scope(&self) -> Result<(), ScenarioError> {
        match self.faults.iter().find(|f| f.scope.is_some()) {
            Some(f) => Err(ScenarioError {
                origin: self.origin.clone(),
                line: Some(f.line),
                key: Some("scope".into()),
                message: format!(
                    "fault '{}': scope is set by the JUnit extension for one test's threads; in a scenario file it \
                     would never fire. Remove it; to limit a fault to some threads, use threads = \"GLOB\"",
                    f.id
                ),
            }),
            None => Ok(()),
        }
    }

    /// Ties every fault to the threads of one test (`Faultline.enterScope`): the JUnit
    /// extension passes the scope with its arm request. A pool fault acts on whole executors
    /// and cannot be scoped: refused, as the `scope` key would be.
    pub fn scoped_to(mut self, token: &str) -> Result<Scenario, ScenarioError> {
        if let Some(f) = self.faults.iter().find(|f| f.kind.aim().is_none()) {
            return Err(ScenarioError {
                origin: self.origin.clone(),
                line: Some(f.line),
                key: Some("scope".into()),
                message: format!(
                    "{}{}",
                    applies_only_to(&METHOD_KINDS, f.kind.name()),
                    if f.kind.resource().is_some() { SCOPE_ON_RESOURCE } else { SCOPE_ON_POOL }
                ),
            });
        }
        for f in &mut self.faults {
            f.scope = Some(token.to_string());
        }
        Ok(self)
    }

    /// Appends `.SUFFIX` to every fault id (the JUnit extension, when a test running beside
    /// holds the same id); the result must still be a valid id.
    pub fn with_id_suffix(mut self, suffix: &str) -> Result<Scenario, ScenarioError> {
        for f in &mut self.faults {
            let id = format!("{}.{suffix}", f.id);
            if let Some(problem) = id_problem(&id) {
                return Err(ScenarioError {
                    origin: self.origin.clone(),
                    line: Some(f.line),
                    key: Some("id".into()),
                    message: problem,
                });
            }
            f.id = id;
        }
        Ok(self)
    }

    /// Reads and parses a scenario file as [`Scenario::load`] does, but reports every
    /// mistake it finds (every fault table is read), for `faultline check`.
    pub fn load_all_errors(path: &Path) -> Result<Scenario, Vec<ScenarioError>> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![ScenarioError {
                origin: origin.clone(),
                line: None,
                key: None,
                message: format!("cannot read the scenario file: {e}"),
            }]
        })?;
        let scenario = Parser(Source { text: &text, origin: &origin }).scenario_all_errors()?;
        scenario.refuse_test_scope().map_err(|e| vec![e])?;
        Ok(scenario)
    }

    /// Reads and parses a scenario file; errors name the path.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let origin = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let scenario = Scenario::parse(&text, &origin)?;
                scenario.refuse_test_scope()?;
                Ok(scenario)
            }
            Err(e) => Err(ScenarioError {
                origin,
                line: None,
                key: None,
                message: format!("cannot read the scenario file: {e}"),
            }),
        }
    }

    /// Writes the scenario as TOML that [`Scenario::parse`] reads back to an
    /// equal scenario (fault lines aside, which follow the new text).
    pub fn to_toml(&self) -> String {
        let mut out = String::new();
        if let Some(name) = &self.name {
            out.push_str(&format!("name = {}\n", toml_string(name)));
        }
        if let Some(description) = &self.description {
            out.push_str(&format!("description = {}\n", toml_string(description)));
        }
        for fault in &self.faults {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&fault.to_toml());
        }
        out
    }
}

impl FaultSpec {
    /// Whether this fault can act on one method its target matched (`name` and JVM
    /// `descriptor`): the condition names only what the method has and compares what can
    /// compare, a return value fits the return type. The error names the key at fault.
    pub fn check_method(&self, name: &str, descriptor: &str, is_static: bool) -> Result<(), String> {
        if let Some(when) = &self.when {
            let shape = MethodShape {
                descriptor,
                is_static,
                is_constructor: name == "<init>",
                at_exit: self.at == Point::Exit,
            };
            when.check_against(&shape).map_err(|e| format!("key 'when': {e}"))?;
        }
        if let FaultKind::Return { value, .. } = &self.kind {
            if self.at == Point::Exit && crate::target::descriptor_return(descriptor) == "V" {
                return Err("key 'at': the method returns nothing (void), so at exit there is no result to replace; \
                            act at entry to skip its body"
                    .into());
            }
            ReturnValue::fits(value.as_ref(), descriptor).map_err(|why| format!("key 'value': the method {why}"))?;
        }
        Ok(())
    }

    /// Whether the fault needs more than the plain entry hook: a condition, the exit, or a
    /// return value (such faults are checked against each method they match).
    pub fn needs_method_checks(&self) -> bool {
        self.when.is_some() || self.at == Point::Exit || matches!(self.kind, FaultKind::Return { .. })
    }

    /// Writes this fault as one `[[fault]]` table, with its id and every
    /// setting that differs from the default, so that [`Scenario::parse`]
    /// reads it back to an equal spec; the header is on line 1.
    pub fn to_toml(&self) -> String {
        let mut out = String::from("[[fault]]\n");
        let mut put = |key: &str, value: String| out.push_str(&format!("{key} = {value}\n"));
        put("id", toml_string(&self.id));
        put("kind", toml_string(self.kind.name()));
        match self.kind.aim() {
            Some(Aim::Target(target)) => put("target", toml_string(target.text())),
            Some(Aim::Preset(used)) => {
                put("preset", toml_string(used.preset.name));
                for (key, value) in used.values() {
                    match used.preset.key(key).map(|k| k.form) {
                        Some(preset::KeyForm::Port) => put(key, value.to_string()),
                        _ => put(key, toml_string(value)),
                    }
                }
            }
            None => {}
        }
        if self.at != Point::Entry {
            put("at", toml_string(self.at.as_str()));
        }
        if let Some(when) = &self.when {
            put("when", toml_string(&when.text));
        }
        match &self.kind {
            FaultKind::Latency { delay, jitter, .. } => {
                put("delay", toml_duration(*delay));
                if !jitter.is_zero() {
                    put("jitter", toml_duration(*jitter));
                }
            }
            FaultKind::Exception { throw, message, .. } => {
                put("throw", toml_string(throw));
                if let Some(message) = message {
                    put("message", toml_string(message));
                }
            }
            FaultKind::Hang { max, .. } => put("max", toml_duration(*max)),
            FaultKind::Respond { aim, status } => {
                let statuses = match aim {
                    Aim::Preset(used) => used.preset.statuses,
                    Aim::Target(_) => preset::Statuses::Http,
                };
                put("status", statuses.to_toml(*status))
            }
            FaultKind::Return { value, .. } => {
                if let Some(value) = value {
                    put("value", value.to_toml());
                }
            }
            FaultKind::Pool { pool, executor, mode } => {
                if let Some(pool) = pool {
                    put("pool", toml_string(pool));
                }
                if let Some(executor) = executor {
                    put("executor", toml_string(executor.text()));
                }
                put("mode", toml_string(mode.as_str()));
            }
            FaultKind::Resource(r) => {
                for (key, value) in r.toml_pairs() {
                    put(key, value);
                }
            }
        }
        if self.probability != 1.0 {
            put("probability", Value::Float(self.probability).to_string());
        }
        if self.after != 0 {
            put("after", self.after.to_string());
        }
        if let Some(limit) = self.limit {
            put("limit", limit.to_string());
        }
        if let Some(duration) = self.duration {
            put("duration", toml_duration(duration));
        }
        if let Some(threads) = &self.threads {
            put("threads", toml_string(threads));
        }
        if let Some(scope) = &self.scope {
            put("scope", toml_string(scope));
        }
        out
    }
}

/// A TOML string literal, escaped as needed.
fn toml_string(text: &str) -> String {
    Value::String(text.to_string()).to_string()
}

fn toml_duration(d: Duration) -> String {
    toml_string(&format_duration(d))
}

/// The second look at a file, once its top level is known to be sound: the
/// `[[fault]]` tables with their own spans, which the first look loses.
#[derive(Deserialize)]
struct RawFaults {
    #[serde(default)]
    fault: Vec<Spanned<RawTable>>,
}

/// Reads scenario text; errors are located through its [`Source`].
struct Parser<'a>(Source<'a>);

impl<'a> std::ops::Deref for Parser<'a> {
    type Target = Source<'a>;
    fn deref(&self) -> &Source<'a> {
        &self.0
    }
}

impl Parser<'_> {
    fn scenario(&self) -> Result<Scenario, ScenarioError> {
        self.scenario_all_errors().map_err(|mut errors| errors.remove(0))
    }

    /// Like `scenario`, but every fault table is read even after one fails, so a checker can
    /// list every mistake at once; the errors are in file order (never empty on `Err`).
    fn scenario_all_errors(&self) -> Result<Scenario, Vec<ScenarioError>> {
        self.scenario_top().map_err(|e| vec![e]).and_then(|(name, description, raw_faults)| {
            let faults = self.faults_all_errors(raw_faults)?;
            Ok(Scenario { name, description, faults, origin: self.origin.to_string() })
        })
    }

    /// The top-level keys, and the fault tables unread.
    #[allow(clippy::type_complexity)]
    fn scenario_top(&self) -> Result<(Option<String>, Option<String>, Vec<Spanned<RawTable>>), ScenarioError> {
        let top: RawTable = toml::from_str(self.text).map_err(|e| self.syntax_error(&e))?;
        let mut entries: Vec<_> = top.into_iter().collect();
        entries.sort_by_key(|(key, _)| key.span().start);

        let mut name = None;
        let mut description = None;
        let mut has_faults = false;
        for (key, value) in &entries {
            let line = self.line(key.span().start);
            let fail = |message: String| Err(self.error(Some(line), Some(key.get_ref()), message));
            match (key.get_ref().as_str(), value.get_ref()) {
                ("name", Value::String(text)) => name = Some(text.clone()),
                ("description", Value::String(text)) => description = Some(text.clone()),
                ("name" | "description", other) => {
                    return fail(format!("expected a string, found {}", type_name(other)))
                }
                ("fault", Value::Array(items)) if items.iter().all(Value::is_table) => has_faults = true,
                ("fault", Value::Table(_)) => {
                    return fail("write each fault as [[fault]], with double brackets".to_string())
                }
                ("fault", other) => return fail(format!("expected [[fault]] tables, found {}", type_name(other))),
                (unknown, _) => return fail(unknown_key(unknown, &["name", "description", "[[fault]]"], &TOP_KEYS)),
            }
        }

        let raw_faults = if has_faults {
            let raw: RawFaults = toml::from_str(self.text).map_err(|e| self.syntax_error(&e))?;
            raw.fault
        } else {
            Vec::new()
        };
        Ok((name, description, raw_faults))
    }

    /// Parses fault tables in order and checks that their ids are unique.
    fn faults(&self, raw_faults: Vec<Spanned<RawTable>>) -> Result<Vec<FaultSpec>, ScenarioError> {
        self.faults_all_errors(raw_faults).map_err(|mut errors| errors.remove(0))
    }

    fn faults_all_errors(&self, raw_faults: Vec<Spanned<RawTable>>) -> Result<Vec<FaultSpec>, Vec<ScenarioError>> {
        let mut faults = Vec::with_capacity(raw_faults.len());
        let mut errors = Vec::new();
        let mut ids: HashMap<String, usize> = HashMap::new();
        for (index, table) in raw_faults.into_iter().enumerate() {
            let (fault, id_line) = match self.fault(index, table) {
                Ok(parsed) => parsed,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            if let Some(first_line) = ids.insert(fault.id.clone(), id_line) {
                errors.push(self.error(
                    Some(id_line),
                    Some("id"),
                    format!(
                        "duplicate id '{}': the fault at line {first_line} has it too \
                         (ids must be unique; a fault without one is named f1, f2, ... by position)",
                        fault.id
                    ),
                ));
            }
            faults.push(fault);
        }
        if errors.is_empty() {
            Ok(faults)
        } else {
            Err(errors)
        }
    }

    /// Parses the fault at `index` (0-based), returning it with the line
    /// that gave it its id, for duplicate-id messages.
    fn fault(&self, index: usize, table: Spanned<RawTable>) -> Result<(FaultSpec, usize), ScenarioError> {
        let fields = Fields(self.spanned_table(table, None));
        let header = fields.header;

        let mut known: Vec<&str> = FAULT_KEYS.to_vec();
        known.extend(preset::all_keys());
        if let Some(entry) = fields.entries.iter().find(|e| !known.contains(&e.key.as_str())) {
            let message = format!(
                "{}; with a preset, also its keys ({})",
                unknown_key(&entry.key, &FAULT_KEYS, &known),
                preset::all_keys().join(", ")
            );
            return Err(fields.error_at(&entry.key, message));
        }
        let kind = fields.kind()?;
        fields.check_keys_apply_to(kind)?;
        let aim = if kind == "pool" || resource::KINDS.contains(&kind) { None } else { Some(fields.aim(kind)?) };

        let (id, id_line) = match fields.string("id")? {
            Some((entry, id)) => (fields.check_id(entry, id)?, entry.line),
            None => (format!("f{}", index + 1), header),
        };
        let kind = match (kind, aim) {
            ("latency", Some(aim)) => fields.latency(aim)?,
            ("exception", Some(aim)) => fields.exception(aim)?,
            ("hang", Some(aim)) => fields.hang(aim)?,
            ("return", Some(aim)) => fields.returning(aim)?,
            ("respond", Some(aim)) => fields.respond(aim)?,
            ("pool", None) => fields.pool()?,
            (kind, _) => FaultKind::Resource(fields.resource(kind)?),
        };
        let at = fields.point(&kind)?;
        let when = fields.condition(at)?;
        let probability = fields.probability()?.unwrap_or(1.0);
        let after = fields.count("after")?.unwrap_or(0);
        let limit = match fields.count("limit")? {
            Some(0) => return Err(fields.error_at("limit", "must be at least 1 (leave it out for no limit)")),
            limit => limit,
        };
        let duration = fields.positive_duration("duration")?;
        let threads = fields.non_empty_string("threads")?;
        let scope = fields.non_empty_string("scope")?;
        let spec = FaultSpec { id, kind, probability, after, limit, duration, threads, scope, when, at, line: header };
        Ok((spec, id_line))
    }
}

/// The keys of one `[[fault]]` table: a located [`Table`] with the fault's own rules.
struct Fields<'a>(Table<'a>);

impl<'a> std::ops::Deref for Fields<'a> {
    type Target = Table<'a>;
    fn deref(&self) -> &Table<'a> {
        &self.0
    }
}

impl Fields<'_> {
    fn kind(&self) -> Result<&'static str, ScenarioError> {
        let Some((entry, kind)) = self.string("kind")? else {
            return Err(self.missing("kind", &format!("one of {KINDS_LISTED}")));
        };
        match KINDS.iter().find(|&&k| k == kind) {
            Some(kind) => Ok(kind),
            None => Err(self.error_at(
                &entry.key,
                format!("unknown kind {kind:?}{}; expected one of {KINDS_LISTED}", suggestion(kind, &KINDS)),
            )),
        }
    }

    /// Rejects keys that belong to another kind of fault, which would
    /// otherwise be silently ignored.
    fn check_keys_apply_to(&self, kind: &str) -> Result<(), ScenarioError> {
        for entry in &self.entries {
            let kinds: &[&str] = match entry.key.as_str() {
                "target" | "preset" | "probability" | "after" | "limit" | "threads" | "scope" | "when" | "at" => {
                    &METHOD_KINDS
                }
                "value" => &["return"],
                "status" => &["respond"],
                "delay" | "jitter" => &["latency"],
                "throw" | "message" => &["exception"],
                "max" => &["hang"],
                "pool" | "executor" => &["pool"],
                "mode" => &["pool", "exit"],
                "fill" => &["heap"],
                "cores" | "load" => &["cpu"],
                "count" | "state" => &["threads"],
                "every" => &["gc"],
                "size" => &["metaspace", "direct"],
                "code" => &["exit"],
                key if preset::all_keys().contains(&key) => &METHOD_KINDS,
                _ => continue,
            };
            if !kinds.contains(&kind) {
                let mut message = applies_only_to(kinds, kind);
                let resource = resource::KINDS.contains(&kind);
                match entry.key.as_str() {
                    "target" | "preset" if resource => message.push_str(&format!(
                        " (a {kind} fault acts on the JVM as a whole; it takes {})",
                        resource_keys_listed(kind)
                    )),
                    "target" => message.push_str(" (a pool fault is aimed with 'pool' or 'executor')"),
                    "scope" if resource => message.push_str(SCOPE_ON_RESOURCE),
                    "scope" => message.push_str(SCOPE_ON_POOL),
                    "probability" | "after" | "limit" | "threads" | "when" | "at" if resource => {
                        message.push_str(&format!(
                            ": a {kind} fault acts on the JVM as a whole, not on single calls; end it with 'duration' \
                             (CLI: --for)"
                        ))
                    }
                    "probability" | "after" | "limit" | "threads" | "when" | "at" => message.push_str(
                        ": a pool fault acts on executors as a whole, not on single calls; end it with 'duration' \
                         (CLI: --for)",
                    ),
                    _ if resource && !METHOD_KINDS.contains(&kind) => {
                        message.push_str(&format!(" (a {kind} fault takes {})", resource_keys_listed(kind)))
                    }
                    _ => {}
                }
                return Err(self.error_at(&entry.key, message));
            }
        }
        Ok(())
    }

    fn check_id(&self, entry: &Entry, id: &str) -> Result<String, ScenarioError> {
        match id_problem(id) {
            Some(problem) => Err(self.error_at(&entry.key, problem)),
            None => Ok(id.to_string()),
        }
    }

    fn latency(&self, aim: Aim) -> Result<FaultKind, ScenarioError> {
        let delay = self
            .positive_duration("delay")?
            .ok_or_else(|| self.missing("delay", "how long to slow each call, e.g. delay = \"200ms\""))?;
        let jitter = self.duration("jitter")?.unwrap_or(Duration::ZERO);
        if jitter > delay {
            return Err(self.error_at(
                "jitter",
                format!(
                    "{} exceeds the delay of {}; the spread around the delay cannot be wider than the delay",
                    format_duration(jitter),
                    format_duration(delay)
                ),
            ));
        }
        Ok(FaultKind::Latency { aim, delay, jitter })
    }

    fn exception(&self, aim: Aim) -> Result<FaultKind, ScenarioError> {
        let message = self.string("message")?.map(|(_, text)| text.to_string());
        let given = self.string("throw")?;
        if let Aim::Preset(used) = &aim {
            let preset = used.preset;
            let throw = match given {
                None => preset.default_throw.to_string(),
                Some((_, name)) if preset.throw_names.iter().any(|t| t.name == name) => name.to_string(),
                Some((entry, name)) => self.throw_class(entry, name)?,
            };
            return Ok(FaultKind::Exception { aim, throw, message });
        }
        let Some((entry, throw)) = given else {
            return Err(
                self.missing("throw", "the exception class to throw, e.g. throw = \"java.net.SocketTimeoutException\"")
            );
        };
        let throw = self.throw_class(entry, throw)?;
        Ok(FaultKind::Exception { aim, throw, message })
    }

    /// `throw` naming a class: a binary name with a package.
    fn throw_class(&self, entry: &Entry, throw: &str) -> Result<String, ScenarioError> {
        let example = "(expected a fully qualified class name, e.g. \"java.net.SocketTimeoutException\" or \"com.acme.Outer$Error\")";
        if let Err(why) = check_binary_name(throw) {
            return Err(self.error_at(&entry.key, format!("invalid class name {throw:?}: {why} {example}")));
        }
        if !throw.contains('.') {
            return Err(self.error_at(&entry.key, format!("{throw:?} has no package {example}")));
        }
        Ok(throw.to_string())
    }

    fn hang(&self, aim: Aim) -> Result<FaultKind, ScenarioError> {
        let max = self.positive_duration("max")?.unwrap_or(DEFAULT_HANG_MAX);
        Ok(FaultKind::Hang { aim, max })
    }

    fn respond(&self, aim: Aim) -> Result<FaultKind, ScenarioError> {
        let statuses = match &aim {
            Aim::Preset(used) => used.preset.statuses,
            Aim::Target(_) => preset::Statuses::None,
        };
        let Some(entry) = self.get("status") else {
            let example = match statuses {
                preset::Statuses::Grpc => "the gRPC status the call ends with, e.g. status = \"UNAVAILABLE\"",
                _ => "the HTTP status to answer with, e.g. status = 503",
            };
            return Err(self.missing("status", example));
        };
        let status = statuses.parse(&entry.value).map_err(|why| self.error_at("status", why))?;
        Ok(FaultKind::Respond { aim, status })
    }

    fn returning(&self, aim: Aim) -> Result<FaultKind, ScenarioError> {
        let target = match &aim {
            Aim::Target(t) => t,
            Aim::Preset(_) => unreachable!("a preset's kinds never include return"),
        };
        if target.method.text() == "<init>" {
            return Err(self.error_at(
                "target",
                "a return fault cannot end a constructor early (the object would not be built); target a method",
            ));
        }
        let value = match self.get("value") {
            None => None,
            Some(entry) => Some(
                ReturnValue::from_toml(&entry.value)
                    .ok_or_else(|| self.wrong_type(entry, "a number, a boolean, a string, \"null\" or \"empty\""))?,
            ),
        };
        Ok(FaultKind::Return { aim, value })
    }

    /// `at`: entry (the default) or exit; exit is refused on constructors.
    fn point(&self, kind: &FaultKind) -> Result<Point, ScenarioError> {
        let at = match self.string("at")? {
            None => return Ok(Point::Entry),
            Some((_, "entry")) => Point::Entry,
            Some((_, "exit")) => Point::Exit,
            Some((entry, other)) => {
                return Err(self.error_at(
                    &entry.key,
                    format!(
                        "unknown point {other:?}{}; expected \"entry\" or \"exit\"",
                        suggestion(other, &["entry", "exit"])
                    ),
                ))
            }
        };
        if at == Point::Exit && kind.target().is_some_and(|t| t.method.text() == "<init>") {
            return Err(
                self.error_at("at", "a fault at exit cannot target constructors: target a method, or act at entry")
            );
        }
        Ok(at)
    }

    /// `when`: a condition, parsed now; its errors name the key and the column.
    fn condition(&self, at: Point) -> Result<Option<Condition>, ScenarioError> {
        let Some((entry, text)) = self.string("when")? else {
            return Ok(None);
        };
        if text.trim().is_empty() {
            return Err(self.error_at(&entry.key, "must not be empty (leave it out to act on every call)"));
        }
        Condition::parse(text, at == Point::Exit).map(Some).map_err(|e| self.error_at(&entry.key, e.to_string()))
    }

    fn pool(&self) -> Result<FaultKind, ScenarioError> {
        let pool = self.non_empty_string("pool")?;
        let executor = match self.string("executor")? {
            Some((entry, text)) => {
                Some(ClassPattern::parse(text).map_err(|message| self.error_at(&entry.key, message))?)
            }
            None => None,
        };
        if pool.is_none() && executor.is_none() {
            return Err(self.error(
                self.header,
                None,
                "a pool fault needs 'pool' (a glob on worker thread names, e.g. \"orders-*\") \
                 or 'executor' (a class pattern, e.g. \"com.acme.*Executor+\"), or both"
                    .to_string(),
            ));
        }
        let mode = match self.string("mode")? {
            None => PoolMode::default(),
            Some((_, "saturate")) => PoolMode::Saturate,
            Some((_, "reject")) => PoolMode::Reject,
            Some((entry, other)) => {
                return Err(
                    self.error_at(&entry.key, format!("unknown mode {other:?}; expected \"saturate\" or \"reject\""))
                )
            }
        };
        Ok(FaultKind::Pool { pool, executor, mode })
    }

    /// A resource fault's keys, each checked against the range it must be in.
    fn resource(&self, kind: &str) -> Result<Resource, ScenarioError> {
        let in_range = |key: &str, x: f64, ok: bool, range: &str| {
            if ok {
                Ok(x)
            } else {
                Err(self.error_at(key, format!("must be {range}, found {x}")))
            }
        };
        Ok(match kind {
            "heap" => {
                let fill = self.number("fill", "a number between 0 and 1")?.ok_or_else(|| {
                    self.missing("fill", "the fraction of the maximum heap to keep in use while armed, e.g. fill = 0.8")
                })?;
                let fill = in_range(
                    "fill",
                    fill,
                    fill > 0.0 && fill < 1.0,
                    "above 0 and below 1 (a fraction of the maximum heap)",
                )?;
                Resource::Heap { fill }
            }
            "cpu" => {
                let cores = match self.count("cores")? {
                    Some(0) => {
                        return Err(self
                            .error_at("cores", "must be at least 1 (leave it out for every processor the JVM sees)"))
                    }
                    Some(n) if n > u64::from(resource::MAX_CORES) => {
                        return Err(
                            self.error_at("cores", format!("must be at most {}, found {n}", resource::MAX_CORES))
                        )
                    }
                    Some(n) => Some(n as u32),
                    None => None,
                };
                let load = self.number("load", "a number above 0, at most 1")?.unwrap_or(1.0);
                let load = in_range(
                    "load",
                    load,
                    load > 0.0 && load <= 1.0,
                    "above 0 and at most 1 (each busy thread's duty cycle)",
                )?;
                Resource::Cpu { cores, load }
            }
            "threads" => {
                let count = match self.count("count")? {
                    None => return Err(self.missing("count", "how many threads to start and hold, e.g. count = 500")),
                    Some(0) => return Err(self.error_at("count", "must be at least 1")),
                    Some(n) if n > u64::from(resource::MAX_THREADS) => {
                        return Err(self.error_at(
                            "count",
                            format!(
                                "must be at most {}, found {n} (past the operating system's limit anyway)",
                                resource::MAX_THREADS
                            ),
                        ))
                    }
                    Some(n) => n as u32,
                };
                let state = match self.string("state")? {
                    None => ThreadState::default(),
                    Some((entry, text)) => ThreadState::parse(text).ok_or_else(|| {
                        self.error_at(
                            &entry.key,
                            format!(
                                "unknown state {text:?}{}; expected \"waiting\" or \"running\"",
                                suggestion(text, &ThreadState::NAMES)
                            ),
                        )
                    })?,
                };
                Resource::Threads { count, state }
            }
            "gc" => {
                let every = self
                    .positive_duration("every")?
                    .ok_or_else(|| self.missing("every", "how often to run a full collection, e.g. every = \"2s\""))?;
                if every < resource::MIN_GC_EVERY {
                    return Err(self.error_at(
                        "every",
                        format!(
                            "must be at least {}: a full collection can take that long on a large heap, and back to back \
                             they would stop the JVM rather than perturb it",
                            format_duration(resource::MIN_GC_EVERY)
                        ),
                    ));
                }
                Resource::Gc { every }
            }
            "metaspace" | "direct" => {
                let Some((entry, text)) = self.string("size")? else {
                    let what =
                        if kind == "direct" { "how much direct memory to hold" } else { "how much metaspace to take" };
                    return Err(self.missing("size", &format!("{what}, e.g. size = \"128MB\"")));
                };
                let size = resource::parse_size(text).map_err(|why| self.error_at(&entry.key, why))?;
                if size < resource::MIN_SIZE {
                    return Err(self.error_at(
                        &entry.key,
                        format!("must be at least {}", resource::format_size(resource::MIN_SIZE)),
                    ));
                }
                if kind == "direct" {
                    Resource::Direct { size }
                } else {
                    Resource::Metaspace { size }
                }
            }
            _ => {
                let code = match self.get("code") {
                    None => 1,
                    Some(Entry { value: Value::Integer(n), .. }) if (0..=255).contains(n) => *n as i32,
                    Some(Entry { value: Value::Integer(n), .. }) => {
                        return Err(
                            self.error_at("code", format!("must be between 0 and 255 (an exit status), found {n}"))
                        )
                    }
                    Some(entry) => return Err(self.wrong_type(entry, "an integer between 0 and 255")),
                };
                let mode = match self.string("mode")? {
                    None => ExitMode::default(),
                    Some((entry, text)) => ExitMode::parse(text).ok_or_else(|| {
                        self.error_at(
                            &entry.key,
                            format!(
                                "unknown mode {text:?}{}; expected \"exit\" (System.exit: shutdown hooks run) or \"halt\" \
                                 (Runtime.halt: none run)",
                                suggestion(text, &ExitMode::NAMES)
                            ),
                        )
                    })?,
                };
                Resource::Exit { code, mode }
            }
        })
    }

    /// `target`, or `preset` with the preset's keys (each checked, none of another preset's).
    fn aim(&self, kind: &str) -> Result<Aim, ScenarioError> {
        let preset_keys = preset::all_keys();
        let Some((preset_entry, name)) = self.string("preset")? else {
            if let Some(entry) = self.entries.iter().find(|e| preset_keys.contains(&e.key.as_str())) {
                let owner = preset::PRESETS.iter().find(|p| p.key(&entry.key).is_some()).map(|p| p.name);
                return Err(self.error_at(
                    &entry.key,
                    format!(
                        "is a key of the {} preset: add preset = \"{}\" (a fault with a target is selected with \
                         'when')",
                        owner.unwrap_or("?"),
                        owner.unwrap_or("?")
                    ),
                ));
            }
            if kind == "respond" {
                return Err(self
                    .missing("preset", "the HTTP requests to answer: a respond fault needs preset = \"http-server\""));
            }
            return Ok(Aim::Target(self.target()?));
        };
        let Some(preset) = preset::find(name) else {
            return Err(self.error_at(
                &preset_entry.key,
                format!(
                    "unknown preset {name:?}{}; the presets are {} (faultline presets lists them with their keys)",
                    suggestion(name, &preset::names()),
                    preset::names().join(", ")
                ),
            ));
        };
        let their_keys = || preset.keys.iter().map(|k| k.name).collect::<Vec<_>>().join(", ");
        if self.get("target").is_some() {
            return Err(self.error_at(
                "target",
                format!("a fault has 'target' or 'preset', not both: the {name} preset names the methods itself"),
            ));
        }
        for key in ["when", "at", "value"] {
            if self.get(key).is_some() {
                return Err(self.error_at(
                    key,
                    format!(
                        "applies to faults with a target; a {name} fault is selected by the preset's keys ({})",
                        their_keys()
                    ),
                ));
            }
        }
        if !preset.takes_kind(kind) {
            return Err(self.error_at(
                "kind",
                format!("the {name} preset takes {} faults, not {kind}", join_words(preset.kinds, "and")),
            ));
        }
        let mut keys = std::collections::BTreeMap::new();
        for entry in self.entries.iter().filter(|e| preset_keys.contains(&e.key.as_str())) {
            let Some(key) = preset.key(&entry.key) else {
                let owner = preset.other_with_key(&entry.key).map(|p| p.name).unwrap_or("?");
                return Err(self.error_at(
                    &entry.key,
                    format!("is not a key of the {name} preset (its keys: {}); it belongs to {owner}", their_keys()),
                ));
            };
            let text = match &entry.value {
                Value::String(text) => text.clone(),
                Value::Integer(n) if key.form == preset::KeyForm::Port => n.to_string(),
                _ => return Err(self.wrong_type(entry, &key.form.describe())),
            };
            let value = preset.check_value(key, &text).map_err(|why| self.error_at(&entry.key, why))?;
            keys.insert(key.name, value);
        }
        Ok(Aim::Preset(PresetUse { preset, keys }))
    }

    fn target(&self) -> Result<TargetPattern, ScenarioError> {
        let Some((entry, text)) = self.string("target")? else {
            return Err(self.missing("target", "the methods to hit, e.g. target = \"com.acme.Repo#save\""));
        };
        TargetPattern::parse(text).map_err(|message| self.error_at(&entry.key, message))
    }

    fn probability(&self) -> Result<Option<f64>, ScenarioError> {
        let Some(entry) = self.get("probability") else {
            return Ok(None);
        };
        let p = match entry.value {
            Value::Float(p) => p,
            // `probability = 1` is natural to write; integers are exact in f64 here.
            Value::Integer(n) => n as f64,
            _ => return Err(self.wrong_type(entry, "a number between 0 and 1")),
        };
        if !(0.0..=1.0).contains(&p) {
            return Err(self.error_at("probability", format!("must be between 0 and 1, found {p}")));
        }
        Ok(Some(p))
    }
}

/// What is wrong with a fault id, if anything.
fn id_problem(id: &str) -> Option<String> {
    if id.is_empty() {
        return Some("must not be empty".into());
    }
    if let Some(bad) = id.chars().find(|&c| !(c.is_ascii_alphanumeric() || "_.-".contains(c))) {
        return Some(format!(
            "illegal character {bad:?} in {id:?}; use letters, digits, '_', '.' and '-', e.g. \"slow-save\""
        ));
    }
    if !id.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Some(format!("{id:?} must start with a letter or a digit (it is also a command-line argument)"));
    }
    if id.len() > MAX_ID_LEN {
        return Some(format!("is {} characters long; at most {MAX_ID_LEN}", id.len()));
    }
    None
}

/// "applies to latency, exception, hang, return and respond faults only, not to pool faults".
fn applies_only_to(kinds: &[&str], kind: &str) -> String {
    format!("applies to {} faults only, not to {kind} faults", join_words(kinds, "and"))
}

/// Why a pool fault cannot take a test's scope.
const SCOPE_ON_POOL: &str = ": a pool fault acts on whole executors, which every thread shares, so it cannot be \
                             scoped to one test; arm it process-wide (JUnit: global = true, faults.armGlobal or \
                             faults.applyGlobal) and keep tests that share the pool from running in parallel";

/// Why a resource fault cannot take a test's scope.
const SCOPE_ON_RESOURCE: &str = ": a resource fault acts on the JVM as a whole (its heap, CPU, threads), which every \
                                 test shares, so it cannot be scoped to one test; arm it process-wide (JUnit: global \
                                 = true, faults.armGlobal or faults.applyGlobal)";

/// "'fill'", "'cores' and 'load'": the keys of a resource kind, for messages.
fn resource_keys_listed(kind: &str) -> String {
    let quoted: Vec<String> = resource::keys_of(kind).iter().map(|k| format!("'{k}'")).collect();
    let words: Vec<&str> = quoted.iter().map(String::as_str).collect();
    join_words(&words, "and")
}

/// "latency", "latency and hang", "latency, exception and hang".
fn join_words(words: &[&str], last: &str) -> String {
    match words {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., tail] => format!("{} {last} {tail}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Scenario {
        match Scenario::parse(text, "test.toml") {
            Ok(scenario) => scenario,
            Err(e) => panic!("did not parse: {e}\n{text}"),
        }
    }

    fn err(text: &str) -> ScenarioError {
        match Scenario::parse(text, "test.toml") {
            Ok(scenario) => panic!("parsed as {scenario:?}\n{text}"),
            Err(e) => e,
        }
    }

    /// The error for a single fault made of `body` after a `[[fault]]`
    /// header on line 1.
    fn fault_err(body: &str) -> ScenarioError {
        err(&format!("[[fault]]\n{body}"))
    }

    fn only_fault(text: &str) -> FaultSpec {
        let mut scenario = parse(text);
        assert_eq!(scenario.faults.len(), 1, "{scenario:?}");
        scenario.faults.remove(0)
    }

    fn assert_err(e: &ScenarioError, line: usize, key: &str, needle: &str) {
        assert_eq!(e.line, Some(line), "{e}");
        assert_eq!(e.key.as_deref(), Some(key), "{e}");
        assert!(e.message.contains(needle), "{e:?} lacks {needle:?}");
    }

    const LATENCY: &str = "kind = \"latency\"\ntarget = \"a.B#c\"\ndelay = \"1s\"\n";

    const PRODUCT_EXAMPLE: &str = r#"name = "checkout survives a slow database"
description = "optional free text"

[[fault]]
id = "slow-save"                         # optional; default f1, f2, ... in file order
kind = "latency"                         # latency | exception | hang | pool
target = "com.acme.OrderRepository#save" # see Targets
delay = "200ms"                          # latency only; units ns, us, ms, s, m
jitter = "50ms"                          # latency only; uniform +/- around delay
probability = 0.5                        # 0..1, default 1
after = 10                               # skip the first N matching calls, default 0
limit = 100                              # at most N injections, default unlimited
duration = "30s"                         # the fault is removed after this; default: none at startup, 10m from the CLI
threads = "http-nio-*"                   # only calls on threads whose name matches this glob

[[fault]]
kind = "exception"
target = "com.acme.PaymentClient#charge(long)"
throw = "java.net.SocketTimeoutException" # any Throwable, checked or not, declared or not
message = "injected: payment timeout"     # optional

[[fault]]
kind = "hang"                            # block the calling thread until the fault is removed or `max` passes
target = "com.acme.Inventory+#reserve"
max = "60s"

[[fault]]
kind = "pool"                            # thread-pool exhaustion
pool = "orders-*"                        # glob on the pool's worker thread names, and/or
executor = "com.acme.*Executor+"         # a target-style class pattern of the executor
mode = "saturate"                        # saturate: occupy every worker and fill the queue; reject: new tasks are rejected
"#;

    #[test]
    fn parses_the_product_example() {
        let s = parse(PRODUCT_EXAMPLE);
        assert_eq!(s.name.as_deref(), Some("checkout survives a slow database"));
        assert_eq!(s.description.as_deref(), Some("optional free text"));
        assert_eq!(s.origin, "test.toml");
        assert_eq!(s.faults.len(), 4);

        let slow = &s.faults[0];
        assert_eq!(slow.id, "slow-save");
        assert_eq!(slow.line, 4);
        assert_eq!(slow.probability, 0.5);
        assert_eq!(slow.after, 10);
        assert_eq!(slow.limit, Some(100));
        assert_eq!(slow.duration, Some(Duration::from_secs(30)));
        assert_eq!(slow.threads.as_deref(), Some("http-nio-*"));
        match &slow.kind {
            FaultKind::Latency { aim: Aim::Target(target), delay, jitter } => {
                assert_eq!(target.text(), "com.acme.OrderRepository#save");
                assert_eq!(*delay, Duration::from_millis(200));
                assert_eq!(*jitter, Duration::from_millis(50));
            }
            other => panic!("{other:?}"),
        }

        let exception = &s.faults[1];
        assert_eq!(exception.id, "f2");
        assert_eq!(exception.line, 16);
        match &exception.kind {
            FaultKind::Exception { aim: Aim::Target(target), throw, message } => {
                assert_eq!(target.text(), "com.acme.PaymentClient#charge(long)");
                assert_eq!(throw, "java.net.SocketTimeoutException");
                assert_eq!(message.as_deref(), Some("injected: payment timeout"));
            }
            other => panic!("{other:?}"),
        }

        match &s.faults[2].kind {
            FaultKind::Hang { aim: Aim::Target(target), max } => {
                assert!(target.class.subtypes());
                assert_eq!(*max, Duration::from_secs(60));
            }
            other => panic!("{other:?}"),
        }

        match &s.faults[3].kind {
            FaultKind::Pool { pool, executor, mode } => {
                assert_eq!(pool.as_deref(), Some("orders-*"));
                assert_eq!(executor.as_ref().map(ClassPattern::text), Some("com.acme.*Executor+"));
                assert_eq!(*mode, PoolMode::Saturate);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(s.faults[3].id, "f4");
    }

    #[test]
    fn empty_scenario_has_no_faults() {
        assert_eq!(parse("").faults, vec![]);
        let s = parse("name = \"quiet\"\n");
        assert_eq!(s.name.as_deref(), Some("quiet"));
        assert!(s.faults.is_empty());
    }

    #[test]
    fn defaults_apply_when_keys_are_absent() {
        let f = only_fault(&format!("[[fault]]\n{LATENCY}"));
        assert_eq!(f.id, "f1");
        assert_eq!(f.probability, 1.0);
        assert_eq!(f.after, 0);
        assert_eq!(f.limit, None);
        assert_eq!(f.duration, None);
        assert_eq!(f.threads, None);
    }

    #[test]
    fn default_ids_follow_position_in_the_file() {
        let text = format!("[[fault]]\n{LATENCY}id = \"x\"\n[[fault]]\n{LATENCY}[[fault]]\n{LATENCY}");
        let ids: Vec<String> = parse(&text).faults.into_iter().map(|f| f.id).collect();
        assert_eq!(ids, ["x", "f2", "f3"]);
    }

    #[test]
    fn fault_line_is_its_header_line() {
        let text = format!("name = \"n\"\n\n[[fault]]\n{LATENCY}\n[[fault]] # second\n{LATENCY}");
        let lines: Vec<usize> = parse(&text).faults.iter().map(|f| f.line).collect();
        assert_eq!(lines, [3, 8]);
    }

    #[test]
    fn inline_fault_arrays_are_accepted() {
        let s = parse("fault = [{ kind = \"hang\", target = \"a.B#c\" }]\n");
        assert_eq!(s.faults[0].kind.name(), "hang");
        assert_eq!(s.faults[0].line, 1);
    }

    #[test]
    fn error_display_names_origin_line_and_key() {
        let mut text = String::from("[[fault]]\nkind = \"latency\"\ntarget = \"a.B#c\"\n");
        text.push_str(&"\n".repeat(8));
        text.push_str("delay = \"20 0ms\"\n");
        let e = match Scenario::parse(&text, "slow-db.toml") {
            Ok(s) => panic!("{s:?}"),
            Err(e) => e,
        };
        let shown = e.to_string();
        assert!(shown.starts_with("slow-db.toml:12: key 'delay': invalid duration \"20 0ms\": "), "{shown}");
        assert!(shown.contains("(expected e.g. \"200ms\""), "{shown}");
    }

    #[test]
    fn error_display_leaves_out_what_is_unknown() {
        let e =
            ScenarioError { origin: "x.toml".to_string(), line: None, key: None, message: "cannot read".to_string() };
        assert_eq!(e.to_string(), "x.toml: cannot read");
    }

    #[test]
    fn syntax_errors_have_origin_and_line() {
        let e = err("name = \"n\"\n\n[[fault]]\nkind = \n");
        assert_eq!(e.origin, "test.toml");
        assert_eq!(e.line, Some(4));
        assert!(e.message.starts_with("invalid TOML: "), "{e}");
        assert!(!e.message.contains('\n'), "{e:?}");
    }

    #[test]
    fn duplicate_toml_keys_are_syntax_errors() {
        let e = fault_err(&format!("{LATENCY}delay = \"2s\"\n"));
        assert_eq!(e.line, Some(5), "{e}");
        assert!(e.message.contains("duplicate key"), "{e}");
    }

    #[test]
    fn unknown_top_level_key_lists_valid_keys() {
        let e = err("name = \"n\"\n[[faults]]\nkind = \"hang\"\n");
        assert_err(&e, 2, "faults", "valid keys are name, description, [[fault]]");
        assert!(e.message.contains("did you mean 'fault'?"), "{e}");
    }

    #[test]
    fn single_bracket_fault_table_is_rejected() {
        let e = err("[fault]\nkind = \"hang\"\n");
        assert_err(&e, 1, "fault", "[[fault]], with double brackets");
    }

    #[test]
    fn fault_must_hold_tables() {
        assert_err(&err("fault = [1, 2]\n"), 1, "fault", "found an array");
        assert_err(&err("fault = \"x\"\n"), 1, "fault", "found a string");
    }

    #[test]
    fn name_and_description_must_be_strings() {
        assert_err(&err("name = 3\n"), 1, "name", "expected a string, found an integer");
        assert_err(&err("description = true\n"), 1, "description", "found a boolean");
    }

    #[test]
    fn unknown_fault_key_lists_valid_keys() {
        let e = fault_err(&format!("{LATENCY}dealy = \"1s\"\n"));
        assert_err(&e, 5, "dealy", "did you mean 'delay'?");
        assert!(e.message.contains("valid keys are id, kind, target, preset, at, when, value, status, delay"), "{e}");
    }

    #[test]
    fn unknown_key_without_a_close_match_has_no_suggestion() {
        let e = fault_err(&format!("{LATENCY}colour = \"red\"\n"));
        assert!(!e.message.contains("did you mean"), "{e}");
    }

    #[test]
    fn kind_is_required() {
        let e = err("name = \"n\"\n[[fault]]\ntarget = \"a.B#c\"\n");
        assert_err(&e, 2, "kind", "one of latency, exception, hang, return, respond, pool");
    }

    #[test]
    fn kind_must_be_known() {
        let e = fault_err("kind = \"latancy\"\n");
        assert_err(&e, 2, "kind", "unknown kind \"latancy\" (did you mean 'latency'?)");
    }

    #[test]
    fn kind_must_be_a_string() {
        assert_err(&fault_err("kind = 1\n"), 2, "kind", "expected a string, found an integer");
    }

    #[test]
    fn target_is_required_for_method_faults() {
        for body in
            ["kind = \"latency\"\ndelay = \"1s\"\n", "kind = \"exception\"\nthrow = \"a.B\"\n", "kind = \"hang\"\n"]
        {
            assert_err(&fault_err(body), 1, "target", "missing, and required");
        }
    }

    #[test]
    fn target_must_be_valid() {
        let e = fault_err("kind = \"hang\"\ntarget = \"com.acme.Repo.save\"\n");
        assert_err(&e, 3, "target", "did you mean com.acme.Repo#save?");
    }

    #[test]
    fn target_does_not_apply_to_pool_faults() {
        let e = fault_err("kind = \"pool\"\npool = \"p-*\"\ntarget = \"a.B#c\"\n");
        assert_err(&e, 4, "target", "applies to latency, exception, hang, return and respond faults only");
        assert!(e.message.contains("'pool' or 'executor'"), "{e}");
    }

    #[test]
    fn every_bad_fault_of_a_file_is_reported_at_once() {
        let dir = std::env::temp_dir().join(format!("faultline-allerrors-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("two-bad.toml");
        let text = format!("[[fault]]\n{LATENCY}dealy = \"1s\"\n\n[[fault]]\n{LATENCY}\n[[fault]]\nkind = \"hang\"\ntarget = \"a.B.c\"\n");
        std::fs::write(&file, &text).unwrap();
        let errors = Scenario::load_all_errors(&file).unwrap_err();
        let keys: Vec<_> = errors.iter().map(|e| (e.line, e.key.as_deref())).collect();
        assert_eq!(keys, vec![(Some(5), Some("dealy")), (Some(14), Some("target"))], "{errors:?}");
        // The one-error reader stops at the first, as before.
        assert_eq!(Scenario::load(&file).unwrap_err().key.as_deref(), Some("dealy"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_test_scope_is_refused_in_files_and_drills() {
        let dir = std::env::temp_dir().join(format!("faultline-scope-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("scoped.toml");
        std::fs::write(&file, format!("[[fault]]\nid = \"s\"\n{LATENCY}scope = \"t1\"\n")).unwrap();
        let e = Scenario::load(&file).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("scope"), "{e}");
        assert!(e.message.contains("JUnit extension") && e.message.contains("threads = "), "{e}");
        // The JUnit extension arms scenario text with a scope: that stays allowed.
        assert_eq!(parse(&format!("[[fault]]\n{LATENCY}scope = \"t1\"\n")).faults[0].scope.as_deref(), Some("t1"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_scope_given_with_the_arm_request_ties_every_fault_to_the_test() {
        let two = parse(&format!("[[fault]]\n{LATENCY}\n[[fault]]\n{LATENCY}"));
        let scoped = two.scoped_to("t7").unwrap();
        assert!(scoped.faults.iter().all(|f| f.scope.as_deref() == Some("t7")));
        let pool = parse(&format!("[[fault]]\n{LATENCY}\n[[fault]]\nkind = \"pool\"\npool = \"p-*\"\n"));
        let e = pool.scoped_to("t7").unwrap_err();
        assert_eq!((e.line, e.key.as_deref()), (Some(6), Some("scope")), "{e}");
        assert!(e.message.contains("cannot be scoped to one test") && e.message.contains("global = true"), "{e}");
    }

    #[test]
    fn an_id_suffix_renames_every_fault_and_keeps_ids_valid() {
        let two = parse(&format!("[[fault]]\nid = \"slow\"\n{LATENCY}\n[[fault]]\n{LATENCY}"));
        let renamed = two.with_id_suffix("t3").unwrap();
        let ids: Vec<&str> = renamed.faults.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["slow.t3", "f2.t3"]);
        let long = parse(&format!("[[fault]]\nid = \"{}\"\n{LATENCY}", "x".repeat(60)));
        let e = long.with_id_suffix("t123").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("id"), "{e}");
        assert!(e.message.contains("at most 64"), "{e}");
    }

    #[test]
    fn conditions_points_and_return_values_are_read() {
        let f = only_fault(
            "[[fault]]\nkind = \"exception\"\ntarget = \"com.acme.Ledger#post\"\nthrow = \"java.io.IOException\"\n\
             at = \"exit\"\nwhen = \"arg0 == 'b' && result > 1000\"\n",
        );
        assert_eq!(f.at, Point::Exit);
        assert_eq!(f.when.as_ref().map(|c| c.text.as_str()), Some("arg0 == 'b' && result > 1000"));
        let r = only_fault("[[fault]]\nkind = \"return\"\ntarget = \"com.acme.Ledger#balance\"\nvalue = -1\n");
        assert_eq!(
            r.kind,
            FaultKind::Return {
                aim: Aim::Target(TargetPattern::parse("com.acme.Ledger#balance").unwrap()),
                value: Some(ReturnValue::Int(-1))
            }
        );
        assert_eq!(r.at, Point::Entry);
        let skip = only_fault("[[fault]]\nkind = \"return\"\ntarget = \"com.acme.Mailer#send\"\n");
        assert!(matches!(skip.kind, FaultKind::Return { value: None, .. }));
        for value in ["\"null\"", "\"empty\"", "true", "2.5", "\"GOLD\""] {
            let text = format!("[[fault]]\nkind = \"return\"\ntarget = \"a.B#c\"\nvalue = {value}\n");
            let f = only_fault(&text);
            assert_eq!(parse(&f.to_toml()).faults[0], FaultSpec { line: 1, ..f.clone() }, "{value}");
        }
    }

    #[test]
    fn condition_errors_name_the_key_and_the_column() {
        let e = fault_err(&format!("{LATENCY}when = \"arg0 = 5\"\n"));
        assert_err(&e, 5, "when", "column 6: unexpected character '='");
        let e = fault_err(&format!("{LATENCY}when = \"result > 5\"\n"));
        assert_err(&e, 5, "when", "at = \"exit\"");
        let e = fault_err(&format!("{LATENCY}when = \" \"\n"));
        assert_err(&e, 5, "when", "must not be empty");
        let e = fault_err(&format!("{LATENCY}at = \"exitt\"\n"));
        assert_err(&e, 5, "at", "did you mean 'exit'");
        let e = fault_err("kind = \"latency\"\ntarget = \"a.B#<init>\"\ndelay = \"1s\"\nat = \"exit\"\n");
        assert_err(&e, 5, "at", "constructors");
        let e = fault_err("kind = \"return\"\ntarget = \"a.B#<init>\"\n");
        assert_err(&e, 3, "target", "constructor");
        let e = fault_err(&format!("{LATENCY}value = 1\n"));
        assert_err(&e, 5, "value", "applies to return faults only");
        let e = fault_err("kind = \"return\"\ntarget = \"a.B#c\"\nvalue = [1]\n");
        assert_err(&e, 4, "value", "expected a number, a boolean, a string");
        let e = fault_err("kind = \"pool\"\npool = \"p-*\"\nwhen = \"arg0 > 1\"\n");
        assert_err(&e, 4, "when", "not to pool faults");
    }

    #[test]
    fn a_fault_is_checked_against_each_method_it_matches() {
        let f = only_fault(&format!("[[fault]]\n{LATENCY}when = \"arg1 > 500\"\n"));
        assert!(f.needs_method_checks());
        assert!(f.check_method("post", "(Ljava/lang/String;J)V", false).is_ok());
        let e = f.check_method("post", "(J)V", false).unwrap_err();
        assert!(e.starts_with("key 'when': column 1: arg1 does not exist"), "{e}");
        let r = only_fault("[[fault]]\nkind = \"return\"\ntarget = \"a.B#c\"\nvalue = 300\n");
        let e = r.check_method("c", "()B", true).unwrap_err();
        assert!(e.contains("key 'value'") && e.contains("out of its range"), "{e}");
        assert!(!only_fault(&format!("[[fault]]\n{LATENCY}")).needs_method_checks());
        let exit_void = only_fault("[[fault]]\nkind = \"return\"\ntarget = \"a.B#c\"\nat = \"exit\"\n");
        assert!(exit_void.check_method("c", "()V", false).unwrap_err().contains("key 'at'"));
        assert!(exit_void.check_method("c", "()I", false).unwrap_err().contains("give the value"));
    }

    #[test]
    fn ids_start_with_a_letter_or_digit_and_stay_short() {
        let e = fault_err(&format!("id = \"-dash\"\n{LATENCY}"));
        assert!(e.message.contains("must start with a letter or a digit"), "{e}");
        let long = "x".repeat(65);
        let e = fault_err(&format!("id = \"{long}\"\n{LATENCY}"));
        assert!(e.message.contains("at most 64"), "{e}");
    }

    #[test]
    fn per_call_keys_and_scope_do_not_apply_to_pool_faults() {
        for (key, value) in [("probability", "0.5"), ("after", "3"), ("limit", "1"), ("threads", "\"w-*\"")] {
            let e = fault_err(&format!("kind = \"pool\"\npool = \"p-*\"\n{key} = {value}\n"));
            assert_err(
                &e,
                4,
                key,
                "applies to latency, exception, hang, return and respond faults only, not to pool faults",
            );
            assert!(e.message.contains("not on single calls"), "{e}");
        }
        let e = fault_err("kind = \"pool\"\npool = \"p-*\"\nscope = \"t1\"\n");
        assert_err(&e, 4, "scope", "cannot be scoped to one test");
        assert!(e.message.contains("global = true"), "{e}");
        let ok = parse("[[fault]]\nkind = \"pool\"\npool = \"p-*\"\nduration = \"5s\"\n");
        assert_eq!(ok.faults[0].duration, Some(std::time::Duration::from_secs(5)));
    }

    #[test]
    fn keys_of_another_kind_are_rejected() {
        let e = fault_err("kind = \"exception\"\ntarget = \"a.B#c\"\nthrow = \"a.B\"\ndelay = \"1s\"\n");
        assert_err(&e, 5, "delay", "applies to latency faults only, not to exception faults");
        assert_err(&fault_err(&format!("{LATENCY}max = \"1s\"\n")), 5, "max", "hang faults only");
        assert_err(&fault_err(&format!("{LATENCY}mode = \"reject\"\n")), 5, "mode", "pool and exit faults only");
        let e = fault_err("kind = \"hang\"\ntarget = \"a.B#c\"\nmessage = \"m\"\n");
        assert_err(&e, 4, "message", "exception faults only");
    }

    #[test]
    fn delay_is_required_for_latency() {
        let e = fault_err("kind = \"latency\"\ntarget = \"a.B#c\"\n");
        assert_err(&e, 1, "delay", "missing, and required");
    }

    #[test]
    fn delay_must_be_positive() {
        let e = fault_err("kind = \"latency\"\ntarget = \"a.B#c\"\ndelay = \"0ms\"\n");
        assert_err(&e, 4, "delay", "greater than zero");
    }

    #[test]
    fn durations_must_be_strings() {
        let e = fault_err("kind = \"latency\"\ntarget = \"a.B#c\"\ndelay = 200\n");
        assert_err(&e, 4, "delay", "expected a string with a unit, such as \"200ms\", found an integer");
    }

    #[test]
    fn durations_must_have_a_unit() {
        let e = fault_err("kind = \"latency\"\ntarget = \"a.B#c\"\ndelay = \"200\"\n");
        assert_err(&e, 4, "delay", "no unit");
    }

    #[test]
    fn jitter_defaults_to_zero() {
        match only_fault(&format!("[[fault]]\n{LATENCY}")).kind {
            FaultKind::Latency { jitter, .. } => assert_eq!(jitter, Duration::ZERO),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn jitter_may_equal_delay() {
        let f = only_fault(&format!("[[fault]]\n{LATENCY}jitter = \"1s\"\n"));
        assert_eq!(f.kind.name(), "latency");
    }

    #[test]
    fn jitter_must_not_exceed_delay() {
        let e = fault_err(&format!("{LATENCY}jitter = \"1.5s\"\n"));
        assert_err(&e, 5, "jitter", "1.5s exceeds the delay of 1s");
    }

    #[test]
    fn throw_is_required_for_exception() {
        let e = fault_err("kind = \"exception\"\ntarget = \"a.B#c\"\n");
        assert_err(&e, 1, "throw", "java.net.SocketTimeoutException");
    }

    #[test]
    fn throw_must_be_a_binary_class_name() {
        let body = "kind = \"exception\"\ntarget = \"a.B#c\"\n";
        for bad in ["java.net.", "java..X", "java.net.Socket-Timeout", "java.1net.X", "java/net/X"] {
            let e = fault_err(&format!("{body}throw = \"{bad}\"\n"));
            assert_err(&e, 4, "throw", "invalid class name");
        }
    }

    #[test]
    fn throw_must_have_a_package() {
        let e = fault_err("kind = \"exception\"\ntarget = \"a.B#c\"\nthrow = \"RuntimeException\"\n");
        assert_err(&e, 4, "throw", "has no package");
    }

    #[test]
    fn throw_accepts_nested_classes() {
        let f = only_fault("[[fault]]\nkind = \"exception\"\ntarget = \"a.B#c\"\nthrow = \"com.acme.Outer$Err\"\n");
        match f.kind {
            FaultKind::Exception { throw, message, .. } => {
                assert_eq!(throw, "com.acme.Outer$Err");
                assert_eq!(message, None);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn hang_max_defaults_to_ten_minutes() {
        match only_fault("[[fault]]\nkind = \"hang\"\ntarget = \"a.B#c\"\n").kind {
            FaultKind::Hang { max, .. } => assert_eq!(max, Duration::from_secs(600)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn hang_max_must_be_positive() {
        let e = fault_err("kind = \"hang\"\ntarget = \"a.B#c\"\nmax = \"0s\"\n");
        assert_err(&e, 4, "max", "greater than zero");
    }

    #[test]
    fn pool_needs_pool_or_executor() {
        let e = err("\n[[fault]]\nkind = \"pool\"\nmode = \"reject\"\n");
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.message.contains("needs 'pool'"), "{e}");
        assert!(e.message.contains("or 'executor'"), "{e}");
    }

    #[test]
    fn pool_executor_is_a_class_pattern() {
        let f = only_fault("[[fault]]\nkind = \"pool\"\nexecutor = \"java.util.concurrent.ThreadPoolExecutor+\"\n");
        match f.kind {
            FaultKind::Pool { pool, executor: Some(executor), mode } => {
                assert_eq!(pool, None);
                assert!(executor.subtypes());
                assert!(executor.matches_name("java/util/concurrent/ThreadPoolExecutor"));
                assert_eq!(mode, PoolMode::Saturate);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pool_executor_must_be_valid() {
        let e = fault_err("kind = \"pool\"\nexecutor = \"com.acme+.X\"\n");
        assert_err(&e, 3, "executor", "invalid class pattern");
    }

    #[test]
    fn pool_glob_must_not_be_empty() {
        assert_err(&fault_err("kind = \"pool\"\npool = \"\"\n"), 3, "pool", "must not be empty");
    }

    #[test]
    fn pool_mode_reject_is_read() {
        match only_fault("[[fault]]\nkind = \"pool\"\npool = \"p-*\"\nmode = \"reject\"\n").kind {
            FaultKind::Pool { mode, .. } => assert_eq!(mode, PoolMode::Reject),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pool_mode_must_be_known() {
        let e = fault_err("kind = \"pool\"\npool = \"p-*\"\nmode = \"drain\"\n");
        assert_err(&e, 4, "mode", "expected \"saturate\" or \"reject\"");
    }

    #[test]
    fn probability_must_be_a_number() {
        let e = fault_err(&format!("{LATENCY}probability = \"high\"\n"));
        assert_err(&e, 5, "probability", "expected a number between 0 and 1, found a string");
    }

    #[test]
    fn probability_must_be_within_zero_and_one() {
        for bad in ["1.5", "-0.1", "nan", "2"] {
            let e = fault_err(&format!("{LATENCY}probability = {bad}\n"));
            assert_err(&e, 5, "probability", "must be between 0 and 1");
        }
    }

    #[test]
    fn probability_accepts_integers_and_bounds() {
        for (text, p) in [("0", 0.0), ("1", 1.0), ("0.25", 0.25), ("1.0", 1.0)] {
            let f = only_fault(&format!("[[fault]]\n{LATENCY}probability = {text}\n"));
            assert_eq!(f.probability, p, "{text}");
        }
    }

    #[test]
    fn after_must_be_an_integer() {
        let e = fault_err(&format!("{LATENCY}after = 1.5\n"));
        assert_err(&e, 5, "after", "expected a non-negative integer, found a float");
    }

    #[test]
    fn limit_must_not_be_negative() {
        let e = fault_err(&format!("{LATENCY}limit = -1\n"));
        assert_err(&e, 5, "limit", "expected a non-negative integer, found -1");
    }

    #[test]
    fn limit_must_be_at_least_one() {
        let e = fault_err(&format!("{LATENCY}limit = 0\n"));
        assert_err(&e, 5, "limit", "at least 1");
    }

    #[test]
    fn duration_must_be_positive() {
        let e = fault_err(&format!("{LATENCY}duration = \"0s\"\n"));
        assert_err(&e, 5, "duration", "greater than zero");
    }

    #[test]
    fn threads_must_not_be_empty() {
        let e = fault_err(&format!("{LATENCY}threads = \"\"\n"));
        assert_err(&e, 5, "threads", "must not be empty");
    }

    #[test]
    fn id_must_not_be_empty() {
        assert_err(&fault_err(&format!("{LATENCY}id = \"\"\n")), 5, "id", "must not be empty");
    }

    #[test]
    fn id_must_use_allowed_characters() {
        let e = fault_err(&format!("{LATENCY}id = \"slow save\"\n"));
        assert_err(&e, 5, "id", "illegal character ' '");
        assert!(only_fault(&format!("[[fault]]\n{LATENCY}id = \"A_z.0-9\"\n")).id == "A_z.0-9");
    }

    #[test]
    fn duplicate_ids_name_both_lines() {
        let text = format!("[[fault]]\nid = \"x\"\n{LATENCY}\n[[fault]]\nid = \"x\"\n{LATENCY}");
        let e = err(&text);
        assert_err(&e, 8, "id", "duplicate id 'x': the fault at line 2 has it too");
    }

    #[test]
    fn explicit_id_clashing_with_a_default_id_is_a_duplicate() {
        let text = format!("[[fault]]\n{LATENCY}[[fault]]\nid = \"f1\"\n{LATENCY}");
        let e = err(&text);
        assert_err(&e, 6, "id", "duplicate id 'f1': the fault at line 1 has it too");
    }

    #[test]
    fn errors_in_later_faults_name_their_own_line() {
        let text = format!("[[fault]]\n{LATENCY}\n[[fault]]\n{LATENCY}after = -3\n");
        assert_err(&err(&text), 10, "after", "found -3");
    }

    #[test]
    fn kind_name_and_target() {
        let s = parse(PRODUCT_EXAMPLE);
        let names: Vec<&str> = s.faults.iter().map(|f| f.kind.name()).collect();
        assert_eq!(names, ["latency", "exception", "hang", "pool"]);
        assert_eq!(s.faults[0].kind.target().map(TargetPattern::text), Some("com.acme.OrderRepository#save"));
        assert!(s.faults[3].kind.target().is_none());
    }

    #[test]
    fn load_reads_a_file() {
        let path = std::env::temp_dir().join(format!("faultline-scenario-{}.toml", std::process::id()));
        if let Err(e) = std::fs::write(&path, PRODUCT_EXAMPLE) {
            panic!("cannot write {}: {e}", path.display());
        }
        let loaded = Scenario::load(&path);
        let _ = std::fs::remove_file(&path);
        match loaded {
            Ok(s) => {
                assert_eq!(s.faults.len(), 4);
                assert_eq!(s.origin, path.display().to_string());
            }
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn load_names_an_unreadable_path() {
        let e = match Scenario::load(Path::new("/nonexistent/slow-db.toml")) {
            Ok(s) => panic!("{s:?}"),
            Err(e) => e,
        };
        assert_eq!(e.origin, "/nonexistent/slow-db.toml");
        assert_eq!(e.line, None);
        assert!(e.to_string().starts_with("/nonexistent/slow-db.toml: cannot read"), "{e}");
    }

    #[test]
    fn fault_to_toml_round_trips_every_kind() {
        let text = format!(
            "{PRODUCT_EXAMPLE}\n[[fault]]\nid = \"odd\"\nkind = \"exception\"\ntarget = \"a.B#<init>(int,..)\"\n\
             throw = \"com.acme.Outer$Err\"\nmessage = \"quote \\\" backslash \\\\ newline \\n tab \\t\"\n\
             probability = 0.3\nlimit = 1\nduration = \"1.5s\"\n\n\
             [[fault]]\nkind = \"pool\"\nexecutor = \"com.**\"\nmode = \"reject\"\n"
        );
        for mut spec in parse(&text).faults {
            spec.line = 1;
            let toml = spec.to_toml();
            assert_eq!(only_fault(&toml), spec, "{toml}");
        }
    }

    /// The "Resource faults" section of the product contract, verbatim.
    const RESOURCE_EXAMPLE: &str = r#"[[fault]]
kind = "heap"
fill = 0.8             # fraction of the max heap in use while armed; never itself the cause of an OutOfMemoryError; steps back under a GC storm

[[fault]]
kind = "cpu"
cores = 2              # default: available processors
load = 0.9             # duty cycle per busy thread, default 1

[[fault]]
kind = "threads"
count = 500
state = "waiting"      # waiting | running

[[fault]]
kind = "gc"
every = "2s"

[[fault]]
kind = "metaspace"
size = "128MB"

[[fault]]
kind = "direct"
size = "256MB"

[[fault]]
kind = "exit"
code = 3
mode = "exit"          # exit: System.exit, shutdown hooks run | halt: Runtime.halt
"#;

    #[test]
    fn resource_faults_parse_as_the_contract_writes_them() {
        let kinds: Vec<FaultKind> = parse(RESOURCE_EXAMPLE).faults.into_iter().map(|f| f.kind).collect();
        assert_eq!(
            kinds,
            vec![
                FaultKind::Resource(Resource::Heap { fill: 0.8 }),
                FaultKind::Resource(Resource::Cpu { cores: Some(2), load: 0.9 }),
                FaultKind::Resource(Resource::Threads { count: 500, state: ThreadState::Waiting }),
                FaultKind::Resource(Resource::Gc { every: Duration::from_secs(2) }),
                FaultKind::Resource(Resource::Metaspace { size: 128 << 20 }),
                FaultKind::Resource(Resource::Direct { size: 256 << 20 }),
                FaultKind::Resource(Resource::Exit { code: 3, mode: ExitMode::Exit }),
            ]
        );
        for mut spec in parse(RESOURCE_EXAMPLE).faults {
            spec.line = 1;
            let toml = spec.to_toml();
            assert_eq!(only_fault(&toml), spec, "{toml}");
            assert!(spec.kind.aim().is_none(), "{spec:?}");
        }
        // Defaults: every processor at full load, waiting threads, exit code 1 by System.exit.
        let cpu = only_fault("[[fault]]\nkind = \"cpu\"\n");
        assert_eq!(cpu.kind, FaultKind::Resource(Resource::Cpu { cores: None, load: 1.0 }));
        let exit = only_fault("[[fault]]\nkind = \"exit\"\n");
        assert_eq!(exit.kind, FaultKind::Resource(Resource::Exit { code: 1, mode: ExitMode::Exit }));
        let threads = only_fault("[[fault]]\nkind = \"threads\"\ncount = 3\nstate = \"running\"\nduration = \"5s\"\n");
        assert_eq!(threads.kind, FaultKind::Resource(Resource::Threads { count: 3, state: ThreadState::Running }));
        assert_eq!(threads.duration, Some(Duration::from_secs(5)));
    }

    #[test]
    fn resource_faults_refuse_bad_settings_naming_the_key() {
        assert_err(
            &fault_err("kind = \"heap\"\n"),
            1,
            "fill",
            "missing, and required: the fraction of the maximum heap",
        );
        assert_err(&fault_err("kind = \"heap\"\nfill = 1\n"), 3, "fill", "must be above 0 and below 1");
        assert_err(&fault_err("kind = \"heap\"\nfill = 0.0\n"), 3, "fill", "must be above 0 and below 1");
        assert_err(&fault_err("kind = \"heap\"\nfill = \"80%\"\n"), 3, "fill", "expected a number between 0 and 1");
        assert_err(&fault_err("kind = \"cpu\"\nload = 1.5\n"), 3, "load", "must be above 0 and at most 1");
        assert_err(&fault_err("kind = \"cpu\"\ncores = 0\n"), 3, "cores", "at least 1");
        assert_err(&fault_err("kind = \"threads\"\n"), 1, "count", "how many threads");
        assert_err(&fault_err("kind = \"threads\"\ncount = 5\nstate = \"wating\"\n"), 4, "state", "did you mean");
        assert_err(&fault_err("kind = \"threads\"\ncount = 1000000\n"), 3, "count", "at most 100000");
        assert_err(&fault_err("kind = \"gc\"\n"), 1, "every", "how often");
        assert_err(&fault_err("kind = \"gc\"\nevery = \"10ms\"\n"), 3, "every", "at least 100ms");
        assert_err(&fault_err("kind = \"metaspace\"\nsize = \"128\"\n"), 3, "size", "no unit");
        assert_err(&fault_err("kind = \"direct\"\n"), 1, "size", "how much direct memory");
        assert_err(&fault_err("kind = \"exit\"\ncode = 300\n"), 3, "code", "between 0 and 255");
        assert_err(&fault_err("kind = \"exit\"\nmode = \"kill\"\n"), 3, "mode", "\"halt\" (Runtime.halt");
    }

    #[test]
    fn resource_faults_take_no_target_and_no_per_call_keys() {
        assert_err(
            &fault_err("kind = \"heap\"\nfill = 0.5\ntarget = \"a.B#c\"\n"),
            4,
            "target",
            "a heap fault acts on the JVM as a whole; it takes 'fill'",
        );
        assert_err(
            &fault_err("kind = \"cpu\"\nprobability = 0.5\n"),
            3,
            "probability",
            "a cpu fault acts on the JVM as a whole, not on single calls; end it with 'duration'",
        );
        assert_err(
            &fault_err("kind = \"gc\"\nevery = \"1s\"\nwhen = \"arg0 > 1\"\n"),
            4,
            "when",
            "not on single calls",
        );
        assert_err(
            &fault_err("kind = \"heap\"\nfill = 0.5\nsize = \"1MB\"\n"),
            4,
            "size",
            "(a heap fault takes 'fill')",
        );
        assert_err(&fault_err("kind = \"threads\"\ncount = 2\nfill = 0.5\n"), 4, "fill", "applies to heap faults only");
        assert_err(
            &fault_err("kind = \"latency\"\ntarget = \"a.B#c\"\ndelay = \"1s\"\nfill = 0.5\n"),
            5,
            "fill",
            "applies to heap",
        );
        let scoped = parse("[[fault]]\nkind = \"threads\"\ncount = 2\n").scoped_to("t1").unwrap_err();
        assert!(scoped.message.contains("acts on the JVM as a whole"), "{scoped}");
        assert!(scoped.message.contains("global = true"), "{scoped}");
    }

    #[test]
    fn fault_to_toml_omits_defaults() {
        let f = only_fault(&format!("[[fault]]\n{LATENCY}"));
        assert_eq!(f.to_toml(), "[[fault]]\nid = \"f1\"\nkind = \"latency\"\ntarget = \"a.B#c\"\ndelay = \"1s\"\n");
    }

    #[test]
    fn scenario_to_toml_round_trips() {
        let original = parse(PRODUCT_EXAMPLE);
        let written = original.to_toml();
        let reread = parse(&written);
        assert_eq!(reread.name, original.name);
        assert_eq!(reread.description, original.description);
        assert_eq!(reread.faults.len(), original.faults.len());
        for (a, b) in original.faults.iter().zip(&reread.faults) {
            let moved = FaultSpec { line: a.line, ..b.clone() };
            assert_eq!(*a, moved, "{written}");
        }
    }

    const PRESET_EXAMPLE: &str = r#"[[fault]]
kind = "exception"
preset = "jdbc"
sql = '(?i)^\s*update\s+orders\b'
operation = "UPDATE"
url = "jdbc:postgresql://*/shop"

[[fault]]
kind = "respond"
preset = "http-server"
path = "/checkout*"
method = "post"
status = 503

[[fault]]
kind = "latency"
preset = "socket"
host = "db.internal"
port = 5432
delay = "2s"
"#;

    #[test]
    fn presets_take_their_keys_with_defaults_and_normal_forms() {
        let s = parse(PRESET_EXAMPLE);
        match &s.faults[0].kind {
            FaultKind::Exception { aim: Aim::Preset(used), throw, message: None } => {
                assert_eq!(used.preset.name, "jdbc");
                assert_eq!(throw, "java.sql.SQLTransientConnectionException");
                assert_eq!(used.keys.get("operation").map(String::as_str), Some("update"));
                assert_eq!(used.keys.get("sql").map(String::as_str), Some(r"(?i)^\s*update\s+orders\b"));
            }
            other => panic!("{other:?}"),
        }
        match &s.faults[1].kind {
            FaultKind::Respond { aim: Aim::Preset(used), status: 503 } => {
                assert_eq!(used.keys.get("method").map(String::as_str), Some("POST"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(s.faults[2].kind.preset().and_then(|u| u.keys.get("port")).map(String::as_str), Some("5432"));
        assert!(s.faults[2].kind.target().is_none());
        assert_eq!(
            s.faults[1].kind.aim().map(|a| a.to_string()).as_deref(),
            Some("preset http-server path=/checkout* method=POST")
        );
        // Written and read back, equal.
        let again = parse(&s.to_toml());
        assert_eq!(
            again.faults.iter().map(|f| &f.kind).collect::<Vec<_>>(),
            s.faults.iter().map(|f| &f.kind).collect::<Vec<_>>()
        );
    }

    #[test]
    fn preset_mistakes_are_named_before_anything_is_armed() {
        let e = fault_err("kind = \"exception\"\npreset = \"jbdc\"\n");
        assert_err(&e, 3, "preset", "unknown preset \"jbdc\" (did you mean 'jdbc'?)");
        let e = fault_err("kind = \"exception\"\npreset = \"jdbc\"\npath = \"/x\"\n");
        assert_err(
            &e,
            4,
            "path",
            "is not a key of the jdbc preset (its keys: sql, operation, url); it belongs to http-server",
        );
        let e = fault_err("kind = \"return\"\npreset = \"jdbc\"\n");
        assert_err(&e, 2, "kind", "the jdbc preset takes exception, latency and hang faults, not return");
        let e = fault_err("kind = \"respond\"\npreset = \"http-server\"\nstatus = 600\n");
        assert_err(&e, 4, "status", "600 is not an HTTP status; expected 100 to 599");
        let e = fault_err("kind = \"respond\"\npreset = \"http-server\"\n");
        assert_err(&e, 1, "status", "the HTTP status to answer with");
        let e = fault_err("kind = \"respond\"\npreset = \"jdbc\"\nstatus = 503\n");
        assert_err(&e, 2, "kind", "the jdbc preset takes exception, latency and hang faults, not respond");
        let e = fault_err("kind = \"exception\"\ntarget = \"a.B#c\"\nthrow = \"java.io.IOException\"\nsql = \"x\"\n");
        assert_err(&e, 5, "sql", "is a key of the jdbc preset: add preset = \"jdbc\"");
        let e = fault_err("kind = \"exception\"\npreset = \"jdbc\"\ntarget = \"a.B#c\"\n");
        assert_err(&e, 4, "target", "'target' or 'preset', not both");
        let e = fault_err("kind = \"exception\"\npreset = \"jdbc\"\nwhen = \"arg0 == 1\"\n");
        assert_err(&e, 4, "when", "selected by the preset's keys (sql, operation, url)");
        let e = fault_err("kind = \"exception\"\npreset = \"jdbc\"\noperation = \"upsert\"\n");
        assert_err(&e, 4, "operation", "expected one of select, insert, update, delete, other");
        let e = fault_err("kind = \"latency\"\npreset = \"socket\"\nport = 0\ndelay = \"1s\"\n");
        assert_err(&e, 4, "port", "expected a number from 1 to 65535");
        let e = fault_err("kind = \"exception\"\npreset = \"dns\"\nthrow = \"Unknown\"\n");
        assert_err(&e, 4, "throw", "has no package");
        let e = fault_err("kind = \"latency\"\npreset = \"dns\"\nhost = \"a\"\ndelay = \"1s\"\nstatus = 503\n");
        assert_err(&e, 6, "status", "applies to respond faults only");
    }
}
