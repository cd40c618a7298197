//! The open-loop request generator behind `[load]` and the steady-state probe.
//!
//! Requests leave on a fixed schedule whether or not earlier ones have returned, and each
//! latency is measured from the request's *intended* send time: when the server stalls, or
//! this process falls behind, the wait shows up in the figures as the service's users would
//! feel it (no coordinated omission). Every request has a deadline of its intended time plus
//! the timeout, so the requests in flight are bounded by rate × timeout.

use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::{Request, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

pub type HttpClient = Client<HttpConnector, Empty<&'static [u8]>>;

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

/// How one request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Status(u16),
    Timeout,
    /// Connection refused, reset, or a malformed response.
    Failed(String),
}

impl Outcome {
    /// The hypothesis counts 2xx as success and everything else (non-2xx, timeout, refused) as failure.
    pub fn ok(&self) -> bool {
        matches!(self, Outcome::Status(code) if (200..300).contains(code))
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

/// A keep-alive HTTP/1.1 client for loopback: no TLS, no proxy, Nagle off.
pub fn http_client() -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(Duration::from_secs(2)));
    Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(30)).build(connector)
}

/// One GET, ended at `deadline`; the body is read to the end so the connection is reused.
pub async fn get(client: &HttpClient, uri: &Uri, deadline: Instant) -> Outcome {
    let request = match Request::get(uri.clone()).body(Empty::new()) {
        Ok(r) => r,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let exchange = async {
        let response = client.request(request).await.map_err(|e| describe(&e))?;
        let status = response.status().as_u16();
        response.into_body().collect().await.map_err(|e| e.to_string())?;
        Ok::<u16, String>(status)
    };
    match tokio::time::timeout_at(deadline, exchange).await {
        Err(_) => Outcome::Timeout,
        Ok(Err(e)) => Outcome::Failed(e),
        Ok(Ok(status)) => Outcome::Status(status),
    }
}

/// The innermost cause: "connection refused" rather than "client error (Connect)".
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut inner: &dyn std::error::Error = e;
    while let Some(source) = inner.source() {
        inner = source;
    }
    inner.to_string()
}

/// Sends a GET to `uri` every `period` from `start` until `until` (or until `stop` turns
/// true), each on its own task, and reports every outcome on `tx`. Returns once the last
/// request has been sent; outcomes keep arriving until the last deadline.
#[allow(clippy::too_many_arguments)]
pub async fn open_loop(
    source: Source,
    uri: Uri,
    period: Duration,
    timeout: Duration,
    start: Instant,
    until: Instant,
    tx: mpsc::UnboundedSender<Shot>,
    mut stop: watch::Receiver<bool>,
) {
    let client = http_client();
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
