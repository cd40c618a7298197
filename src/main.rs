//! The `faultline` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use faultline::scenario::Scenario;

/// Fault injection for the JVM: latency, exceptions and hangs in named methods.
#[derive(Parser)]
#[command(name = "faultline", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate scenario files and print the faults they arm.
    Check {
        /// Scenario files (TOML).
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { scenarios } => check(&scenarios),
    }
}

fn check(paths: &[PathBuf]) -> ExitCode {
    let mut ok = true;
    for path in paths {
        match Scenario::load(path) {
            Ok(scenario) => {
                let name = scenario.name.as_deref().unwrap_or("(unnamed)");
                println!("{}: {} ({} faults)", path.display(), name, scenario.faults.len());
                for fault in &scenario.faults {
                    let target = fault.kind.target().map(|t| t.to_string()).unwrap_or_default();
                    println!("  {:<16} {:<9} {}", fault.id, fault.kind.name(), target);
                }
            }
            Err(e) => {
                eprintln!("faultline: {e}");
                ok = false;
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
