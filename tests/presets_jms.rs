//! The jms preset against a real ActiveMQ 5.17 broker embedded in the test JVM (Debian's
//! libactivemq-java, javax.jms 1.1), with real producers, consumers and listeners; each case
//! runs in its own JVM (`tests/java-presets/presets/JmsCases.java`).

mod common;

use common::presets::preset_case;

const CASES: &str = "presets.JmsCases";

#[test]
fn producer_sends_fail_or_wait_and_nothing_reaches_the_broker() {
    let run = preset_case(CASES, "producerSide", &[]);
    assert_eq!(run.value("matched"), "send queue://orders.created", "{}", run.describe());
}

#[test]
fn consumer_receives_fail_or_wait_and_no_message_is_lost() {
    let run = preset_case(CASES, "consumerReceives", &[]);
    assert_eq!(run.value("matched"), "receive queue://orders.created", "{}", run.describe());
}

#[test]
fn listener_deliveries_fail_into_activemq_redelivery_or_wait() {
    let run = preset_case(CASES, "listenerDeliveries", &[]);
    assert_eq!(run.value("matched"), "onMessage queue://orders.created", "{}", run.describe());
}
