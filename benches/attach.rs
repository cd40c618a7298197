//! Time to first fault through the CLI.
//!
//! For each of N fresh JVMs (`benches/java/attachbench/Target.java`, started without any
//! agent flag): the time from the start of `faultline inject PID exception ...` to the moment
//! the target first observes the injected exception (wall clock, microseconds, read on both
//! sides), then the same for a second `inject` on the now attached JVM. Prints median, min
//! and max over the runs.
//!
//! The target JVMs and the `inject` commands are in `benches/faultline-bench/src/attach.rs`,
//! shared with rows 4-5 and 7 of `cargo bench --bench suite`.
//!
//! ```text
//! cargo build --release --workspace
//! cargo bench --bench attach
//! ```
//! `FAULTLINE_BENCH_RUNS` sets the number of fresh JVMs (default 5).

use std::process::exit;

use faultline_bench::artifact_dir;
use faultline_bench::attach::{compile_target, one_run};

fn main() {
    let runs: usize = std::env::var("FAULTLINE_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5).max(1);
    let artifacts = artifact_dir();
    let cli = artifacts.join("faultline");
    if !cli.exists() || !artifacts.join("libfaultline_agent.so").exists() {
        eprintln!(
            "faultline and libfaultline_agent.so are missing in {}: run `cargo build --release --workspace` first",
            artifacts.display()
        );
        exit(1);
    }
    let classes = compile_target();
    let mut first = Vec::new();
    let mut second = Vec::new();
    for run in 0..runs {
        let (a, b) = one_run(&cli, &classes, &[]);
        println!(
            "run {}: first inject -> first exception {:.1} ms; second inject -> its first exception {:.1} ms",
            run + 1,
            a,
            b
        );
        first.push(a);
        second.push(b);
    }
    println!();
    println!("{:<46} {:>9} {:>9} {:>9}", "measure (ms, wall clock)", "median", "min", "max");
    row("faultline inject on a fresh JVM -> first fault", &mut first);
    row("second inject on the attached JVM -> fault", &mut second);
    println!("targets: fresh JVM < 60 ms; second command < 10 ms");
}

fn row(name: &str, values: &mut [f64]) {
    values.sort_by(f64::total_cmp);
    let median = values[values.len() / 2];
    println!("{name:<46} {median:>9.1} {:>9.1} {:>9.1}", values[0], values[values.len() - 1]);
}
