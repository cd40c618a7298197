//! The ClassFileLoadHook's decision: which methods of a class being loaded or retransformed
//! get the hook prologue, bound to which faults. Runs on class-loading threads and inside
//! our own RetransformClasses calls, so it reads only the immutable fault snapshot and the
//! site registry, and runs no Java code.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use jni::objects::GlobalRef;
use jni::JNIEnv;

use crate::agent::{Agent, ArmedFault};
use crate::classfile::{self, MethodHook};
use faultline::target::ClassPattern;

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

/// A site's binding before our own retransformation rebound it, so that a class the JVM then
/// refuses can be given its old binding back (its old code stays, and must keep seeing what
/// it saw).
pub struct Rebinding {
    pub site: i32,
    pub method: String,
    pub before: Vec<i32>,
    pub after: Vec<i32>,
    pub instrumented_before: Option<u16>,
}

thread_local! {
    /// Set on the thread running our RetransformClasses calls: class name -> rebindings,
    /// each site's first binding kept across retries of the same classes.
    static REBINDINGS: RefCell<Option<HashMap<String, Vec<Rebinding>>>> = const { RefCell::new(None) };
}

/// Runs `retransform` with this thread's class file hook recording the site bindings it
/// changes (see [`Rebinding`]); returns them, by class name.
pub fn recording_rebindings(retransform: impl FnOnce()) -> HashMap<String, Vec<Rebinding>> {
    REBINDINGS.with(|r| *r.borrow_mut() = Some(HashMap::new()));
    retransform();
    REBINDINGS.with(|r| r.borrow_mut().take()).unwrap_or_default()
}

fn record_rebinding(class: &str, change: Rebinding) {
    REBINDINGS.with(|r| {
        if let Some(journal) = r.borrow_mut().as_mut() {
            let changes = journal.entry(class.to_string()).or_default();
            match changes.iter_mut().find(|c| c.site == change.site) {
                // A retry of the same class: the first binding is the one to go back to.
                Some(earlier) => earlier.after = change.after,
                None => changes.push(change),
            }
        }
    });
}

/// Whether a class is never rewritten, whatever the pattern.
pub fn never_instrumented(internal_name: &str) -> bool {
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

/// JDK classes get the guarded prologue: the hook runs JDK code and must not re-enter.
fn is_jdk_class(internal_name: &str, boot_loader: bool) -> bool {
    boot_loader || ["java/", "javax/", "jdk/", "sun/", "com/sun/"].iter().any(|p| internal_name.starts_with(p))
}

/// New class bytes for `name`, or None to keep the class as it is.
pub fn transform(agent: &Agent, env: &mut JNIEnv, boot_loader: bool, name: &str, bytes: &[u8]) -> Option<Vec<u8>> {
    let table = agent.table();
    if table.is_empty() || never_instrumented(name) {
        return None;
    }
    // Cheap name test first: most loaded classes match no pattern and are not parsed.
    let any_subtypes = table.iter().any(|f| f.spec.kind.target().is_some_and(|t| t.class.subtypes()));
    let name_matches: Vec<&Arc<ArmedFault>> =
        table.iter().filter(|f| f.spec.kind.target().is_some_and(|t| t.class.matches_name(name))).collect();
    if name_matches.is_empty() && !any_subtypes {
        return None;
    }
    let info = match classfile::parse(bytes) {
        Ok(info) => info,
        Err(e) => {
            if !name_matches.is_empty() {
                report_unrewritable(agent, &name_matches, name, &e.to_string());
            }
            return None;
        }
    };

    // Faults whose class pattern covers this class: by name, or as a subtype of a class
    // already known to match (its supertypes are loaded, or are being loaded, first).
    let mut candidates: Vec<&Arc<ArmedFault>> = Vec::new();
    for f in table.iter() {
        let Some(target) = f.spec.kind.target() else { continue };
        if target.class.matches_name(name) {
            if target.class.subtypes() {
                lock(&f.subtypes).insert(name.to_string());
            }
            candidates.push(f);
        } else if target.class.subtypes() {
            let mut known = lock(&f.subtypes);
            let direct = info.super_name.iter().chain(info.interfaces.iter());
            let is_sub = known.contains(name)
                || direct.clone().any(|s| known.contains(s.as_str()) || target.class.matches_name(s));
            if is_sub {
                known.insert(name.to_string());
                candidates.push(f);
            }
        }
    }
    if candidates.is_empty() {
        return None;
    }

    let guarded = is_jdk_class(name, boot_loader);
    let mut hooks = Vec::new();
    let mut bindings: Vec<(i32, Vec<&Arc<ArmedFault>>)> = Vec::new();
    for (index, method) in info.methods.iter().enumerate() {
        if method.name == "<clinit>" {
            continue;
        }
        let matched: Vec<&Arc<ArmedFault>> = candidates
            .iter()
            .copied()
            .filter(|f| f.spec.kind.target().is_some_and(|t| t.matches_method(&method.name, &method.descriptor)))
            .collect();
        if matched.is_empty() {
            continue;
        }
        let display = faultline::target::method_display(name, &method.name, &method.descriptor);
        if method.code_length.is_none() {
            let why = if method.access & 0x0100 != 0 { "native method" } else { "abstract method" };
            for f in &matched {
                lock(&f.hits).skipped.insert(display.clone(), why.to_string());
            }
            continue;
        }
        let site = lock(&agent.sites).site_for(name, &method.name, &method.descriptor);
        hooks.push(MethodHook { method_index: index, site, guarded });
        bindings.push((site, matched));
    }
    if hooks.is_empty() {
        return None;
    }

    let rewritten = match classfile::instrument(bytes, &hooks) {
        Ok(r) => r,
        Err(e) => {
            report_unrewritable(agent, &candidates, name, &e.to_string());
            return None;
        }
    };
    let skipped: std::collections::HashMap<usize, String> = rewritten.skipped.iter().cloned().collect();
    let java = agent.java.get()?;
    let mut sites = lock(&agent.sites);
    for (hook, (site, faults)) in hooks.iter().zip(bindings) {
        let method = &info.methods[hook.method_index];
        let method_name = faultline::target::method_display(name, &method.name, &method.descriptor);
        let display = method_name.clone();
        if let Some(why) = skipped.get(&hook.method_index) {
            for f in &faults {
                lock(&f.hits).skipped.insert(display.clone(), why.clone());
            }
            continue;
        }
        let refs: Vec<GlobalRef> = faults.iter().map(|f| f.java.clone()).collect();
        if let Err(e) = java.bind_site(env, site, &refs) {
            // Unbound, the prologue returns at once: the method behaves as the original.
            tracing::warn!("binding {}: {e}", &method_name);
            continue;
        }
        let serials: Vec<i32> = faults.iter().map(|f| f.serial).collect();
        record_rebinding(
            name,
            Rebinding {
                site,
                method: display.clone(),
                before: sites.bound(site).to_vec(),
                after: serials.clone(),
                instrumented_before: sites.instrumented.get(&site).copied(),
            },
        );
        sites.set_bound(site, serials);
        sites.instrumented.insert(site, rewritten.prologue_len);
        for f in &faults {
            let mut hits = lock(&f.hits);
            hits.methods.insert(display.clone());
            hits.classes.insert(name.to_string());
        }
    }
    Some(rewritten.bytes)
}

fn report_unrewritable(agent: &Agent, faults: &[&Arc<ArmedFault>], name: &str, why: &str) {
    let class = name.replace('/', ".");
    for f in faults {
        lock(&f.hits).skipped.insert(format!("{class}#*"), format!("class not rewritable: {why}"));
    }
    eprintln!("faultline: class {class} left untouched: {why}");
    agent
        .events
        .emit(crate::events::Event::new("", "warning").with("message", format!("class {class} left untouched: {why}")));
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
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
    }

    #[test]
    fn jdk_classes_get_the_guarded_prologue() {
        assert!(is_jdk_class("java/util/HashMap", false));
        assert!(is_jdk_class("com/acme/OnBootPath", true));
        assert!(!is_jdk_class("com/acme/Repo", false));
    }
}
