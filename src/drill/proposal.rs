//! The drill proposal: what a team reviews and signs before a drill runs, written by `drill
//! check --out DIR` as `proposal.json` (the record `drill run --approved` enforces) and
//! `proposal.html` (self-contained, for people). Its fingerprint is a SHA-256 of the drill
//! file and of the blast radius as measured, so an approval covers exactly that plan hitting
//! exactly those methods.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::time::SystemTime;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::journal;
use super::model::{Drill, Trigger};
use super::report::{esc, page_head};
use faultline_model::duration::format_duration;
use faultline_model::scenario::FaultKind;

pub const JSON: &str = "proposal.json";
pub const HTML: &str = "proposal.html";
/// What `proposal.json` says it is, so that `--approved` refuses any other JSON.
const KIND: &str = "faultline drill proposal";

/// Per fault id, what it would hit: methods (`Class#method(desc)`), pools (`class (first
/// worker)`) or `the JVM as a whole`; pids are left out, so a restarted service keeps its radius.
pub type Radius = BTreeMap<String, BTreeSet<String>>;

/// The radius of `drill check`'s phases (its JSON, as printed with `--json`).
pub fn radius(phases: &[Value]) -> Radius {
    let mut radius = Radius::new();
    for phase in phases {
        for fault in phase["faults"].as_array().into_iter().flatten() {
            let hits = radius.entry(fault["id"].as_str().unwrap_or("").to_string()).or_default();
            for jvm in fault["jvms"].as_array().into_iter().flatten() {
                if let Some(resource) = jvm["resource"].as_str() {
                    hits.insert(format!("the JVM as a whole ({resource})"));
                }
                for m in jvm["methods"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                    hits.insert(m.to_string());
                }
                for p in jvm["pools"].as_array().into_iter().flatten() {
                    let first = p["sample"][0].as_str().unwrap_or("no worker yet");
                    hits.insert(format!("{} ({first})", p["class"].as_str().unwrap_or("executor")));
                }
            }
        }
    }
    radius
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The fingerprint of a drill file's text and its blast radius.
pub fn fingerprint(text: &str, radius: &Radius) -> String {
    let canonical = serde_json::to_string(radius).unwrap_or_default();
    sha256_hex(format!("{text}\n-- blast radius --\n{canonical}").as_bytes())
}

/// What each kind of fault risks, in words, for the reviewers.
fn risk(kind: &FaultKind) -> &'static str {
    match kind.name() {
        "latency" => "Calls of the hit methods wait: threads are held for the delay, so pools and connection limits fill faster under load.",
        "exception" => "Calls of the hit methods fail with the exception: whatever the caller does with a failure (retry, fallback, error to the user) happens for real, including writes it abandons.",
        "hang" => "Calls block until the fault is removed (or its lease ends): every thread that enters is held, and a pool whose threads all hang stops serving.",
        "return" => "The hit methods return the given value without running (or instead of their result): callers act on a made-up answer, and skipped side effects do not happen.",
        "respond" => "Requests are answered with the given status by faultline; the application never sees them.",
        "pool" => "Every worker of the matched executors is occupied and their queues filled: real tasks wait or are rejected until the fault is removed.",
        "heap" => "The heap is filled to the given share: collections get more frequent and longer; the fill steps back under a GC storm but allocation-heavy code slows.",
        "cpu" => "Busy threads take the given cores: everything else on the machine, not only this JVM, gets less CPU.",
        "threads" => "Extra threads are started and held: memory and the process's thread limit are used up to the count.",
        "gc" => "Full collections are forced on a schedule: every one pauses the application.",
        "metaspace" => "Classes are defined to fill metaspace: class loading elsewhere in the JVM may fail with OutOfMemoryError: Metaspace near the limit.",
        "direct" => "Direct memory is held: NIO buffers elsewhere in the JVM may fail to allocate near the limit.",
        "exit" => "The JVM ends: the service is down until something restarts it. Nothing can be removed afterwards.",
        _ => "See the fault's kind in the documentation.",
    }
}

/// Targets as found, schedule with the blast radius, hypothesis, abort criteria, alarms,
/// contingency, risks, window and the fingerprint.
pub fn build(drill: &Drill, targets: &[Value], service: &[Value], alarms: &[Value], phases: &[Value]) -> Value {
    let text = drill.text.as_str();
    let radius = radius(phases);
    let fingerprint = fingerprint(text, &radius);
    let mut risks: BTreeMap<&str, &str> = BTreeMap::new();
    for p in &drill.phases {
        for f in &p.faults.faults {
            risks.insert(f.kind.name(), risk(&f.kind));
        }
    }
    json!({
        "kind": KIND,
        "version": 1,
        "created": journal::rfc3339(SystemTime::now()),
        "host": hostname(),
        "drill_file": drill.origin,
        "drill_sha256": sha256_hex(text.as_bytes()),
        "drill_text": text,
        "plan": drill.to_json(),
        "targets": targets,
        "service": service,
        "alarms": alarms,
        "phases": phases,
        "blast_radius": radius,
        "risks": risks.iter().map(|(k, r)| json!({"kind": k, "risk": r})).collect::<Vec<_>>(),
        "fingerprint": fingerprint,
    })
}

fn hostname() -> String {
    nix::unistd::gethostname().ok().and_then(|h| h.into_string().ok()).unwrap_or_default()
}

/// Writes `proposal.json` and `proposal.html` into `dir`.
pub fn write(dir: &Path, proposal: &Value) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let json_text = serde_json::to_string_pretty(proposal).context("writing the proposal")?;
    std::fs::write(dir.join(JSON), json_text + "\n")
        .with_context(|| format!("writing {}", dir.join(JSON).display()))?;
    std::fs::write(dir.join(HTML), html(proposal)).with_context(|| format!("writing {}", dir.join(HTML).display()))?;
    Ok(())
}

/// Reads a proposal written by `drill check --out`; anything else is refused.
pub fn load(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading the proposal {}", path.display()))?;
    let value: Value = serde_json::from_str(&text).with_context(|| {
        format!("{} is not a proposal: not JSON (write one with `drill check DRILL --out DIR`)", path.display())
    })?;
    if value["kind"] != KIND || value["fingerprint"].as_str().is_none() || value["drill_text"].as_str().is_none() {
        bail!(
            "{} is not a drill proposal (no \"kind\": \"{KIND}\" with a fingerprint): write one with `drill check DRILL --out DIR`",
            path.display()
        );
    }
    Ok(value)
}

/// The drill file as it is now must be the approved one, line for line: the differing lines when not.
pub fn file_unchanged(proposal: &Value, text: &str) -> Result<()> {
    let approved = proposal["drill_text"].as_str().unwrap_or("");
    if approved == text {
        return Ok(());
    }
    let diff = similar::TextDiff::from_lines(approved, text);
    let mut lines = Vec::new();
    for change in diff.iter_all_changes() {
        let sign = match change.tag() {
            similar::ChangeTag::Delete => "-",
            similar::ChangeTag::Insert => "+",
            similar::ChangeTag::Equal => continue,
        };
        lines.push(format!("  {sign} {}", change.value().trim_end()));
    }
    let shown = lines.len().min(12);
    let more = if lines.len() > shown {
        format!("\n  ... and {} more changed lines", lines.len() - shown)
    } else {
        String::new()
    };
    bail!(
        "the drill file changed since the proposal was approved (approved {} from {}):\n{}{more}\n\
         review the change and write a new proposal with `drill check DRILL --out DIR`",
        proposal["created"].as_str().unwrap_or("?"),
        proposal["drill_file"].as_str().unwrap_or("?"),
        lines[..shown].join("\n")
    )
}

/// The blast radius measured now must not reach beyond the approved one.
pub fn radius_within(proposal: &Value, now: &Radius) -> Result<()> {
    let approved: Radius = serde_json::from_value(proposal["blast_radius"].clone()).unwrap_or_default();
    let mut grew = Vec::new();
    for (id, hits) in now {
        let before = approved.get(id).cloned().unwrap_or_default();
        let new: Vec<&String> = hits.difference(&before).collect();
        if !new.is_empty() {
            let shown: Vec<&str> = new.iter().take(5).map(|s| s.as_str()).collect();
            let more = if new.len() > 5 { format!(" and {} more", new.len() - 5) } else { String::new() };
            grew.push(format!(
                "  fault '{id}' now hits {} more than approved ({} then, {} now): {}{more}",
                new.len(),
                before.len(),
                hits.len(),
                shown.join(", ")
            ));
        }
    }
    if grew.is_empty() {
        return Ok(());
    }
    bail!(
        "the blast radius grew since the proposal was approved:\n{}\nreview it and write a new proposal with `drill check DRILL --out DIR`",
        grew.join("\n")
    )
}

fn html(p: &Value) -> String {
    let plan = &p["plan"];
    let name = esc(plan["name"].as_str().unwrap_or(""));
    let mut h = page_head(&format!("Drill proposal: {name}"), "#0969da");
    let _ = write!(
        h,
        "<h1>Proposal: {name}</h1><p class=\"muted\">drill file {} &middot; written {} on {} &middot; fingerprint <code>{}</code></p>",
        esc(p["drill_file"].as_str().unwrap_or("")),
        esc(p["created"].as_str().unwrap_or("")),
        esc(p["host"].as_str().unwrap_or("")),
        esc(p["fingerprint"].as_str().unwrap_or(""))
    );
    if let Some(o) = plan["objective"].as_str() {
        let _ = write!(h, "<p><b>Objective.</b> {}</p>", esc(o));
    }
    h.push_str("<h2>Targets</h2><table><tr><th>as written</th><th>pid</th><th>main class</th><th>JDK</th></tr>");
    for t in p["targets"].as_array().into_iter().flatten() {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"num\">{}</td><td><code>{}</code></td><td>{}</td></tr>",
            esc(t["name"].as_str().unwrap_or("")),
            t["pid"],
            esc(t["main"].as_str().unwrap_or("")),
            esc(t["jdk"].as_str().unwrap_or("?"))
        );
    }
    h.push_str("</table>");

    h.push_str("<h2>Schedule and blast radius</h2><p class=\"muted\">Measured on the live targets: each method fault armed with probability 0 (no call affected) for an instant, its matched methods read and removed; pool faults previewed; resource faults act on each JVM as a whole.</p>");
    h.push_str("<table><tr><th>phase</th><th>duration</th><th>expect</th><th>faults and what each would hit</th></tr>");
    let mut at_ms = 0.0;
    for phase in p["phases"].as_array().into_iter().flatten() {
        let mut faults = String::new();
        for f in phase["faults"].as_array().into_iter().flatten() {
            let id = f["id"].as_str().unwrap_or("");
            let hits = p["blast_radius"][id].as_array().cloned().unwrap_or_default();
            let aim = f["target"].as_str().or(f["pool"].as_str()).unwrap_or("");
            let _ = write!(
                faults,
                "<b>{}</b> {} <code>{}</code> (probability {}): {} hit{}<br>",
                esc(id),
                esc(f["kind"].as_str().unwrap_or("")),
                esc(aim),
                f["probability"],
                hits.len(),
                if hits.len() == 1 { "" } else { "s" }
            );
            for hit in hits.iter().take(20).filter_map(Value::as_str) {
                let _ = write!(faults, "&nbsp;&nbsp;<code>{}</code><br>", esc(hit));
            }
            if hits.len() > 20 {
                let _ = write!(faults, "&nbsp;&nbsp;... and {} more<br>", hits.len() - 20);
            }
            if let Some(w) = f["warning"].as_str() {
                let _ = write!(faults, "<span class=\"bad\">warning: {}</span><br>", esc(w));
            }
        }
        if faults.is_empty() {
            faults.push_str("<span class=\"muted\">none</span>");
        }
        let duration = phase["duration_ms"].as_f64().unwrap_or(0.0);
        let recover = phase["recover_within_ms"].as_f64().map_or(String::new(), |ms| {
            format!("; recover within {}", format_duration(std::time::Duration::from_secs_f64(ms / 1000.0)))
        });
        let _ = write!(
            h,
            "<tr><td>{}<br><span class=\"muted\">from {:.0} s</span></td><td>{:.0} s</td><td>{}{}</td><td>{faults}</td></tr>",
            esc(phase["name"].as_str().unwrap_or("")),
            at_ms / 1000.0,
            duration / 1000.0,
            esc(phase["expect"].as_str().unwrap_or("")),
            esc(&recover)
        );
        at_ms += duration;
    }
    h.push_str("</table>");

    let steady = &plan["steady_state"];
    let mut hypothesis = Vec::new();
    if let Some(x) = steady["max_error_rate"].as_f64() {
        hypothesis.push(format!("error rate &le; {:.2}%", x * 100.0));
    }
    if let Some(x) = steady["max_p99_ms"].as_f64() {
        hypothesis.push(format!("p99 &le; {x:.0} ms"));
    }
    let _ = write!(
        h,
        "<h2>Steady-state hypothesis</h2><p>{} in every {:.1} s window, judged every {:.0} ms{}{}.</p>",
        hypothesis.join(" and "),
        steady["window_ms"].as_f64().unwrap_or(0.0) / 1000.0,
        steady["every_ms"].as_f64().unwrap_or(0.0),
        plan["load"]["url"].as_str().map_or(String::new(), |u| format!(
            ", under open-loop load of {} req/s on <code>{}</code>",
            plan["load"]["rate"],
            esc(u)
        )),
        steady["url"].as_str().map_or(String::new(), |u| format!(", probe <code>{}</code>", esc(u)))
    );
    h.push_str("<h2>Abort criteria</h2>");
    match plan["abort"].as_object() {
        Some(a) => {
            let mut what = Vec::new();
            if let Some(x) = a.get("max_error_rate").and_then(Value::as_f64) {
                what.push(format!("error rate above {:.0}%", x * 100.0));
            }
            if let Some(x) = a.get("max_p99_ms").and_then(Value::as_f64) {
                what.push(format!("p99 above {x:.0} ms"));
            }
            let _ = write!(
                h,
                "<p>Every fault is removed at once when {} for {:.1} s. Every fault also carries a lease of the drill's remaining time plus 10 s, enforced inside the JVM.</p>",
                what.join(" or "),
                a.get("for_ms").and_then(Value::as_f64).unwrap_or(0.0) / 1000.0
            );
        }
        None => h.push_str("<p>No abort criteria: only Ctrl-C, an error or the end of the drill removes the faults early. Every fault carries a lease of the drill's remaining time plus 10 s, enforced inside the JVM.</p>"),
    }
    h.push_str("<h2>Alarms expected</h2>");
    let alarms = plan["alarms"].as_array().cloned().unwrap_or_default();
    if alarms.is_empty() {
        h.push_str("<p>No alarm is under test.</p>");
    } else {
        h.push_str("<table><tr><th>alarm</th><th>reads</th><th>must fire within</th><th>must clear within</th></tr>");
        for a in &alarms {
            let _ = write!(
                h,
                "<tr><td>{}</td><td><code>{}</code></td><td>{:.0} s of the first fault</td><td>{}</td></tr>",
                esc(a["name"].as_str().unwrap_or("")),
                esc(a["check"].as_str().unwrap_or("")),
                a["expect_within_ms"].as_f64().unwrap_or(0.0) / 1000.0,
                a["expect_clear_within_ms"]
                    .as_f64()
                    .map_or("not checked".to_string(), |ms| format!("{:.0} s of the last fault removed", ms / 1000.0))
            );
        }
        h.push_str("</table>");
    }
    h.push_str("<h2>Contingency plan</h2>");
    let steps = plan["contingency"].as_array().cloned().unwrap_or_default();
    if steps.is_empty() {
        h.push_str("<p>No contingency step. Faults are removed on abort, Ctrl-C and errors in any case.</p>");
    } else {
        h.push_str("<table><tr><th>when</th><th>step</th><th>command</th><th>timeout</th></tr>");
        for c in &steps {
            let when = match c["on"].as_str() {
                Some(o) if o == Trigger::Abort.as_str() => "the drill stops early (abort, signal, error)",
                Some(o) if o == Trigger::Breach.as_str() => "a phase that must hold breaks",
                _ => "the drill ends",
            };
            let command: Vec<&str> = c["command"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            let _ = write!(
                h,
                "<tr><td>{when}</td><td>{}</td><td><code>{}</code></td><td>{:.0} s</td></tr>",
                esc(c["name"].as_str().unwrap_or("")),
                esc(&command.join(" ")),
                c["timeout_ms"].as_f64().unwrap_or(0.0) / 1000.0
            );
        }
        h.push_str("</table><p class=\"muted\">Steps run in the order written, after the faults are removed; their exit codes, output and times go to the journal and the report.</p>");
    }
    if let Some(w) = plan["window"].as_object() {
        let mut parts = Vec::new();
        if let Some(t) = w.get("not_before").and_then(Value::as_str) {
            parts.push(format!("not before {}", esc(t)));
        }
        if let Some(t) = w.get("not_after").and_then(Value::as_str) {
            parts.push(format!("not after {}", esc(t)));
        }
        let days: Vec<&str> =
            w.get("days").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
        if !days.is_empty() {
            parts.push(format!("on {}", days.join(", ")));
        }
        if let Some(hours) = w.get("hours").and_then(Value::as_str) {
            parts.push(format!("between {hours}"));
        }
        let _ = write!(
            h,
            "<h2>Authorized window</h2><p>{} ({}). <code>drill run</code> refuses to start a drill that would start or end outside it.</p>",
            parts.join(", "),
            esc(w.get("timezone").and_then(Value::as_str).unwrap_or("UTC"))
        );
    }
    h.push_str("<h2>Risks</h2><table><tr><th>kind</th><th>risk</th></tr>");
    for r in p["risks"].as_array().into_iter().flatten() {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td></tr>",
            esc(r["kind"].as_str().unwrap_or("")),
            esc(r["risk"].as_str().unwrap_or(""))
        );
    }
    h.push_str("</table>");
    let service: Vec<String> = p["service"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            format!(
                "{} <code>{}</code>: {}",
                esc(s["what"].as_str().unwrap_or("")),
                esc(s["url"].as_str().unwrap_or("")),
                esc(s["detail"].as_str().unwrap_or(""))
            )
        })
        .collect();
    if !service.is_empty() {
        let _ = write!(h, "<h2>Service at check time</h2><p>{}</p>", service.join("<br>"));
    }
    let _ = write!(
        h,
        "<h2>Sign-off</h2><p>Approving this proposal approves the drill file as written and the blast radius above: \
         <code>faultline drill run DRILL --approved {JSON}</code> refuses to run if the file changed or a fault would hit \
         more than listed here.</p><table class=\"sign\"><tr><th>fingerprint</th><td><code>{}</code></td></tr>\
         <tr><th>approved by</th><td></td></tr><tr><th>role</th><td></td></tr><tr><th>date</th><td></td></tr>\
         <tr><th>conditions</th><td></td></tr></table></body></html>",
        esc(p["fingerprint"].as_str().unwrap_or(""))
    );
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn radius_of(pairs: &[(&str, &[&str])]) -> Radius {
        pairs.iter().map(|(id, hits)| (id.to_string(), hits.iter().map(|s| s.to_string()).collect())).collect()
    }

    #[test]
    fn the_fingerprint_covers_the_file_and_the_radius() {
        let r = radius_of(&[("slow", &["a.B#c()V"])]);
        let f = fingerprint("name = \"x\"\n", &r);
        assert_eq!(f.len(), 64);
        assert_eq!(f, fingerprint("name = \"x\"\n", &r));
        assert_ne!(f, fingerprint("name = \"y\"\n", &r));
        assert_ne!(f, fingerprint("name = \"x\"\n", &radius_of(&[("slow", &["a.B#c()V", "a.B#d()V"])])));
    }

    #[test]
    fn a_grown_radius_and_a_changed_file_are_refused_with_the_difference() {
        let proposal = json!({"drill_text": "a\nb\n", "created": "t", "drill_file": "d.toml",
                              "blast_radius": radius_of(&[("slow", &["a.B#c()V"])])});
        assert!(file_unchanged(&proposal, "a\nb\n").is_ok());
        let e = file_unchanged(&proposal, "a\nc\n").unwrap_err().to_string();
        assert!(e.contains("- b") && e.contains("+ c"), "{e}");
        assert!(radius_within(&proposal, &radius_of(&[("slow", &["a.B#c()V"])])).is_ok());
        assert!(radius_within(&proposal, &radius_of(&[("slow", &[])])).is_ok());
        let e = radius_within(&proposal, &radius_of(&[("slow", &["a.B#c()V", "a.B#d()V"])])).unwrap_err().to_string();
        assert!(e.contains("fault 'slow' now hits 1 more than approved (1 then, 2 now): a.B#d()V"), "{e}");
    }
}
