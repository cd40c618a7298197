//! The jdbc and jdbc-connect presets against real databases: PostgreSQL and MariaDB servers
//! from Debian's packages (one of each per test binary, started here), H2 in memory, and
//! HikariCP; each case runs in its own JVM (`tests/java-presets/presets/JdbcCases.java`).

mod common;

use common::databases::{mariadb, postgres};
use common::presets::preset_case;

const CASES: &str = "presets.JdbcCases";
/// An H2 database in the JVM's memory (each case runs in a JVM of its own).
const H2: &str = "jdbc:h2:mem:shop;DB_CLOSE_DELAY=-1";

#[test]
fn postgres_updates_on_orders_fail_and_nothing_else() {
    let run = preset_case(
        CASES,
        "updatesOnOrdersFail",
        &[&postgres().database("postgres_updates_on_orders_fail_and_nothing_else")],
    );
    assert!(run.value("matched").starts_with("UPDATE orders"), "{}", run.describe());
    assert!(run.value("status").contains("org.postgresql"), "status names the driver's classes:\n{}", run.describe());
}

#[test]
fn mariadb_updates_on_orders_fail_and_nothing_else() {
    let run = preset_case(
        CASES,
        "updatesOnOrdersFail",
        &[&mariadb().database("mariadb_updates_on_orders_fail_and_nothing_else")],
    );
    assert!(run.value("status").contains("org.mariadb"), "{}", run.describe());
}

#[test]
fn h2_updates_on_orders_fail_and_nothing_else() {
    let run = preset_case(CASES, "updatesOnOrdersFail", &[H2]);
    assert!(run.value("status").contains("org.h2"), "{}", run.describe());
}

#[test]
fn postgres_operation_and_url_choose_the_statements() {
    preset_case(
        CASES,
        "operationAndUrlChooseTheStatements",
        &[&postgres().database("postgres_operation_and_url_choose_the_statements")],
    );
}

#[test]
fn mariadb_operation_and_url_choose_the_statements() {
    preset_case(
        CASES,
        "operationAndUrlChooseTheStatements",
        &[&mariadb().database("mariadb_operation_and_url_choose_the_statements")],
    );
}

#[test]
fn h2_operation_and_url_choose_the_statements() {
    preset_case(CASES, "operationAndUrlChooseTheStatements", &[H2]);
}

#[test]
fn h2_through_hikari_fails_once_per_execution() {
    preset_case(CASES, "throughAPool", &[H2]);
}

#[test]
fn postgres_through_hikari_fails_once_per_execution() {
    preset_case(CASES, "throughAPool", &[&postgres().database("postgres_through_hikari_fails_once_per_execution")]);
}

#[test]
fn mariadb_through_hikari_fails_once_per_execution() {
    preset_case(CASES, "throughAPool", &[&mariadb().database("mariadb_through_hikari_fails_once_per_execution")]);
}

#[test]
fn postgres_hang_ends_at_the_query_timeout() {
    preset_case(
        CASES,
        "aHangEndsAtTheQueryTimeout",
        &[&postgres().database("postgres_hang_ends_at_the_query_timeout")],
    );
}

#[test]
fn postgres_connecting_fails() {
    preset_case(CASES, "connectingFails", &[&postgres().database("postgres_connecting_fails")]);
}

#[test]
fn mariadb_connecting_fails() {
    preset_case(CASES, "connectingFails", &[&mariadb().database("mariadb_connecting_fails")]);
}

#[test]
fn h2_connecting_fails() {
    preset_case(CASES, "connectingFails", &[H2]);
}

#[test]
fn h2_the_java_api_builds_a_preset_fault() {
    preset_case(CASES, "builtInCode", &[H2]);
}
