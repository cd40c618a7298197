//! Row 6: latency accuracy.

use std::process::{Command, Stdio};

use faultline_bench::{env_num, JVM_FLAGS};
use serde_json::json;

use crate::harness::{fail, javac, last_line, percentile, row, short, stat, write, Ctx};

pub(crate) fn measure(ctx: &mut Ctx) {
    let rounds = env_num("FAULTLINE_SUITE_LAT_ROUNDS", 2).max(1) as usize;
    let samples = env_num("FAULTLINE_SUITE_LAT_SAMPLES", 300).max(1) as usize;
    let skip = 10;
    let classes = ctx.scratch.join("lat-classes");
    javac(&["latbench"], &classes);
    let scenario = ctx.scratch.join("latency.toml");
    write(
        &scenario,
        "[[fault]]\nid = \"lat50\"\nkind = \"latency\"\ntarget = \"latbench.Target#work\"\ndelay = \"50ms\"\n",
    );
    let rules = ctx.scratch.join("latency.btm");
    write(
        &rules,
        "RULE latency 50 ms\nCLASS latbench.Target\nMETHOD work\nAT ENTRY\nIF true\nDO Thread.sleep(50L)\nENDRULE\n",
    );

    let run = |agent_flag: String| -> Result<Vec<f64>, String> {
        let out = Command::new(&ctx.java)
            .args(JVM_FLAGS)
            .arg(agent_flag)
            .arg("-cp")
            .arg(&classes)
            .args(["latbench.Target", &skip.to_string(), &samples.to_string()])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run java: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let added: Vec<f64> = text
            .lines()
            .filter_map(|l| l.strip_prefix("ADDED ").and_then(|v| v.trim().parse::<f64>().ok()))
            .map(|ns| ns / 1e6 - 50.0)
            .collect();
        if !out.status.success() || added.len() != samples {
            return Err(format!(
                "latency target: {} samples of {samples} ({}); {}",
                added.len(),
                out.status,
                last_line(&out.stderr)
            ));
        }
        Ok(added)
    };
    let (mut fl, mut bm): (Vec<Vec<f64>>, Vec<Vec<f64>>) = (vec![], vec![]);
    let mut bm_err = ctx.byteman.as_ref().err().cloned();
    for round in 1..=rounds {
        let f = run(format!("-agentpath:{}=scenario={}", ctx.lib.display(), scenario.display()))
            .unwrap_or_else(|e| fail(&format!("faultline {e}")));
        eprintln!(
            "  round {round}/{rounds} faultline: error p50 {:+.3} ms p99 {:+.3} ms",
            percentile(&f, 50.0),
            percentile(&f, 99.0)
        );
        fl.push(f);
        if bm_err.is_none() {
            let agent = &ctx.byteman.as_ref().unwrap().agent;
            match run(format!("-javaagent:{}=script:{}", agent.display(), rules.display())) {
                Ok(b) => {
                    eprintln!(
                        "  round {round}/{rounds} Byteman:   error p50 {:+.3} ms p99 {:+.3} ms",
                        percentile(&b, 50.0),
                        percentile(&b, 99.0)
                    );
                    bm.push(b)
                }
                Err(e) => bm_err = Some(format!("Byteman {e}")),
            }
        }
    }
    let pooled = |v: &[Vec<f64>]| -> Vec<f64> { v.iter().flatten().copied().collect() };
    // Every round (one JVM each) must meet the target, not the pooled figure alone.
    for (p, target, limit) in
        [(50.0, "p50 within ±0.1 ms, every round", 0.1), (99.0, "p99 within +0.2 ms, every round", 0.2)]
    {
        let fp = percentile(&pooled(&fl), p);
        let per_round: Vec<f64> = fl.iter().map(|r| percentile(r, p)).collect();
        let rs = stat(&per_round);
        let fs = format!("{fp:+.3} [{:+.3}..{:+.3}] ms", rs.min, rs.max);
        let met = rs.min >= -limit && rs.max <= limit;
        ctx.rows.push(match (&bm_err, bm.is_empty()) {
            (None, false) => {
                let bp = percentile(&pooled(&bm), p);
                row(
                    &format!("6 latency 50 ms: p{p:.0} error (added−50)"),
                    fs,
                    format!("Byteman sleep(50) {bp:+.3} ms"),
                    format!("{:.1}x closer", bp.abs() / fp.abs().max(0.001)),
                    target,
                    Some(met),
                )
            }
            _ => row(
                &format!("6 latency 50 ms: p{p:.0} error (added−50)"),
                fs,
                format!("n/a: {}", short(bm_err.as_deref().unwrap_or("?"))),
                "-".into(),
                target,
                Some(met),
            ),
        });
    }
    ctx.json.insert(
        "latency".into(),
        json!({"requested_ms": 50, "method_ms": 1, "rounds": rounds, "samples_per_round": samples, "warmup_calls_skipped": skip,
               "unit": "ms added minus 50", "faultline": fl, "byteman": bm, "byteman_error": bm_err}),
    );
}
