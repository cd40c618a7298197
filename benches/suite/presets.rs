//! Row 11: what an armed `jdbc` preset costs per statement when it matches nothing, on a real
//! driver. `jdbcbench.Main` runs a prepared `SELECT v FROM t WHERE id = ?` on H2 in memory
//! (`executeQuery` and `ResultSet.next()`) in a loop, in fresh JVMs run interleaved:
//! - `baseline`: no agent;
//! - `preset`: the agent with a scenario armed at startup (`-agentpath:…=scenario=…,events=…`):
//!   an exception fault `preset = "jdbc"`, `sql = '(?i)^\s*update\s+orders\b'`, which never
//!   matches the SELECT;
//! - `byteman`: a Byteman rule doing the same job the Byteman way, on the driver's class
//!   (`org.h2.jdbc.JdbcPreparedStatement#executeQuery`, at entry): Byteman cannot see the SQL of
//!   a prepared statement except through the driver's `toString` (`prep3: SELECT … {1: 5}`
//!   for H2), so its condition is a regex on that.
//!
//! Checks, each run: every `preset` JVM's events file shows the fault armed with the preset and
//! its removal (at the end of the run) with nothing injected and no injection event, and the
//! agent's status, asked by the program after its timed iterations (at startup the armed event
//! says `methods: 0`: no JDBC class is loaded yet), names the methods the preset reached,
//! `JdbcPreparedStatement#executeQuery()` among them. Every `byteman` JVM executes a prepared
//! `UPDATE orders …` after its timed iterations, which the rule must refuse (proof that the rule
//! was in place and would do the job).
//!
//! The driver is Debian's `libh2-java` (`/usr/share/java/h2.jar`).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use faultline_bench::{env_num, median, JVM_FLAGS};
use serde_json::{json, Value};

use crate::harness::{fail, guarded, row, short, stat, write, Ctx};

const H2_JAR: &str = "/usr/share/java/h2.jar";
const FAULT_ID: &str = "orders-update";
/// The preset's key, as a TOML literal string.
const SQL: &str = r"(?i)^\s*update\s+orders\b";
/// The Byteman condition's regex, as Byteman's string literal (backslashes escaped): the same
/// statements, in H2's description of a prepared statement (`prepN: <sql> {<parameters>}`).
const BYTEMAN_REGEX: &str = r"(?is)prep\\d+:\\s*update\\s+orders\\b.*";
/// The method the bench loop calls, which the preset must have reached.
const MEASURED: &str = "org.h2.jdbc.JdbcPreparedStatement#executeQuery()";

pub(crate) fn measure(ctx: &mut Ctx) {
    let rounds = env_num("FAULTLINE_SUITE_PRESET_ROUNDS", 5).max(1) as usize;
    let warmup_ms = env_num("FAULTLINE_SUITE_PRESET_WARMUP_MS", 2000);
    let iterations = env_num("FAULTLINE_SUITE_PRESET_ITERATIONS", 8).max(1) as usize;
    let iteration_ms = env_num("FAULTLINE_SUITE_PRESET_ITERATION_MS", 250).max(1);
    let h2 = Path::new(H2_JAR);
    if !h2.exists() {
        fail(&format!(
            "row 11 needs the H2 JDBC driver at {H2_JAR}: install Debian's package libh2-java \
             (apt-get install -y libh2-java), or leave the row out (FAULTLINE_SUITE_ONLY)"
        ));
    }
    let classes = ctx.scratch.join("jdbc-classes");
    compile_jdbcbench(&ctx.jar, h2, &classes);
    let classpath = format!("{}:{}:{}", classes.display(), h2.display(), ctx.jar.display());

    let scenario = ctx.scratch.join("jdbc-preset.toml");
    write(
        &scenario,
        &format!(
            "name = \"suite row 11: jdbc preset, never matches\"\n\n[[fault]]\nid = \"{FAULT_ID}\"\n\
             kind = \"exception\"\npreset = \"jdbc\"\nsql = '{SQL}'\n"
        ),
    );
    let rules = ctx.scratch.join("jdbc-preset.btm");
    let rule_text = format!(
        "RULE update orders fails\nCLASS org.h2.jdbc.JdbcPreparedStatement\nMETHOD executeQuery\nAT ENTRY\n\
         IF $0.toString().matches(\"{BYTEMAN_REGEX}\")\n\
         DO throw new java.sql.SQLTransientConnectionException(\"x\")\nENDRULE\n"
    );
    write(&rules, &rule_text);

    let mut configs = vec!["baseline", "preset"];
    if ctx.byteman.is_ok() {
        configs.push("byteman");
    }
    let mut jvms: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut reached: Vec<usize> = Vec::new();
    let mut byteman_err: Option<String> = None;
    for round in 1..=rounds {
        for &config in &configs {
            if config == "byteman" && byteman_err.is_some() {
                continue;
            }
            let events = ctx.scratch.join(format!("jdbc-{config}-{round}.jsonl"));
            let result = guarded(config, || {
                let mut cmd = Command::new(&ctx.java);
                cmd.args(JVM_FLAGS);
                let after = match config {
                    "baseline" => "",
                    "preset" => {
                        cmd.arg(ctx.agent_at_startup(&scenario, &events));
                        // The program's status request finds the library already loaded.
                        cmd.arg(format!("-Dfaultline.agent={}", ctx.lib.display()));
                        "check"
                    }
                    _ => {
                        let b = ctx.byteman.as_ref().map_err(|e| e.clone())?;
                        cmd.arg(format!("-javaagent:{}=script:{}", b.agent.display(), rules.display()));
                        "probe"
                    }
                };
                let out = cmd
                    .args(["-cp", &classpath, "jdbcbench.Main"])
                    .arg(warmup_ms.to_string())
                    .arg(iterations.to_string())
                    .arg(iteration_ms.to_string())
                    .args(Some(after).filter(|a| !a.is_empty()))
                    .stdin(Stdio::null())
                    .output()
                    .map_err(|e| format!("cannot run java: {e}"))?;
                let text = String::from_utf8_lossy(&out.stdout);
                let stderr = String::from_utf8_lossy(&out.stderr);
                let ns: Vec<f64> = text
                    .lines()
                    .filter_map(|l| l.strip_prefix("RESULT run ")?.split_whitespace().next()?.parse().ok())
                    .collect();
                if !out.status.success() || ns.len() != iterations {
                    return Err(format!(
                        "{config}: {} of {iterations} iterations ({})\nstdout:\n{text}\nstderr:\n{stderr}",
                        ns.len(),
                        out.status
                    ));
                }
                let methods = match config {
                    "preset" => Some(check_preset(&text, &stderr, &events)?),
                    "byteman" => {
                        let probe = text.lines().find_map(|l| l.strip_prefix("CHECK probe ")).unwrap_or("missing");
                        if !probe.starts_with("fired ") {
                            return Err(format!(
                                "byteman: the rule did not refuse a prepared UPDATE orders ({probe}); stderr:\n{stderr}"
                            ));
                        }
                        None
                    }
                    _ => None,
                };
                Ok((median(&ns), methods))
            });
            match result {
                Ok((m, methods)) => {
                    eprintln!("  round {round}/{rounds} {config:<8} median {m:>9.1} ns/statement");
                    jvms.entry(config).or_default().push(m);
                    reached.extend(methods);
                }
                Err(e) if config == "byteman" => {
                    eprintln!("  round {round}/{rounds} byteman: {e}");
                    byteman_err = Some(e);
                }
                Err(e) => fail(&format!("row 11 (jdbc preset), round {round}: {e}")),
            }
        }
    }

    let base = stat(&jvms["baseline"]);
    let ours = stat(&jvms["preset"]);
    let added = ours.med - base.med;
    let per_round: Vec<f64> = jvms["preset"].iter().zip(&jvms["baseline"]).map(|(x, b)| x - b).collect();
    let rs = stat(&per_round);
    let name = "11 jdbc preset armed, SQL not matched";
    let target = "< Byteman, ≤ 1 µs added, every round";
    let faultline = format!("{added:+.0} ns ({:.0} ns/stmt)", ours.med);
    let within = rs.max <= 1000.0;
    let (peer, ratio, met, bm_added) = match (&ctx.byteman, &byteman_err, jvms.get("byteman")) {
        (Ok(_), None, Some(bm)) => {
            // Each round against its own baseline JVM: below Byteman's added cost every time.
            let below_byteman = !bm.is_empty()
                && bm.iter().zip(&jvms["baseline"]).zip(&per_round).all(|((b, base), ours)| *ours < b - base);
            let bm = stat(bm);
            let bm_added = bm.med - base.med;
            (
                format!("Byteman {bm_added:+.0} ns; no agent {:.0} ns/stmt", base.med),
                format!("{:.1}x less; rounds {:+.0}..{:+.0}", bm_added / added.max(1.0), rs.min, rs.max),
                Some(within && below_byteman),
                Some(bm_added),
            )
        }
        (Err(e), _, _) | (_, Some(e), _) => (
            format!("Byteman n/a: {}", short(e)),
            format!("rounds {:+.0}..{:+.0}", rs.min, rs.max),
            // Without the peer, only the absolute half of the target can be judged.
            if within { None } else { Some(false) },
            None,
        ),
        _ => unreachable!("byteman ran without results or error"),
    };
    ctx.rows.push(row(name, faultline, peer, ratio, target, met));
    ctx.json.insert(
        "jdbc_preset".into(),
        json!({
            "driver": format!("H2 in memory, {H2_JAR}"),
            "statement": "SELECT v FROM t WHERE id = ? (prepared; executeQuery, next)",
            "scenario": {"kind": "exception", "preset": "jdbc", "sql": SQL},
            "byteman_rule": rule_text,
            "rounds": rounds, "warmup_ms": warmup_ms, "iterations": iterations, "iteration_ms": iteration_ms,
            "added_ns": added, "byteman_added_ns": bm_added, "per_round_added_ns": per_round,
            "preset_methods_reached": reached, "byteman_error": byteman_err,
            "jvm_medians_ns": jvms,
        }),
    );
}

/// The `preset` JVM's proof: the status it printed names the measured method among the methods
/// the preset reached, nothing was injected, and its events file shows the fault armed with
/// the preset and removed with nothing injected. Returns how many methods the preset reached.
fn check_preset(stdout: &str, stderr: &str, events: &Path) -> Result<usize, String> {
    let log = std::fs::read_to_string(events).unwrap_or_default();
    let complain = |what: String| {
        Err(format!("preset: {what}\nevents file {}:\n{log}\nstdout:\n{stdout}\nstderr:\n{stderr}", events.display()))
    };
    let lines: Vec<Value> = log.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let ours = |kind: &str| lines.iter().find(|e| e["fault"] == FAULT_ID && e["kind"] == kind);
    match ours("armed") {
        Some(a) if a["preset"] == "jdbc" => {}
        _ => return complain(format!("no \"armed\" event of fault {FAULT_ID} with preset jdbc")),
    }
    match ours("removed") {
        Some(r) if r["injected"] == 0 => {}
        Some(r) => return complain(format!("the fault injected {} times", r["injected"])),
        None => return complain("no \"removed\" event (the program removes the fault after its iterations)".into()),
    }
    if let Some(fired) = lines.iter().find(|e| e["fault"] == FAULT_ID && e["kind"] == "exception") {
        return complain(format!("the fault fired: {fired}"));
    }
    let Some(status) = stdout.lines().find_map(|l| l.strip_prefix("CHECK status ")) else {
        return complain("the program printed no status".into());
    };
    let status: Value =
        serde_json::from_str(status).map_err(|e| format!("preset: unreadable status ({e}): {status}"))?;
    let Some(fault) = status["faults"].as_array().and_then(|f| f.iter().find(|f| f["id"] == FAULT_ID)) else {
        return complain(format!("fault {FAULT_ID} is not in the status"));
    };
    let methods: Vec<&str> =
        fault["methods"].as_array().map(|m| m.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    if !methods.iter().any(|m| m.starts_with(MEASURED)) || fault["injected"] != 0 {
        return complain(format!(
            "expected {MEASURED} among the {} methods the preset reached and nothing injected (injected {})",
            methods.len(),
            fault["injected"]
        ));
    }
    Ok(methods.len())
}

/// Compiles `benches/java/jdbcbench/*.java` for Java 11 against H2 and the agent jar (the
/// program asks the agent for its status through the faultline API).
fn compile_jdbcbench(jar: &Path, h2: &Path, classes: &Path) {
    faultline_bench::overhead::compile_sources("jdbcbench", &format!("{}:{}", h2.display(), jar.display()), classes);
}
