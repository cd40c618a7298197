//! The ClassFileLoadHook's decision: which methods of a class being loaded or retransformed
//! get the hook prologue, bound to which faults. Runs on class-loading threads and inside
//! our own RetransformClasses calls, so it reads only the immutable fault snapshot and the
//! site registry, and runs no Java code.
//!
//! A class being loaded may be a subtype of a `Class+` pattern through supertypes the JVM has
//! not loaded yet (it calls this hook before it loads them). Such a class is instrumented on
//! trust ("tentative"), so no call of it can run before its faults do; once the JVM has
//! prepared it (its supertypes loaded), `Agent::on_class_prepare` settles it, and unbinds it
//! if it turns out not to be a subtype, before any of its code has run.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use faultline_model::condition::Operand;
use faultline_model::scenario::{FaultKind, FaultSpec};
use faultline_model::target::{descriptor_params, method_display};
use jni::objects::JObject;
use jni::JNIEnv;

use super::armed::{ArmedFault, HookPoint, Reach};
use super::never::never_instrumented;
use super::sites::Sites;
use crate::boot::HookClasses;
use crate::classfile::{self, Capture, EntryCall, ExitCall, MethodHook, OffsetMap};
use crate::events::{Event, EventLog};
use crate::sync::Locked;

/// What the class file hook works with: the armed faults now (an immutable snapshot), the
/// site registry, the hook classes (to bind sites) and the event log (for classes it cannot
/// rewrite).
pub struct ClassHook<'a> {
    pub faults: &'a [Arc<ArmedFault>],
    pub sites: &'a Mutex<Sites>,
    pub hooks: &'a HookClasses,
    pub events: &'a EventLog,
}

/// A site's binding before our own retransformation rebound it, so that a class the JVM then
/// refuses can be given its old binding back (its old code stays, and must keep seeing what
/// it saw).
pub struct Rebinding {
    pub site: i32,
    pub method: String,
    pub before: Vec<i32>,
    pub after: Vec<i32>,
    pub instrumented_before: Option<OffsetMap>,
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

/// JDK classes get the guarded prologue: the hook runs JDK code and must not re-enter.
fn is_jdk_class(internal_name: &str, boot_loader: bool) -> bool {
    boot_loader || ["java/", "javax/", "jdk/", "sun/", "com/sun/"].iter().any(|p| internal_name.starts_with(p))
}

/// A fault matched to one method through one of its hook points.
#[derive(Clone, Copy)]
struct Matched<'a> {
    fault: &'a Arc<ArmedFault>,
    point: &'a HookPoint,
}

/// What a method's inserted code does for the faults bound to it: the classic entry call
/// when that is all they need; operands captured for conditions and presets, an entry that
/// may return for return faults and presets, calls before every return for faults at exit,
/// and at a thrown exception for presets.
fn plan(method_index: usize, site: i32, guarded: bool, descriptor: &str, matched: &[Matched]) -> MethodHook {
    let mut entry: Option<EntryCall> = None;
    let mut exit: Option<ExitCall> = None;
    for m in matched {
        let reach = m.point.reach;
        if reach.entry {
            let e = entry.get_or_insert_with(EntryCall::default);
            merge(&mut e.capture, capture_of(&m.fault.spec, m.point, descriptor));
            e.returns |= m.point.preset || matches!(m.fault.spec.kind, FaultKind::Return { .. });
        }
        if reach.exit {
            let x = exit.get_or_insert_with(ExitCall::default);
            // A preset reads the call at entry; at exit it needs the result only.
            if !m.point.preset {
                merge(&mut x.capture, capture_of(&m.fault.spec, m.point, descriptor));
            }
            x.thrown |= reach.thrown;
        }
    }
    MethodHook { method_index, site, guarded, entry, exit }
}

/// The receiver and arguments a fault reads: those its condition names; for a preset, all.
fn capture_of(spec: &FaultSpec, point: &HookPoint, descriptor: &str) -> Capture {
    let mut capture = Capture::default();
    if point.preset {
        capture.this = true;
        let params = descriptor_params(descriptor).map(|p| p.len()).unwrap_or(0);
        capture.args = (0..params as u16).collect();
        return capture;
    }
    for op in spec.when.iter().flat_map(|w| w.operands()) {
        match op {
            Operand::This => capture.this = true,
            Operand::Arg(n) => capture.args.push(n),
            Operand::Result | Operand::Thread | Operand::Caller => {}
        }
    }
    capture
}

fn merge(into: &mut Capture, more: Capture) {
    into.this |= more.this;
    for a in more.args {
        if !into.args.contains(&a) {
            into.args.push(a);
        }
    }
    into.args.sort_unstable();
}

/// Binds `faults` to `site` as the hook reads them: faults at entry and at exit apart (a
/// preset's at both), and the method's name and descriptor when its code captures operands
/// or values (None keeps the ones bound).
pub fn bind(
    hooks: &HookClasses,
    env: &mut JNIEnv,
    site: i32,
    faults: &[&Arc<ArmedFault>],
    method: Option<(&str, &str)>,
) -> Result<(), String> {
    let at = |wanted: fn(Reach) -> bool| -> Vec<jni::objects::GlobalRef> {
        faults.iter().filter(|f| f.reach().is_some_and(wanted)).map(|f| f.java.clone()).collect()
    };
    let (entry, exit) = (at(|r| r.entry), at(|r| r.exit));
    hooks.bind_site(env, site, &crate::boot::SiteBinding { entry: &entry, exit: &exit, method })
}

impl ClassHook<'_> {
    /// New class bytes for `name` (defined by `loader`, null for the bootstrap loader), or
    /// None to keep the class as it is. `loading`: the class is being loaded (not
    /// retransformed), so its supertypes may not be loaded yet.
    pub fn rewrite(
        &self,
        env: &mut JNIEnv,
        loader: &JObject,
        loading: bool,
        name: &str,
        bytes: &[u8],
    ) -> Option<Vec<u8>> {
        let boot_loader = loader.is_null();
        let table = self.faults;
        if table.is_empty() || never_instrumented(name) {
            return None;
        }
        // Cheap name test first: most loaded classes match no pattern and are not parsed.
        let points = || table.iter().flat_map(|f| f.points.iter().map(move |p| Matched { fault: f, point: p }));
        let any_subtypes = points().any(|m| m.point.target.class.subtypes());
        let name_matches: Vec<&Arc<ArmedFault>> =
            table.iter().filter(|f| f.points.iter().any(|p| p.target.class.matches_name(name))).collect();
        if name_matches.is_empty() && !any_subtypes {
            return None;
        }
        let info = match classfile::parse(bytes) {
            Ok(info) => info,
            Err(e) => {
                if !name_matches.is_empty() {
                    self.report_unrewritable(&name_matches, name, &e.to_string());
                }
                return None;
            }
        };

        // Hook points whose class pattern covers this class: by name, or as a subtype of a
        // class already known to match (its supertypes are loaded, or are being loaded, first).
        let mut candidates: Vec<Matched> = Vec::new();
        for m in points() {
            let class = &m.point.target.class;
            if class.matches_name(name) {
                if class.subtypes() {
                    m.point.classes.known.locked().insert(name.to_string());
                }
                candidates.push(m);
            } else if class.subtypes() {
                let direct: Vec<&String> = info.super_name.iter().chain(info.interfaces.iter()).collect();
                let mut known = m.point.classes.known.locked();
                let is_sub =
                    known.contains(name) || direct.iter().any(|s| known.contains(s.as_str()) || class.matches_name(s));
                if is_sub {
                    known.insert(name.to_string());
                    candidates.push(m);
                    continue;
                }
                drop(known);
                // Not known to be a subtype: when loading, a supertype the JVM has not loaded
                // yet may still make it one (settled when the class is prepared).
                let not = m.point.classes.not.locked();
                let undecided = direct.iter().any(|s| !not.contains(s.as_str()) && s.as_str() != "java/lang/Object");
                drop(not);
                if loading && undecided {
                    m.point.classes.on_trust.locked().insert(name.to_string());
                    candidates.push(m);
                } else {
                    m.point.classes.not.locked().insert(name.to_string());
                }
            }
        }
        if candidates.is_empty() {
            return None;
        }
        let candidate_faults: Vec<&Arc<ArmedFault>> = {
            let mut seen = Vec::new();
            for m in &candidates {
                if !seen.iter().any(|f: &&Arc<ArmedFault>| Arc::ptr_eq(f, m.fault)) {
                    seen.push(m.fault);
                }
            }
            seen
        };

        let guarded = is_jdk_class(name, boot_loader);
        let mut hooks = Vec::new();
        let mut bindings: Vec<(i32, Vec<&Arc<ArmedFault>>, bool)> = Vec::new();
        for (index, method) in info.methods.iter().enumerate() {
            if method.name == "<clinit>" {
                continue;
            }
            // One hook point per fault and method (the first that matches).
            let mut matched: Vec<Matched> = Vec::new();
            for m in candidates.iter().filter(|m| m.point.target.matches_method(&method.name, &method.descriptor)) {
                if !matched.iter().any(|seen| Arc::ptr_eq(seen.fault, m.fault)) {
                    matched.push(*m);
                }
            }
            if matched.is_empty() {
                continue;
            }
            let display = method_display(name, &method.name, &method.descriptor);
            if method.code_length.is_none() {
                let why = if method.access & 0x0100 != 0 { "native method" } else { "abstract method" };
                // A preset hooks interfaces by design: their abstract methods are no news.
                for m in matched.iter().filter(|m| !m.point.preset) {
                    let expected = why == "abstract method" && m.point.target.class.subtypes();
                    m.fault.skip(self.events, &display, why, !expected);
                }
                continue;
            }
            // Each fault checks that it can act on this method (arguments its condition names,
            // a value that fits the return type); one that cannot skips it, with the reason.
            let is_static = method.access & 0x0008 != 0;
            let fits: Vec<Matched> = matched
                .into_iter()
                .filter(|m| match m.fault.spec.check_method(&method.name, &method.descriptor, is_static) {
                    Ok(()) => true,
                    Err(why) => {
                        m.fault.skip(self.events, &display, &why, true);
                        false
                    }
                })
                .collect();
            if fits.is_empty() {
                continue;
            }
            let site = self.sites.locked().site_for(name, &method.name, &method.descriptor);
            let hook = plan(index, site, guarded, &method.descriptor, &fits);
            let fits: Vec<&Arc<ArmedFault>> = fits.iter().map(|m| m.fault).collect();
            let classic = hook.entry == Some(EntryCall::default()) && hook.exit.is_none();
            hooks.push(hook);
            bindings.push((site, fits, !classic));
        }
        if hooks.is_empty() {
            return None;
        }

        // A panic in the rewriter (a bug the fuzz target has not found) must leave the class
        // as it was and say so per fault, like a class it cannot read: nothing is bound yet.
        let rewriting = std::panic::catch_unwind(|| classfile::instrument(bytes, &hooks));
        let rewritten = match rewriting {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                self.report_unrewritable(&candidate_faults, name, &e.to_string());
                return None;
            }
            Err(_) => {
                self.report_unrewritable(
                    &candidate_faults,
                    name,
                    "the rewriter failed on it (a bug: please report it)",
                );
                return None;
            }
        };
        let skipped: std::collections::HashMap<usize, String> = rewritten.skipped.iter().cloned().collect();
        let mut sites = self.sites.locked();
        let offsets: HashMap<usize, OffsetMap> = rewritten.offsets.into_iter().collect();
        for (hook, (site, faults, described)) in hooks.iter().zip(bindings) {
            let method = &info.methods[hook.method_index];
            let shown = method_display(name, &method.name, &method.descriptor);
            if let Some(why) = skipped.get(&hook.method_index) {
                for f in &faults {
                    f.skip(self.events, &shown, why, true);
                }
                continue;
            }
            let described = described.then_some((method.name.as_str(), method.descriptor.as_str()));
            if let Err(e) = bind(self.hooks, env, site, &faults, described) {
                // Unbound, the prologue returns at once: the method behaves as the original,
                // and the faults do not reach it.
                tracing::warn!("binding {shown}: {e}");
                for f in &faults {
                    f.skip(self.events, &shown, &format!("its site could not be bound: {e}"), true);
                }
                continue;
            }
            let serials: Vec<i32> = faults.iter().map(|f| f.serial).collect();
            record_rebinding(
                name,
                Rebinding {
                    site,
                    method: shown.clone(),
                    before: sites.bound(site).to_vec(),
                    after: serials.clone(),
                    instrumented_before: sites.instrumented.get(&site).cloned(),
                },
            );
            sites.set_bound(site, serials);
            sites.instrumented.insert(site, offsets.get(&hook.method_index).cloned().unwrap_or_default());
            // The classes a preset reached are the implementations (drivers, containers): an
            // API interface's default methods are hooked but say nothing of what was reached.
            let interface = info.access & 0x0200 != 0;
            for f in &faults {
                let mut hits = f.hits.locked();
                hits.methods.insert(shown.clone());
                if !(interface && f.spec.kind.preset().is_some()) {
                    hits.classes.insert(name.to_string());
                }
            }
        }
        Some(rewritten.bytes)
    }

    fn report_unrewritable(&self, faults: &[&Arc<ArmedFault>], name: &str, why: &str) {
        let class = name.replace('/', ".");
        eprintln!("faultline: class {class} left untouched: {why}");
        for f in faults {
            f.skip(self.events, &format!("{class}#*"), &format!("class not rewritable: {why}"), true);
        }
        self.events.emit(Event::new("", "warning").with("message", format!("class {class} left untouched: {why}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jdk_classes_get_the_guarded_prologue() {
        assert!(is_jdk_class("java/util/HashMap", false));
        assert!(is_jdk_class("com/acme/OnBootPath", true));
        assert!(!is_jdk_class("com/acme/Repo", false));
    }
}
