//! The rewriter against a corpus of real jars: every class of every jar that Debian's Java
//! packages install under /usr/share/java (servers, drivers, clients, frameworks, and the
//! standard libraries of Kotlin, Scala, Groovy and Clojure; `.ci/prerequisites` installs
//! them) is loaded, rewritten by the agent with entry code on every method and constructor
//! and exit code on every method, and verified by the JVM. Zero refusals allowed: a class
//! the JVM refuses once rewritten is a rewriter bug. A class the JVM cannot load or link as
//! shipped (a dependency missing from the corpus) is counted apart, with its reason.

mod common;

use common::*;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// Two JVMs, one per core; each loads about half of the corpus' distinct classes.
const SHARDS: usize = 2;

/// The jars of the corpus: regular files only (Debian's unversioned names are symlinks to
/// them), in a fixed order, so every shard sees the same list.
fn corpus_jars() -> Vec<PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read /usr/share/java").flatten() {
            let path = entry.path();
            let kind = entry.file_type().expect("file type");
            if kind.is_dir() {
                walk(&path, out);
            } else if kind.is_file() && path.extension().is_some_and(|e| e == "jar") {
                out.push(path);
            }
        }
    }
    let mut jars = Vec::new();
    walk(std::path::Path::new("/usr/share/java"), &mut jars);
    jars.sort();
    jars
}

/// The class named by an agent's refusal line on stderr, if the line is one.
fn refused_class(line: &str) -> Option<&str> {
    if let Some(rest) = line.split("could not rewrite class ").nth(1) {
        return rest.split(':').next();
    }
    let rest = line.split("faultline: class ").nth(1)?;
    rest.contains(" left untouched").then(|| rest.split(' ').next().unwrap_or(rest))
}

#[derive(Default)]
struct Tally {
    jars: u64,
    classes: u64,
    methods: u64,
    unloadable: u64,
}

fn field(line: &str, key: &str) -> u64 {
    let prefix = format!("{key}=");
    line.split(' ')
        .find_map(|w| w.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {key} in {line}"))
        .parse()
        .expect("count")
}

#[test]
fn every_class_of_every_debian_jar_rewritten_passes_verification() {
    for need in
        ["guava.jar", "kotlin-stdlib.jar", "scala-library.jar", "groovy.jar", "clojure.jar", "tomcat10-catalina.jar"]
    {
        assert!(
            std::path::Path::new("/usr/share/java").join(need).exists(),
            "/usr/share/java/{need} is missing: run .ci/prerequisites (it installs the corpus' Debian packages)"
        );
    }
    let jars = corpus_jars();
    let started = Instant::now();
    let runs: Vec<(JvmRun, HashSet<String>, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..SHARDS)
            .map(|shard| {
                let jars = &jars;
                scope.spawn(move || {
                    let dir = Scratch::new("corpus");
                    let unloadable = dir.path("unloadable.txt");
                    let redefine_log = dir.path("redefine.log");
                    let mut cmd = Command::new(java());
                    cmd.arg(format!("-Dfaultline.agent={}", agent_lib().display()))
                        .arg(format!("-Dfaultline.corpus.unloadable={}", unloadable.display()))
                        .args(["-Xmx2g", "-Xss4m"])
                        // The rewriting is native; C1 alone spares the shared cores the
                        // compilation of code that runs once.
                        .arg("-XX:TieredStopAtLevel=1")
                        .args([
                            "-XX:+UnlockDiagnosticVMOptions",
                            "-XX:+BytecodeVerificationLocal",
                            "-XX:+BytecodeVerificationRemote",
                        ])
                        // The JVM says why each retransformation failed: linking the class
                        // as shipped, or verifying (or parsing) the rewritten one.
                        .arg(format!("-Xlog:redefine+class+load+exceptions=info:file={}", redefine_log.display()))
                        .arg("-cp")
                        .arg(format!("{}:{}", fixture_classes().display(), agent_jar().display()))
                        .arg("fixtures.VerifyCorpus")
                        .arg(format!("{shard}/{SHARDS}"))
                        .args(jars);
                    let run = run_with_timeout(cmd, Duration::from_secs(900));
                    let names = std::fs::read_to_string(&unloadable).unwrap_or_default();
                    let log = std::fs::read_to_string(&redefine_log).unwrap_or_default();
                    (run, names.lines().map(str::to_string).collect(), log)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("shard thread")).collect()
    });

    let mut languages: BTreeMap<String, Tally> = BTreeMap::new();
    let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
    let mut skipped: BTreeMap<String, u64> = BTreeMap::new();
    let (mut jar_count, mut rewritten_methods, mut refused_unloadable, mut copies) = (0u64, 0u64, 0u64, 0u64);
    let mut refused_unlinkable = 0u64;
    let mut failures = Vec::new();
    for (shard, (run, unloadable, redefine_log)) in runs.iter().enumerate() {
        run.assert_passed("VerifyCorpus");
        jar_count += run.value("jars").parse::<u64>().expect("count");
        copies += run.value("dependency_copies").parse::<u64>().expect("count");
        for line in run.values("language") {
            let t = languages.entry(line.split(' ').next().expect("name").to_string()).or_default();
            t.jars += field(&line, "jars");
            t.classes += field(&line, "classes");
            t.methods += field(&line, "methods");
            t.unloadable += field(&line, "unloadable");
        }
        for (key, into) in [("unloadable_reason", &mut reasons), ("skipped_reason", &mut skipped)] {
            for line in run.values(key) {
                let (n, why) = line.split_once(' ').expect("count and reason");
                *into.entry(why.to_string()).or_default() += n.parse::<u64>().expect("count");
            }
        }
        rewritten_methods +=
            run.value("method_counts").split(',').map(|c| c.parse::<u64>().expect("count")).sum::<u64>();
        let mut refused_here = 0;
        for line in run.stderr.lines() {
            match refused_class(line) {
                // The JVM cannot rewrite a class it could not link as shipped: counted there.
                Some(class) if unloadable.contains(class) => refused_unloadable += 1,
                // A class this JVM linked, whose copy in another of the corpus' loaders
                // cannot be linked (a loader constraint between two copies of a library):
                // the JVM logs it as a failure to link the class before any new code.
                Some(_) if line.contains("(INTERNAL)") || line.contains("(INVALID_CLASS)") => {
                    refused_unlinkable += 1;
                    refused_here += 1;
                }
                Some(_) => failures.push(format!("shard {shard}: {line}")),
                None => {}
            }
        }
        // Every retransformation the JVM refused, it refused while linking the class as
        // shipped; any other exception (verifying or parsing the rewritten bytes) is ours.
        let link_failures = redefine_log.lines().filter(|l| l.contains("link_class exception")).count();
        for line in redefine_log.lines().filter(|l| l.contains("exception") && !l.contains("link_class exception")) {
            failures.push(format!("shard {shard}: {line}"));
        }
        assert!(
            refused_here <= link_failures,
            "shard {shard}: {refused_here} refusals but {link_failures} link failures logged by the JVM"
        );
    }

    let total = languages.values().fold(Tally::default(), |mut s, t| {
        s.jars += t.jars;
        s.classes += t.classes;
        s.methods += t.methods;
        s.unloadable += t.unloadable;
        s
    });
    println!("corpus: {} jar files under /usr/share/java, {:?} for {SHARDS} JVMs", jars.len(), started.elapsed());
    println!("{:<10} {:>6} {:>9} {:>10} {:>13}", "language", "jars", "classes", "methods", "not loadable");
    for (name, t) in languages.iter().chain([(&"total".to_string(), &total)]) {
        println!("{name:<10} {:>6} {:>9} {:>10} {:>13}", t.jars, t.classes, t.methods, t.unloadable);
    }
    println!("(language: the SourceFile of each class; a jar counts for its most frequent language)");
    println!("methods rewritten (entry on methods, entry on constructors, exit on methods, JDK classes included): {rewritten_methods}");
    println!("second copies loaded by the corpus' loader for other jars' classes, rewritten too: {copies}");
    for (shard, (run, _, _)) in runs.iter().enumerate() {
        let ms = |k: &str| run.value(k);
        println!("shard {shard}: arm {} ms, status {} ms, stop {} ms", ms("arm_ms"), ms("status_ms"), ms("stop_ms"));
    }
    println!("not loadable as shipped, by reason:");
    let mut by_count: Vec<_> = reasons.iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(a.1));
    for (why, n) in by_count.iter().take(15) {
        println!("  {n:>6} {why}");
    }
    if by_count.len() > 15 {
        println!(
            "  {:>6} in {} other reasons",
            by_count[15..].iter().map(|(_, n)| **n).sum::<u64>(),
            by_count.len() - 15
        );
    }
    println!("  ({refused_unloadable} of them also refused by the JVM's retransformation, as expected)");
    println!(
        "  and {refused_unlinkable} refusals of classes linked here whose second copy the JVM could not link (loader constraints)"
    );
    println!("methods left as they are, by reason:");
    for (why, n) in &skipped {
        println!("  {n:>6} {why}");
    }
    println!("failures (rewritten classes the JVM refused to verify or parse): {}", failures.len());

    assert!(failures.is_empty(), "{} classes were refused or skipped:\n{}", failures.len(), failures.join("\n"));
    assert!(jar_count > 300, "only {jar_count} jars with classes");
    assert!(total.classes > 100_000, "only {} classes loaded", total.classes);
    for lang in ["Java", "Kotlin", "Scala", "Groovy", "Clojure"] {
        let loaded = languages.get(lang).map_or(0, |t| t.classes);
        assert!(loaded > 100, "only {loaded} {lang} classes loaded");
    }
    // Loading must mostly work, or the corpus tests little: the missing ones are optional
    // dependencies of a few packages.
    assert!(total.unloadable * 10 < total.classes, "{} of {} classes not loadable", total.unloadable, total.classes);
}
