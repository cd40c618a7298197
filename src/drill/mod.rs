//! `faultline drill`: chaos drills from one TOML file. Plan (`model`), check the blast
//! radius (`check`), run with open-loop load, probes and alarms (`run`, `load`, `probe`,
//! `http`, `alarm`, `monitoring`, `targets`), record (`journal`), judge (`judge`) and report (`report`).

pub mod alarm;
pub mod check;
pub mod command;
pub mod contingency;
pub mod http;
pub mod journal;
pub mod judge;
pub mod load;
pub mod model;
pub mod monitoring;
pub mod probe;
pub mod proposal;
pub mod report;
pub mod review;
pub mod run;
pub mod targets;

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::Subcommand;

/// The three verbs of `faultline drill`.
#[derive(Subcommand)]
pub enum DrillVerb {
    /// Validate a drill file, attach to its targets without injecting anything, and show per fault the methods it would hit; with --out, write the proposal to review and approve.
    Check {
        drill: PathBuf,
        #[arg(long)]
        json: bool,
        /// Also write the proposal to review and sign: DIR/proposal.html and DIR/proposal.json (for `run --approved`).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Run a drill with live progress; writes DIR/journal.jsonl, DIR/report.html and DIR/summary.json. Exit 0 when every expectation held, 1 otherwise; with --approved, only as that proposal approved it.
    Run {
        drill: PathBuf,
        /// Where to write the journal and the report (default drills/NAME-TIMESTAMP/).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Print summary.json on stdout at the end (progress goes to stderr).
        #[arg(long)]
        json: bool,
        /// Run only as approved: refuse (before injecting anything) when the drill file changed since this proposal or a fault would hit more than it lists.
        #[arg(long, value_name = "PROPOSAL")]
        approved: Option<PathBuf>,
    },
    /// Render the report and summary.json again from DIR/journal.jsonl; with --compare, review this run against earlier runs of the same drill.
    Report {
        dir: PathBuf,
        /// Earlier runs of the same drill (their output directories), compared in the report.
        #[arg(long, value_name = "OLDER_DIR", num_args = 1..)]
        compare: Vec<PathBuf>,
    },
}

/// Runs one drill verb; an error, or a drill that did not pass, comes back as an error (exit 1).
pub fn command(verb: DrillVerb, agent: Option<&Path>) -> Result<()> {
    match verb {
        DrillVerb::Check { drill, json, out } => check::check(&drill, json, out.as_deref(), agent),
        DrillVerb::Run { drill, out, json, approved } => {
            let finished = run::run(&drill, out, json, approved.as_deref(), agent)?;
            let report = finished.dir.join(report::HTML);
            announce(&finished.summary, &report, json);
            if finished.summary["passed"] != true {
                bail!("the drill did not pass (report: {})", report.display());
            }
            Ok(())
        }
        DrillVerb::Report { dir, compare } => {
            let summary = report::render_compared(&dir, &compare)?;
            announce(&summary, &dir.join(report::HTML), false);
            Ok(())
        }
    }
}

/// The verdict, the figures and the failed expectations, then the report's path.
fn announce(summary: &serde_json::Value, report: &Path, json_out: bool) {
    if json_out {
        println!("{summary}");
        return;
    }
    let ms = |v: &serde_json::Value| v.as_f64().map_or("-".to_string(), |x| format!("{:.1} s", x / 1000.0));
    println!(
        "verdict: {}{}  time to detect: {}  time to recover: {}",
        if summary["passed"] == true { "PASSED" } else { "FAILED" },
        if summary["aborted"] == true { " (stopped early)" } else { "" },
        ms(&summary["time_to_detect_ms"]),
        ms(&summary["time_to_recover_ms"])
    );
    for e in summary["expectations"].as_array().into_iter().flatten() {
        println!(
            "  {} {}: {}",
            if e["held"] == true { "ok  " } else { "FAIL" },
            e["what"].as_str().unwrap_or(""),
            e["detail"].as_str().unwrap_or("")
        );
    }
    let generator = &summary["generator"];
    if generator["fell_behind"] == true {
        println!(
            "  warning: the load generator fell behind ({} requests left more than 1 ms late, latest {} ms): \
             the latencies include its delay; run from a less loaded machine or at a lower rate",
            generator["late_over_1ms"], generator["late_max_ms"]
        );
    }
    println!("report: {}", report.display());
}
