//! Every bundled scenario, run at JVM start against the bundled demo service, with its
//! effect asserted from the demo's own summary.

mod common;

use common::*;

fn run_demo(scenario: &str, extra: &[&str]) -> JvmRun {
    let path = repo_root().join("scenarios").join(scenario);
    let jar = artifacts().join("faultline-demo.jar");
    let mut cmd = std::process::Command::new(java());
    cmd.arg(agentpath(&format!("scenario={}", path.display())))
        .arg("-cp")
        .arg(jar)
        .args(["com.acme.DemoMain", "run"])
        .args(extra);
    let run = run_with_timeout(cmd, std::time::Duration::from_secs(120));
    assert_eq!(run.status, 0, "{}", run.describe());
    run
}

fn stat(run: &JvmRun, key: &str) -> f64 {
    let prefix = format!("{key}: ");
    run.stdout
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no '{key}' in:\n{}", run.describe()))
        .parse()
        .expect("a number")
}

#[test]
fn slow_db_scenario_delays_every_order() {
    let run = run_demo("slow-db.toml", &["--orders", "40"]);
    assert_eq!(stat(&run, "ok"), 40.0, "{}", run.describe());
    assert!(stat(&run, "p50_ms") >= 40.0, "p50 should include the 50 ms ± 10 ms delay:\n{}", run.stdout);
}

#[test]
fn payment_outage_scenario_makes_orders_fall_back_to_pending() {
    let run = run_demo("payment-outage.toml", &["--orders", "200"]);
    // Each order gets 3 attempts at p = 0.5: about 1 in 8 ends pending (25 of 200).
    let pending = stat(&run, "payment_pending");
    assert!((5.0..=60.0).contains(&pending), "pending {pending}:\n{}", run.stdout);
    assert!(stat(&run, "payment_retries") > pending, "{}", run.stdout);
    assert!(
        run.stdout.contains("java.net.SocketTimeoutException: injected: payment gateway timeout"),
        "{}",
        run.stdout
    );
}

#[test]
fn inventory_hang_scenario_holds_two_orders_for_a_second() {
    // CachedInventory#reserve is synchronized: while one call hangs, the next order waits
    // for the lock, as it would behind a real stuck call. A 5 s receipt timeout lets both finish.
    let run = run_demo("inventory-hang.toml", &["--orders", "60", "--timeout", "5s"]);
    assert_eq!(stat(&run, "ok"), 60.0, "{}", run.describe());
    assert!(stat(&run, "max_ms") >= 1000.0, "two orders should hang for 1 s:\n{}", run.stdout);
}

#[test]
fn checkout_chaos_scenario_mixes_all_three_faults() {
    let run = run_demo("checkout-chaos.toml", &["--orders", "200"]);
    assert_eq!(stat(&run, "failed"), 5.0, "the inventory fault fails exactly 5 orders:\n{}", run.stdout);
    assert!(stat(&run, "payment_retries") > 0.0, "{}", run.stdout);
    assert!(run.stdout.contains("injected: inventory service unavailable (x5)"), "{}", run.stdout);
}

#[test]
fn big_payments_scenario_fails_only_the_calls_its_conditions_name() {
    let run = run_demo("big-payments.toml", &["--orders", "200"]);
    // Order i charges 999 + 500 * (i % 5) cents for item i % 4: one in five charges is 29.99
    // (every attempt times out: pending), one in four orders is a gizmo (its save commits,
    // then throws at exit: failed). Gizmos that also pay 29.99 fail at the save: 10 of 40.
    assert_eq!(stat(&run, "failed"), 50.0, "every gizmo order, and only those:\n{}", run.stdout);
    assert_eq!(stat(&run, "payment_pending"), 30.0, "every other 29.99 order:\n{}", run.stdout);
    assert_eq!(stat(&run, "ok"), 120.0, "{}", run.stdout);
    assert!(
        run.stdout.contains("failure: java.lang.IllegalStateException: injected: reply lost after commit (x50)"),
        "{}",
        run.stdout
    );
}

#[test]
fn out_of_stock_scenario_makes_reserve_answer_false_for_widgets() {
    let run = run_demo("out-of-stock.toml", &["--orders", "200"]);
    assert_eq!(stat(&run, "failed"), 50.0, "one order in four is a widget:\n{}", run.stdout);
    assert_eq!(stat(&run, "ok"), 150.0, "{}", run.stdout);
    assert!(run.stdout.contains("failure: out of stock: widget (x50)"), "{}", run.stdout);
}

#[test]
fn gateway_timeouts_scenario_ends_slow_calls_at_the_clients_own_timeout() {
    let run = run_demo("gateway-timeouts.toml", &["--orders", "100"]);
    // 3 in 10 calls are 3 s late; the client gives up at 500 ms with its own exception, and the
    // service retries twice: about 3 in 100 orders end pending, every other one is ok.
    // Had a call waited the whole 3 s, its order would have hit the demo's 2 s order timeout
    // and failed.
    assert_eq!(stat(&run, "failed"), 0.0, "{}", run.stdout);
    assert_eq!(stat(&run, "ok") + stat(&run, "payment_pending"), 100.0, "{}", run.stdout);
    assert!(stat(&run, "payment_retries") >= 10.0, "{}", run.stdout);
    assert!(stat(&run, "max_ms") >= 500.0, "a timed-out call waited the client's 500 ms:\n{}", run.stdout);
    if stat(&run, "payment_pending") > 0.0 {
        assert!(run.stdout.contains("java.net.http.HttpTimeoutException"), "{}", run.stdout);
    }
}

#[test]
fn every_bundled_scenario_is_exercised_by_a_test() {
    let tested = [
        "slow-db.toml",
        "payment-outage.toml",
        "inventory-hang.toml",
        "checkout-chaos.toml",
        "big-payments.toml",
        "out-of-stock.toml",
        "gateway-timeouts.toml",
    ];
    for entry in std::fs::read_dir(repo_root().join("scenarios")).expect("scenarios dir").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".toml") {
            assert!(tested.contains(&name.as_str()), "scenarios/{name} has no test in tests/scenarios.rs");
        }
    }
}
