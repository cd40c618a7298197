//! The fault vocabulary: conditions on a call (`when`), faults at exit (`at = "exit"`) and
//! return values (`kind = "return"`), each behaviour asserted from the Java side
//! (`tests/java/fixtures/VocabularyCases.java`) in its own JVM with the real agent.

mod common;

use common::*;

fn case(name: &str) {
    let run = run_java(&[format!("-Dfaultline.agent={}", agent_lib().display())], &["fixtures.VocabularyCases", name]);
    run.assert_passed(name);
}

#[test]
fn condition_on_a_primitive_selects_exactly_the_calls_it_names() {
    case("conditionOnAPrimitiveSelectsExactlyTheCallsItNames");
}

#[test]
fn condition_on_a_string_selects_one_tenant() {
    case("conditionOnAStringSelectsOneTenant");
}

#[test]
fn condition_on_members_reads_fields_accessors_and_getters() {
    case("conditionOnMembersReadsFieldsAccessorsAndGetters");
}

#[test]
fn condition_on_the_caller_selects_one_call_path() {
    case("conditionOnTheCallerSelectsOneCallPath");
}

#[test]
fn condition_on_the_thread_name() {
    case("conditionOnTheThreadName");
}

#[test]
fn lengths_contains_and_lists_on_collections_and_arrays() {
    case("lengthsContainsAndListsOnCollectionsAndArrays");
}

#[test]
fn a_later_argument_is_captured_and_compared() {
    case("aLaterArgumentIsCapturedAndCompared");
}

#[test]
fn a_condition_on_a_static_method() {
    case("aConditionOnAStaticMethod");
}

#[test]
fn limit_and_after_count_with_the_condition() {
    case("limitAndAfterCountWithTheCondition");
}

#[test]
fn a_condition_that_cannot_be_read_never_reaches_the_application() {
    case("aConditionThatCannotBeReadNeverReachesTheApplication");
}

#[test]
fn an_exception_at_exit_leaves_the_side_effect_done() {
    case("anExceptionAtExitLeavesTheSideEffectDone");
}

#[test]
fn latency_at_exit_delays_the_return() {
    case("latencyAtExitDelaysTheReturn");
}

#[test]
fn an_exit_fault_cannot_read_a_reassigned_parameter() {
    case("anExitFaultCannotReadAReassignedParameter");
}

#[test]
fn return_faults_return_every_kind_of_value() {
    case("returnFaultsReturnEveryKindOfValue");
}

#[test]
fn a_return_fault_on_a_void_method_skips_the_body() {
    case("aReturnFaultOnAVoidMethodSkipsTheBody");
}

#[test]
fn a_return_fault_at_exit_replaces_the_result_after_the_side_effect() {
    case("aReturnFaultAtExitReplacesTheResultAfterTheSideEffect");
}

#[test]
fn bad_conditions_and_values_are_refused_before_anything_is_armed() {
    case("badConditionsAndValuesAreRefusedBeforeAnythingIsArmed");
}

#[test]
fn status_and_events_show_condition_point_and_value() {
    case("statusAndEventsShowConditionPointAndValue");
}
