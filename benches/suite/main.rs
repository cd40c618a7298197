//! The side-by-side benchmark suite (issue 8): faultline next to Byteman (the established
//! fault injector for the JVM) and jattach (raw attach), on the same targets, in one run,
//! printed as one table with ratios. Raw numbers go to `<target dir>/bench-suite.json`.
//!
//! ```text
//! cargo build --release --workspace
//! cargo bench --bench suite
//! ```
//!
//! The fifteen measures (every JVM gets the same flags, `-Xms256m -Xmx256m -XX:+UseParallelGC`;
//! the tools run interleaved, A B A B, so a drifting machine hits all of them alike):
//!
//! 1. idle overhead, 2. armed with probability 0, 3. after stop: `benches/overhead.rs` (its
//!    configurations and `bench.Hot#step`), plus `byteman-p0`: Byteman started with
//!    `-javaagent:byteman.jar=script:…`, a rule on the same method whose condition
//!    (`$0 == null`) is evaluated on every call and is never true. Row 2 is also measured
//!    with `bench.Hot#step` kept out of the loop (`-XX:CompileCommand=dontinline`, both the
//!    no-agent baseline and faultline): what each call pays when the JIT cannot hoist the
//!    hook's checks.
//! 4. time to first fault on a fresh JVM (`benches/attach.rs`'s `attachbench.Target`): from the
//!    start of the command to the first injected exception seen by the target; faultline's
//!    `inject` vs Byteman's `Install` + `Submit`; jattach's bare `load` of a no-op agent (a
//!    C file compiled here with gcc) as the floor (command wall time).
//! 5. second command on the attached JVM: faultline's second `inject` vs Byteman's `Submit`
//!    of a second rule, each to the first exception of the second fault.
//! 6. latency accuracy (`latbench.Target`): 50 ms requested at the entry of a method that
//!    itself takes 1 ms; the added delay of each call is measured inside the target; faultline
//!    latency fault vs a Byteman rule `DO Thread.sleep(50L)`; p50 and p99 of (added − 50 ms).
//! 7. footprint: VmRSS of the target before arming and 1 s after one armed fault (faultline
//!    `inject` vs Byteman `Install` + `Submit`), and the tools' own peak RSS (`/usr/bin/time`).
//! 8. scale (`scalebench.Main`): 20,000 generated classes loaded (20 packages of 1,000, one
//!    method each); time of `faultline inject` (agent already attached) for a pattern that
//!    matches one package and for one that matches all 20,000, and how many classes were
//!    retransformed (the reply's method count, the distinct classes of `status`, and the
//!    JVM's own `-Xlog:redefine+class+load` lines).
//!
//! 9-10. the fault vocabulary when nothing fires (`vocabulary.rs`): `bench.Hot#mix(int)`, not
//!    inlined, with an exception fault whose `when = "arg0 < 0"` is never true, at entry (9)
//!    and at exit (10), against no agent and against Byteman rules `IF $1 < 0` at entry and
//!    at exit on the same method.
//! 11. the `jdbc` preset armed, statements it does not match (`presets.rs`): a prepared
//!    `SELECT` on H2 in memory (Debian `libh2-java`) in a loop; no agent vs the preset armed at
//!    startup with `sql = '(?i)^\s*update\s+orders\b'` vs a Byteman rule on
//!    `JdbcPreparedStatement#executeQuery` whose condition matches the driver's `toString`.
//! 12. resource faults (`resources.rs`): heap fill accuracy (fills 0.5 and 0.8: used after a
//!    full collection against the fill), the time from `stop` to the memory released, and the
//!    CPU load of `cpu --cores 1 --load 0.5` as `/proc` counts it; absolute targets, no peer.
//! 13. drill load over https (`drill_https.rs`): the demo service over http and over https
//!    (a self-signed certificate trusted with `ca`), each loaded by a fault-free `faultline
//!    drill run`; the p50 the drill measured over https minus over http in the same round, and
//!    the share of the asked rate the https load kept; and what the drill's load generator
//!    adds to its p50 over a blocking socket's round trip at the same pace; no peer.
//! 14. running only as approved (`drill_approval.rs`): the time from `faultline drill run` to
//!    the journal's first record, with `--approved proposal.json` (the file compared, the
//!    blast radius measured again) minus without, on the demo with one latency fault; no peer.
//! 15. broad patterns on a real service (`broad.rs`): Tomcat 10 embedded serving one row of H2
//!    through Tomcat's JDBC pool, loaded by the suite's own keep-alive client; throughput with
//!    every method of the server, the pool, the database and `java.util.concurrent` armed at
//!    startup with probability 0, over no agent; no peer.
//!
//! Peers come from Debian (`libbyteman-java`, `jattach`); when missing the suite runs
//! `apt-get install -y libbyteman-java jattach`. A peer that cannot be installed or run is
//! reported as such in its row; no number is made up.
//!
//! Layout: this file runs the measures in order, prints the table and writes the JSON;
//! `harness.rs` holds the context, the rows, statistics, the peers and process helpers; one
//! module per measure (`overhead.rs` 1-3, `first_fault.rs` 4-5, `latency.rs` 6,
//! `footprint.rs` 7, `scale.rs` 8, `vocabulary.rs` 9-10, `presets.rs` 11, `resources.rs` 12,
//! `drill_https.rs` 13, `drill_approval.rs` 14, `broad.rs` 15). The JVMs of
//! measures 1-3 and 4-5, shared with
//! `cargo bench --bench overhead` and `--bench attach`, are in the `faultline-bench` crate
//! (`benches/faultline-bench/`).
//!
//! Environment (defaults give about 14 minutes on 2 cores):
//! `FAULTLINE_SUITE_ONLY` (e.g. `1,4,8`: measures to run; 1-3 run together),
//! `FAULTLINE_SUITE_ROUNDS` (8), `FAULTLINE_SUITE_WARMUP_MS` (2000),
//! `FAULTLINE_SUITE_ITERATIONS` (6), `FAULTLINE_SUITE_ITERATION_MS` (300) for measures 1-3;
//! `FAULTLINE_SUITE_RUNS` (5) fresh JVMs per tool for 4-5; `FAULTLINE_SUITE_LAT_ROUNDS` (2)
//! and `FAULTLINE_SUITE_LAT_SAMPLES` (300) for 6; `FAULTLINE_SUITE_FOOTPRINT_RUNS` (3) for 7;
//! `FAULTLINE_SUITE_SCALE_CLASSES` (20000) and `FAULTLINE_SUITE_SCALE_ROUNDS` (2) for 8;
//! `FAULTLINE_SUITE_VOCAB_ROUNDS` (4) for 9-10 (with the warm-up and iterations of 1-3);
//! `FAULTLINE_SUITE_PRESET_ROUNDS` (5), `FAULTLINE_SUITE_PRESET_WARMUP_MS` (2000),
//! `FAULTLINE_SUITE_PRESET_ITERATIONS` (8), `FAULTLINE_SUITE_PRESET_ITERATION_MS` (250) for 11;
//! `FAULTLINE_SUITE_RESOURCE_ROUNDS` (3) for 12; `FAULTLINE_SUITE_HTTPS_ROUNDS` (3),
//! `FAULTLINE_SUITE_HTTPS_RATE` (200) and `FAULTLINE_SUITE_HTTPS_SECONDS` (6) for 13; `FAULTLINE_SUITE_APPROVAL_ROUNDS` (4) for 14;
//! `FAULTLINE_SUITE_BROAD_ROUNDS` (3), `FAULTLINE_SUITE_BROAD_WARMUP_MS` (20000),
//! `FAULTLINE_SUITE_BROAD_ITERATIONS` (5), `FAULTLINE_SUITE_BROAD_ITERATION_MS` (2000),
//! `FAULTLINE_SUITE_BROAD_CLIENTS` (8), `FAULTLINE_SUITE_BROAD_ONLY` (some of `catalina,coyote,
//! tomcat,h2,juc`: the patterns armed) and `FAULTLINE_SUITE_BROAD_JVM_FLAGS` (for both JVMs) for 15.

mod broad;
mod drill_approval;
mod drill_https;
mod first_fault;
mod footprint;
mod harness;
mod latency;
mod overhead;
mod presets;
mod resources;
mod scale;
mod vocabulary;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Instant;

use faultline_bench::{artifact_dir, java_version, jdk_tool, JVM_FLAGS};
use harness::{ensure_peers, fail, load_average, num_cores, Ctx};
use serde_json::{json, Value};

fn main() {
    let started = Instant::now();
    let artifacts = artifact_dir();
    let cli = artifacts.join("faultline");
    let lib = artifacts.join("libfaultline_agent.so");
    let jar = artifacts.join("faultline-agent.jar");
    for p in [&cli, &lib, &jar] {
        if !p.exists() {
            fail(&format!(
                "{} is missing: build first with the same target directory: cargo build --release --workspace",
                p.display()
            ));
        }
    }
    let only: Option<BTreeSet<u32>> = std::env::var("FAULTLINE_SUITE_ONLY")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect());
    let wanted = |m: u32| only.as_ref().is_none_or(|o| o.contains(&m));

    let scratch = std::env::temp_dir().join(format!("faultline-bench-suite-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap_or_else(|e| fail(&format!("cannot create {}: {e}", scratch.display())));

    let load_start = load_average();
    let java = jdk_tool("java");
    let java_version = java_version(&java);
    eprintln!("suite: {java_version}; load average at start {load_start} ({} cores)", num_cores());
    let (byteman, jattach) = ensure_peers(&scratch);
    let time = Some(PathBuf::from("/usr/bin/time")).filter(|p| p.exists());
    let mut ctx = Ctx {
        cli,
        lib,
        jar,
        java,
        scratch: scratch.clone(),
        byteman,
        jattach,
        time,
        json: serde_json::Map::new(),
        rows: Vec::new(),
    };
    let mut loads = vec![json!({"at": "start", "loadavg": load_start})];
    type Measure = fn(&mut Ctx);
    let measures: [(u32, &str, Measure); 11] = [
        (1, "1-3 overhead", overhead::measure),
        (4, "4-5 first and second fault", first_fault::measure),
        (6, "6 latency accuracy", latency::measure),
        (7, "7 footprint", footprint::measure),
        (8, "8 scale", scale::measure),
        (9, "9-10 vocabulary", vocabulary::measure),
        (11, "11 jdbc preset", presets::measure),
        (12, "12 resource faults", resources::measure),
        (13, "13 drill load over https", drill_https::measure),
        (14, "14 drill run --approved", drill_approval::measure),
        (15, "15 broad patterns on Tomcat", broad::measure),
    ];
    for (n, name, f) in measures {
        let run = match n {
            1 => wanted(1) || wanted(2) || wanted(3),
            4 => wanted(4) || wanted(5),
            9 => wanted(9) || wanted(10),
            n => wanted(n),
        };
        if !run {
            continue;
        }
        let t = Instant::now();
        eprintln!("suite: measure {name} (load average {})", load_average());
        f(&mut ctx);
        eprintln!("suite: measure {name} done in {:.0} s", t.elapsed().as_secs_f64());
        loads.push(json!({"after": name, "loadavg": load_average()}));
    }
    let load_end = load_average();

    println!();
    println!(
        "faultline benchmark suite ({java_version}, {} cores; load average 1/5/15 min: {load_start} at start, {load_end} at end; {:.0} s)",
        num_cores(),
        started.elapsed().as_secs_f64()
    );
    println!("faultline column: median [min..max] over runs; peer/baseline column: median, measured in the same run");
    let widths = [42, 32, 40, 30, 28];
    println!(
        "{:<w0$} {:<w1$} {:<w2$} {:<w3$} {:<w4$} result",
        "measure",
        "faultline",
        "peer / baseline",
        "ratio",
        "target",
        w0 = widths[0],
        w1 = widths[1],
        w2 = widths[2],
        w3 = widths[3],
        w4 = widths[4]
    );
    for r in &ctx.rows {
        println!(
            "{:<w0$} {:<w1$} {:<w2$} {:<w3$} {:<w4$} {}",
            r.measure,
            r.faultline,
            r.peer,
            r.ratio,
            r.target,
            r.result,
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3],
            w4 = widths[4]
        );
    }
    let table: Vec<Value> = ctx
        .rows
        .iter()
        .map(|r| {
            json!({"measure": r.measure, "faultline": r.faultline, "peer": r.peer, "ratio": r.ratio,
                   "target": r.target, "result": r.result})
        })
        .collect();
    let mut out = serde_json::Map::new();
    out.insert("benchmark".into(), json!("suite"));
    out.insert("java".into(), json!(java_version));
    out.insert("jvm_flags".into(), json!(JVM_FLAGS));
    out.insert("cores".into(), json!(num_cores()));
    out.insert("loadavg".into(), json!(loads));
    out.insert("elapsed_s".into(), json!(started.elapsed().as_secs_f64()));
    out.insert("table".into(), json!(table));
    out.insert("measures".into(), Value::Object(std::mem::take(&mut ctx.json)));
    let json_path = artifacts.parent().unwrap_or(&artifacts).join("bench-suite.json");
    match std::fs::write(&json_path, serde_json::to_string_pretty(&Value::Object(out)).expect("json") + "\n") {
        Ok(()) => println!("raw numbers: {}", json_path.display()),
        Err(e) => eprintln!("suite: cannot write {}: {e}", json_path.display()),
    }
    let _ = std::fs::remove_dir_all(&scratch);
}
