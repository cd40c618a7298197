//! The control protocol: what the CLI, the drill runner and the in-process Java API ask the
//! agent, and what it answers. One request per line, one reply per line, both JSON.
//!
//! Every door into the agent speaks this protocol: the CLI and drills over the agent's
//! Unix socket, the Java API through one native call (`Faultline.execute`), so a new fault
//! kind or key is added in one place. Requests carry an `"op"`; replies carry `"ok": true`
//! and the fields of the reply type, or `"ok": false` and an `"error"` for people.
//!
//! ```text
//! {"op":"arm","scenario":"[[fault]]\n...","origin":"command line","default_duration_ms":600000}
//! {"ok":true,"armed":[{"id":"latency-1","methods":1}]}
//! ```

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The agent library's file name: what the CLI loads and looks for in a JVM's memory maps.
pub const AGENT_LIBRARY: &str = "libfaultline_agent.so";

/// Where the agent opens its control socket, as the JVM sees its own file system.
pub const SOCKET_DIR: &str = "/tmp";

/// The control socket's file name for the JVM whose pid, in its own namespace, is `pid`.
pub fn socket_name(pid: u32) -> String {
    format!(".faultline-{pid}.sock")
}

/// The control socket as the JVM itself sees it.
pub fn socket_path(pid: u32) -> PathBuf {
    Path::new(SOCKET_DIR).join(socket_name(pid))
}

/// The control socket of a JVM whose root directory is `root` (`/proc/PID/root` from the
/// host, so JVMs in containers are reached too) and whose own pid is `nspid`.
pub fn socket_path_under(root: &Path, nspid: u32) -> PathBuf {
    root.join(SOCKET_DIR.trim_start_matches('/')).join(socket_name(nspid))
}

/// One request. The reply type of each is named in its variant's documentation (and tied
/// to it by [`Call`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Is the agent there? [`Pong`].
    Ping(Ping),
    /// Arm the faults of a scenario, all or nothing. [`ArmReply`].
    Arm(Arm),
    /// What the pool faults of a scenario would act on, arming nothing. [`PreviewReply`].
    Preview(Preview),
    /// Remove faults by id (all when none is given). [`StopReply`].
    Stop(Stop),
    /// Every armed fault with its matches and counters. [`StatusReply`].
    Status(Status),
    /// Events after a cursor. [`EventsReply`].
    Events(Events),
    /// The counters of one fault, armed or removed. [`CountersReply`].
    Counters(Counters),
}

/// A request with its reply type.
pub trait Call: Into<Request> {
    type Reply: Serialize + DeserializeOwned;
}

macro_rules! call {
    ($request:ident => $reply:ident) => {
        impl From<$request> for Request {
            fn from(r: $request) -> Request {
                Request::$request(r)
            }
        }
        impl Call for $request {
            type Reply = $reply;
        }
    };
}

call!(Ping => Pong);
call!(Arm => ArmReply);
call!(Preview => PreviewReply);
call!(Stop => StopReply);
call!(Status => StatusReply);
call!(Events => EventsReply);
call!(Counters => CountersReply);

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ping {}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pong {
    pub pid: u32,
    pub version: String,
}

/// Where the faults to arm come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ScenarioSource {
    /// Scenario text (TOML), named `origin` in error messages.
    Text { scenario: String, origin: String },
    /// A scenario file the agent reads itself (its path as the JVM sees it).
    File { file: PathBuf },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Arm {
    #[serde(flatten)]
    pub source: ScenarioSource,
    /// Lease of faults that set no `duration` (the CLI's `--for`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_duration_ms: Option<u64>,
    /// Ties every fault to the threads of one test (the JUnit extension); pool faults refuse it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Appended to every fault id as `ID.SUFFIX` (JUnit: a test running beside holds the id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_suffix: Option<String>,
}

impl Arm {
    /// Arms scenario text, named `origin` in messages, with nothing else set.
    pub fn text(scenario: String, origin: String) -> Arm {
        Arm {
            source: ScenarioSource::Text { scenario, origin },
            default_duration_ms: None,
            scope: None,
            id_suffix: None,
        }
    }
}

/// One armed fault: its id and how many methods it was bound to right away.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmedSummary {
    pub id: String,
    pub methods: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmReply {
    pub armed: Vec<ArmedSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preview {
    pub scenario: String,
    pub origin: String,
}

/// The executors one pool fault would act on, as `Pools.preview` describes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoolPreview {
    pub id: String,
    pub pools: Vec<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreviewReply {
    pub faults: Vec<PoolPreview>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stop {
    /// Empty: every fault.
    #[serde(default)]
    pub ids: Vec<String>,
    /// Ids that are no longer armed (expired) are skipped instead of refused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignore_missing: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StopReply {
    pub removed: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Status {}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusReply {
    pub faults: Vec<FaultStatus>,
    /// Events that could not be queued for the events file.
    pub events_dropped: u64,
    pub pid: u32,
}

/// One armed fault in `status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultStatus {
    pub id: String,
    pub kind: String,
    /// The target pattern; None for faults that act on no method (pools).
    pub target: Option<String>,
    /// RFC 3339, UTC.
    pub armed_at: String,
    pub method_count: usize,
    pub methods: Vec<String>,
    /// Methods the target matched that cannot be instrumented, with the reason.
    pub skipped: Vec<SkippedMethod>,
    /// Calls seen (pool faults: executors matched).
    pub calls: i64,
    /// Injections (pool faults: exhaustions).
    pub injected: i64,
    pub time_left_ms: Option<u64>,
    /// Method faults: `entry` or `exit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// The fault's condition, as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// Return faults: the value returned (`null` for a void method, whose body is skipped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    /// Pool faults only: how they are aimed and what they found.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<PoolStatus>,
    /// Faults aimed by a preset: which, with what keys, and what it reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<PresetStatus>,
    /// Respond faults: the status answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Resource faults: their settings and what they hold now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceStatus>,
}

/// A resource fault's settings (as written) and its current figures (heap held and in use,
/// busy threads and their measured load, threads held...), as its Java side measures them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceStatus {
    /// The fault as people read it: `heap fill 0.8`, `cpu 2 cores at load 0.5`.
    pub about: String,
    pub settings: serde_json::Map<String, Value>,
    pub figures: Value,
}

/// A preset fault's aim and reach.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PresetStatus {
    pub name: String,
    /// The preset's keys as given (normalized), in the preset's order; a JSON object.
    #[serde(rename = "match", with = "ordered_pairs")]
    pub keys: Vec<(String, String)>,
    /// The implementation classes its hooks reached (drivers, containers, clients); empty
    /// while it waits for the technology's classes to load.
    pub classes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkippedMethod {
    pub method: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoolStatus {
    pub pool: Option<String>,
    pub executor: Option<String>,
    pub mode: String,
    /// The executors found and their state, as `Pools.describe` lists them.
    pub pools: Vec<Value>,
}

impl FaultStatus {
    /// What the fault is aimed at, for people: its target, or `pool GLOB executor PATTERN`.
    pub fn aim(&self) -> String {
        if let Some(resource) = &self.resource {
            return resource.about.clone();
        }
        match (&self.target, &self.pool, &self.preset) {
            (Some(target), _, _) => target.clone(),
            (None, Some(pool), _) => pool_aim(pool.pool.as_deref(), pool.executor.as_deref()),
            (None, None, Some(preset)) => preset_aim(&preset.name, &preset.keys),
            (None, None, None) => String::new(),
        }
    }
}

/// Key-value pairs as a JSON object, in their order.
mod ordered_pairs {
    use serde::ser::SerializeMap;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(pairs: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(pairs.len()))?;
        for (k, v) in pairs {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
        let map = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
        Ok(map.into_iter().map(|(k, v)| (k, v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))).collect())
    }
}

/// `preset jdbc sql="^update orders" operation=update`, as people read a preset fault's aim.
pub fn preset_aim(name: &str, keys: &[(String, String)]) -> String {
    let mut out = format!("preset {name}");
    for (key, value) in keys {
        if value.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:*".contains(c)) {
            out.push_str(&format!(" {key}={value}"));
        } else if (value.contains('\\') || value.contains('"')) && !value.contains('\'') {
            // As a TOML literal string: a regular expression reads as written.
            out.push_str(&format!(" {key}='{value}'"));
        } else {
            out.push_str(&format!(" {key}={value:?}"));
        }
    }
    out
}

/// `pool GLOB`, `executor PATTERN`, or both, as people read how a pool fault is aimed.
pub fn pool_aim(pool: Option<&str>, executor: Option<&str>) -> String {
    [pool.map(|p| format!("pool {p}")), executor.map(|e| format!("executor {e}"))]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Events {
    /// The cursor: events after this sequence number (0: the oldest still held).
    #[serde(default)]
    pub since: u64,
    /// Only the events of this fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventsReply {
    /// JSON Lines, as in the events file, oldest first.
    pub events: Vec<String>,
    /// The cursor for the next request.
    pub next: u64,
    pub dropped: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Counters {
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountersReply {
    pub calls: i64,
    pub injected: i64,
}

/// Any reply, as the agent sends it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Reply {
    Pong(Pong),
    Arm(ArmReply),
    Preview(PreviewReply),
    Stop(StopReply),
    Status(StatusReply),
    Events(EventsReply),
    Counters(CountersReply),
}

/// The reply line for a result: `{"ok":true,...}` or `{"ok":false,"error":"..."}`.
pub fn reply_line<T: Serialize>(result: &Result<T, String>) -> String {
    #[derive(Serialize)]
    struct Ok<'a, T> {
        ok: bool,
        #[serde(flatten)]
        reply: &'a T,
    }
    #[derive(Serialize)]
    struct Refused<'a> {
        ok: bool,
        error: &'a str,
    }
    // Writing two plain fields cannot fail.
    let refused = |error: &str| serde_json::to_string(&Refused { ok: false, error }).unwrap_or_default();
    match result {
        Ok(reply) => serde_json::to_string(&Ok { ok: true, reply })
            .unwrap_or_else(|e| refused(&format!("the agent could not write its reply: {e}"))),
        Err(error) => refused(error),
    }
}

/// Why a reply line did not give the reply asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplyError {
    /// The agent refused the request; its reason, for people.
    Refused(String),
    /// The line is not a reply of the expected shape.
    Malformed(String),
}

impl std::fmt::Display for ReplyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplyError::Refused(why) => f.write_str(why),
            ReplyError::Malformed(why) => write!(f, "malformed reply from the agent: {why}"),
        }
    }
}

impl std::error::Error for ReplyError {}

/// Reads a reply line as `T`, or the agent's refusal.
pub fn parse_reply<T: DeserializeOwned>(line: &str) -> Result<T, ReplyError> {
    let value: Value = serde_json::from_str(line).map_err(|e| ReplyError::Malformed(format!("{e}: {line}")))?;
    if value["ok"].as_bool() != Some(true) {
        let why = value["error"].as_str().unwrap_or("the agent refused the request");
        return Err(ReplyError::Refused(why.to_string()));
    }
    serde_json::from_value(value).map_err(|e| ReplyError::Malformed(format!("{e}: {line}")))
}

/// The request line for a request.
pub fn request_line(request: &Request) -> String {
    // A request of plain strings, numbers and lists always serializes.
    serde_json::to_string(request).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_carry_their_op_and_read_back() {
        let arm = Request::Arm(Arm {
            source: ScenarioSource::Text { scenario: "[[fault]]\n".into(), origin: "command line".into() },
            default_duration_ms: Some(600_000),
            scope: None,
            id_suffix: None,
        });
        let line = request_line(&arm);
        assert_eq!(
            line,
            r#"{"op":"arm","scenario":"[[fault]]\n","origin":"command line","default_duration_ms":600000}"#
        );
        assert_eq!(serde_json::from_str::<Request>(&line).unwrap(), arm);
        let file: Request = serde_json::from_str(r#"{"op":"arm","file":"/etc/f.toml","scope":"t1"}"#).unwrap();
        match file {
            Request::Arm(Arm { source: ScenarioSource::File { file }, scope, .. }) => {
                assert_eq!(file, PathBuf::from("/etc/f.toml"));
                assert_eq!(scope.as_deref(), Some("t1"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(request_line(&Request::Status(Status {})), r#"{"op":"status"}"#);
        assert_eq!(
            request_line(&Stop { ids: vec!["a".into()], ignore_missing: false }.into()),
            r#"{"op":"stop","ids":["a"]}"#
        );
        let events: Request = serde_json::from_str(r#"{"op":"events"}"#).unwrap();
        assert_eq!(events, Request::Events(Events { since: 0, fault: None }));
    }

    #[test]
    fn an_unknown_op_is_an_error_that_names_it() {
        let e = serde_json::from_str::<Request>(r#"{"op":"explode"}"#).unwrap_err().to_string();
        assert!(e.contains("explode"), "{e}");
    }

    #[test]
    fn replies_are_ok_with_their_fields_or_an_error() {
        let line = reply_line(&Ok(StopReply { removed: vec!["f1".into()] }));
        assert_eq!(line, r#"{"ok":true,"removed":["f1"]}"#);
        assert_eq!(parse_reply::<StopReply>(&line).unwrap().removed, vec!["f1".to_string()]);
        let refused = reply_line::<StopReply>(&Err("no fault with id 'x' is armed".into()));
        assert_eq!(refused, r#"{"ok":false,"error":"no fault with id 'x' is armed"}"#);
        assert_eq!(
            parse_reply::<StopReply>(&refused).unwrap_err(),
            ReplyError::Refused("no fault with id 'x' is armed".into())
        );
        assert!(matches!(parse_reply::<StopReply>("{\"ok\":true}"), Err(ReplyError::Malformed(_))));
    }

    #[test]
    fn pool_fields_appear_in_status_for_pool_faults_only() {
        let method = FaultStatus {
            id: "f1".into(),
            kind: "latency".into(),
            target: Some("com.acme.Repo#save".into()),
            armed_at: "2026-12-03T10:00:00Z".into(),
            method_count: 1,
            methods: vec!["com.acme.Repo#save()V".into()],
            skipped: vec![],
            calls: 3,
            injected: 2,
            time_left_ms: None,
            at: Some("entry".into()),
            when: None,
            value: None,
            pool: None,
            preset: None,
            status: None,
            resource: None,
        };
        let pool = FaultStatus {
            id: "p".into(),
            kind: "pool".into(),
            target: None,
            at: None,
            pool: Some(PoolStatus {
                pool: Some("orders-*".into()),
                executor: None,
                mode: "saturate".into(),
                pools: vec![serde_json::json!({"identity": "E@1"})],
            }),
            ..method.clone()
        };
        let text = serde_json::to_string(&method).unwrap();
        assert!(!text.contains("\"mode\"") && text.contains("\"target\":\"com.acme.Repo#save\""), "{text}");
        assert_eq!(serde_json::from_str::<FaultStatus>(&text).unwrap(), method);
        let text = serde_json::to_string(&pool).unwrap();
        assert!(text.contains("\"target\":null") && text.contains("\"mode\":\"saturate\""), "{text}");
        assert_eq!(serde_json::from_str::<FaultStatus>(&text).unwrap(), pool);
        assert_eq!(pool.aim(), "pool orders-*");
        assert_eq!(method.aim(), "com.acme.Repo#save");
    }

    #[test]
    fn the_socket_is_found_through_the_jvms_root() {
        assert_eq!(socket_path(42), PathBuf::from("/tmp/.faultline-42.sock"));
        assert_eq!(
            socket_path_under(Path::new("/proc/4242/root"), 42),
            PathBuf::from("/proc/4242/root/tmp/.faultline-42.sock")
        );
    }
}
