//! Alarms read from a team's real monitoring: a Prometheus instant query, or an alert in
//! Alertmanager. Both are read over their documented HTTP APIs (`/api/v1/query`,
//! `/api/v2/alerts`); an answer that is not what those APIs give is an error that says so,
//! never "not firing".

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Context, Result};
use hyper::Uri;
use serde_json::Value;
use tokio::time::Instant;

use super::http::{fetch, Fetch, HttpClient};

/// Whether `query` fires now: a non-empty vector or matrix (how Prometheus' alerting rules
/// count a result: `up == 0` returns series whose value is 0 and fires), or a scalar above 0.
pub async fn prometheus_firing(client: &HttpClient, base: &str, query: &str, deadline: Instant) -> Result<bool> {
    let encoded: String = form_urlencoded::Serializer::new(String::new()).append_pair("query", query).finish();
    let url = format!("{base}/api/v1/query?{encoded}");
    let body = get_json(client, &url, "Prometheus", deadline).await?;
    if body["status"] != "success" {
        bail!(
            "Prometheus {base} rejected the query {query:?}: {}",
            body["error"].as_str().unwrap_or("no reason given")
        );
    }
    let data = &body["data"];
    match data["resultType"].as_str() {
        Some("vector" | "matrix") => {
            let result =
                data["result"].as_array().ok_or_else(|| anyhow!("Prometheus {base}: a result without series"))?;
            Ok(!result.is_empty())
        }
        Some("scalar") => {
            let value = data["result"][1]
                .as_str()
                .and_then(|v| v.parse::<f64>().ok())
                .ok_or_else(|| anyhow!("Prometheus {base}: a scalar result without a number"))?;
            Ok(value > 0.0)
        }
        Some(other) => bail!(
            "Prometheus {base}: the query {query:?} returns a {other}; an alarm needs a vector (a comparison such as \
             `... > 0.5`) or a number"
        ),
        None => bail!("Prometheus {base}: the answer is not a query result (is this Prometheus' base URL?)"),
    }
}

/// Whether an active alert (not silenced, not inhibited) named `alert` with `labels` is in
/// Alertmanager now.
pub async fn alertmanager_firing(
    client: &HttpClient,
    base: &str,
    alert: &str,
    labels: &BTreeMap<String, String>,
    deadline: Instant,
) -> Result<bool> {
    let query = {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("active", "true").append_pair("silenced", "false").append_pair("inhibited", "false");
        query.append_pair("filter", &matcher("alertname", alert));
        for (name, value) in labels {
            query.append_pair("filter", &matcher(name, value));
        }
        query.finish()
    };
    let url = format!("{base}/api/v2/alerts?{query}");
    let body = get_json(client, &url, "Alertmanager", deadline).await?;
    let alerts = body.as_array().ok_or_else(|| {
        anyhow!("Alertmanager {base}: the answer is not a list of alerts (is this Alertmanager's base URL?)")
    })?;
    // The filter is Alertmanager's; checked again here so that a server that ignores it
    // cannot make every alert count.
    Ok(alerts.iter().any(|a| {
        let matches = |name: &str, value: &str| a["labels"][name].as_str() == Some(value);
        a["status"]["state"] == "active" && matches("alertname", alert) && labels.iter().all(|(k, v)| matches(k, v))
    }))
}

/// An equality matcher, `name="value"`, with the value quoted as Alertmanager parses it.
fn matcher(name: &str, value: &str) -> String {
    let quoted = value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
    format!("{name}=\"{quoted}\"")
}

async fn get_json(client: &HttpClient, url: &str, server: &str, deadline: Instant) -> Result<Value> {
    let uri: Uri = url.parse().with_context(|| format!("{server} URL {url}"))?;
    let shown = url.split('?').next().unwrap_or(url);
    let (status, body) = fetch(client, &uri, deadline).await.map_err(|e| match e {
        Fetch::Timeout => anyhow!("{server} at {shown} did not answer in time"),
        Fetch::Failed(why) => anyhow!("{server} at {shown} cannot be reached: {why}"),
    })?;
    let parsed: Result<Value, _> = serde_json::from_slice(&body);
    match (status, parsed) {
        (200, Ok(v)) => Ok(v),
        // Prometheus answers a bad query with 400 or 422 and a JSON error: reported by the caller.
        (400 | 422, Ok(v)) if v["status"] == "error" => Ok(v),
        (code, _) => {
            let text = String::from_utf8_lossy(&body);
            let cut: String = text.chars().take(200).collect();
            bail!("{server} at {shown} answered HTTP {code}: {}", cut.trim())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matchers_quote_values() {
        assert_eq!(matcher("service", "checkout"), r#"service="checkout""#);
        assert_eq!(matcher("a", r#"say "hi"\"#), r#"a="say \"hi\"\\""#);
    }
}
