//! The review across runs (`drill report DIR --compare OLDER_DIR...`): this run next to
//! earlier runs of the same drill, from their summaries. Time to detect and to recover,
//! alarm delays, error rate and p99 per phase, expectations held, a trend plot, and which
//! findings of the last run are gone, which remain and which are new (findings keep their id
//! across runs).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use plotters::prelude::*;
use serde_json::Value;

use super::report::esc;

fn secs(v: &Value) -> String {
    v.as_f64().map_or("—".to_string(), |ms| format!("{:.1} s", ms / 1000.0))
}

/// The review section of the report: `current` and `earlier` are summaries (`summary.json`).
pub fn section(current: &Value, earlier: &[Value]) -> String {
    let mut runs: Vec<(&Value, bool)> = earlier.iter().map(|s| (s, false)).collect();
    runs.push((current, true));
    runs.sort_by(|a, b| a.0["started"].as_str().unwrap_or("").cmp(b.0["started"].as_str().unwrap_or("")));
    let mut h = String::new();
    let _ = write!(
        h,
        "<h2>Review across runs</h2><p class=\"muted\">This run (bold) and {} earlier run{} of drill <code>{}</code>, oldest first.</p>",
        earlier.len(),
        if earlier.len() == 1 { "" } else { "s" },
        esc(current["drill_id"].as_str().unwrap_or(""))
    );
    let phase_names: Vec<String> = current["phases"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str().map(str::to_string))
        .collect();
    let alarm_names: Vec<String> = current["alarms"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["name"].as_str().map(str::to_string))
        .collect();
    h.push_str("<table><tr><th>run started</th><th>verdict</th><th>time to detect</th><th>time to recover</th>");
    for a in &alarm_names {
        let _ = write!(h, "<th>alarm '{}': fired / cleared after</th>", esc(a));
    }
    for p in &phase_names {
        let _ = write!(h, "<th>'{}': error rate, p99</th>", esc(p));
    }
    h.push_str("<th>expectations held</th></tr>");
    for (s, this) in &runs {
        let cell = |text: String| if *this { format!("<td><b>{text}</b></td>") } else { format!("<td>{text}</td>") };
        let _ = write!(h, "<tr>{}", cell(esc(s["started"].as_str().unwrap_or("?"))));
        h.push_str(&cell((if s["passed"] == true { "passed" } else { "FAILED" }).to_string()));
        h.push_str(&cell(secs(&s["time_to_detect_ms"])));
        h.push_str(&cell(secs(&s["time_to_recover_ms"])));
        for a in &alarm_names {
            let run = s["alarms"].as_array().into_iter().flatten().find(|x| x["name"] == a.as_str());
            let text = match run {
                Some(x) if x["fired"] == true => {
                    format!("{} / {}", secs(&x["first_fired_after_ms"]), secs(&x["cleared_after_ms"]))
                }
                Some(_) => "never fired".to_string(),
                None => "—".to_string(),
            };
            h.push_str(&cell(text));
        }
        for p in &phase_names {
            let run = s["phases"].as_array().into_iter().flatten().find(|x| x["name"] == p.as_str());
            let text = run.map_or("—".to_string(), |x| {
                format!(
                    "{:.2}%, {:.1} ms",
                    x["error_rate"].as_f64().unwrap_or(0.0) * 100.0,
                    x["p99_ms"].as_f64().unwrap_or(0.0)
                )
            });
            h.push_str(&cell(text));
        }
        let all = s["expectations"].as_array().map_or(0, Vec::len);
        let held = s["expectations"].as_array().into_iter().flatten().filter(|e| e["held"] == true).count();
        h.push_str(&cell(format!("{held} of {all}")));
        h.push_str("</tr>");
    }
    h.push_str("</table>");
    match trend(&runs, &alarm_names) {
        Ok(svg) => h.push_str(&svg),
        Err(e) => {
            let _ = write!(h, "<p class=\"bad\">the trend could not be drawn: {}</p>", esc(&e.to_string()));
        }
    }
    h.push_str(
        "<p class=\"muted\">Time to detect, time to recover and each alarm's delay to fire, per run (oldest left).</p>",
    );

    // Findings: against the run just before this one.
    let ids = |s: &Value| -> BTreeSet<(String, String)> {
        s["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| (f["id"].as_str().unwrap_or("").to_string(), f["what"].as_str().unwrap_or("").to_string()))
            .collect()
    };
    let position = runs.iter().position(|(_, this)| *this).unwrap_or(0);
    h.push_str("<h3>Findings since the previous run</h3>");
    match position.checked_sub(1).map(|i| runs[i].0) {
        None => h.push_str("<p>This is the oldest of the runs compared: no previous run to compare findings with.</p>"),
        Some(previous) => {
            let (before, now) = (ids(previous), ids(current));
            let list = |set: Vec<&(String, String)>| -> String {
                if set.is_empty() {
                    return "none".to_string();
                }
                set.iter()
                    .map(|(id, what)| format!("<code>{}</code> {}", esc(id), esc(what)))
                    .collect::<Vec<_>>()
                    .join("<br>")
            };
            let _ = write!(
                h,
                "<table><tr><th class=\"ok\">gone</th><td>{}</td></tr><tr><th>remain</th><td>{}</td></tr><tr><th class=\"bad\">new</th><td>{}</td></tr></table>",
                list(before.difference(&now).collect()),
                list(before.intersection(&now).collect()),
                list(now.difference(&before).collect())
            );
        }
    }
    h
}

/// Time to detect, to recover, and each alarm's delay to fire, one point per run.
fn trend(runs: &[(&Value, bool)], alarms: &[String]) -> Result<String, Box<dyn std::error::Error>> {
    let mut series: Vec<(String, Vec<(f64, f64)>)> =
        vec![("time to detect".into(), Vec::new()), ("time to recover".into(), Vec::new())];
    for a in alarms {
        series.push((format!("alarm '{a}' fired after"), Vec::new()));
    }
    for (i, (s, _)) in runs.iter().enumerate() {
        let x = (i + 1) as f64;
        let mut push = |k: usize, v: &Value| {
            if let Some(ms) = v.as_f64() {
                series[k].1.push((x, ms / 1000.0));
            }
        };
        push(0, &s["time_to_detect_ms"]);
        push(1, &s["time_to_recover_ms"]);
        for (k, a) in alarms.iter().enumerate() {
            let run = s["alarms"].as_array().into_iter().flatten().find(|x| x["name"] == a.as_str());
            if let Some(run) = run {
                push(2 + k, &run["first_fired_after_ms"]);
            }
        }
    }
    let y_max = series.iter().flat_map(|(_, p)| p.iter().map(|&(_, y)| y)).fold(1.0, f64::max) * 1.2;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 300)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(50)
            .build_cartesian_2d(0.5f64..(runs.len() as f64 + 0.5), 0f64..y_max)?;
        chart
            .configure_mesh()
            .x_desc("run (oldest first)")
            .y_desc("seconds")
            .x_labels(runs.len().clamp(2, 12))
            .x_label_formatter(&|x| if x.fract() == 0.0 { format!("{x:.0}") } else { String::new() })
            .light_line_style(WHITE)
            .draw()?;
        let colors = [
            RGBColor(207, 34, 46),
            RGBColor(26, 127, 55),
            RGBColor(191, 135, 0),
            RGBColor(130, 80, 223),
            RGBColor(9, 105, 218),
        ];
        for (k, (name, points)) in series.into_iter().enumerate() {
            if points.is_empty() {
                continue;
            }
            let color = colors[k % colors.len()];
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
                .label(name)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2)));
            chart.draw_series(points.into_iter().map(|p| Circle::new(p, 4, color.filled())))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(208, 215, 222))
            .draw()?;
        root.present()?;
    }
    Ok(svg)
}
