//! The open-loop request generator behind `[load]` and the steady-state probe.
//!
//! Requests leave on a fixed schedule whether or not earlier ones have returned, and each
//! latency is measured from the request's *intended* send time: when the server stalls, or
//! this process falls behind, the wait shows up in the figures as the service's users would
//! feel it (no coordinated omission). Every request has a deadline of its intended time plus
//! the timeout, so the requests in flight are bounded by rate × timeout.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper::Uri;
use tokio::sync::{mpsc, oneshot, watch};
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

/// One request outcome, with its intended send time, when it left and when the outcome was
/// known.
#[derive(Debug, Clone)]
pub struct Shot {
    pub source: Source,
    pub intended: Instant,
    /// When the request left; `sent - intended` is how far the generator itself fell behind
    /// (a loaded machine), which every latency counted from `intended` includes.
    pub sent: Instant,
    pub done: Instant,
    pub outcome: Outcome,
}

/// Sends a GET to `uri` every `period` from `start` until `until` (or until `stop` turns
/// true), each on its own task, and reports every outcome on `tx`. Returns once the last
/// request has been sent; outcomes keep arriving until the last deadline.
///
/// The schedule is kept by a thread of its own that sleeps with the operating system's
/// timer: tokio's timer rounds every deadline up to its next millisecond tick, and since a
/// latency counts from the intended send time, that rounding (0 to 1 ms, the same for every
/// request of a run) would be added to every figure of the run. With the thread, what the
/// generator adds to a figure is about 0.12 ms at the median (the benchmark suite's row 13).
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
    stop: watch::Receiver<bool>,
) {
    let runtime = tokio::runtime::Handle::current();
    let cancel = Cancel::default();
    let cancelled = cancel.0.clone();
    let (sent_tx, sent_rx) = oneshot::channel::<()>();
    let pacer = std::thread::Builder::new().name(format!("faultline-{}", source.as_str())).spawn(move || {
        // Linux lets a sleeping thread wake up to 50 µs late by default (its timer slack);
        // this thread's wake-ups are send times.
        if let Err(e) = nix::sys::prctl::set_timerslack(1) {
            tracing::debug!("cannot shorten the pacer's timer slack: {e}");
        }
        let ended = || *stop.borrow() || cancelled.load(Ordering::Relaxed);
        // Bounded in count as well as in time.
        let most = ((until - start).as_secs_f64() / period.as_secs_f64()).ceil() as u64 + 1;
        for n in 0..most {
            let intended = start + period.mul_f64(n as f64);
            if intended >= until || !sleep_until(intended.into_std(), &ended) {
                break;
            }
            let (client, uri, tx) = (client.clone(), uri.clone(), tx.clone());
            runtime.spawn(async move {
                let sent = Instant::now();
                let outcome = get(&client, &uri, intended + timeout).await;
                let _ = tx.send(Shot { source, intended, sent, done: Instant::now(), outcome });
            });
        }
        drop(sent_tx);
    });
    match pacer {
        // Err only when the pacer ended: the sender is dropped, never sent.
        Ok(_) => {
            let _ = sent_rx.await;
        }
        Err(e) => tracing::error!(source = source.as_str(), "cannot start the thread that sends requests: {e}"),
    }
    drop(cancel);
}

/// Set when the generator's future is dropped (its task aborted), so the pacer thread stops.
#[derive(Default)]
struct Cancel(Arc<AtomicBool>);

impl Drop for Cancel {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Sleeps until `deadline`, in slices short enough to notice `ended` soon; false if it did.
fn sleep_until(deadline: std::time::Instant, ended: &impl Fn() -> bool) -> bool {
    const SLICE: Duration = Duration::from_millis(10);
    loop {
        if ended() {
            return false;
        }
        let now = std::time::Instant::now();
        if now >= deadline {
            return true;
        }
        std::thread::sleep((deadline - now).min(SLICE));
    }
}
