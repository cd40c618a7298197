//! Classes that are never rewritten, whatever a fault's pattern says: the ones the hook
//! itself runs while a fault fires.

use faultline_model::target::ClassPattern;

/// Classes the hook itself runs while a fault fires (waiting, thread state, reflection,
/// method handles) or that the JVM treats specially. Instrumenting them could make the
/// hook wait on itself, so they are never rewritten; arming refuses a target that can only
/// match them (see `only_never_instrumented`).
const SELF_USED: &[&str] = &[
    "io/faultline/",
    "java/lang/Object",
    "java/lang/Thread",
    "java/lang/VirtualThread",
    "java/lang/invoke/",
    "java/lang/reflect/",
    "java/util/concurrent/locks/LockSupport",
    "jdk/internal/",
    "sun/invoke/",
    "sun/reflect/",
];

/// JDK-internal packages carved out of `jdk/internal/`: the hook never runs them, and presets
/// hook the implementations they hold of public APIs (the JDK HttpClient's).
const HOOKABLE_INTERNAL: &[&str] = &["jdk/internal/net/http/"];

/// Whether a class is never rewritten, whatever the pattern.
pub fn never_instrumented(internal_name: &str) -> bool {
    if HOOKABLE_INTERNAL.iter().any(|p| internal_name.starts_with(p)) {
        return false;
    }
    SELF_USED.iter().any(|p| {
        if p.ends_with('/') {
            internal_name.starts_with(p)
        } else {
            internal_name == *p || internal_name.strip_prefix(p).is_some_and(|rest| rest.starts_with('$'))
        }
    })
}

/// When every class `pattern` can match is one that is never rewritten (see `SELF_USED`):
/// that class or package, for the message that refuses the fault. Subtype patterns are never
/// refused: the application's own subclasses (of `Thread`, say) can be instrumented.
pub fn only_never_instrumented(pattern: &ClassPattern) -> Option<String> {
    if pattern.subtypes() {
        return None;
    }
    if let Some(name) = pattern.literal() {
        return never_instrumented(name).then(|| name.replace('/', "."));
    }
    // The segments before the first wildcard: every match lies in that package.
    let fixed: Vec<&str> = pattern.text().split('.').take_while(|s| !s.contains(['*', '?'])).collect();
    let package = format!("{}/", fixed.join("/"));
    SELF_USED.iter().find(|p| p.ends_with('/') && package.starts_with(*p)).map(|p| format!("{}*", p.replace('/', ".")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_that_can_only_match_hook_support_classes_are_found() {
        let p = |t: &str| ClassPattern::parse(t).unwrap();
        assert_eq!(only_never_instrumented(&p("java.lang.Thread")).as_deref(), Some("java.lang.Thread"));
        assert_eq!(only_never_instrumented(&p("java.lang.Thread$State")).as_deref(), Some("java.lang.Thread$State"));
        assert_eq!(only_never_instrumented(&p("jdk.internal.misc.*")).as_deref(), Some("jdk.internal.*"));
        assert_eq!(only_never_instrumented(&p("java.lang.invoke.**")).as_deref(), Some("java.lang.invoke.*"));
        assert_eq!(only_never_instrumented(&p("java.lang.*")), None, "java.lang.String can be instrumented");
        assert_eq!(only_never_instrumented(&p("java.**")), None);
        assert_eq!(only_never_instrumented(&p("java.lang.Thread+")), None, "the application's threads can");
        assert_eq!(only_never_instrumented(&p("java.lang.ThreadLocal")), None);
        assert_eq!(only_never_instrumented(&p("com.acme.*")), None);
    }

    #[test]
    fn hook_support_classes_are_never_instrumented() {
        assert!(never_instrumented("java/lang/Thread"));
        assert!(never_instrumented("java/lang/Thread$State"));
        assert!(never_instrumented("jdk/internal/misc/Unsafe"));
        assert!(never_instrumented("io/faultline/boot/Hook"));
        assert!(!never_instrumented("java/lang/ThreadLocal"));
        assert!(!never_instrumented("com/acme/Thread"));
        assert!(!never_instrumented("jdk/internal/net/http/HttpClientImpl"));
    }
}
