//! The rewriter against real code: every method and constructor of every class of the
//! running JDK and of a large real jar (Debian's guava) is rewritten by the agent, and the
//! JVM verifies each rewritten class; then every method again with code before each of its
//! returns (a fault at exit). Zero refusals allowed.

mod common;

use common::*;

fn guava_jar() -> Option<std::path::PathBuf> {
    ["/usr/share/java/guava.jar"].iter().map(std::path::PathBuf::from).find(|p| p.exists())
}

#[test]
fn every_jdk_and_guava_method_rewritten_passes_verification() {
    let mut main_args = vec!["fixtures.VerifyAll".to_string()];
    let guava = guava_jar().expect("guava.jar not found: install Debian's libguava-java (the CI script does)");
    main_args.push(guava.display().to_string());
    let args: Vec<&str> = main_args.iter().map(String::as_str).collect();
    let run = run_java(
        &[
            format!("-Dfaultline.agent={}", agent_lib().display()),
            "-Xmx2g".into(),
            "-XX:+UnlockDiagnosticVMOptions".into(),
            "-XX:+BytecodeVerificationLocal".into(),
            "-XX:+BytecodeVerificationRemote".into(),
        ],
        &args,
    );
    println!("{}", run.describe());
    run.assert_passed("VerifyAll");
    let refused: Vec<&str> =
        run.stderr.lines().filter(|l| l.contains("could not rewrite") || l.contains("left untouched")).collect();
    assert!(refused.is_empty(), "{} classes were refused or skipped:\n{}", refused.len(), refused.join("\n"));
    let jdk_loaded: u64 = run.value("jdk_loaded").parse().expect("count");
    let jar_loaded: u64 = run.value("jar_loaded").parse().expect("count");
    assert!(jdk_loaded > 10_000, "only {jdk_loaded} JDK classes loaded");
    assert!(jar_loaded > 1_000, "only {jar_loaded} guava classes loaded");
    let counts: Vec<u64> = run.value("method_counts").split(',').map(|c| c.parse().expect("count")).collect();
    assert!(counts.len() == 2 && counts[0] > 100_000 && counts[1] > 20_000, "instrumented methods: {counts:?}");
    let at_exit: Vec<u64> = run.value("exit_method_counts").split(',').map(|c| c.parse().expect("count")).collect();
    assert!(at_exit.len() == 1 && at_exit[0] > 100_000, "methods with exit code: {at_exit:?}");
}
