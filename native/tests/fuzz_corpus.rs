//! The fuzz target's inputs replayed by `cargo test`: every input that ever broke the reader
//! or rewriter (`native/fuzz/regressions/`) and the corpus kept from fuzz runs
//! (`native/fuzz/corpus/`) must pass `fuzz_check` within the time and memory limits; and
//! the JVM judges the rewriter on them: a class it accepts must still be accepted once
//! rewritten. `FAULTLINE_FUZZ_QUEUE=DIR` adds a fuzz run's queue (`.ci/fuzz` does).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use faultline_agent::classfile::{self, fuzz_check};
use peak_alloc::PeakAlloc;

#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

/// The allocator's peak is one for the process: tests that measure it run one at a time.
static MEASURING: Mutex<()> = Mutex::new(());

/// Far above what any input takes (milliseconds), far below a loop.
const TIME_LIMIT: Duration = Duration::from_secs(5);

fn fuzz_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz").join(name)
}

/// The files of the given directories (and of `FAULTLINE_FUZZ_QUEUE`), sorted by name.
fn inputs(dirs: &[PathBuf]) -> Vec<(String, Vec<u8>)> {
    let mut dirs = dirs.to_vec();
    if let Some(queue) = std::env::var_os("FAULTLINE_FUZZ_QUEUE") {
        dirs.push(PathBuf::from(queue));
    }
    let mut out = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
        files.sort();
        for f in files {
            let bytes = std::fs::read(&f).unwrap_or_else(|e| panic!("cannot read {}: {e}", f.display()));
            out.push((f.display().to_string(), bytes));
        }
    }
    out
}

#[test]
fn every_input_that_once_broke_the_rewriter_passes_now() {
    let _one_at_a_time = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let all = inputs(&[fuzz_dir("regressions"), fuzz_dir("corpus")]);
    assert!(!all.is_empty(), "no inputs under {}", fuzz_dir("").display());
    let mut failures = Vec::new();
    for (name, input) in &all {
        ALLOCATOR.reset_peak_usage();
        let before = ALLOCATOR.current_usage();
        let started = Instant::now();
        let outcome = std::panic::catch_unwind(|| fuzz_check::check(input));
        let took = started.elapsed();
        let peak = ALLOCATOR.peak_usage().saturating_sub(before);
        let limit = fuzz_check::allocation_limit(input.len());
        match outcome {
            Err(_) => failures.push(format!("{name}: panicked")),
            Ok(Err(broken)) => failures.push(format!("{name}: {broken}")),
            Ok(Ok(())) if peak > limit => failures.push(format!("{name}: allocated {peak} bytes (limit {limit})")),
            Ok(Ok(())) if took > TIME_LIMIT => failures.push(format!("{name}: took {took:?}")),
            Ok(Ok(())) => {}
        }
    }
    eprintln!("{} inputs replayed, {} failed", all.len(), failures.len());
    assert!(failures.is_empty(), "{} of {} inputs fail:\n{}", failures.len(), all.len(), failures.join("\n"));
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/classfile")
}

fn java_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for p in entries.flatten().map(|e| e.path()) {
        if p.is_dir() {
            java_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "java") {
            out.push(p);
        }
    }
}

fn javac(release: &str, out: &Path, sources: &[PathBuf]) {
    let run = Command::new("javac")
        .args(["-nowarn", "-encoding", "UTF-8", "--release", release, "-d"])
        .arg(out)
        .args(sources)
        .output()
        .unwrap_or_else(|e| panic!("cannot run javac: {e} (a JDK must be on PATH)"));
    assert!(run.status.success(), "javac failed:\n{}", String::from_utf8_lossy(&run.stderr));
}

/// What `DefineEach` said of every file of `dir`: file name -> None (accepted) or the error.
fn jvm_verdicts(support: &Path, dir: &Path) -> HashMap<String, Option<String>> {
    let run = Command::new("java")
        .arg("-cp")
        .arg(support)
        .arg("DefineEach")
        .arg(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run java: {e} (a JDK must be on PATH)"));
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "DefineEach failed:\n{stdout}\n{}", String::from_utf8_lossy(&run.stderr));
    stdout
        .lines()
        .filter_map(|l| {
            if let Some(name) = l.strip_prefix("ACCEPTED ") {
                Some((name.to_string(), None))
            } else {
                let rest = l.strip_prefix("REJECTED ")?;
                let (name, why) = rest.split_once(' ').unwrap_or((rest, ""));
                Some((name.to_string(), Some(why.to_string())))
            }
        })
        .collect()
}

#[test]
fn classes_the_jvm_accepts_are_still_accepted_after_rewriting() {
    // Its allocations would count in the other test's peak.
    let _one_at_a_time = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = std::env::temp_dir().join(format!("faultline-fuzz-jvm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let (support, original, rewritten) = (tmp.join("support"), tmp.join("original"), tmp.join("rewritten"));
    for d in [&support, &original, &rewritten] {
        std::fs::create_dir_all(d).expect("create a temp dir");
    }
    // The hook stub, the tool, and the fixtures the corpus came from (the classes they
    // name resolve to these); not their mains, which need the generated `fx.Huge`.
    let mains = |p: &PathBuf| !p.ends_with("fx/Main.java") && !p.ends_with("fx17/Main17.java");
    let mut sources = Vec::new();
    for part in ["hook", "tools", "java8", "old"] {
        java_files(&fixtures().join(part), &mut sources);
    }
    sources.retain(mains);
    javac("8", &support, &sources);
    let mut modern = Vec::new();
    java_files(&fixtures().join("java17"), &mut modern);
    modern.retain(mains);
    javac("17", &support, &modern);

    let all = inputs(&[fuzz_dir("regressions"), fuzz_dir("corpus")]);
    let mut written = 0;
    for (index, (_, input)) in all.iter().enumerate() {
        let Some((&plan, class)) = input.split_first() else { continue };
        if class.len() > fuzz_check::MAX_INPUT {
            continue;
        }
        let Ok(info) = classfile::parse(class) else { continue };
        let Ok(out) = classfile::instrument(class, &fuzz_check::hooks_for(plan, &info)) else { continue };
        if out.offsets.is_empty() {
            continue;
        }
        std::fs::write(original.join(format!("{index:06}")), class).expect("write");
        std::fs::write(rewritten.join(format!("{index:06}")), &out.bytes).expect("write");
        written += 1;
    }
    // The oracle itself must be able to say no: a copy of an accepted class whose first
    // method starts with `pop` on an empty stack.
    let before = jvm_verdicts(&support, &original);
    let accepted: Vec<&String> = before.iter().filter(|(_, v)| v.is_none()).map(|(k, _)| k).collect();
    let sample = accepted.iter().min().expect("the JVM accepts some class of the corpus");
    let mut broken = std::fs::read(original.join(sample)).expect("read");
    let code = classfile::methods_code(&broken).expect("reads").into_iter().flatten().next().expect("a method");
    broken[code.code_offset] = 0x57;
    std::fs::write(rewritten.join("broken"), broken).expect("write");

    let after = jvm_verdicts(&support, &rewritten);
    assert!(after.get("broken").is_some_and(Option::is_some), "the JVM took a broken class: {:?}", after.get("broken"));
    let mut failures = Vec::new();
    for name in &accepted {
        match after.get(name.as_str()) {
            Some(None) => {}
            Some(Some(why)) => failures.push(format!("input {name}: {why}")),
            None => failures.push(format!("input {name}: no verdict")),
        }
    }
    eprintln!(
        "{} inputs, {written} rewritten, {} accepted by the JVM as they were, {} of those refused once rewritten",
        all.len(),
        accepted.len(),
        failures.len()
    );
    assert!(accepted.len() >= 20, "too few classes the JVM accepts to judge by: {}", accepted.len());
    assert!(failures.is_empty(), "rewritten classes the JVM refuses:\n{}", failures.join("\n"));
    let _ = std::fs::remove_dir_all(&tmp);
}
