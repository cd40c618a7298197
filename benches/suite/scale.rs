//! Row 8: scale.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use faultline_bench::{env_num, JVM_FLAGS};
use serde_json::{json, Value};

use crate::harness::{fail, fmt_stat, guarded, javac, row, run_ok, stat, write, Ctx, Stat};

/// A minimal class file: `public class <name> { public static int m() { return 7; } }`
/// (version 52, no constructor: it is only loaded, never instantiated).
fn class_file(internal_name: &str) -> Vec<u8> {
    let mut b = vec![0xCA, 0xFE, 0xBA, 0xBE, 0, 0, 0, 52];
    let utf8 = |b: &mut Vec<u8>, s: &str| {
        b.push(1);
        b.extend((s.len() as u16).to_be_bytes());
        b.extend(s.as_bytes());
    };
    b.extend(8u16.to_be_bytes()); // constant pool count: 7 entries
    utf8(&mut b, internal_name); // #1
    b.extend([7, 0, 1]); // #2 Class #1
    utf8(&mut b, "java/lang/Object"); // #3
    b.extend([7, 0, 3]); // #4 Class #3
    utf8(&mut b, "m"); // #5
    utf8(&mut b, "()I"); // #6
    utf8(&mut b, "Code"); // #7
    b.extend([0x00, 0x21, 0, 2, 0, 4, 0, 0, 0, 0]); // public super, this, super, no interfaces, no fields
    b.extend([0, 1, 0x00, 0x09, 0, 5, 0, 6, 0, 1]); // one method: public static m()I, one attribute
    b.extend([0, 7, 0, 0, 0, 15, 0, 1, 0, 0, 0, 0, 0, 3, 0x10, 7, 0xAC, 0, 0, 0, 0]); // Code
    b.extend([0, 0]); // no class attributes
    b
}

pub(crate) fn measure(ctx: &mut Ctx) {
    let total = env_num("FAULTLINE_SUITE_SCALE_CLASSES", 20_000).max(20) as usize;
    let rounds = env_num("FAULTLINE_SUITE_SCALE_ROUNDS", 2).max(1) as usize;
    let packages = 20;
    let per_package = total / packages;
    let total = per_package * packages;
    let classes = ctx.scratch.join("scale-classes");
    javac(&["scalebench"], &classes);
    let mut names = String::new();
    for p in 0..packages {
        let dir = classes.join(format!("scalegen/p{p:02}"));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| fail(&format!("mkdir: {e}")));
        for c in 0..per_package {
            let internal = format!("scalegen/p{p:02}/C{c:05}");
            std::fs::write(dir.join(format!("C{c:05}.class")), class_file(&internal))
                .unwrap_or_else(|e| fail(&format!("write class: {e}")));
            names.push_str(&internal.replace('/', "."));
            names.push('\n');
        }
    }
    let names_file = ctx.scratch.join("scale-names.txt");
    write(&names_file, &names);
    let patterns = [("scalegen.p07.*#*", per_package), ("scalegen.**#*", total)];
    let mut results: Vec<Value> = vec![];
    let mut arm_ms: Vec<Vec<f64>> = vec![vec![]; patterns.len()];
    let mut pauses: Vec<Vec<f64>> = vec![vec![]; patterns.len()];
    let mut counts: Vec<Vec<(u64, usize, usize)>> = vec![vec![]; patterns.len()];
    let mut loaded_total = 0u64;
    for round in 1..=rounds {
        let log = ctx.scratch.join(format!("redefine-{round}.log"));
        let safepoints = ctx.scratch.join(format!("safepoints-{round}.log"));
        let mut child = Command::new(&ctx.java)
            .args(JVM_FLAGS)
            .arg(format!("-Xlog:redefine+class+load=info:file={}", log.display()))
            .arg(format!("-Xlog:safepoint=info:file={}", safepoints.display()))
            .arg("-cp")
            .arg(&classes)
            .arg("scalebench.Main")
            .arg(&names_file)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| fail(&format!("cannot start java: {e}")));
        let pid = child.id().to_string();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = lines.next().and_then(Result::ok).unwrap_or_default();
        let r = guarded("scale", || {
            let w: Vec<&str> = ready.split_whitespace().collect();
            if w.first() != Some(&"ready") || w.get(1).and_then(|n| n.parse::<usize>().ok()) != Some(total) {
                return Err(format!("scale target: {ready:?}"));
            }
            loaded_total = w.get(3).and_then(|n| n.parse().ok()).unwrap_or(0);
            std::thread::sleep(Duration::from_millis(500));
            // Attach and load the agent first (not timed): measure 4 covers that.
            run_ok(
                Command::new(&ctx.cli).args([
                    "inject",
                    &pid,
                    "exception",
                    "--target",
                    "scalebench.Main#idle",
                    "--probability",
                    "0",
                    "--id",
                    "warm",
                    "--throw",
                    "java.lang.IllegalStateException",
                ]),
                "faultline inject (warm)",
            )?;
            let redefined = || {
                std::fs::read_to_string(&log).map(|s| s.lines().filter(|l| l.contains("redefine")).count()).unwrap_or(0)
            };
            let mut round_results = vec![];
            // The longest pause of the application (a RedefineClasses safepoint) since `from` bytes of the log.
            let longest_pause_ms = |from: usize| -> (f64, usize) {
                let text = std::fs::read_to_string(&safepoints).unwrap_or_default();
                let pauses: Vec<f64> = text
                    .get(from..)
                    .unwrap_or("")
                    .lines()
                    .filter(|l| l.contains("\"RedefineClasses\""))
                    .filter_map(|l| l.split("At safepoint: ").nth(1))
                    .filter_map(|rest| rest.split_whitespace().next().and_then(|n| n.parse::<f64>().ok()))
                    .map(|ns| ns / 1e6)
                    .collect();
                (pauses.iter().copied().fold(0.0, f64::max), pauses.len())
            };
            let log_len = || std::fs::metadata(&safepoints).map(|m| m.len() as usize).unwrap_or(0);
            for (i, (pattern, expected)) in patterns.iter().enumerate() {
                let before = redefined();
                let pauses_from = log_len();
                let t = Instant::now();
                let reply = run_ok(
                    Command::new(&ctx.cli).args([
                        "inject",
                        &pid,
                        "exception",
                        "--target",
                        pattern,
                        "--probability",
                        "0",
                        "--id",
                        "wide",
                        "--json",
                        "--throw",
                        "java.lang.IllegalStateException",
                    ]),
                    "faultline inject (wide)",
                )?;
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                let reply: Value =
                    serde_json::from_str(reply.trim()).map_err(|e| format!("inject --json: {e}: {reply}"))?;
                let methods = reply["armed"][0]["methods"].as_u64().unwrap_or(0);
                let status: Value = serde_json::from_str(
                    run_ok(Command::new(&ctx.cli).args(["status", &pid, "--json"]), "status")?.trim(),
                )
                .map_err(|e| format!("status --json: {e}"))?;
                let fault = status["faults"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|f| f["id"] == "wide")
                    .cloned()
                    .unwrap_or(Value::Null);
                let method_count = fault["method_count"].as_u64().unwrap_or(0);
                let status_classes: BTreeSet<String> = fault["methods"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|m| m.as_str().and_then(|s| s.split('#').next()).map(str::to_string))
                    .collect();
                std::thread::sleep(Duration::from_millis(200));
                let jvm_redefined = redefined() - before;
                let t = Instant::now();
                run_ok(Command::new(&ctx.cli).args(["stop", &pid, "wide"]), "faultline stop")?;
                let stop_ms = t.elapsed().as_secs_f64() * 1000.0;
                std::thread::sleep(Duration::from_millis(200));
                let (pause_ms, pause_count) = longest_pause_ms(pauses_from);
                eprintln!(
                    "  round {round}/{rounds} {pattern}: armed in {ms:.1} ms; reply {methods} methods, status method_count {method_count} over {} classes, JVM log {jvm_redefined} classes retransformed (expected {expected}); stop {stop_ms:.1} ms; longest of {pause_count} redefinition pauses {pause_ms:.1} ms",
                    status_classes.len()
                );
                arm_ms[i].push(ms);
                pauses[i].push(pause_ms);
                counts[i].push((method_count, status_classes.len(), jvm_redefined));
                round_results.push(
                    json!({"pattern": pattern, "expected_classes": expected, "arm_ms": ms, "reply_methods": methods,
                    "status_method_count": method_count, "status_distinct_classes": status_classes.len(),
                    "jvm_log_retransformed": jvm_redefined, "stop_ms": stop_ms,
                    "redefinition_pauses": pause_count, "longest_pause_ms": pause_ms}),
                );
            }
            Ok(round_results)
        });
        let _ = child.kill();
        let _ = child.wait();
        match r {
            Ok(v) => results.push(json!({"round": round, "patterns": v})),
            Err(e) => fail(&e),
        }
    }
    for (i, (pattern, expected)) in patterns.iter().enumerate() {
        let s = stat(&arm_ms[i]);
        let c = counts[i].last().copied().unwrap_or((0, 0, 0));
        let only_matching = counts[i]
            .iter()
            .all(|&(m, cl, log)| m as usize == *expected && cl == *expected && (log == *expected || log == 0));
        row_push_scale(ctx, pattern, *expected, total, loaded_total, s, c, only_matching);
    }
    // The application is stopped while the JVM swaps classes in: the longest such pause over
    // arming and removing the widest pattern.
    let wide = stat(&pauses[patterns.len() - 1]);
    ctx.rows.push(row(
        &format!("8 longest JVM pause, arm+stop `{}`", patterns[patterns.len() - 1].0),
        fmt_stat(wide, 1, "ms"),
        format!("batches of {} classes", 500),
        "-".into(),
        "(for reference)",
        None,
    ));
    ctx.json.insert(
        "scale".into(),
        json!({"generated_classes": total, "classes_loaded_in_jvm": loaded_total, "rounds": results,
               "note": "jvm_log_retransformed counts -Xlog:redefine+class+load lines (0 if the JVM logs none)"}),
    );
}

#[allow(clippy::too_many_arguments)]
fn row_push_scale(
    ctx: &mut Ctx,
    pattern: &str,
    expected: usize,
    total: usize,
    loaded: u64,
    s: Stat,
    c: (u64, usize, usize),
    ok: bool,
) {
    ctx.rows.push(row(
        &format!("8 arm `{pattern}` ({total} gen.)"),
        fmt_stat(s, 1, "ms"),
        format!("{expected} of {loaded} loaded match"),
        format!("{} retransformed (log {})", c.1, c.2),
        "only matching retransformed",
        Some(ok),
    ));
}
