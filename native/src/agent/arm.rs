//! Arming: build each fault's Java object, publish the faults, and retransform the loaded
//! classes they match (in batches, with a second look for classes that finished loading
//! meanwhile); a class the JVM refuses keeps the bindings its code had.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use faultline_model::protocol::ArmedSummary;
use faultline_model::resource::Resource;
use faultline_model::scenario::{FaultKind, FaultSpec, Point, Scenario};
use faultline_model::target::TargetPattern;
use jni::objects::GlobalRef;
use jni::JNIEnv;

use super::{Agent, Label};
use crate::boot::{self, conditions, module_access, FaultDefinition, HookClasses};
use crate::events::Event;
use crate::ffi::jni::in_local_frame;
use crate::ffi::jvmti::Jvmti;
use crate::instrument::armed::{hook_points, ArmedFault, Hits};
use crate::instrument::class_hook::{self, Rebinding};
use crate::instrument::loaded::{self, internal_name};
use crate::instrument::never::only_never_instrumented;
use crate::sync::{Locked, ReadWrite};

/// Classes per RetransformClasses call. The JVM swaps a call's classes in at one safepoint,
/// with every application thread stopped. JDK 17+ pays a fixed walk over the loaded classes
/// per call plus 20-45 us per class: a pattern over 20,000 classes in one call stopped the JVM
/// for 0.35 s (arm) and 0.9 s (stop); calls of 500 keep each pause near 20 ms. JDK 11 walks
/// the loaded classes for every class redefined (2.7 ms per class with 20,000 loaded: 500
/// classes stopped it for 1.3 s), so there each call takes a few classes only.
const RETRANSFORM_BATCH: usize = 500;
const RETRANSFORM_BATCH_BEFORE_17: usize = 8;

/// The classes `retransform` refuses, with its error: tries them all at once and, when that
/// fails, each half again, down to single classes. Every call pays the JVM's walk over all
/// loaded classes, so retrying a refused batch class by class cost 500 calls for one bad
/// class; halving costs about 2 log2(500) = 18 (a class whose own dependencies are missing, so
/// the JVM cannot link it, is refused: a jar corpus of 90,000 classes with a few hundred such
/// classes took over 5 minutes to arm class by class).
pub(super) fn refused_by_halves<'c, C>(
    classes: &'c [C],
    retransform: &mut dyn FnMut(&[C]) -> Result<(), String>,
) -> Vec<(&'c C, String)> {
    let mut refused = Vec::new();
    let mut todo = vec![classes];
    while let Some(part) = todo.pop() {
        match retransform(part) {
            Ok(()) => {}
            Err(e) if part.len() == 1 => refused.push((&part[0], e)),
            Err(e) => {
                tracing::debug!("retransforming {} classes failed ({e}); retrying each half", part.len());
                let (first, second) = part.split_at(part.len() / 2);
                todo.push(second);
                todo.push(first);
            }
        }
    }
    refused
}

/// The batch size for this JVM, by its VM specification version ("11", "17", "1.8").
pub(super) fn retransform_batch(jvmti: &Jvmti) -> usize {
    let version = jvmti.system_property("java.vm.specification.version").unwrap_or_default();
    match version.split('.').next().and_then(|major| major.parse::<u32>().ok()) {
        Some(major) if major < 17 => RETRANSFORM_BATCH_BEFORE_17,
        _ => RETRANSFORM_BATCH,
    }
}

/// Extra searches for classes that finished loading while a fault was being armed (see
/// `retransform_late_arrivals`) or removed (see `stop`); each runs only if the one before
/// found any.
pub(super) const LATE_ARRIVAL_PASSES: usize = 3;

impl Agent {
    /// Arms every fault of `scenario`, all or nothing: a fault that cannot be built (an
    /// unknown exception class, a duplicate id) leaves nothing armed.
    pub fn arm(
        &'static self,
        env: &mut JNIEnv,
        scenario: &Scenario,
        default_duration: Option<Duration>,
        at_startup: bool,
    ) -> Result<Vec<ArmedSummary>, String> {
        let hooks = self.hooks()?;
        let _control = self.control.locked();
        let current = self.table();

        let mut seen = HashSet::new();
        for spec in &scenario.faults {
            if current.iter().any(|f| f.spec.id == spec.id) {
                return Err(format!(
                    "{}: fault id '{}' is already armed in this JVM: stop it first or choose another id",
                    scenario.origin, spec.id
                ));
            }
            if !seen.insert(spec.id.as_str()) {
                return Err(format!("{}: fault id '{}' appears twice", scenario.origin, spec.id));
            }
            if let Some(class) = spec.kind.target().and_then(|t| only_never_instrumented(&t.class)) {
                return Err(format!(
                    "{}: fault '{}': {class} is never instrumented: the hook itself runs it while a fault fires \
                     (waiting, thread state, reflection), so a fault there could wait on itself; target the \
                     application method that calls it instead",
                    scenario.origin, spec.id
                ));
            }
        }

        let targeted: Vec<(&FaultSpec, &TargetPattern)> =
            scenario.faults.iter().filter_map(|spec| spec.kind.target().map(|t| (spec, t))).collect();
        let targets: Vec<&TargetPattern> = targeted.iter().map(|(_, t)| *t).collect();
        if let Some((index, problem)) = loaded::method_typos(&self.jvmti, env, &targets).into_iter().next() {
            return Err(format!("{}: fault '{}': {problem}", scenario.origin, targeted[index].0.id));
        }
        self.check_loaded_methods(env, scenario)?;

        // The lease thread first: a fault may leave no room for a new thread once armed.
        let leased = scenario.faults.iter().any(|spec| spec.duration.or(default_duration).is_some());
        let _lease_hold = if leased {
            Some(self.worker.hold(self).map_err(|e| {
                format!(
                    "{}: cannot start the agent's lease thread ({e}), which ends faults when their duration runs out; \
                     nothing was armed",
                    scenario.origin
                )
            })?)
        } else {
            None
        };

        let now = Instant::now();
        let mut fresh: Vec<Arc<ArmedFault>> = Vec::new();
        for spec in &scenario.faults {
            let serial = self.next_serial.fetch_add(1, Ordering::Relaxed);
            // The label first: a fault may report events while it is being defined (pools).
            let exception = match &spec.kind {
                FaultKind::Exception { throw, .. } => Some(throw.clone()),
                _ => None,
            };
            let returned = match &spec.kind {
                FaultKind::Return { value, .. } => Some(value.as_ref().map(|v| v.to_string())),
                _ => None,
            };
            let label = Label {
                id: spec.id.clone(),
                kind: spec.kind.name(),
                exception,
                at_exit: spec.at == Point::Exit,
                returned,
                preset: spec.kind.preset().map(|p| p.preset.name),
            };
            self.labels.writing().insert(serial, label);
            let defined = in_local_frame(env, 16, |env| self.define_fault(env, hooks, serial, spec));
            let java_fault = match defined {
                Ok(f) => f,
                Err(e) => {
                    // All or nothing: what this call already set up goes away again.
                    for f in &fresh {
                        hooks.remove_fault(env, &f.java);
                    }
                    self.retire_labels(fresh.iter().map(|f| f.serial).chain([serial]));
                    return Err(format!("{}: fault '{}': {e}", scenario.origin, spec.id));
                }
            };
            let duration = spec.duration.or(default_duration);
            fresh.push(Arc::new(ArmedFault {
                serial,
                spec: spec.clone(),
                java: java_fault,
                armed_wall: SystemTime::now(),
                deadline: duration.map(|d| now + d),
                points: hook_points(spec),
                hits: Mutex::new(Hits::default()),
            }));
        }

        let mut all: Vec<Arc<ArmedFault>> = current.iter().cloned().collect();
        all.extend(fresh.iter().cloned());
        self.publish(all);
        self.update_event_modes();
        module_access::open_modules_to_hook(&self.jvmti, hooks, env);

        let classes = in_local_frame(env, 64, |env| loaded::loaded_matches(&self.jvmti, env, &fresh));
        self.retransform(env, &classes);
        self.retransform_late_arrivals(env, &fresh, &classes);

        let mut out = Vec::new();
        for f in &fresh {
            let hits = f.hits.locked();
            let mut event = Event::new(&f.spec.id, "armed").with("fault_kind", f.spec.kind.name());
            match &f.spec.kind {
                FaultKind::Pool { pool, executor, mode } => {
                    event = event
                        .with("pool", pool.clone())
                        .with("executor", executor.as_ref().map(|e| e.text().to_string()))
                        .with("mode", mode.as_str());
                }
                FaultKind::Resource(resource) => {
                    for (key, value) in resource.json_pairs() {
                        event = event.with(key, value);
                    }
                }
                kind => {
                    event = match kind.preset() {
                        Some(used) => {
                            let keys: serde_json::Map<String, serde_json::Value> =
                                used.values().into_iter().map(|(k, v)| (k.to_string(), v.into())).collect();
                            event.with("preset", used.preset.name).with("match", serde_json::Value::Object(keys))
                        }
                        None => event.with("target", kind.target().map(|t| t.to_string()).unwrap_or_default()),
                    };
                    event = event.with("methods", hits.methods.len());
                    if let FaultKind::Respond { status, .. } = kind {
                        event = event.with("status", *status);
                    }
                    if f.spec.at == Point::Exit {
                        event = event.with("at", "exit");
                    }
                    if let Some(when) = &f.spec.when {
                        event = event.with("when", when.text.clone());
                    }
                    if let FaultKind::Return { value, .. } = kind {
                        event = event.with("value", value.as_ref().map(|v| v.to_string()));
                    }
                }
            }
            if let Some(d) = f.deadline {
                event = event.with("duration_ms", d.saturating_duration_since(now).as_millis() as u64);
            }
            self.events.emit(event);
            if matches!(f.spec.kind, FaultKind::Pool { .. } | FaultKind::Resource(_)) {
                boot::announced(env, &f.java);
            }
            // Pool faults report their own matches (executors) as they find them.
            if f.hooks_methods() && hits.methods.is_empty() && !at_startup {
                let target = f.spec.kind.aim().map(|t| t.to_string()).unwrap_or_default();
                let why = if let Some(used) = f.spec.kind.preset() {
                    format!(
                        "waits for classes: no class of {} is loaded yet ({}); it stays armed and applies to them as \
                         they load",
                        used.preset.name, used.preset.about
                    )
                } else if hits.skipped.is_empty() {
                    "matches no loaded method yet; it stays armed and applies to classes loaded later".to_string()
                } else {
                    format!(
                        "matches only methods that cannot be instrumented ({}); it stays armed for classes loaded later",
                        hits.skipped.iter().take(3).map(|(m, r)| format!("{m}: {r}")).collect::<Vec<_>>().join("; ")
                    )
                };
                eprintln!("faultline: fault '{}' ({target}) {why}", f.spec.id);
                self.events.emit(Event::new(&f.spec.id, "warning").with("message", why));
            }
            out.push(ArmedSummary { id: f.spec.id.clone(), methods: hits.methods.len() });
        }
        drop(_control);
        // (The lease hold ends here: the thread now has the armed faults to watch.)
        Ok(out)
    }

    /// Faults with a condition, a return value or at exit, checked against every loaded method
    /// they match before anything is armed: all or nothing, the first problem named. (Classes
    /// that load later are checked as they are rewritten; a method that does not fit is
    /// skipped, with the reason, in `status`.)
    fn check_loaded_methods(&self, env: &mut JNIEnv, scenario: &Scenario) -> Result<(), String> {
        let checked: Vec<(&FaultSpec, &TargetPattern)> = scenario
            .faults
            .iter()
            .filter(|spec| spec.needs_method_checks())
            .filter_map(|spec| spec.kind.target().map(|t| (spec, t)))
            .collect();
        if checked.is_empty() {
            return Ok(());
        }
        let targets: Vec<&TargetPattern> = checked.iter().map(|(_, t)| *t).collect();
        let methods = in_local_frame(env, 64, |env| loaded::loaded_methods(&self.jvmti, env, &targets));
        for ((spec, _), methods) in checked.iter().zip(methods) {
            for m in methods {
                if let Err(why) = spec.check_method(&m.name, &m.descriptor, m.is_static) {
                    let method = faultline_model::target::method_display(&m.class, &m.name, &m.descriptor);
                    return Err(format!("{}:{}: fault '{}': {method}: {why}", scenario.origin, spec.line, spec.id));
                }
            }
        }
        Ok(())
    }

    fn define_fault(
        &self,
        env: &mut JNIEnv,
        hooks: &HookClasses,
        serial: i32,
        spec: &FaultSpec,
    ) -> Result<GlobalRef, String> {
        let nanos = |d: Duration| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
        let (kind, delay, jitter, message, throw) = match &spec.kind {
            FaultKind::Latency { delay, jitter, .. } => (boot::KIND_LATENCY, nanos(*delay), nanos(*jitter), None, None),
            FaultKind::Exception { throw, message, .. } => {
                (boot::KIND_EXCEPTION, 0, 0, message.as_deref(), Some(throw))
            }
            FaultKind::Hang { max, .. } => (boot::KIND_HANG, nanos(*max), 0, None, None),
            FaultKind::Return { .. } => (boot::KIND_RETURN, 0, 0, None, None),
            FaultKind::Respond { .. } => (boot::KIND_RESPOND, 0, 0, None, None),
            FaultKind::Pool { pool, executor, mode } => {
                module_access::open_packages_for_pools(&self.jvmti, hooks, env);
                return boot::pools::define(env, serial, &spec.id, pool.as_deref(), executor.as_ref(), mode.as_str());
            }
            FaultKind::Resource(resource) => {
                if matches!(resource, Resource::Direct { .. }) {
                    module_access::export_packages_for_direct_buffers(&self.jvmti, hooks, env);
                }
                return boot::resources::define(env, serial, &spec.id, resource);
            }
        };
        // A preset's symbolic `throw` (`timeout`) names each library's own class: its Java
        // side resolves it where the call happens.
        let symbolic =
            |name: &str| spec.kind.preset().is_some_and(|u| u.preset.throw_names.iter().any(|t| t.name == name));
        let throw_class = match throw {
            Some(name) if !symbolic(name) => Some(loaded::resolve_class(&self.jvmti, env, name)?),
            _ => None,
        };
        let preset = match spec.kind.preset() {
            Some(used) => {
                let status = match &spec.kind {
                    FaultKind::Respond { status, .. } => i32::from(*status),
                    _ => 0,
                };
                let throw_name = throw.filter(|name| symbolic(name)).map(String::as_str);
                Some(boot::presets::define(env, used, status, throw_name)?)
            }
            None => None,
        };
        let condition = match &spec.when {
            Some(when) => Some(conditions::build(env, when).map_err(|why| format!("key 'when': {why}"))?),
            None => None,
        };
        let (value_kind, value) = match &spec.kind {
            FaultKind::Return { value, .. } => conditions::return_value(env, value.as_ref())?,
            _ => (0, None),
        };
        let def = FaultDefinition {
            serial,
            id: &spec.id,
            kind,
            probability: spec.probability,
            after: i64::try_from(spec.after).unwrap_or(i64::MAX),
            limit: spec.limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX)).unwrap_or(-1),
            threads: spec.threads.as_deref(),
            scope: spec.scope.as_deref(),
            delay_nanos: delay,
            jitter_nanos: jitter,
            message,
            at_exit: spec.at == Point::Exit,
            condition: condition.as_ref(),
            value_kind,
            value: value.as_ref(),
            preset: preset.as_ref(),
        };
        hooks.define_fault(env, &def, throw_class.as_ref().map(|c| c.as_obj().into()))
    }

    /// Retransforms `classes` (our hook decides the new code), in batches (see
    /// `RETRANSFORM_BATCH`), so the application runs between the JVM's redefinition pauses.
    pub fn retransform(&self, env: &mut JNIEnv, classes: &[GlobalRef]) {
        for chunk in classes.chunks(self.retransform_batch) {
            self.retransform_chunk(env, chunk);
        }
    }

    /// A class that was being loaded while faults were published ran the class file hook
    /// before it saw them (or before the hook was switched on) and was listed as loaded only
    /// after the search for matching classes: it would never get the fault. Searches again,
    /// and rewrites the matching classes that have appeared since; repeats while any do.
    fn retransform_late_arrivals(&self, env: &mut JNIEnv, fresh: &[Arc<ArmedFault>], first: &[GlobalRef]) {
        let name_of = |c: &GlobalRef| internal_name(&self.jvmti, c.as_obj().into());
        let mut seen: HashSet<String> = first.iter().filter_map(name_of).collect();
        for _ in 0..LATE_ARRIVAL_PASSES {
            let again = in_local_frame(env, 64, |env| loaded::loaded_matches(&self.jvmti, env, fresh));
            // Classes the hook already rewrote for these faults as they loaded are done. (The
            // hits are released before retransforming: the hook locks them on this thread.)
            let hits: Vec<_> = fresh.iter().map(|f| f.hits.locked()).collect();
            let rewritten = |n: &String| hits.iter().any(|h| h.classes.contains(n));
            let late: Vec<GlobalRef> =
                again.into_iter().filter(|c| name_of(c).is_some_and(|n| !rewritten(&n) && seen.insert(n))).collect();
            drop(hits);
            if late.is_empty() {
                return;
            }
            tracing::debug!("{} classes finished loading while faults were armed; rewriting them", late.len());
            self.retransform(env, &late);
        }
    }

    /// One RetransformClasses call; if the JVM refuses it, the halves again (see
    /// `refused_by_halves`), so one bad class does not stop the rest. A class the JVM refuses
    /// keeps its old code, so it gets its old site bindings back (our class file hook rebound
    /// them before the JVM said no).
    fn retransform_chunk(&self, env: &mut JNIEnv, classes: &[GlobalRef]) {
        let mut refused: Vec<(&GlobalRef, String)> = Vec::new();
        let rebindings = class_hook::recording_rebindings(|| {
            refused =
                refused_by_halves(classes, &mut |part| self.jvmti.retransform_classes(part).map_err(|e| e.to_string()));
        });
        for (class, e) in refused {
            let internal = internal_name(&self.jvmti, class.as_obj().into()).unwrap_or_default();
            let name = internal.replace('/', ".");
            eprintln!("faultline: could not rewrite class {name}: {e}; it keeps its code");
            self.events.emit(Event::new("", "warning").with("message", format!("could not rewrite class {name}: {e}")));
            if let Some(changes) = rebindings.get(&internal) {
                self.restore_bindings(env, &internal, changes, &e);
            }
        }
    }

    /// Gives a refused class's sites the bindings its (unchanged) code had, and takes the
    /// class out of the hits of the faults that did not reach it.
    fn restore_bindings(&self, env: &mut JNIEnv, class: &str, changes: &[Rebinding], why: &str) {
        let Some(hooks) = self.hooks.get() else { return };
        let table = self.table();
        let mut sites = self.sites.locked();
        for change in changes {
            let faults: Vec<&Arc<ArmedFault>> =
                change.before.iter().filter_map(|s| table.iter().find(|f| f.serial == *s)).collect();
            if let Err(e) = class_hook::bind(hooks, env, change.site, &faults, None) {
                tracing::warn!("restoring the binding of {}: {e}", change.method);
                continue;
            }
            sites.set_bound(change.site, change.before.clone());
            match &change.instrumented_before {
                Some(map) => sites.instrumented.insert(change.site, map.clone()),
                None => sites.instrumented.remove(&change.site),
            };
            for f in table.iter().filter(|f| change.after.contains(&f.serial) && !change.before.contains(&f.serial)) {
                let mut hits = f.hits.locked();
                hits.methods.remove(&change.method);
                hits.classes.remove(class);
                drop(hits);
                f.skip(&self.events, &change.method, &format!("the JVM refused the rewritten class: {why}"), true);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::refused_by_halves;

    /// A fake JVM that refuses any call holding one of `bad`, counting the calls.
    fn refusing<'a>(bad: &'static [u32], calls: &'a mut u32) -> impl FnMut(&[u32]) -> Result<(), String> + 'a {
        move |part| {
            *calls += 1;
            match part.iter().find(|c| bad.contains(c)) {
                Some(c) => Err(format!("refused {c}")),
                None => Ok(()),
            }
        }
    }

    #[test]
    fn a_batch_the_jvm_accepts_is_one_call() {
        let classes: Vec<u32> = (0..500).collect();
        let mut calls = 0;
        assert!(refused_by_halves(&classes, &mut refusing(&[], &mut calls)).is_empty());
        assert_eq!(calls, 1);
    }

    #[test]
    fn only_the_refused_classes_are_reported_each_with_its_error() {
        let classes: Vec<u32> = (0..500).collect();
        let mut calls = 0;
        let refused = refused_by_halves(&classes, &mut refusing(&[7, 250, 499], &mut calls));
        let got: Vec<(u32, String)> = refused.into_iter().map(|(c, e)| (*c, e)).collect();
        assert_eq!(got, vec![(7, "refused 7".into()), (250, "refused 250".into()), (499, "refused 499".into())]);
    }

    #[test]
    fn one_refused_class_costs_a_few_calls_not_one_per_class() {
        let classes: Vec<u32> = (0..500).collect();
        let mut calls = 0;
        assert_eq!(refused_by_halves(&classes, &mut refusing(&[321], &mut calls)).len(), 1);
        assert!(calls <= 2 * 9 + 1, "{calls} calls for one bad class in 500");
    }

    #[test]
    fn a_batch_of_refused_classes_reports_every_one() {
        let classes: Vec<u32> = (0..8).collect();
        let mut calls = 0;
        let bad: &'static [u32] = &[0, 1, 2, 3, 4, 5, 6, 7];
        assert_eq!(refused_by_halves(&classes, &mut refusing(bad, &mut calls)).len(), 8);
    }
}
