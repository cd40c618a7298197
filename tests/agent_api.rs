//! The in-process API (`io.faultline.Faultline`), each behaviour asserted from the Java side
//! in its own JVM.

mod common;

use common::*;

#[test]
fn checked_exception_is_thrown_even_when_undeclared() {
    api_case("apiCheckedExceptionUndeclared");
}

#[test]
fn default_message_names_the_fault() {
    api_case("apiDefaultMessageNamesTheFault");
}

#[test]
fn exception_without_string_constructor_is_built_with_no_args() {
    api_case("apiExceptionWithoutStringConstructor");
}

#[test]
fn class_that_is_not_throwable_is_refused_at_arm_time() {
    api_case("apiNotThrowableIsRefusedAtArm");
}

#[test]
fn unknown_exception_class_is_refused_at_arm_time() {
    api_case("apiUnknownExceptionClassIsRefusedAtArm");
}

#[test]
fn bad_scenario_text_is_refused_with_line_and_key() {
    api_case("apiBadScenarioKeyIsRefused");
}

#[test]
fn latency_adds_the_requested_delay() {
    api_case("apiLatencyAddsTheRequestedDelay");
}

#[test]
fn jitter_spreads_the_delay() {
    api_case("apiJitterSpreadsTheDelay");
}

#[test]
fn probability_is_within_statistical_bounds() {
    api_case("apiProbabilityIsHonoured");
}

#[test]
fn after_and_limit_are_honoured() {
    api_case("apiAfterAndLimitAreHonoured");
}

#[test]
fn duration_ends_the_fault_and_restores_the_method() {
    api_case("apiDurationEndsTheFault");
}

#[test]
fn threads_filter_is_honoured() {
    api_case("apiThreadsFilterIsHonoured");
}

#[test]
fn constructor_is_instrumented_before_the_super_call() {
    api_case("apiConstructorIsInstrumentedBeforeSuper");
}

#[test]
fn subtype_pattern_covers_implementations_and_late_classes() {
    api_case("apiSubtypesIncludeImplementationsAndLateClasses");
}

#[test]
fn close_restores_the_original_bytecode() {
    api_case("apiCloseRestoresOriginalBytecode");
}

#[test]
fn hang_ends_when_the_fault_is_removed() {
    api_case("apiHangEndsWhenTheFaultIsRemoved");
}

#[test]
fn hang_ends_at_max() {
    api_case("apiHangEndsAtMax");
}

#[test]
fn latency_is_interruptible() {
    api_case("apiLatencyIsInterruptible");
}

#[test]
fn events_say_where_the_exception_was_caught() {
    api_case("apiEventsSayWhereTheExceptionWasCaught");
}

#[test]
fn uncaught_exception_is_reported_as_uncaught() {
    api_case("apiUncaughtExceptionIsReported");
}

#[test]
fn unmatched_target_warns_and_stays_armed() {
    api_case("apiUnmatchedTargetWarnsAndStaysArmed");
}

#[test]
fn scenario_file_arms_every_fault() {
    api_case("apiScenarioFileArmsEveryFault");
}

#[test]
fn duplicate_fault_id_is_refused() {
    api_case("apiDuplicateIdIsRefused");
}

#[test]
fn faults_on_jdk_code_the_hook_uses_do_not_recurse() {
    api_case("apiJdkTargetsDoNotRecurse");
}

#[test]
fn a_fault_that_cannot_fire_on_jdk_code_counts_only_the_applications_calls() {
    api_case("apiQuietJdkFaultCountsOnlyTheApplicationsCalls");
}

#[test]
fn arm_and_stop_under_load_never_break_the_method() {
    api_case("apiArmAndStopUnderLoad");
}

#[test]
fn scope_limits_the_fault_to_the_scoped_threads() {
    api_case("apiScopeLimitsTheFaultToTheScopedThreads");
}

#[test]
fn a_compiled_hot_loop_sees_faults_come_and_go() {
    api_case("apiHotLoopSeesFaultChanges");
}

#[test]
fn classes_loading_while_a_fault_is_armed_all_get_it() {
    api_case("apiArmWhileClassesLoad");
}

#[test]
fn a_class_the_jvm_refuses_to_rewrite_keeps_the_faults_its_code_had() {
    let dir = Scratch::new("saboteur");
    let jar = fixture_agent_jar(&dir, "fixtures.Saboteur");
    let case = "apiRefusedRewriteKeepsTheOldBinding";
    let run = run_java(
        &[format!("-javaagent:{}", jar.display()), format!("-Dfaultline.agent={}", agent_lib().display())],
        &["fixtures.Cases", case],
    );
    run.assert_passed(case);
    assert!(run.stderr.contains("could not rewrite class fixtures.Targets$Sabotaged"), "{}", run.stderr);
}
