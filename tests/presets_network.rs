//! The dns and socket presets: real name resolution, real listening sockets, and real
//! clients on top (the JDK HttpClient; pgjdbc against a PostgreSQL server started here).
//! Each case runs in its own JVM (`tests/java-presets/presets/NetworkCases.java`).

mod common;

use common::databases::postgres;
use common::presets::preset_case;

const CASES: &str = "presets.NetworkCases";

#[test]
fn dns_resolving_the_host_fails_for_every_api_on_top() {
    preset_case(CASES, "resolvingTheHostFails", &[]);
}

#[test]
fn dns_latency_delays_each_lookup_once() {
    preset_case(CASES, "slowResolution", &[]);
}

#[test]
fn socket_connecting_to_the_port_is_refused() {
    preset_case(CASES, "connectingIsRefused", &[]);
}

#[test]
fn socket_hang_ends_at_the_connect_timeout() {
    preset_case(CASES, "aHangEndsAtTheConnectTimeout", &[]);
}

#[test]
fn socket_refused_for_a_real_database_driver() {
    let db = postgres();
    preset_case(CASES, "aDatabaseDriverCannotConnect", &[&db.database("socket_driver"), &db.port.to_string()]);
}
