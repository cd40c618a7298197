//! The steady-state probe: a GET of `[steady_state] url` every `every`, sent on schedule like
//! the load (a probe that waited for a stalled server would stop measuring it).

use std::time::Duration;

use hyper::Uri;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::http::HttpClient;
use super::load::{open_loop, Shot, Source};

/// Probes `uri` every `every` between `start` and `until`; outcomes go to `tx` as
/// [`Source::Probe`].
#[allow(clippy::too_many_arguments)]
pub async fn run(
    client: HttpClient,
    uri: Uri,
    every: Duration,
    timeout: Duration,
    start: Instant,
    until: Instant,
    tx: mpsc::UnboundedSender<Shot>,
    stop: watch::Receiver<bool>,
) {
    open_loop(Source::Probe, client, uri, every, timeout, start, until, tx, stop).await
}
