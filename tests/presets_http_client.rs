//! The http-client preset against real clients: HttpURLConnection, Apache HttpClient 4.5 and
//! 5.2 (classic), OkHttp 3.13 (execute and enqueue) from Debian's packages, and the JDK
//! HttpClient (send and sendAsync), each calling a real com.sun.net.httpserver server that the
//! case starts in its own JVM and that counts the requests it receives
//! (`tests/java-presets/presets/HttpClientCases.java`).

mod common;

use common::presets::preset_case;

const CASES: &str = "presets.HttpClientCases";
/// The client libraries, by the names HttpClientCases gives them.
const LIBRARIES: &str = "urlconnection,apache4,apache5,okhttp,okhttp-async";
/// The JDK HttpClient, blocking and async.
const JDK: &str = "jdk,jdk-async";

#[test]
fn exceptions_are_each_clients_own_and_only_for_matching_requests() {
    let run = preset_case(CASES, "exceptions", &[LIBRARIES]);
    let matched = run.value("matched");
    assert!(matched.starts_with("GET http://127.0.0.1:") && matched.ends_with("/down/1?item=7"), "{}", run.describe());
}

#[test]
fn respond_answers_the_status_and_nothing_reaches_the_server() {
    preset_case(CASES, "respond", &[LIBRARIES]);
}

#[test]
fn latency_delays_once_and_ends_at_each_clients_own_timeout() {
    preset_case(CASES, "latency", &[LIBRARIES]);
}

/// Every case for the JDK HttpClient, in one JVM. Its implementation (`jdk.internal.net.http`)
/// must be instrumentable by the agent.
#[test]
fn jdk_http_client_send_and_send_async() {
    preset_case(CASES, "all", &[JDK]);
}
