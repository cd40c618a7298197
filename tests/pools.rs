//! Thread-pool exhaustion faults (`kind = "pool"`), each behaviour asserted from the Java side
//! (`fixtures.PoolCases`) in its own JVM, through the in-process API.
//!
//! Finding a pool's executor from its worker threads needs `java.lang` and
//! `java.util.concurrent` of `java.base` open to the hook; the agent opens them itself
//! (JVMTI AddModuleOpens), so these JVMs run without any `--add-opens` flag.

mod common;

use common::*;

/// No JVM flags: the agent opens what pool discovery needs.
fn opens() -> Vec<String> {
    Vec::new()
}

fn pool_case_with(jvm_args: Vec<String>, case: &str) -> JvmRun {
    let mut args = jvm_args;
    args.push(format!("-Dfaultline.agent={}", agent_lib().display()));
    let run = run_java(&args, &["fixtures.PoolCases", case]);
    run.assert_passed(case);
    run
}

fn pool_case(case: &str) -> JvmRun {
    pool_case_with(opens(), case)
}

#[test]
fn bounded_thread_pool_rejects_while_saturated_and_recovers() {
    let run = pool_case("boundedThreadPool");
    let recovered: u64 = run.value("recovered_ms").parse().unwrap();
    assert!(recovered < 1000, "recovery took {recovered} ms:\n{}", run.describe());
}

#[test]
fn reject_mode_uses_the_pools_own_rejection_and_is_refused_where_impossible() {
    pool_case("rejectMode");
}

#[test]
fn fork_join_pool_delays_tasks_while_saturated_and_recovers() {
    pool_case("forkJoinPool");
}

#[test]
fn executor_only_pool_delays_tasks_while_saturated_and_recovers() {
    pool_case("executorOnlyPool");
}

#[test]
fn unbounded_queue_occupies_workers_and_leaves_the_queue_alone() {
    pool_case("unboundedQueue");
}

#[test]
fn scheduled_pool_workers_are_occupied() {
    pool_case("scheduledPool");
}

#[test]
fn caller_runs_policy_never_hangs_the_caller() {
    pool_case("callerRuns");
}

#[test]
fn executor_created_after_arming_is_saturated() {
    pool_case("lateExecutor");
}

#[test]
fn pattern_matching_nothing_warns_once_and_stays_armed() {
    pool_case("noMatchWarns");
}

#[test]
fn duration_ends_the_saturation() {
    pool_case("durationExpires");
}

#[test]
fn pool_discovery_needs_no_add_opens_flag() {
    let run = pool_case_with(Vec::new(), "withoutOpens");
    assert!(run.values("armed").first().is_some_and(|v| v == "true"), "{}", run.describe());
}

#[test]
fn startup_scenario_saturates_a_pool() {
    let dir = Scratch::new("pools");
    let scenario = dir
        .write("pool.toml", "[[fault]]\nid = \"late-pool\"\nkind = \"pool\"\npool = \"late-*\"\nmode = \"saturate\"\n");
    let events = dir.path("events.jsonl");
    let mut args = opens();
    args.push(agentpath(&format!("scenario={},events={}", scenario.display(), events.display())));
    let run = run_java(&args, &["fixtures.PoolCases", "lateExecutorFromScenario"]);
    run.assert_passed("lateExecutorFromScenario");
    let text = std::fs::read_to_string(&events).unwrap_or_default();
    let pool_events: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["kind"] == "pool")
        .collect();
    assert!(!pool_events.is_empty(), "no pool event in {text}\n{}", run.describe());
    let e = &pool_events[0];
    assert_eq!(e["fault"], "late-pool", "{e}");
    assert_eq!(e["threads"], "late-*", "{e}");
    assert!(e["executor"].as_str().unwrap_or("").starts_with("java.util.concurrent.ThreadPoolExecutor@"), "{e}");
    assert_eq!(e["occupied"], 2, "{e}");
    // The application keeps submitting too: its tasks may hold a queue slot when the event is
    // written, so the placeholders fill what is left of the 3 slots.
    assert_eq!(e["queue"], 3, "{e}");
    assert!(e["queue_filled"].as_u64().is_some_and(|n| (1..=3).contains(&n)), "{e}");
}
