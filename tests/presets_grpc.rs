//! The grpc preset against real grpc-java (Debian's libgrpc-java 1.41): a server and its
//! clients in one JVM over the in-process transport, blocking and async stubs through
//! grpc-stub's ClientCalls and ServerCalls. Each case runs in its own JVM
//! (`tests/java-presets/presets/GrpcCases.java`) and asserts what the client and the
//! service's code observed.

mod common;

use common::presets::preset_case;

const CASES: &str = "presets.GrpcCases";

#[test]
fn grpc_client_respond_fails_the_call_unsent() {
    let run = preset_case(CASES, "clientResponds", &[]);
    assert_eq!(run.value("matched"), "shop.Inventory/Reserve (client)", "{}", run.describe());
    assert!(run.value("blocking").contains("UNAVAILABLE"), "{}", run.describe());
}

#[test]
fn grpc_client_latency_ends_at_the_deadline() {
    preset_case(CASES, "clientWaits", &[]);
}

#[test]
fn grpc_server_respond_answers_before_the_handler() {
    let run = preset_case(CASES, "serverResponds", &[]);
    assert_eq!(run.value("matched"), "shop.Inventory/Reserve (server)", "{}", run.describe());
}

#[test]
fn grpc_server_latency_delays_the_handler() {
    preset_case(CASES, "serverWaits", &[]);
}
