//! Overhead of the faultline agent on a tiny hot method.
//!
//! What is measured: the time per call of `bench.Hot#step` (`benches/java/bench/Hot.java`), an
//! xorshift32 step on an int field (a serial chain of about 2 ns of real work whose result is
//! consumed), called in a tight loop by `benches/java/bench/Main.java`. Each configuration
//! runs in its own fresh JVM with identical flags (`-Xms256m -Xmx256m -XX:+UseParallelGC`,
//! same class path):
//!
//! | configuration | JVM                                                                              |
//! |---------------|----------------------------------------------------------------------------------|
//! | `baseline`    | no agent                                                                         |
//! | `idle`        | `-agentpath:libfaultline_agent.so` (loaded, nothing armed)                      |
//! | `armed-p0`    | `-agentpath:libfaultline_agent.so=scenario=…`: an exception fault on `bench.Hot#step` with `probability = 0` (armed, never fires) |
//! | `after-stop`  | `-Dfaultline.agent=…`: `Faultline.install()`, arm the same fault with the API, measure, `close()` the handle, then measure again; the second measurement is reported |
//!
//! Every JVM warms up (3 s by default), then runs fixed-length iterations (10 × 500 ms) and
//! prints ns/call for each. The configurations run interleaved (A B C D A B C D …) for
//! several rounds so that slow drifts of a noisy machine hit all of them alike. The table
//! shows, over all iterations of all rounds, the median / min / max ns per call, the
//! throughput relative to the baseline (baseline median / median) and the ns added per call
//! (median − baseline median). The raw numbers go to `<target dir>/bench-overhead.json`.
//!
//! The JVMs and their checks (`run_config`) are in `benches/faultline-bench/src/overhead.rs`,
//! shared with rows 1-3 of `cargo bench --bench suite`; this file runs the rounds and prints
//! the table.
//!
//! Run it (the agent and jar must be built first, in the same target directory):
//!
//! ```text
//! cargo build --release --workspace
//! cargo bench --bench overhead
//! ```
//!
//! Environment: `FAULTLINE_BENCH_ROUNDS` (default 3), `FAULTLINE_BENCH_WARMUP_MS` (3000),
//! `FAULTLINE_BENCH_ITERATIONS` (10), `FAULTLINE_BENCH_ITERATION_MS` (500); `JAVA_HOME`
//! selects the JDK (else `java`/`javac` from `PATH`). A full run with the defaults takes
//! about two and a half minutes.
//!
//! Targets: `idle` and `after-stop` ≥ 0.99 of the baseline throughput; `armed-p0` ≤ 1.5 ns
//! added per call.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::exit;
use std::time::Instant;

use faultline_bench::overhead::{compile_java, run_config, Settings, Setup, ARMED_P0_SCENARIO};
use faultline_bench::{artifact_dir, env_num, fail, java_version, jdk_tool, median, JVM_FLAGS};

const CONFIGS: [&str; 4] = ["baseline", "idle", "armed-p0", "after-stop"];

fn main() {
    // `cargo bench` passes `--bench`; any other argument is ignored.
    let settings = Settings {
        rounds: env_num("FAULTLINE_BENCH_ROUNDS", 3).max(1) as usize,
        warmup_ms: env_num("FAULTLINE_BENCH_WARMUP_MS", 3000),
        iterations: env_num("FAULTLINE_BENCH_ITERATIONS", 10).max(1) as usize,
        iteration_ms: env_num("FAULTLINE_BENCH_ITERATION_MS", 500).max(1),
    };
    let artifacts = artifact_dir();
    let lib = artifacts.join("libfaultline_agent.so");
    let jar = artifacts.join("faultline-agent.jar");
    let missing: Vec<&Path> = [lib.as_path(), jar.as_path()].into_iter().filter(|p| !p.exists()).collect();
    if !missing.is_empty() {
        for m in &missing {
            eprintln!("overhead bench: {} is missing.", m.display());
        }
        eprintln!(
            "Build the agent first, with the same target directory: cargo build --release --workspace \
             (then cargo bench --bench overhead)."
        );
        exit(1);
    }

    let scratch = std::env::temp_dir().join(format!("faultline-bench-overhead-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap_or_else(|e| fail(&format!("cannot create {}: {e}", scratch.display())));
    let classes = scratch.join("classes");
    compile_java(&jar, &classes);
    let scenario = scratch.join("armed-p0.toml");
    std::fs::write(&scenario, ARMED_P0_SCENARIO).unwrap_or_else(|e| fail(&format!("cannot write the scenario: {e}")));
    let setup = Setup {
        java: jdk_tool("java"),
        classpath: format!("{}:{}", classes.display(), jar.display()),
        lib,
        scenario,
        scratch: scratch.clone(),
        byteman: None,
    };

    let java_version = java_version(&setup.java);
    eprintln!(
        "overhead bench: {} rounds × {} configurations, warm-up {} ms, {} × {} ms per JVM ({java_version})",
        settings.rounds,
        CONFIGS.len(),
        settings.warmup_ms,
        settings.iterations,
        settings.iteration_ms
    );
    eprintln!("  agent: {}", setup.lib.display());

    let started = Instant::now();
    // samples[config][round] = ns/call of each iteration.
    let mut samples: BTreeMap<&str, Vec<Vec<f64>>> = BTreeMap::new();
    let mut api_armed: Vec<Vec<f64>> = Vec::new();
    let mut info: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for round in 1..=settings.rounds {
        for config in CONFIGS {
            let t = Instant::now();
            let out = run_config(&setup, &settings, config, round);
            let reported = match config {
                "after-stop" => "after-stop",
                _ => "run",
            };
            let values = out.phases.get(reported).cloned().unwrap_or_default();
            if values.len() != settings.iterations {
                fail(&format!(
                    "{config} (round {round}): expected {} iterations, got {}",
                    settings.iterations,
                    values.len()
                ));
            }
            if let Some(armed) = out.phases.get("api-armed") {
                api_armed.push(armed.clone());
            }
            eprintln!(
                "  round {round}/{} {config:<10} median {:>6.3} ns/call  ({:.1} s)",
                settings.rounds,
                median(&values),
                t.elapsed().as_secs_f64()
            );
            info.entry(config).or_default().extend(out.info);
            samples.entry(config).or_default().push(values);
        }
    }

    // Table over all iterations of all rounds.
    let flat = |c: &str| -> Vec<f64> { samples[c].iter().flatten().copied().collect() };
    let base = median(&flat("baseline"));
    println!();
    println!(
        "faultline overhead: bench.Hot#step, {} rounds × {} × {} ms per configuration ({java_version})",
        settings.rounds, settings.iterations, settings.iteration_ms
    );
    println!(
        "{:<12} {:>10} {:>10} {:>10} {:>16} {:>14}",
        "config", "median ns", "min ns", "max ns", "throughput/base", "added ns/call"
    );
    let mut json_configs = serde_json::Map::new();
    for config in CONFIGS {
        let all = flat(config);
        let med = median(&all);
        let min = all.iter().copied().fold(f64::INFINITY, f64::min);
        let max = all.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let ratio = base / med;
        let added = med - base;
        println!("{config:<12} {med:>10.3} {min:>10.3} {max:>10.3} {ratio:>16.4} {added:>+14.3}");
        let round_medians: Vec<f64> = samples[config].iter().map(|r| median(r)).collect();
        let round_ratios: Vec<f64> =
            samples["baseline"].iter().zip(&samples[config]).map(|(b, c)| median(b) / median(c)).collect();
        json_configs.insert(
            config.to_string(),
            serde_json::json!({
                "median_ns": med,
                "min_ns": min,
                "max_ns": max,
                "throughput_ratio": ratio,
                "added_ns_per_call": added,
                "round_medians_ns": round_medians,
                "round_throughput_ratios": round_ratios,
                "samples_ns": samples[config],
                "checks": info.get(config).cloned().unwrap_or_default(),
            }),
        );
    }
    // The machine's load drifts between rounds; ratios within one round (configurations
    // run back to back) show how much of the spread is the machine rather than the agent.
    let per_round: Vec<String> = CONFIGS[1..]
        .iter()
        .map(|c| {
            let r: Vec<String> = (0..settings.rounds)
                .map(|i| format!("{:.3}", median(&samples["baseline"][i]) / median(&samples[c][i])))
                .collect();
            format!("{c} {}", r.join(" "))
        })
        .collect();
    println!("per-round throughput/base: {}", per_round.join(" | "));
    let api_flat: Vec<f64> = api_armed.iter().flatten().copied().collect();
    if !api_flat.is_empty() {
        let m = median(&api_flat);
        println!(
            "(after-stop JVMs, before close(): API-armed p=0 median {m:.3} ns, {:+.3} ns/call vs baseline)",
            m - base
        );
    }
    println!("targets: idle ≥ 0.99, after-stop ≥ 0.99 (throughput/base); armed-p0 ≤ 1.5 added ns/call");

    let json = serde_json::json!({
        "benchmark": "overhead",
        "method": "bench.Hot#step",
        "java": java_version,
        "jvm_flags": JVM_FLAGS,
        "rounds": settings.rounds,
        "warmup_ms": settings.warmup_ms,
        "iterations": settings.iterations,
        "iteration_ms": settings.iteration_ms,
        "baseline_median_ns": base,
        "configs": json_configs,
        "api_armed_before_close_ns": api_armed,
        "elapsed_s": started.elapsed().as_secs_f64(),
    });
    let json_path = artifacts.parent().unwrap_or(&artifacts).join("bench-overhead.json");
    match std::fs::write(&json_path, serde_json::to_string_pretty(&json).expect("serialize") + "\n") {
        Ok(()) => println!("raw numbers: {}", json_path.display()),
        Err(e) => eprintln!("overhead bench: cannot write {}: {e}", json_path.display()),
    }
    println!("total time: {:.0} s", started.elapsed().as_secs_f64());
    let _ = std::fs::remove_dir_all(&scratch);
}
