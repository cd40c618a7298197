//! Running `faultline drill` in tests and reading what it left.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use super::{artifacts, run_with_timeout, JvmRun, Scratch};

/// A drill run (or check): the CLI's outcome and the directory it wrote.
pub struct DrillRun {
    pub run: JvmRun,
    pub dir: PathBuf,
    _scratch: Scratch,
}

impl DrillRun {
    pub fn summary(&self) -> Value {
        let text = std::fs::read_to_string(self.dir.join("summary.json"))
            .unwrap_or_else(|e| panic!("no summary.json ({e}):\n{}", self.run.describe()));
        serde_json::from_str(&text).unwrap()
    }

    pub fn journal(&self) -> Vec<Value> {
        journal(&self.dir)
    }

    /// The first expectation whose text starts with `prefix`.
    pub fn expectation(&self, prefix: &str) -> Value {
        let s = self.summary();
        s["expectations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["what"].as_str().unwrap().starts_with(prefix))
            .cloned()
            .unwrap_or_else(|| panic!("no expectation '{prefix}' in {s:#}"))
    }

    /// The summary of the alarm called `name`.
    pub fn alarm(&self, name: &str) -> Value {
        let s = self.summary();
        s["alarms"].as_array().unwrap().iter().find(|a| a["name"] == name).cloned().unwrap_or_else(|| panic!("{s:#}"))
    }
}

pub fn journal(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("journal.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub fn records<'a>(journal: &'a [Value], kind: &'a str) -> Vec<&'a Value> {
    journal.iter().filter(|r| r["type"] == kind).collect()
}

/// `faultline drill run` of `text`, written to a scratch directory.
pub fn run_drill(text: &str) -> DrillRun {
    drill("run", text, &[])
}

/// `faultline drill VERB` of `text`, with `files` copied beside the drill file; `run` writes
/// to `dir`.
pub fn drill(verb: &str, text: &str, files: &[(&str, &Path)]) -> DrillRun {
    let scratch = Scratch::new("drill");
    for (name, from) in files {
        std::fs::copy(from, scratch.path(name)).expect("copy a file next to the drill");
    }
    let file = scratch.write("drill.toml", text);
    let dir = scratch.path("out");
    let mut cmd = Command::new(artifacts().join("faultline"));
    cmd.args(["drill", verb]).arg(&file);
    if verb == "run" {
        cmd.arg("--out").arg(&dir);
    }
    let run = run_with_timeout(cmd, Duration::from_secs(120));
    DrillRun { run, dir, _scratch: scratch }
}
