//! The http-server preset against real servers embedded in the JVM: Jetty 9.4 (javax.servlet),
//! Tomcat 10.1 (jakarta.servlet) from Debian's packages, and the JDK's com.sun.net.httpserver;
//! each with a servlet (or handler) behind a filter, sent real requests by java.net.http.HttpClient.
//! Each case runs in its own JVM (`tests/java-presets/presets/HttpServerCases.java`): respond
//! (the app skipped, one injection per answered request, a filter in front counted once, the
//! path as sent), latency (under a context path, an asynchronous servlet delayed once) and
//! exception (500 through the app's error page, which the fault leaves alone; the JDK server
//! closes the exchange).

mod common;

use common::presets::preset_case;

const CASES: &str = "presets.HttpServerCases";

#[test]
fn jetty_respond_answers_the_post_and_skips_the_app() {
    let run = preset_case(CASES, "respondSkipsTheApp", &["jetty"]);
    assert_eq!(run.value("matched"), "POST /checkout/1", "{}", run.describe());
    assert!(run.value("server").starts_with("Jetty 9.4"), "{}", run.describe());
}

#[test]
fn tomcat_respond_answers_the_post_and_skips_the_app() {
    let run = preset_case(CASES, "respondSkipsTheApp", &["tomcat"]);
    assert_eq!(run.value("matched"), "POST /checkout/1", "{}", run.describe());
    assert!(run.value("server").starts_with("Apache Tomcat/10.1"), "{}", run.describe());
}

#[test]
fn jdk_respond_answers_the_post_and_skips_the_app() {
    let run = preset_case(CASES, "respondSkipsTheApp", &["jdk"]);
    assert_eq!(run.value("matched"), "POST /checkout/1", "{}", run.describe());
    assert!(run.value("server").starts_with("JDK HttpServer"), "{}", run.describe());
}

#[test]
fn jetty_latency_delays_one_path_once() {
    preset_case(CASES, "latencyDelaysOnePath", &["jetty"]);
}

#[test]
fn tomcat_latency_delays_one_path_once() {
    preset_case(CASES, "latencyDelaysOnePath", &["tomcat"]);
}

#[test]
fn jdk_latency_delays_one_path_once() {
    preset_case(CASES, "latencyDelaysOnePath", &["jdk"]);
}

#[test]
fn jetty_exception_answers_500_without_the_app() {
    let run = preset_case(CASES, "exceptionFailsTheRequest", &["jetty"]);
    assert_eq!(run.value("client"), "HTTP 500", "{}", run.describe());
}

#[test]
fn tomcat_exception_answers_500_without_the_app() {
    let run = preset_case(CASES, "exceptionFailsTheRequest", &["tomcat"]);
    assert_eq!(run.value("client"), "HTTP 500", "{}", run.describe());
}

#[test]
fn jdk_exception_closes_the_exchange_without_the_app() {
    let run = preset_case(CASES, "exceptionFailsTheRequest", &["jdk"]);
    assert_eq!(run.value("matched"), "POST /checkout/1", "{}", run.describe());
}
