//! The agent's state and its operations: arm, stop, status. Every door (startup options,
//! the Java API, the CLI's control channel) ends up in these functions, so there is one
//! command model whatever the route.
//!
//! JNI references (`jclass`, `jobject`) cross this module as the raw handles JVMTI hands
//! out; they are opaque to Rust and validated by the JVM, hence the lint allowance below.
//!
//! Concurrency: `control` serializes arm and stop; the ClassFileLoadHook, which runs on
//! any class-loading thread and also inside our own RetransformClasses calls, only reads
//! an immutable snapshot of the armed faults (`table`), so it never waits on `control`.

#![allow(clippy::not_unsafe_ptr_arg_deref)]

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use faultline::scenario::{FaultKind, FaultSpec, Scenario};
use jni::objects::{GlobalRef, JObject};
use jni::sys::jclass;
use jni::{JNIEnv, JavaVM};
use once_cell::sync::OnceCell;
use serde_json::{json, Value};

use crate::class_match::{self, class_pattern, internal_name};
use crate::events::{Event, EventLog};
use crate::hook::{self, FaultDefinition, JavaSide};
use crate::jvmti::{self, Jvmti};
use crate::lease::LeaseWorker;
use crate::modules;
use crate::options::AgentOptions;
use crate::sites::Sites;
use crate::transform;

/// Classes per RetransformClasses call. The JVM swaps a call's classes in at one safepoint,
/// with every application thread stopped. JDK 17+ pays a fixed walk over the loaded classes
/// per call plus 20-45 us per class: a pattern over 20,000 classes in one call stopped the JVM
/// for 0.35 s (arm) and 0.9 s (stop); calls of 500 keep each pause near 20 ms. JDK 11 walks
/// the loaded classes for every class redefined (2.7 ms per class with 20,000 loaded: 500
/// classes stopped it for 1.3 s), so there each call takes a few classes only.
const RETRANSFORM_BATCH: usize = 500;
const RETRANSFORM_BATCH_BEFORE_17: usize = 8;

/// The batch size for this JVM, by its VM specification version ("11", "17", "1.8").
fn retransform_batch(jvmti: &Jvmti) -> usize {
    let version = jvmti.system_property("java.vm.specification.version").unwrap_or_default();
    match version.split('.').next().and_then(|major| major.parse::<u32>().ok()) {
        Some(major) if major < 17 => RETRANSFORM_BATCH_BEFORE_17,
        _ => RETRANSFORM_BATCH,
    }
}

/// Labels of removed faults kept for their late events.
const RETIRED_LABELS: usize = 1000;

/// Extra searches for classes that finished loading while a fault was being armed (see
/// `retransform_late_arrivals`) or removed (see `stop`); each runs only if the one before
/// found any.
const LATE_ARRIVAL_PASSES: usize = 3;

/// One armed fault, as the agent tracks it.
pub struct ArmedFault {
    pub serial: i32,
    pub spec: FaultSpec,
    pub java: GlobalRef,
    pub armed_wall: SystemTime,
    pub deadline: Option<Instant>,
    /// For `Class+` targets: internal names of loaded classes known to be subtypes.
    pub subtypes: Mutex<HashSet<String>>,
    pub hits: Mutex<Hits>,
}

/// What a fault's target matched, filled in by the ClassFileLoadHook.
#[derive(Default)]
pub struct Hits {
    pub methods: BTreeSet<String>,
    pub classes: BTreeSet<String>,
    /// Methods the pattern matched that cannot be instrumented, with the reason.
    pub skipped: BTreeMap<String, String>,
}

/// Stays after a fault is removed, so late events still name it.
struct Label {
    id: String,
    kind: &'static str,
    exception: Option<String>,
}

pub enum Removal {
    Stopped,
    Expired,
}

pub struct ArmedSummary {
    pub id: String,
    pub methods: usize,
}

pub struct Agent {
    pub jvmti: Jvmti,
    pub vm: JavaVM,
    pub java: OnceCell<JavaSide>,
    pub events: EventLog,
    pub sites: Mutex<Sites>,
    table: RwLock<Arc<Vec<Arc<ArmedFault>>>>,
    control: Mutex<()>,
    labels: RwLock<HashMap<i32, Label>>,
    /// Serials of removed faults, oldest first: their labels are kept for late events, up to
    /// `RETIRED_LABELS`, so a JVM driven for months does not grow with every fault.
    retired: Mutex<std::collections::VecDeque<i32>>,
    /// Startup options waiting for the JVM to finish initializing.
    pub pending: Mutex<Option<AgentOptions>>,
    next_serial: AtomicI32,
    hooks_enabled: AtomicBool,
    prepare_enabled: AtomicBool,
    /// The lease thread: ends expired faults, rewrites late-prepared subtypes.
    worker: LeaseWorker,
    /// Classes per RetransformClasses call on this JVM.
    retransform_batch: usize,
}

impl Agent {
    pub fn new(jvmti: Jvmti, vm: JavaVM) -> Agent {
        Agent {
            jvmti,
            vm,
            java: OnceCell::new(),
            events: EventLog::default(),
            sites: Mutex::new(Sites::default()),
            table: RwLock::new(Arc::new(Vec::new())),
            control: Mutex::new(()),
            labels: RwLock::new(HashMap::new()),
            retired: Mutex::new(std::collections::VecDeque::new()),
            pending: Mutex::new(None),
            next_serial: AtomicI32::new(1),
            retransform_batch: retransform_batch(&jvmti),
            hooks_enabled: AtomicBool::new(false),
            prepare_enabled: AtomicBool::new(false),
            worker: LeaseWorker::default(),
        }
    }

    /// The armed faults now: an immutable snapshot.
    pub fn table(&self) -> Arc<Vec<Arc<ArmedFault>>> {
        self.table.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn publish(&self, faults: Vec<Arc<ArmedFault>>) {
        *self.table.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(faults);
    }

    fn java(&self) -> Result<&JavaSide, String> {
        self.java.get().ok_or_else(|| "the agent is not ready yet (the JVM is still starting)".to_string())
    }

    /// Applies options given at load time or later (events file, scenario).
    /// `at_startup`: the application's classes are not loaded yet, so a fault that matches
    /// nothing now is expected; it is reported at exit if it never matched.
    pub fn apply_options(
        &'static self,
        env: &mut JNIEnv,
        options: &AgentOptions,
        at_startup: bool,
    ) -> Result<Vec<ArmedSummary>, String> {
        if let Some(path) = &options.events {
            self.events.open_file(path)?;
        }
        match &options.scenario {
            Some(path) => {
                let scenario = Scenario::load(path).map_err(|e| e.to_string())?;
                self.arm(env, &scenario, None, at_startup)
            }
            None => Ok(Vec::new()),
        }
    }

    /// Arms every fault of `scenario`, all or nothing: a fault that cannot be built (an
    /// unknown exception class, a duplicate id) leaves nothing armed.
    pub fn arm(
        &'static self,
        env: &mut JNIEnv,
        scenario: &Scenario,
        default_duration: Option<Duration>,
        at_startup: bool,
    ) -> Result<Vec<ArmedSummary>, String> {
        let java = self.java()?;
        let _control = self.control.lock().unwrap_or_else(|p| p.into_inner());
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
            if let Some(class) = spec.kind.target().and_then(|t| crate::transform::only_never_instrumented(&t.class)) {
                return Err(format!(
                    "{}: fault '{}': {class} is never instrumented: the hook itself runs it while a fault fires \
                     (waiting, thread state, reflection), so a fault there could wait on itself; target the \
                     application method that calls it instead",
                    scenario.origin, spec.id
                ));
            }
        }

        let targeted: Vec<(&FaultSpec, &faultline::target::Target)> =
            scenario.faults.iter().filter_map(|spec| spec.kind.target().map(|t| (spec, t))).collect();
        let targets: Vec<&faultline::target::Target> = targeted.iter().map(|(_, t)| *t).collect();
        if let Some((index, problem)) = class_match::method_typos(&self.jvmti, env, &targets).into_iter().next() {
            return Err(format!("{}: fault '{}': {problem}", scenario.origin, targeted[index].0.id));
        }

        let now = Instant::now();
        let mut fresh: Vec<Arc<ArmedFault>> = Vec::new();
        for spec in &scenario.faults {
            let serial = self.next_serial.fetch_add(1, Ordering::Relaxed);
            // The label first: a fault may report events while it is being defined (pools).
            let exception = match &spec.kind {
                FaultKind::Exception { throw, .. } => Some(throw.clone()),
                _ => None,
            };
            self.labels
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(serial, Label { id: spec.id.clone(), kind: spec.kind.name(), exception });
            let defined = hook::in_local_frame(env, 16, |env| self.define_fault(env, java, serial, spec));
            let java_fault = match defined {
                Ok(f) => f,
                Err(e) => {
                    // All or nothing: what this call already set up goes away again.
                    for f in &fresh {
                        java.remove_fault(env, &f.java);
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
                subtypes: Mutex::new(HashSet::new()),
                hits: Mutex::new(Hits::default()),
            }));
        }

        let mut all: Vec<Arc<ArmedFault>> = current.iter().cloned().collect();
        all.extend(fresh.iter().cloned());
        self.publish(all);
        self.update_event_modes();
        modules::open_modules_to_hook(self, env);

        let classes = hook::in_local_frame(env, 64, |env| class_match::loaded_matches(&self.jvmti, env, &fresh));
        self.retransform(env, &classes);
        self.retransform_late_arrivals(env, &fresh, &classes);

        let mut out = Vec::new();
        for f in &fresh {
            let hits = f.hits.lock().unwrap_or_else(|p| p.into_inner());
            let mut event = Event::new(&f.spec.id, "armed").with("fault_kind", f.spec.kind.name());
            match &f.spec.kind {
                FaultKind::Pool { pool, executor, mode } => {
                    event = event
                        .with("pool", pool.clone())
                        .with("executor", executor.as_ref().map(|e| e.text().to_string()))
                        .with("mode", mode.as_str());
                }
                kind => {
                    event = event
                        .with("target", kind.target().map(|t| t.to_string()).unwrap_or_default())
                        .with("methods", hits.methods.len());
                }
            }
            if let Some(d) = f.deadline {
                event = event.with("duration_ms", d.saturating_duration_since(now).as_millis() as u64);
            }
            self.events.emit(event);
            if let FaultKind::Pool { .. } = f.spec.kind {
                crate::pools::announced(env, &f.java);
            }
            // Pool faults report their own matches (executors) as they find them.
            let method_fault = f.spec.kind.target().is_some();
            if method_fault && hits.methods.is_empty() && !at_startup {
                let target = f.spec.kind.target().map(|t| t.to_string()).unwrap_or_default();
                let why = if hits.skipped.is_empty() {
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
        if fresh.iter().any(|f| f.deadline.is_some()) {
            self.worker.ensure_running(self);
        }
        Ok(out)
    }

    fn define_fault(
        &self,
        env: &mut JNIEnv,
        java: &JavaSide,
        serial: i32,
        spec: &FaultSpec,
    ) -> Result<GlobalRef, String> {
        let nanos = |d: Duration| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
        let (kind, delay, jitter, message, throw) = match &spec.kind {
            FaultKind::Latency { delay, jitter, .. } => (hook::KIND_LATENCY, nanos(*delay), nanos(*jitter), None, None),
            FaultKind::Exception { throw, message, .. } => {
                (hook::KIND_EXCEPTION, 0, 0, message.as_deref(), Some(throw))
            }
            FaultKind::Hang { max, .. } => (hook::KIND_HANG, nanos(*max), 0, None, None),
            FaultKind::Pool { pool, executor, mode } => {
                modules::open_packages_for_pools(self, env);
                return crate::pools::define(env, serial, &spec.id, pool.as_deref(), executor.as_ref(), mode.as_str());
            }
        };
        let throw_class = match throw {
            Some(name) => Some(class_match::resolve_class(&self.jvmti, env, name)?),
            None => None,
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
        };
        java.define_fault(env, &def, throw_class.as_ref().map(|c| c.as_obj().into()))
    }

    /// Retransforms `classes` (our hook decides the new code), in batches (see
    /// `RETRANSFORM_BATCH`), so the application runs between the JVM's redefinition pauses.
    pub fn retransform(&self, env: &mut JNIEnv, classes: &[GlobalRef]) {
        let raws: Vec<jclass> = classes.iter().map(|c| c.as_obj().as_raw()).collect();
        for chunk in raws.chunks(self.retransform_batch) {
            self.retransform_chunk(env, chunk);
        }
    }

    /// A class that was being loaded while faults were published ran the class file hook
    /// before it saw them (or before the hook was switched on) and was listed as loaded only
    /// after the search for matching classes: it would never get the fault. Searches again,
    /// and rewrites the matching classes that have appeared since; repeats while any do.
    fn retransform_late_arrivals(&self, env: &mut JNIEnv, fresh: &[Arc<ArmedFault>], first: &[GlobalRef]) {
        let name_of = |c: &GlobalRef| internal_name(&self.jvmti, c.as_obj().as_raw());
        let mut seen: HashSet<String> = first.iter().filter_map(name_of).collect();
        for _ in 0..LATE_ARRIVAL_PASSES {
            let again = hook::in_local_frame(env, 64, |env| class_match::loaded_matches(&self.jvmti, env, fresh));
            // Classes the hook already rewrote for these faults as they loaded are done. (The
            // hits are released before retransforming: the hook locks them on this thread.)
            let hits: Vec<_> = fresh.iter().map(|f| f.hits.lock().unwrap_or_else(|p| p.into_inner())).collect();
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

    /// One RetransformClasses call; if the JVM refuses it, class by class, so one bad class
    /// does not stop the rest. A class the JVM refuses keeps its old code, so it gets its old
    /// site bindings back (our class file hook rebound them before the JVM said no).
    fn retransform_chunk(&self, env: &mut JNIEnv, raws: &[jclass]) {
        let mut refused: Vec<(jclass, String)> = Vec::new();
        let rebindings = transform::recording_rebindings(|| {
            if let Err(batch) = self.jvmti.retransform_classes(raws) {
                tracing::warn!("batch retransform failed ({batch}); retrying class by class");
                for &raw in raws {
                    if let Err(e) = self.jvmti.retransform_classes(&[raw]) {
                        refused.push((raw, e.to_string()));
                    }
                }
            }
        });
        for (raw, e) in refused {
            let internal = internal_name(&self.jvmti, raw).unwrap_or_default();
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
    fn restore_bindings(&self, env: &mut JNIEnv, class: &str, changes: &[transform::Rebinding], why: &str) {
        let Some(java) = self.java.get() else { return };
        let table = self.table();
        let mut sites = self.sites.lock().unwrap_or_else(|p| p.into_inner());
        for change in changes {
            let refs: Vec<GlobalRef> = change
                .before
                .iter()
                .filter_map(|s| table.iter().find(|f| f.serial == *s))
                .map(|f| f.java.clone())
                .collect();
            if let Err(e) = java.bind_site(env, change.site, &refs) {
                tracing::warn!("restoring the binding of {}: {e}", change.method);
                continue;
            }
            sites.set_bound(change.site, change.before.clone());
            match change.instrumented_before {
                Some(len) => sites.instrumented.insert(change.site, len),
                None => sites.instrumented.remove(&change.site),
            };
            for f in table.iter().filter(|f| change.after.contains(&f.serial) && !change.before.contains(&f.serial)) {
                let mut hits = f.hits.lock().unwrap_or_else(|p| p.into_inner());
                hits.methods.remove(&change.method);
                hits.classes.remove(class);
                hits.skipped.insert(change.method.clone(), format!("the JVM refused the rewritten class: {why}"));
            }
        }
    }

    /// Removes faults by id (all when `ids` is empty) and restores the original bytecode of
    /// every class they touched.
    /// With `ignore_missing`, ids that are no longer armed (expired) are skipped silently.
    pub fn stop(
        &'static self,
        env: &mut JNIEnv,
        ids: &[String],
        why: Removal,
        ignore_missing: bool,
    ) -> Result<Vec<String>, String> {
        let java = self.java()?;
        let _control = self.control.lock().unwrap_or_else(|p| p.into_inner());
        let current = self.table();
        let unknown = ids.iter().find(|id| !current.iter().any(|f| &f.spec.id == *id));
        if let (Some(unknown), false) = (unknown, ignore_missing) {
            let armed: Vec<&str> = current.iter().map(|f| f.spec.id.as_str()).collect();
            return Err(if armed.is_empty() {
                format!("no fault with id '{unknown}' is armed (no faults are armed)")
            } else {
                format!("no fault with id '{unknown}' is armed (armed: {})", armed.join(", "))
            });
        }
        if ignore_missing && !ids.is_empty() && !ids.iter().any(|id| current.iter().any(|f| &f.spec.id == id)) {
            return Ok(Vec::new());
        }
        let (removed, kept): (Vec<_>, Vec<_>) =
            current.iter().cloned().partition(|f| ids.is_empty() || ids.contains(&f.spec.id));
        if removed.is_empty() {
            return Ok(Vec::new());
        }
        self.publish(kept.clone());
        let removed_serials: HashSet<i32> = removed.iter().map(|f| f.serial).collect();
        for f in &removed {
            java.remove_fault(env, &f.java);
        }
        self.unbind(env, java, &removed_serials, &kept);

        let mut touched: BTreeSet<String> = BTreeSet::new();
        for f in &removed {
            touched.extend(f.hits.lock().unwrap_or_else(|p| p.into_inner()).classes.iter().cloned());
        }
        let classes = hook::in_local_frame(env, 64, |env| class_match::loaded_named(&self.jvmti, env, &touched));
        self.retransform(env, &classes);
        // A class that was loading during the removal may have been rewritten for a removed
        // fault (the hook's snapshot of faults predates it) after the list above was made.
        for _ in 0..LATE_ARRIVAL_PASSES {
            let mut late: BTreeSet<String> = BTreeSet::new();
            for f in &removed {
                let hits = f.hits.lock().unwrap_or_else(|p| p.into_inner());
                late.extend(hits.classes.iter().filter(|c| !touched.contains(*c)).cloned());
            }
            if late.is_empty() {
                break;
            }
            touched.extend(late.iter().cloned());
            let classes = hook::in_local_frame(env, 64, |env| class_match::loaded_named(&self.jvmti, env, &late));
            self.retransform(env, &classes);
        }
        self.update_event_modes();

        let kind = match why {
            Removal::Stopped => "removed",
            Removal::Expired => "expired",
        };
        let mut out = Vec::new();
        for f in &removed {
            let (calls, injected) = java.counters(env, &f.java);
            self.events.emit(Event::new(&f.spec.id, kind).with("calls", calls).with("injected", injected));
            out.push(f.spec.id.clone());
        }
        self.retire_labels(removed.iter().map(|f| f.serial));
        Ok(out)
    }

    fn retire_labels(&self, serials: impl Iterator<Item = i32>) {
        let mut retired = self.retired.lock().unwrap_or_else(|p| p.into_inner());
        retired.extend(serials);
        let mut labels = self.labels.write().unwrap_or_else(|p| p.into_inner());
        while retired.len() > RETIRED_LABELS {
            if let Some(old) = retired.pop_front() {
                labels.remove(&old);
            }
        }
    }

    /// Drops removed faults from every site; sites left with no fault are cleared.
    fn unbind(&self, env: &mut JNIEnv, java: &JavaSide, removed: &HashSet<i32>, kept: &[Arc<ArmedFault>]) {
        let mut sites = self.sites.lock().unwrap_or_else(|p| p.into_inner());
        let affected = sites.bindings_without(removed);
        for (site, serials) in affected {
            let refs: Vec<GlobalRef> =
                kept.iter().filter(|f| serials.contains(&f.serial)).map(|f| f.java.clone()).collect();
            if let Err(e) = java.bind_site(env, site, &refs) {
                tracing::warn!("unbinding site {site}: {e}");
            }
            if serials.is_empty() {
                sites.instrumented.remove(&site);
            }
            sites.set_bound(site, serials);
        }
    }

    /// ClassFileLoadHook only while a fault is armed: with it off, the JVM neither calls us
    /// on class loads nor keeps copies of class files for us.
    fn update_event_modes(&self) {
        let table = self.table();
        let want_hooks = !table.is_empty();
        if self.hooks_enabled.swap(want_hooks, Ordering::SeqCst) != want_hooks {
            if let Err(e) = self.jvmti.set_event_mode(want_hooks, jvmti::EVENT_CLASS_FILE_LOAD_HOOK) {
                tracing::warn!("switching the class file load hook: {e}");
            }
        }
        let want_prepare = table.iter().any(|f| class_pattern(f).is_some_and(|p| p.subtypes()));
        if self.prepare_enabled.swap(want_prepare, Ordering::SeqCst) != want_prepare {
            if let Err(e) = self.jvmti.set_event_mode(want_prepare, jvmti::EVENT_CLASS_PREPARE) {
                tracing::warn!("switching class prepare events: {e}");
            }
        }
    }

    /// A class just prepared: if it is a new subtype for a `Class+` fault, rewrite it (on the
    /// worker thread; retransforming from inside this event is not safe).
    pub fn on_class_prepare(&'static self, env: &mut JNIEnv, class: jclass) {
        let table = self.table();
        let Some(name) = internal_name(&self.jvmti, class) else { return };
        if transform::never_instrumented(&name) {
            return;
        }
        let mut wanted = false;
        let mut memo = HashMap::new();
        for f in table.iter() {
            let Some(pattern) = class_pattern(f) else { continue };
            if !pattern.subtypes() {
                continue;
            }
            let known = f.subtypes.lock().unwrap_or_else(|p| p.into_inner()).contains(&name);
            if known || pattern.matches_name(&name) {
                continue; // already handled when the class file was loaded
            }
            if class_match::is_subtype(&self.jvmti, env, class, pattern, &mut memo) {
                f.subtypes.lock().unwrap_or_else(|p| p.into_inner()).insert(name.clone());
                wanted = true;
            }
        }
        if wanted && self.jvmti.is_modifiable_class(class) {
            // SAFETY: `class` is the live local reference the event handed us.
            let local = unsafe { JObject::from_raw(class) };
            if let Ok(global) = env.new_global_ref(&local) {
                self.worker.queue_prepared(self, global);
            }
        }
    }

    /// Event labels for an injection reported by the hook.
    pub fn fired(&self, serial: i32, site: i32, thread: Option<String>, delay_nanos: i64, caught: Option<String>) {
        let labels = self.labels.read().unwrap_or_else(|p| p.into_inner());
        let Some(label) = labels.get(&serial) else { return };
        let method = self.sites.lock().unwrap_or_else(|p| p.into_inner()).display(site).unwrap_or("?").to_string();
        let mut event =
            Event::new(&label.id, label.kind).with("method", method).with("thread", thread.unwrap_or_default());
        match label.kind {
            "exception" => {
                if let Some(ex) = &label.exception {
                    event = event.with("exception", ex.clone());
                }
                event = event.with("caught", caught.unwrap_or_else(|| "unknown".into()));
            }
            _ => {
                let ms = (delay_nanos as f64 / 1e6 * 1000.0).round() / 1000.0;
                event = event.with("delay_ms", ms);
            }
        }
        self.events.emit(event);
    }

    /// The JVM is exiting: say which faults never matched a method (a likely typo in the
    /// target), and get the last events into the file.
    pub fn on_vm_death(&self) {
        for f in self.table().iter() {
            let hits = f.hits.lock().unwrap_or_else(|p| p.into_inner());
            if f.spec.kind.target().is_some() && hits.methods.is_empty() {
                let target = f.spec.kind.target().map(|t| t.to_string()).unwrap_or_default();
                let why = "matched no method while this JVM ran: check the class and method names of the target";
                eprintln!("faultline: fault '{}' ({target}) {why}", f.spec.id);
                self.events.emit(Event::new(&f.spec.id, "warning").with("message", why));
            }
        }
        self.events.flush(Duration::from_secs(2));
    }

    /// An event reported by Java code of a fault kind with its own fields (pools, and the
    /// kinds to come): `fields` is a JSON object merged after `time`, `fault` and `kind`.
    pub fn java_event(&self, serial: i32, kind: &str, fields: &str) {
        let labels = self.labels.read().unwrap_or_else(|p| p.into_inner());
        let Some(label) = labels.get(&serial) else { return };
        let mut event = Event::new(&label.id, kind);
        if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(fields) {
            for (k, v) in map {
                event = event.with(&k, v);
            }
        }
        self.events.emit(event);
    }

    pub fn counters(&self, env: &mut JNIEnv, id: &str) -> Result<(i64, i64), String> {
        let java = self.java()?;
        let table = self.table();
        match table.iter().find(|f| f.spec.id == id) {
            Some(f) => Ok(java.counters(env, &f.java)),
            None => self.final_counters(id),
        }
    }

    /// Counters of a removed fault, from its removal event.
    fn final_counters(&self, id: &str) -> Result<(i64, i64), String> {
        for line in self.events.recent(Some(id)).iter().rev() {
            if let Ok(v) = serde_json::from_str::<Value>(line) {
                if matches!(v["kind"].as_str(), Some("removed" | "expired")) {
                    return Ok((v["calls"].as_i64().unwrap_or(0), v["injected"].as_i64().unwrap_or(0)));
                }
            }
        }
        Err(format!("no fault with id '{id}' is or was armed in this JVM"))
    }

    /// What the pool faults of `scenario` would act on if armed now, without arming them:
    /// `[{"id", "pools": [...]}]` (see `Pools.preview`); other kinds are left out. An error
    /// is what arming would say.
    pub fn preview_pools(&self, env: &mut JNIEnv, scenario: &Scenario) -> Result<Vec<Value>, String> {
        let mut out = Vec::new();
        for spec in &scenario.faults {
            if let FaultKind::Pool { pool, executor, mode } = &spec.kind {
                modules::open_packages_for_pools(self, env);
                let pools = crate::pools::preview(env, &spec.id, pool.as_deref(), executor.as_ref(), mode.as_str())?;
                out.push(json!({"id": spec.id, "pools": pools}));
            }
        }
        Ok(out)
    }

    pub fn status(&self, env: &mut JNIEnv) -> Result<Value, String> {
        let java = self.java()?;
        let now = Instant::now();
        let mut faults = Vec::new();
        for f in self.table().iter() {
            let (calls, injected) = java.counters(env, &f.java);
            let hits = f.hits.lock().unwrap_or_else(|p| p.into_inner());
            let skipped: Vec<Value> = hits.skipped.iter().map(|(m, why)| json!({"method": m, "reason": why})).collect();
            faults.push(json!({
                "id": f.spec.id,
                "kind": f.spec.kind.name(),
                "target": f.spec.kind.target().map(|t| t.to_string()),
                "armed_at": humantime::format_rfc3339_micros(f.armed_wall).to_string(),
                "method_count": hits.methods.len(),
                "methods": hits.methods.iter().collect::<Vec<_>>(),
                "skipped": skipped,
                "calls": calls,
                "injected": injected,
                "time_left_ms": f.deadline.map(|d| d.saturating_duration_since(now).as_millis() as u64),
            }));
            if let FaultKind::Pool { pool, executor, mode } = &f.spec.kind {
                if let Some(last) = faults.last_mut() {
                    last["pool"] = json!(pool);
                    last["executor"] = json!(executor.as_ref().map(|e| e.text()));
                    last["mode"] = json!(mode.as_str());
                    last["pools"] = crate::pools::describe(env, &f.java);
                }
            }
        }
        Ok(json!({ "faults": faults, "events_dropped": self.events.dropped() }))
    }
}
