//! Rows 9-10: what the fault vocabulary costs when nothing fires. `bench.Hot#mix(int)` called
//! in a tight loop with arguments 0..1023 and kept out of the loop (`dontinline`: every call
//! pays, nothing is hoisted), in fresh JVMs run interleaved:
//! 9. an exception fault with `when = "arg0 < 0"` (never true) at entry, against no agent
//!    and against a Byteman rule `AT ENTRY IF $1 < 0` on the same method;
//! 10. the same fault at exit (code before every return, the argument read there), against
//!    Byteman `AT EXIT IF $1 < 0`.
//!
//! Each faultline JVM writes an events file: the fault must be armed, match `mix` (a fault that
//! matched nothing says so at exit) and never fire.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use faultline_bench::{env_num, median, JVM_FLAGS};
use serde_json::json;

use crate::harness::{guarded, row, short, stat, write, Ctx};

const NOT_INLINED: [&str; 2] = ["-XX:CompileCommand=quiet", "-XX:CompileCommand=dontinline,bench.Hot::mix"];

pub(crate) fn measure(ctx: &mut Ctx) {
    let rounds = env_num("FAULTLINE_SUITE_VOCAB_ROUNDS", 4).max(1) as usize;
    let warmup_ms = env_num("FAULTLINE_SUITE_WARMUP_MS", 2000);
    let iterations = env_num("FAULTLINE_SUITE_ITERATIONS", 6).max(1) as usize;
    let iteration_ms = env_num("FAULTLINE_SUITE_ITERATION_MS", 300).max(1);
    let classes = ctx.scratch.join("vocab-classes");
    faultline_bench::overhead::compile_java(&ctx.jar, &classes);
    let fault = |at: &str| {
        format!(
            "[[fault]]\nid = \"never\"\nkind = \"exception\"\ntarget = \"bench.Hot#mix\"\nwhen = \"arg0 < 0\"\n\
             at = \"{at}\"\nthrow = \"java.lang.IllegalStateException\"\n"
        )
    };
    let when = ctx.scratch.join("vocab-when.toml");
    write(&when, &fault("entry"));
    let exit = ctx.scratch.join("vocab-exit.toml");
    write(&exit, &fault("exit"));
    let rule = |at: &str| {
        format!(
            "RULE never fires\nCLASS bench.Hot\nMETHOD mix(int)\n{at}\nIF $1 < 0\n\
             DO throw new java.lang.IllegalStateException(\"never\")\nENDRULE\n"
        )
    };
    let bm_when = ctx.scratch.join("vocab-when.btm");
    write(&bm_when, &rule("AT ENTRY"));
    let bm_exit = ctx.scratch.join("vocab-exit.btm");
    write(&bm_exit, &rule("AT EXIT"));

    let mut configs = vec!["baseline", "when", "exit"];
    if ctx.byteman.is_ok() {
        configs.extend(["byteman-when", "byteman-exit"]);
    }
    let mut jvms: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut byteman_err: Option<String> = None;
    for round in 1..=rounds {
        for &config in &configs {
            if config.starts_with("byteman") && byteman_err.is_some() {
                continue;
            }
            let events = ctx.scratch.join(format!("vocab-{config}-{round}.jsonl"));
            let agent = match config {
                "baseline" => None,
                "when" | "exit" => Some(ctx.agent_at_startup(if config == "when" { &when } else { &exit }, &events)),
                _ => ctx.byteman.as_ref().ok().map(|b| {
                    let rules = if config == "byteman-when" { &bm_when } else { &bm_exit };
                    format!("-javaagent:{}=script:{}", b.agent.display(), rules.display())
                }),
            };
            let result = guarded(config, || {
                let mut cmd = Command::new(&ctx.java);
                cmd.args(JVM_FLAGS).args(NOT_INLINED);
                if let Some(a) = &agent {
                    cmd.arg(a);
                }
                let cp = format!("{}:{}", classes.display(), ctx.jar.display());
                let out = cmd
                    .args(["-cp", &cp, "bench.Main", "mix"])
                    .arg(warmup_ms.to_string())
                    .arg(iterations.to_string())
                    .arg(iteration_ms.to_string())
                    .stdin(Stdio::null())
                    .output()
                    .map_err(|e| format!("cannot run java: {e}"))?;
                let text = String::from_utf8_lossy(&out.stdout);
                let ns: Vec<f64> = text
                    .lines()
                    .filter_map(|l| l.strip_prefix("RESULT run ").and_then(|v| v.trim().parse().ok()))
                    .collect();
                if !out.status.success() || ns.len() != iterations {
                    return Err(format!("{config}: {} of {iterations} iterations ({})", ns.len(), out.status));
                }
                if config == "when" || config == "exit" {
                    let log = std::fs::read_to_string(&events).unwrap_or_default();
                    // Armed at start (no method yet: the class loads later); a fault that never
                    // matched a method says so at exit.
                    let armed = log.lines().any(|l| l.contains("\"armed\""));
                    let unmatched = log.contains("matched no method");
                    let fired = log.lines().any(|l| l.contains("\"kind\":\"exception\""));
                    if !armed || unmatched || fired {
                        return Err(format!("{config}: expected the fault armed on mix and never fired:\n{log}"));
                    }
                }
                Ok(median(&ns))
            });
            match result {
                Ok(m) => {
                    eprintln!("  round {round}/{rounds} {config:<13} median {m:>7.3} ns/call");
                    jvms.entry(config).or_default().push(m);
                }
                Err(e) if config.starts_with("byteman") => byteman_err = Some(e),
                Err(e) => crate::harness::fail(&e),
            }
        }
    }
    let base = stat(&jvms["baseline"]);
    let base_s = format!("no agent, not inlined {:.3} ns/call", base.med);
    for (config, peer, name) in [
        ("when", "byteman-when", "9 `when` never true, not inlined: ns added"),
        ("exit", "byteman-exit", "10 at exit, never fires, not inlined: ns added"),
    ] {
        let ours = stat(&jvms[config]);
        let added = ours.med - base.med;
        let per_round: Vec<f64> = jvms[config].iter().zip(&jvms["baseline"]).map(|(x, b)| x - b).collect();
        let rs = stat(&per_round);
        ctx.rows.push(row(
            name,
            format!("{added:+.3} ns ({:.3} ns/call)", ours.med),
            base_s.clone(),
            format!("rounds {:+.2}..{:+.2}", rs.min, rs.max),
            "≤ 5 ns added, every round",
            Some(rs.max <= 5.0),
        ));
        let vs = match (&ctx.byteman, &byteman_err, jvms.get(peer)) {
            (Ok(_), None, Some(bm)) => {
                // Each round against its own baseline JVM: ours and Byteman's added cost.
                let ratios: Vec<f64> = bm
                    .iter()
                    .zip(&jvms["baseline"])
                    .zip(&per_round)
                    .map(|((b, base), ours)| (b - base) / ours.max(0.1))
                    .collect();
                let worst = ratios.iter().copied().fold(f64::INFINITY, f64::min);
                let bm = stat(bm);
                let bm_added = bm.med - base.med;
                row(
                    &format!("{} vs Byteman IF", &name[..name.find(',').unwrap_or(name.len())]),
                    format!("{added:+.3} ns added"),
                    format!("Byteman {bm_added:+.1} ns added ({:.1} ns/call)", bm.med),
                    format!("{:.1}x less added (worst round {worst:.1}x)", bm_added / added.max(0.1)),
                    "≥ 10x less than Byteman, every round",
                    Some(!ratios.is_empty() && worst >= 10.0),
                )
            }
            (Err(e), _, _) | (_, Some(e), _) => row(
                &format!("{} vs Byteman IF", &name[..name.find(',').unwrap_or(name.len())]),
                format!("{added:+.3} ns added"),
                format!("n/a: {}", short(e)),
                "-".into(),
                "≥ 10x less than Byteman, every round",
                None,
            ),
            _ => continue,
        };
        ctx.rows.push(vs);
    }
    ctx.json.insert(
        "vocabulary".into(),
        json!({"method": "bench.Hot#mix(int), not inlined", "rounds": rounds, "condition": "arg0 < 0 (never true)",
               "byteman_rules": "IF $1 < 0 AT ENTRY / AT EXIT", "byteman_error": byteman_err,
               "jvm_medians_ns": jvms}),
    );
}
