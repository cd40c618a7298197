//! The one dispatcher of protocol requests: the CLI's control channel and the Java API's
//! `execute` both answer through it, so a request means the same whatever the door.

use std::time::Duration;

use faultline_model::protocol::{
    Arm, ArmReply, Events, EventsReply, Pong, PreviewReply, Reply, Request, ScenarioSource, StopReply,
};
use faultline_model::scenario::Scenario;
use jni::JNIEnv;

use super::{Agent, Removal};

impl Agent {
    /// Answers the requests that need no Java (`ping`, `events`); None for the others.
    pub fn answer_without_java(&self, request: &Request) -> Option<Reply> {
        match request {
            Request::Ping(_) => Some(self.pong()),
            Request::Events(events) => Some(self.events_after(events)),
            _ => None,
        }
    }

    /// Answers one request on a thread attached to the JVM (callers hold the guard).
    pub fn answer(&'static self, env: &mut JNIEnv, request: Request) -> Result<Reply, String> {
        match request {
            Request::Ping(_) => Ok(self.pong()),
            Request::Events(events) => Ok(self.events_after(&events)),
            Request::Arm(arm) => {
                let default = arm.default_duration_ms.map(Duration::from_millis);
                let scenario = scenario_to_arm(arm)?;
                let armed = self.arm(env, &scenario, default, false)?;
                Ok(Reply::Arm(ArmReply { armed }))
            }
            Request::Preview(preview) => {
                let scenario = Scenario::parse(&preview.scenario, &preview.origin).map_err(|e| e.to_string())?;
                Ok(Reply::Preview(PreviewReply { faults: self.preview_pools(env, &scenario)? }))
            }
            Request::Stop(stop) => {
                let removed = self.stop(env, &stop.ids, Removal::Stopped, stop.ignore_missing)?;
                Ok(Reply::Stop(StopReply { removed }))
            }
            Request::Status(_) => self.status(env).map(Reply::Status),
            Request::Counters(counters) => self.counters(env, &counters.id).map(Reply::Counters),
        }
    }

    fn pong(&self) -> Reply {
        Reply::Pong(Pong { pid: std::process::id(), version: env!("CARGO_PKG_VERSION").into() })
    }

    fn events_after(&self, request: &Events) -> Reply {
        let (events, next) = self.events.since(request.since, request.fault.as_deref());
        Reply::Events(EventsReply { events, next, dropped: self.events.dropped() })
    }
}

/// The scenario an arm request names, with its test scope and id suffix applied.
fn scenario_to_arm(arm: Arm) -> Result<Scenario, String> {
    let scenario = match &arm.source {
        ScenarioSource::Text { scenario, origin } => Scenario::parse(scenario, origin),
        ScenarioSource::File { file } => Scenario::load(file),
    };
    let mut scenario = scenario.map_err(|e| e.to_string())?;
    if let Some(scope) = &arm.scope {
        scenario = scenario.scoped_to(scope).map_err(|e| e.to_string())?;
    }
    if let Some(suffix) = &arm.id_suffix {
        scenario = scenario.with_id_suffix(suffix).map_err(|e| e.to_string())?;
    }
    Ok(scenario)
}
