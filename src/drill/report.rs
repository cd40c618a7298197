//! The drill report, rendered from the journal alone: `summary.json` (the contract's fields)
//! and one self-contained `report.html` (the timeline is an inline SVG drawn with plotters;
//! nothing is fetched from the network to view it).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use plotters::prelude::*;
use serde_json::Value;

use super::judge::{self, AlarmRun, Facts, Limits, PhaseRun, Sample, Verdict};
use super::{journal, review};

pub const HTML: &str = "report.html";
pub const SUMMARY: &str = "summary.json";

/// Reads `dir/journal.jsonl`, writes `dir/summary.json` and `dir/report.html`, returns the summary.
pub fn render(dir: &Path) -> Result<Value> {
    render_compared(dir, &[])
}

/// The summary of a run, judged again from its journal alone.
pub fn summarize(dir: &Path) -> Result<Value> {
    let records = journal::read(dir)?;
    let facts = facts(&records);
    Ok(judge::summary(&facts, &judge::evaluate(&facts)))
}

/// As [`render`], with a review of this run against `older` runs of the same drill.
pub fn render_compared(dir: &Path, older: &[std::path::PathBuf]) -> Result<Value> {
    let records = journal::read(dir)?;
    let facts = facts(&records);
    let verdict = judge::evaluate(&facts);
    let summary = judge::summary(&facts, &verdict);
    let mut earlier = Vec::new();
    for o in older {
        let s = summarize(o).with_context(|| format!("--compare {}", o.display()))?;
        if s["drill_id"] != summary["drill_id"] {
            anyhow::bail!(
                "--compare {}: a run of drill '{}', not of '{}' (runs are matched by the drill file's name)",
                o.display(),
                s["drill_id"].as_str().unwrap_or("?"),
                summary["drill_id"].as_str().unwrap_or("?")
            );
        }
        earlier.push(s);
    }
    let text = serde_json::to_string_pretty(&summary)? + "\n";
    std::fs::write(dir.join(SUMMARY), text).with_context(|| format!("writing {}", dir.join(SUMMARY).display()))?;
    let review = if earlier.is_empty() { None } else { Some(review::section(&summary, &earlier)) };
    let html = html(&records, &facts, &verdict, &summary, review.as_deref());
    std::fs::write(dir.join(HTML), html).with_context(|| format!("writing {}", dir.join(HTML).display()))?;
    Ok(summary)
}

fn of<'a>(records: &'a [Value], kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    records.iter().filter(move |r| r["type"] == kind)
}

fn t(r: &Value) -> f64 {
    r["t_ms"].as_f64().unwrap_or(0.0)
}

/// The facts the verdict is computed from, read back from the journal.
pub fn facts(records: &[Value]) -> Facts {
    let plan = &records[0]["drill"];
    let steady = &plan["steady_state"];
    let mut phases: Vec<PhaseRun> = plan["phases"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| PhaseRun {
            name: p["name"].as_str().unwrap_or("").to_string(),
            expect: p["expect"].as_str().unwrap_or("steady").to_string(),
            recover_within_ms: p["recover_within_ms"].as_f64(),
            has_faults: p["faults"].as_array().is_some_and(|f| !f.is_empty()),
            ..Default::default()
        })
        .collect();
    for r in of(records, "phase_start") {
        if let Some(p) = r["index"].as_u64().and_then(|i| phases.get_mut(i as usize)) {
            p.start_ms = t(r);
            p.start = r["time"].as_str().unwrap_or("").to_string();
        }
    }
    for r in of(records, "phase_end") {
        if let Some(p) = r["index"].as_u64().and_then(|i| phases.get_mut(i as usize)) {
            p.end_ms = t(r);
            p.end = r["time"].as_str().unwrap_or("").to_string();
        }
    }
    for r in of(records, "fault_armed") {
        if let Some(p) = r["index"].as_u64().and_then(|i| phases.get_mut(i as usize)) {
            p.armed_ms = Some(p.armed_ms.map_or(t(r), |a| a.min(t(r))));
        }
    }
    for r in of(records, "fault_removed") {
        if let Some(p) = r["index"].as_u64().and_then(|i| phases.get_mut(i as usize)) {
            if p.armed_ms.is_some() {
                p.removed_ms = Some(p.removed_ms.map_or(t(r), |a| a.max(t(r))));
            }
        }
    }
    let mut samples: Vec<Sample> = of(records, "request")
        .map(|r| Sample {
            t_ms: t(r),
            latency_ms: r["ms"].as_f64().unwrap_or(0.0),
            ok: r["ok"].as_bool().unwrap_or(false),
        })
        .collect();
    samples.sort_by(|a, b| a.t_ms.total_cmp(&b.t_ms));
    let late_ms = of(records, "request").filter_map(|r| r["late_ms"].as_f64()).collect();
    let phase_at =
        |x: f64| phases.iter().position(|p| !p.start.is_empty() && x >= p.start_ms && x < p.end_ms.max(p.start_ms));
    let injections = of(records, "agent_event")
        .filter(|r| r["event"]["kind"].as_str().is_some_and(faultline_model::scenario::is_injection_event))
        .filter_map(|r| phase_at(t(r)).map(|i| (t(r), i)))
        .collect();
    let alarms = plan["alarms"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, a)| AlarmRun {
            name: a["name"].as_str().unwrap_or("").to_string(),
            expect_within_ms: a["expect_within_ms"].as_f64().unwrap_or(0.0),
            expect_clear_within_ms: a["expect_clear_within_ms"].as_f64(),
            changes: of(records, "alarm")
                .filter(|r| r["index"].as_u64() == Some(i as u64))
                .map(|r| (t(r), r["firing"].as_bool().unwrap_or(false)))
                .collect(),
        })
        .collect();
    let reason = |kind: &str| of(records, kind).next().map(|r| r["reason"].as_str().unwrap_or("").to_string());
    let end_ms = of(records, "end").next().map(t).unwrap_or_else(|| records.iter().map(t).fold(0.0, f64::max));
    Facts {
        name: plan["name"].as_str().unwrap_or("").to_string(),
        step_ms: steady["every_ms"].as_f64().unwrap_or(200.0),
        window_ms: steady["window_ms"].as_f64().unwrap_or(2000.0),
        hypothesis: Limits {
            max_error_rate: steady["max_error_rate"].as_f64(),
            max_p99_ms: steady["max_p99_ms"].as_f64(),
        },
        phases,
        samples,
        late_ms,
        injections,
        alarms,
        aborted: reason("abort"),
        stopped: reason("stop").filter(|r| !r.starts_with("baseline")),
        baseline_failed: of(records, "baseline")
            .find(|r| r["held"] == false)
            .map(|r| format!("the baseline did not hold: {}", r["detail"].as_str().unwrap_or(""))),
        end_ms,
        drill_id: drill_id(plan["origin"].as_str().unwrap_or("")),
        started: records[0]["time"].as_str().unwrap_or("").to_string(),
        approved: of(records, "approval").next().and_then(|r| r["fingerprint"].as_str()).map(str::to_string),
        contingency: of(records, "contingency")
            .map(|r| judge::StepRun {
                name: r["name"].as_str().unwrap_or("").to_string(),
                on: r["on"].as_str().unwrap_or("").to_string(),
                ok: r["ok"] == true,
                timed_out: r["timed_out"] == true,
                exit_code: r["exit_code"].as_i64(),
                duration_ms: r["duration_ms"].as_f64().unwrap_or(0.0),
            })
            .collect(),
    }
}

/// Runs of one drill are matched by its file's name: `drills/slow-payment.toml` is `slow-payment`.
fn drill_id(origin: &str) -> String {
    Path::new(origin).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

/// The start of a self-contained page (the report, the proposal): one style sheet, no network.
pub(crate) fn page_head(title: &str, badge: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title><style>\
body{{font:14px/1.45 system-ui,sans-serif;max-width:1100px;margin:24px auto;padding:0 16px;color:#1f2328}}\
h1{{font-size:22px;margin-bottom:4px}}h2{{font-size:17px;margin-top:28px;border-bottom:1px solid #d0d7de}}\
table{{border-collapse:collapse;margin:8px 0}}td,th{{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}}\
th{{background:#f6f8fa}}.num{{text-align:right}}.ok{{color:#1a7f37}}.bad{{color:#cf222e;font-weight:600}}\
.verdict{{display:inline-block;padding:4px 12px;border-radius:6px;color:#fff;background:{badge};font-weight:700}}\
.figs span{{display:inline-block;margin-right:28px}}.figs b{{font-size:20px}}code{{font-size:12px}}\
.sign td{{height:34px;min-width:260px}}.muted{{color:#57606a}}pre{{background:#f6f8fa;padding:8px;overflow-x:auto;font-size:12px}}</style></head><body>"
    )
}

pub(crate) fn esc(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn opt_s(ms: Option<f64>) -> String {
    ms.map_or("—".to_string(), |x| format!("{:.1} s", x / 1000.0))
}

/// Distinct calls a preset fault's table lists (the most frequent first).
const MATCHED_ROWS: usize = 20;

/// The per-fault figures: (phase, pid, fault) → armed record, injections, catch sites.
struct FaultRow<'a> {
    armed: &'a Value,
    injections: usize,
    by_kind: BTreeMap<String, usize>,
    /// Preset faults: injections by what the call was (the SQL, the request) and kind.
    matched: BTreeMap<(String, String), usize>,
    caught: BTreeMap<String, usize>,
    removed: Option<&'a Value>,
}

fn fault_rows<'a>(records: &'a [Value], facts: &Facts) -> Vec<FaultRow<'a>> {
    let mut rows = Vec::new();
    for a in of(records, "fault_armed") {
        let index = a["index"].as_u64().unwrap_or(0) as usize;
        let p = &facts.phases[index.min(facts.phases.len().saturating_sub(1))];
        let until = p.removed_ms.unwrap_or(f64::MAX) + 1000.0;
        let mine = |r: &&Value| {
            r["pid"] == a["pid"] && r["event"]["fault"] == a["fault"] && t(r) >= t(a) - 1000.0 && t(r) <= until
        };
        let mut row = FaultRow {
            armed: a,
            injections: 0,
            by_kind: BTreeMap::new(),
            matched: BTreeMap::new(),
            caught: BTreeMap::new(),
            removed: None,
        };
        for r in of(records, "agent_event").filter(mine) {
            let kind = r["event"]["kind"].as_str().unwrap_or("");
            match kind {
                k if faultline_model::scenario::is_injection_event(k) => {
                    row.injections += 1;
                    *row.by_kind.entry(kind.to_string()).or_default() += 1;
                    if let Some(matched) = r["event"]["matched"].as_str() {
                        let how = match kind {
                            "exception" => "failed".to_string(),
                            "latency" => "slowed".to_string(),
                            "hang" => "held".to_string(),
                            "respond" => format!("answered {}", r["event"]["status"]),
                            other => other.to_string(),
                        };
                        *row.matched.entry((matched.to_string(), how)).or_default() += 1;
                    }
                    if kind == "exception" {
                        let site = r["event"]["caught"].as_str().unwrap_or("uncaught").to_string();
                        *row.caught.entry(site).or_default() += 1;
                    }
                }
                "removed" | "expired" => row.removed = Some(&r["event"]),
                _ => {}
            }
        }
        rows.push(row);
    }
    rows
}

/// What to do about a failed expectation, for the findings list.
fn advice(what: &str) -> &'static str {
    if what.starts_with("steady state before") {
        "The service was not steady before anything was injected: fix that first, or state a hypothesis it meets on a normal day."
    } else if what.starts_with("steady state during") {
        "The service did not absorb this failure: look at the timeouts, retries and fallbacks on the path the fault hit (the catch sites below show where the failure was handled)."
    } else if what.starts_with("recovery") {
        "The service stayed degraded after the cause was gone: look for retries that pile up, pools or queues that drain slowly, and circuit breakers that stay open."
    } else if what.starts_with("alarm") && what.contains(" clears within ") {
        "The alarm kept paging after the service had recovered: check the rule's `for`, the window its expression looks back over and Alertmanager's resolve timeout; an alert that does not resolve trains people to ignore it."
    } else if what.starts_with("alarm") {
        "Monitoring did not tell anyone in time: check the alarm's threshold, its evaluation period and what it measures."
    } else if what == "no abort" {
        "The drill hit its safety limit and was stopped: the blast radius was larger than planned."
    } else {
        "The drill did not run to its end: rerun it to get a complete verdict."
    }
}

fn html(records: &[Value], facts: &Facts, v: &Verdict, summary: &Value, review: Option<&str>) -> String {
    let plan = &records[0]["drill"];
    let mut h = String::new();
    let name = esc(&facts.name);
    let verdict = if v.passed { "PASSED" } else { "FAILED" };
    let color = if v.passed { "#1a7f37" } else { "#cf222e" };
    h.push_str(&page_head(&format!("Drill: {name}"), color));
    let _ = write!(
        h,
        "<h1>{name}</h1><p class=\"muted\">drill file {} &middot; started {} </p>",
        esc(plan["origin"].as_str().unwrap_or("")),
        esc(records[0]["time"].as_str().unwrap_or(""))
    );
    if let Some(obj) = plan["objective"].as_str() {
        let _ = write!(h, "<p><b>Objective.</b> {}</p>", esc(obj));
    }
    let held = v.expectations.iter().filter(|e| e.held).count();
    let _ = write!(
        h,
        "<p><span class=\"verdict\">{verdict}</span> &nbsp; {held} of {} expectations held",
        v.expectations.len()
    );
    if let Some(why) = facts.aborted.as_ref().or(facts.stopped.as_ref()).or(facts.baseline_failed.as_ref()) {
        let _ = write!(h, " &middot; <span class=\"bad\">{}</span>", esc(why));
    }
    h.push_str("</p>");
    let _ = write!(
        h,
        "<p class=\"figs\"><span>time to detect<br><b>{}</b></span><span>time to recover<br><b>{}</b></span><span>injections<br><b>{}</b></span><span>requests<br><b>{}</b></span></p>",
        opt_s(v.time_to_detect_ms),
        opt_s(v.time_to_recover_ms),
        facts.injections.len(),
        facts.samples.len()
    );
    let hyp = &facts.hypothesis;
    let mut hyp_text = Vec::new();
    if let Some(x) = hyp.max_error_rate {
        hyp_text.push(format!("error rate &le; {:.2}%", x * 100.0));
    }
    if let Some(x) = hyp.max_p99_ms {
        hyp_text.push(format!("p99 &le; {x:.0} ms"));
    }
    let _ = write!(
        h,
        "<p><b>Hypothesis.</b> {} in every {:.1} s window (judged every {:.0} ms){}.</p>",
        hyp_text.join(" and "),
        facts.window_ms / 1000.0,
        facts.step_ms,
        plan["load"]["url"].as_str().map_or(String::new(), |u| format!(
            ", under open-loop load of {} req/s on <code>{}</code>",
            plan["load"]["rate"],
            esc(u)
        ))
    );

    if let Some(g) = judge::generator(&facts.late_ms) {
        if g.fell_behind() {
            let _ = write!(
                h,
                "<p class=\"bad\">The load generator fell behind: {} of {} requests left more than {:.0} ms \
                 after their time (p99 {:.1} ms, latest {:.1} ms late). Every latency counts from the intended \
                 time, so these include the generator's own delay: run the drill from a less loaded machine, \
                 or at a lower rate.</p>",
                g.over,
                g.requests,
                judge::Generator::LATE_MS,
                g.p99_ms,
                g.max_ms
            );
        } else {
            let _ = write!(
                h,
                "<p class=\"muted\">The load generator kept its schedule: p99 {:.2} ms after the intended \
                 time, {} of {} requests more than {:.0} ms late.</p>",
                g.p99_ms,
                g.over,
                g.requests,
                judge::Generator::LATE_MS
            );
        }
    }

    // Findings first: what to act on.
    let failed: Vec<_> = v.expectations.iter().filter(|e| !e.held).collect();
    h.push_str("<h2>Findings</h2>");
    if failed.is_empty() {
        h.push_str("<p class=\"ok\">Every expectation held: nothing to act on from this drill.</p>");
    } else {
        h.push_str("<ol>");
        for e in failed {
            let _ = write!(
                h,
                "<li><b class=\"bad\">{}</b>: {}.<br>{}</li>",
                esc(&e.what),
                esc(&e.detail),
                esc(advice(&e.what))
            );
        }
        h.push_str("</ol>");
    }

    h.push_str("<h2>Timeline</h2>");
    match plot(records, facts, v) {
        Ok(svg) => h.push_str(&svg),
        Err(e) => {
            let _ = write!(h, "<p class=\"bad\">the plot could not be drawn: {}</p>", esc(&e.to_string()));
        }
    }
    h.push_str("<p class=\"muted\">p50 and p99 latency (left axis) and error rate (right axis) per window; shaded bands are phases (red: faults armed), vertical lines mark faults armed (red) and removed (green), orange bars show each alarm while it fired, from a triangle (it started firing) to a circle (it stopped).</p>");

    h.push_str("<h2>Expectations</h2><table><tr><th></th><th>expectation</th><th>detail</th></tr>");
    for e in &v.expectations {
        let _ = write!(
            h,
            "<tr><td class=\"{}\">{}</td><td>{}</td><td>{}</td></tr>",
            if e.held { "ok" } else { "bad" },
            if e.held { "held" } else { "FAILED" },
            esc(&e.what),
            esc(&e.detail)
        );
    }
    h.push_str("</table>");

    h.push_str("<h2>Phases</h2><table><tr><th>phase</th><th>start</th><th>end</th><th>expect</th><th>hypothesis</th><th class=\"num\">requests</th><th class=\"num\">error rate</th><th class=\"num\">p50</th><th class=\"num\">p99</th><th class=\"num\">injections</th></tr>");
    for p in summary["phases"].as_array().into_iter().flatten() {
        let held = p["held"].as_bool().unwrap_or(false);
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td class=\"num\">{}</td><td class=\"num\">{:.2}%</td><td class=\"num\">{:.1} ms</td><td class=\"num\">{:.1} ms</td><td class=\"num\">{}</td></tr>",
            esc(p["name"].as_str().unwrap_or("")),
            esc(clock(p["start"].as_str().unwrap_or(""))),
            esc(clock(p["end"].as_str().unwrap_or(""))),
            esc(p["expect"].as_str().unwrap_or("")),
            if held { "ok" } else { "bad" },
            if held { "held" } else { "broke" },
            p["requests"],
            p["error_rate"].as_f64().unwrap_or(0.0) * 100.0,
            p["p50_ms"].as_f64().unwrap_or(0.0),
            p["p99_ms"].as_f64().unwrap_or(0.0),
            p["injections"]
        );
    }
    h.push_str("</table>");

    h.push_str("<h2>Faults</h2>");
    let rows = fault_rows(records, facts);
    if rows.is_empty() {
        h.push_str("<p>No fault was armed.</p>");
    }
    for row in rows {
        let a = row.armed;
        let _ = write!(
            h,
            "<h3>{} <span class=\"muted\">({} <code>{}</code>) in JVM {} during '{}'</span></h3><table>",
            esc(a["fault"].as_str().unwrap_or("")),
            esc(a["kind"].as_str().unwrap_or("")),
            esc(a["target"].as_str().unwrap_or("")),
            a["pid"],
            esc(a["phase"].as_str().unwrap_or(""))
        );
        if let Some(resource) = a["resource"].as_str() {
            let _ = write!(h, "<tr><th>acts on</th><td>the whole JVM: {}</td></tr>", esc(resource));
        } else if let Some(pools) = a["pools"].as_array() {
            let listed: Vec<String> = pools
                .iter()
                .map(|p| {
                    format!(
                        "<code>{}</code>: {}",
                        esc(p["identity"].as_str().unwrap_or("")),
                        esc(p["state"].as_str().unwrap_or(""))
                    )
                })
                .collect();
            let _ = write!(
                h,
                "<tr><th>pools hit</th><td>{}</td></tr>",
                if listed.is_empty() {
                    "<span class=\"bad\">no matching executor when armed: this fault could exhaust nothing</span>"
                        .to_string()
                } else {
                    listed.join("<br>")
                }
            );
        } else {
            let methods: Vec<String> = a["methods"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| m.as_str())
                .map(|m| format!("<code>{}</code>", esc(m)))
                .collect();
            let _ = write!(
                h,
                "<tr><th>methods hit</th><td>{}</td></tr>",
                if methods.is_empty() {
                    "<span class=\"bad\">none loaded when armed: this fault could hit nothing</span>".to_string()
                } else {
                    methods.join("<br>")
                }
            );
        }
        let kinds: Vec<String> = row.by_kind.iter().map(|(k, n)| format!("{k} &times;{n}")).collect();
        let _ = write!(
            h,
            "<tr><th>injections</th><td>{} {}</td></tr>",
            row.injections,
            if kinds.is_empty() { String::new() } else { format!("({})", kinds.join(", ")) }
        );
        if !row.matched.is_empty() {
            // A preset's report reads as the failure mode: what was hit, how, how often.
            h.push_str(
                "<tr><th>what it hit</th><td><table><tr><th>call</th><th>outcome</th><th class=\"num\">times</th></tr>",
            );
            let mut hit: Vec<(&(String, String), &usize)> = row.matched.iter().collect();
            hit.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
            for ((matched, how), n) in hit.iter().take(MATCHED_ROWS) {
                let _ = write!(
                    h,
                    "<tr><td><code>{}</code></td><td>{}</td><td class=\"num\">{n}</td></tr>",
                    esc(matched),
                    esc(how)
                );
            }
            if hit.len() > MATCHED_ROWS {
                let rest: usize = hit[MATCHED_ROWS..].iter().map(|(_, n)| **n).sum();
                let _ = write!(
                    h,
                    "<tr><td class=\"muted\">{} more distinct calls</td><td></td><td class=\"num\">{rest}</td></tr>",
                    hit.len() - MATCHED_ROWS
                );
            }
            h.push_str("</table></td></tr>");
        }
        if let Some(r) = row.removed {
            let _ =
                write!(h, "<tr><th>calls seen / injected (agent)</th><td>{} / {}</td></tr>", r["calls"], r["injected"]);
        }
        if !row.caught.is_empty() {
            h.push_str("<tr><th>injected exceptions caught at</th><td><table><tr><th>catch site</th><th class=\"num\">count</th></tr>");
            for (site, n) in &row.caught {
                let cls = if site == "uncaught" { " class=\"bad\"" } else { "" };
                let _ = write!(h, "<tr><td{cls}><code>{}</code></td><td class=\"num\">{n}</td></tr>", esc(site));
            }
            h.push_str("</table></td></tr>");
        }
        h.push_str("</table>");
    }

    h.push_str("<h2>Alarms</h2>");
    let alarms = summary["alarms"].as_array().cloned().unwrap_or_default();
    if alarms.is_empty() {
        h.push_str("<p>No alarm was under test.</p>");
    } else {
        h.push_str("<table><tr><th>alarm</th><th>reads</th><th>expected within</th><th>fired after the first fault</th><th>in time</th><th>clear expected within</th><th>cleared after the last fault removed</th><th>in time</th></tr>");
        let checks = plan["alarms"].as_array().cloned().unwrap_or_default();
        for (i, (a, run)) in alarms.iter().zip(&facts.alarms).enumerate() {
            let verdict = |v: &Value| match v.as_bool() {
                Some(true) => "<td class=\"ok\">yes</td>",
                Some(false) => "<td class=\"bad\">NO</td>",
                None => "<td class=\"muted\">n/a</td>",
            };
            let fired = if a["fired"].as_bool().unwrap_or(false) {
                opt_s(a["first_fired_after_ms"].as_f64())
            } else {
                "never".into()
            };
            let cleared = match a["cleared"].as_bool() {
                Some(true) => opt_s(a["cleared_after_ms"].as_f64()),
                Some(false) => "still firing at the end".into(),
                None => "n/a".into(),
            };
            let _ = write!(
                h,
                "<tr><td>{}</td><td><code>{}</code></td><td>{:.1} s</td><td>{}</td>{}<td>{}</td><td>{}</td>{}</tr>",
                esc(&run.name),
                esc(checks.get(i).and_then(|c| c["check"].as_str().or(c["command"].as_str())).unwrap_or("")),
                run.expect_within_ms / 1000.0,
                esc(&fired),
                verdict(&a["in_time"]),
                run.expect_clear_within_ms.map_or("not checked".to_string(), |ms| format!("{:.1} s", ms / 1000.0)),
                esc(&cleared),
                verdict(&a["cleared_in_time"]),
            );
        }
        h.push_str("</table>");
    }

    let steps: Vec<&Value> = of(records, "contingency").collect();
    if !steps.is_empty() || plan["contingency"].as_array().is_some_and(|c| !c.is_empty()) {
        h.push_str("<h2>Contingency</h2>");
        if steps.is_empty() {
            h.push_str("<p>No contingency step was triggered.</p>");
        } else {
            h.push_str("<table><tr><th>step</th><th>on</th><th>why</th><th>command</th><th>outcome</th><th class=\"num\">time</th><th>output</th></tr>");
            for r in steps {
                let command: Vec<&str> =
                    r["command"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
                let outcome = if r["ok"] == true {
                    "<td class=\"ok\">exit 0</td>".to_string()
                } else if r["timed_out"] == true {
                    "<td class=\"bad\">timed out, killed</td>".to_string()
                } else {
                    format!(
                        "<td class=\"bad\">{}</td>",
                        r["exit_code"].as_i64().map_or("not started".into(), |c| format!("exit {c}"))
                    )
                };
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td>{outcome}<td class=\"num\">{:.1} s</td><td><pre>{}</pre></td></tr>",
                    esc(r["name"].as_str().unwrap_or("")),
                    esc(r["on"].as_str().unwrap_or("")),
                    esc(r["reason"].as_str().unwrap_or("")),
                    esc(&command.join(" ")),
                    r["duration_ms"].as_f64().unwrap_or(0.0) / 1000.0,
                    esc(r["output"].as_str().unwrap_or(""))
                );
            }
            h.push_str("</table>");
        }
    }

    if let Some(review) = review {
        h.push_str(review);
    }

    if let Some(c) = of(records, "cleanup").next() {
        let _ = write!(h, "<h2>Cleanup</h2><p>{}</p>", esc(c["detail"].as_str().unwrap_or("")));
    }
    // The acceptance report: what was expected and whether it held, what is left to improve
    // and who owns it, and which approved plan this run was.
    h.push_str("<h2>Acceptance and sign-off</h2><h3>Acceptance criteria</h3><table><tr><th></th><th>criterion</th><th>id</th></tr>");
    for e in &v.expectations {
        let _ = write!(
            h,
            "<tr><td class=\"{}\">{}</td><td>{}</td><td><code>{}</code></td></tr>",
            if e.held { "ok" } else { "bad" },
            if e.held { "held" } else { "NOT HELD" },
            esc(&e.what),
            judge::finding_id(&e.what)
        );
    }
    h.push_str("</table><h3>Improvement points</h3>");
    let open: Vec<_> = v.expectations.iter().filter(|e| !e.held).collect();
    if open.is_empty() {
        h.push_str("<p class=\"ok\">None: every criterion held.</p>");
    } else {
        h.push_str("<table class=\"sign\"><tr><th>id</th><th>finding</th><th>owner</th><th>due</th></tr>");
        for e in open {
            let _ = write!(
                h,
                "<tr><td><code>{}</code></td><td>{}: {}</td><td></td><td></td></tr>",
                judge::finding_id(&e.what),
                esc(&e.what),
                esc(&e.detail)
            );
        }
        h.push_str("</table>");
    }
    let approval = match &facts.approved {
        Some(f) => format!("run from the approved proposal with fingerprint <code>{}</code>", esc(f)),
        None => "run without an approved proposal (<code>--approved</code> not given)".to_string(),
    };
    let _ = write!(
        h,
        "<table class=\"sign\"><tr><th>plan</th><td>{approval}</td></tr><tr><th>reviewed by</th><td></td></tr>\
         <tr><th>date</th><td></td></tr><tr><th>decision (accept / fix and rerun)</th><td></td></tr></table>"
    );
    let _ = writeln!(
        h,
        "<p class=\"muted\">Rendered by faultline from {} alone. Load is open loop: latency is measured from each \
         request's intended send time; a window is judged on the outcomes known at its end.</p></body></html>",
        journal::FILE
    );
    h
}

/// `10:00:01.123` of an RFC 3339 time.
fn clock(time: &str) -> &str {
    time.split('T').nth(1).map(|c| c.trim_end_matches('Z')).unwrap_or(time)
}

/// The timeline: p50/p99 latency and error rate per window, phases shaded, fault and alarm
/// times marked.
fn plot(records: &[Value], facts: &Facts, v: &Verdict) -> Result<String, Box<dyn std::error::Error>> {
    let mut svg = String::new();
    let x_max = (facts.end_ms / 1000.0).max(1.0);
    let p99_max = v.windows.iter().map(|w| w.p99_ms).fold(0.0, f64::max);
    let limit = facts.hypothesis.max_p99_ms.unwrap_or(0.0);
    // Alarms get rows of their own above the data, under the phase names.
    let alarm_rows = facts.alarms.len().min(8) as f64;
    let y_max = (p99_max.max(limit) * 1.15).max(10.0) / (1.0 - 0.06 * alarm_rows);
    {
        let root = SVGBackend::with_string(&mut svg, (1060, 420)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .right_y_label_area_size(60)
            .build_cartesian_2d(0f64..x_max, 0f64..y_max)?
            .set_secondary_coord(0f64..x_max, 0f64..100f64);
        chart
            .configure_mesh()
            .x_desc("seconds since the drill started")
            .y_desc("latency (ms)")
            .light_line_style(WHITE)
            .draw()?;
        chart.configure_secondary_axes().y_desc("error rate (%)").draw()?;
        for (i, p) in facts.phases.iter().enumerate().filter(|(_, p)| !p.start.is_empty()) {
            let fill = if p.has_faults {
                RGBColor(207, 34, 46).mix(0.10)
            } else {
                RGBColor(84, 174, 255).mix(if i % 2 == 0 { 0.06 } else { 0.12 })
            };
            chart.draw_series(std::iter::once(Rectangle::new(
                [(p.start_ms / 1000.0, 0.0), (p.end_ms / 1000.0, y_max)],
                fill.filled(),
            )))?;
            chart.draw_series(std::iter::once(Text::new(
                p.name.clone(),
                (p.start_ms / 1000.0 + x_max * 0.005, y_max * 0.97),
                ("sans-serif", 13).into_font().color(&RGBColor(87, 96, 106)),
            )))?;
        }
        if limit > 0.0 {
            chart
                .draw_series(LineSeries::new([(0.0, limit), (x_max, limit)], RGBColor(140, 140, 140).stroke_width(1)))?
                .label("max p99")
                .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], RGBColor(140, 140, 140)));
        }
        let pts = |f: fn(&judge::Window) -> f64| -> Vec<(f64, f64)> {
            v.windows.iter().filter(|w| w.held.is_some()).map(|w| (w.end_ms / 1000.0, f(w))).collect()
        };
        let blue = RGBColor(9, 105, 218);
        let purple = RGBColor(130, 80, 223);
        let red = RGBColor(207, 34, 46);
        chart
            .draw_series(LineSeries::new(pts(|w| w.p50_ms), blue.stroke_width(2)))?
            .label("p50")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], blue.stroke_width(2)));
        chart
            .draw_series(LineSeries::new(pts(|w| w.p99_ms), purple.stroke_width(2)))?
            .label("p99")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], purple.stroke_width(2)));
        chart
            .draw_secondary_series(LineSeries::new(pts(|w| w.error_rate * 100.0), red.stroke_width(2)))?
            .label("error rate")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], red.stroke_width(2)));
        for r in of(records, "fault_armed") {
            let x = t(r) / 1000.0;
            chart.draw_series(LineSeries::new([(x, 0.0), (x, y_max)], red.stroke_width(2)))?;
        }
        let green = RGBColor(26, 127, 55);
        for r in of(records, "fault_removed") {
            let x = t(r) / 1000.0;
            chart.draw_series(LineSeries::new([(x, 0.0), (x, y_max)], green.stroke_width(2)))?;
        }
        // Each alarm on a row of its own near the top: a bar while it fired, a triangle where
        // it started, a circle where it stopped.
        let orange = RGBColor(191, 135, 0);
        let (mut fired, mut cleared) = (Vec::new(), Vec::new());
        for (k, a) in facts.alarms.iter().enumerate() {
            let y = y_max * (0.91 - 0.06 * (k % 8) as f64);
            let mut since: Option<f64> = None;
            let mut previous = false;
            for &(t_ms, on) in &a.changes {
                let x = t_ms / 1000.0;
                match (previous, on) {
                    (false, true) => {
                        since = Some(x);
                        fired.push((x, y));
                    }
                    (true, false) => {
                        if let Some(from) = since.take() {
                            chart.draw_series(LineSeries::new([(from, y), (x, y)], orange.stroke_width(4)))?;
                        }
                        cleared.push((x, y));
                    }
                    _ => {}
                }
                previous = on;
            }
            if let Some(from) = since {
                chart.draw_series(LineSeries::new([(from, y), (x_max, y)], orange.stroke_width(4)))?;
            }
            chart.draw_series(std::iter::once(Text::new(
                a.name.clone(),
                (x_max * 0.005, y - y_max * 0.005),
                ("sans-serif", 11).into_font().color(&orange),
            )))?;
        }
        if !fired.is_empty() {
            chart
                .draw_series(fired.into_iter().map(|p| TriangleMarker::new(p, 7, orange.filled())))?
                .label("alarm fired")
                .legend(move |(x, y)| TriangleMarker::new((x + 9, y), 6, orange.filled()));
        }
        if !cleared.is_empty() {
            chart
                .draw_series(cleared.into_iter().map(|p| Circle::new(p, 5, green.filled())))?
                .label("alarm cleared")
                .legend(move |(x, y)| Circle::new((x + 9, y), 5, green.filled()));
        }
        chart
            .configure_series_labels()
            .position(if facts.alarms.is_empty() {
                SeriesLabelPosition::UpperRight
            } else {
                SeriesLabelPosition::MiddleRight
            })
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(208, 215, 222))
            .draw()?;
        root.present()?;
    }
    Ok(svg)
}
