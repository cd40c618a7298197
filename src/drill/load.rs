//! The open-loop request generator behind `[load]` and the steady-state probe.
//!
//! Requests leave on a fixed schedule whether or not earlier ones have returned, and each
//! latency is measured from the request's *intended* send time: when the server stalls, or
//! this process falls behind, the wait shows up in the figures as the service's users would
//! feel it (no coordinated omission). Every request has a deadline of its intended time plus
//! the timeout, so the requests in flight are bounded by rate × timeout.

use std::time::Duration;

use hyper::Uri;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

pub use super::http::Outcome;
use super::http::{get, HttpClient};

/// Which generator an outcome came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Load,
    Probe,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Load => "load",
            Source::Probe => "probe",
        }
    }
}

/// One request outcome, with its intended send time and when the outcome was known.
#[derive(Debug, Clone)]
pub struct Shot {
    pub source: Source,
    pub intended: Instant,
    pub done: Instant,
    pub outcome: Outcome,
}

/// Sends a GET to `uri` every `period` from `start` until `until` (or until `stop` turns
/// true), each on its own task, and reports every outcome on `tx`. Returns once the last
/// request has been sent; outcomes keep arriving until the last deadline.
#[allow(clippy::too_many_arguments)]
pub async fn open_loop(
    source: Source,
    client: HttpClient,
    uri: Uri,
    period: Duration,
    timeout: Duration,
    start: Instant,
    until: Instant,
    tx: mpsc::UnboundedSender<Shot>,
    mut stop: watch::Receiver<bool>,
) {
    // Bounded in count as well as in time.
    let most = ((until - start).as_secs_f64() / period.as_secs_f64()).ceil() as u64 + 1;
    for n in 0..most {
        let intended = start + period.mul_f64(n as f64);
        if intended >= until || *stop.borrow() {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(intended) => {}
            _ = stop.changed() => break,
        }
        let (client, uri, tx) = (client.clone(), uri.clone(), tx.clone());
        tokio::spawn(async move {
            let outcome = get(&client, &uri, intended + timeout).await;
            let _ = tx.send(Shot { source, intended, done: Instant::now(), outcome });
        });
    }
}
