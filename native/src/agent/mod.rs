//! The agent's state and its operations: arm (`arm`), stop (`stop`), status and counters
//! (`status`), and the one dispatcher of protocol requests every door calls (`requests`).
//! Startup options, the Java API and the CLI's control channel all end up in these
//! functions, so there is one command model whatever the route. The lease thread (`lease`)
//! ends expired faults and rewrites late subtypes, calling back into the agent.
//!
//! Concurrency: `control` serializes arm and stop; the ClassFileLoadHook, which runs on
//! any class-loading thread and also inside our own RetransformClasses calls, only reads
//! an immutable snapshot of the armed faults (`table`), so it never waits on `control`.

mod arm;
mod lease;
mod requests;
mod status;
mod stop;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use faultline_model::scenario::Scenario;
use jni::objects::{JClass, JObject};
use jni::{JNIEnv, JavaVM};
use once_cell::sync::OnceCell;
use serde_json::Value;

use crate::boot::HookClasses;
use crate::events::{Event, EventLog};
use crate::ffi::jvmti::{self, Jvmti};
use crate::instrument::armed::ArmedFault;
use crate::instrument::class_hook::ClassHook;
use crate::instrument::loaded::{internal_name, is_subtype};
use crate::instrument::never::never_instrumented;
use crate::instrument::sites::Sites;
use crate::options::AgentOptions;
use crate::sync::{Locked, ReadWrite};
use lease::LeaseWorker;

pub use faultline_model::protocol::ArmedSummary;

/// Labels of removed faults kept for their late events.
const RETIRED_LABELS: usize = 1000;

/// Stays after a fault is removed, so late events still name it.
struct Label {
    id: String,
    kind: &'static str,
    exception: Option<String>,
    at_exit: bool,
    /// Return faults: the value returned, as events show it (None: the body is skipped).
    returned: Option<Option<String>>,
    /// The preset's name, for faults aimed by one.
    preset: Option<&'static str>,
}

/// Why faults are removed, as their last event says.
pub enum Removal {
    Stopped,
    Expired,
}

pub struct Agent {
    pub jvmti: Jvmti,
    pub vm: JavaVM,
    /// The hook classes, once defined (after VMInit, or at once in a live JVM).
    pub hooks: OnceCell<HookClasses>,
    pub events: EventLog,
    pub sites: Mutex<Sites>,
    table: RwLock<Arc<Vec<Arc<ArmedFault>>>>,
    control: Mutex<()>,
    labels: RwLock<HashMap<i32, Label>>,
    /// Serials of removed faults, oldest first: their labels are kept for late events, up to
    /// `RETIRED_LABELS`, so a JVM driven for months does not grow with every fault.
    retired: Mutex<VecDeque<i32>>,
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
            hooks: OnceCell::new(),
            events: EventLog::default(),
            sites: Mutex::new(Sites::default()),
            table: RwLock::new(Arc::new(Vec::new())),
            control: Mutex::new(()),
            labels: RwLock::new(HashMap::new()),
            retired: Mutex::new(VecDeque::new()),
            pending: Mutex::new(None),
            next_serial: AtomicI32::new(1),
            retransform_batch: arm::retransform_batch(&jvmti),
            hooks_enabled: AtomicBool::new(false),
            prepare_enabled: AtomicBool::new(false),
            worker: LeaseWorker::default(),
        }
    }

    /// The armed faults now: an immutable snapshot.
    pub fn table(&self) -> Arc<Vec<Arc<ArmedFault>>> {
        self.table.reading().clone()
    }

    fn publish(&self, faults: Vec<Arc<ArmedFault>>) {
        *self.table.writing() = Arc::new(faults);
    }

    fn hooks(&self) -> Result<&HookClasses, String> {
        self.hooks.get().ok_or_else(|| "the agent is not ready yet (the JVM is still starting)".to_string())
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

    /// The class file hook for one class being loaded or retransformed: its new bytes, or
    /// None to keep it as it is.
    pub fn rewrite_class(
        &self,
        env: &mut JNIEnv,
        loader: &JObject,
        loading: bool,
        name: &str,
        bytes: &[u8],
    ) -> Option<Vec<u8>> {
        let hooks = self.hooks.get()?;
        let faults = self.table();
        ClassHook { faults: &faults, sites: &self.sites, hooks, events: &self.events }
            .rewrite(env, loader, loading, name, bytes)
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
        let want_prepare = table.iter().any(|f| f.points.iter().any(|p| p.target.class.subtypes()));
        if self.prepare_enabled.swap(want_prepare, Ordering::SeqCst) != want_prepare {
            if let Err(e) = self.jvmti.set_event_mode(want_prepare, jvmti::EVENT_CLASS_PREPARE) {
                tracing::warn!("switching class prepare events: {e}");
            }
        }
    }

    /// A class just prepared: if it is a new subtype for a `Class+` fault, rewrite it (on the
    /// worker thread; retransforming from inside this event is not safe).
    pub fn on_class_prepare(&'static self, env: &mut JNIEnv, class: &JClass) {
        let table = self.table();
        let Some(name) = internal_name(&self.jvmti, class) else { return };
        if never_instrumented(&name) {
            return;
        }
        let mut wanted = false;
        let mut mistaken: Vec<&Arc<ArmedFault>> = Vec::new();
        let mut memo = crate::instrument::loaded::SubtypeMemo::new();
        for f in table.iter() {
            for point in f.points.iter().filter(|p| p.target.class.subtypes()) {
                let pattern = &point.target.class;
                // Instrumented on trust while loading: settled now that its supertypes are loaded.
                let tentative = point.classes.on_trust.locked().remove(&name);
                let known = point.classes.known.locked().contains(&name);
                if known || pattern.matches_name(&name) {
                    continue; // already handled when the class file was loaded
                }
                if is_subtype(&self.jvmti, env, class, pattern, &mut memo) {
                    point.classes.known.locked().insert(name.clone());
                    // Instrumented already if it was taken on trust; else rewrite it now.
                    wanted |= !tentative;
                } else {
                    point.classes.not.locked().insert(name.clone());
                    if tentative && !mistaken.iter().any(|m| Arc::ptr_eq(m, f)) {
                        mistaken.push(f);
                    }
                }
            }
        }
        if !mistaken.is_empty() && self.unbind_class(env, &name, &mistaken) {
            // None of its code has run yet: it gets its own code back where no fault is left.
            wanted = true;
        }
        if wanted && self.jvmti.is_modifiable_class(class) {
            let class: &JObject = class;
            if let Ok(global) = env.new_global_ref(class) {
                self.worker.queue_prepared(self, global);
            }
        }
    }

    /// Takes `faults` (which took class `name` on trust) off each site of the class that none
    /// of their hook points covers now that its place is settled (JNI array writes only), and
    /// those methods out of their hits. Whether any binding was taken off.
    fn unbind_class(&self, env: &mut JNIEnv, name: &str, faults: &[&Arc<ArmedFault>]) -> bool {
        let Some(hooks) = self.hooks.get() else { return false };
        let table = self.table();
        let covers = |f: &ArmedFault, method: &str, descriptor: &str| {
            f.points.iter().any(|p| {
                (p.target.class.matches_name(name) || p.classes.known.locked().contains(name))
                    && p.target.matches_method(method, descriptor)
            })
        };
        let mut sites = self.sites.locked();
        let mut changed = false;
        for (site, method, descriptor) in sites.methods_of_class(name) {
            let before = sites.bound(site).to_vec();
            let gone: Vec<i32> = faults
                .iter()
                .filter(|f| before.contains(&f.serial) && !covers(f, &method, &descriptor))
                .map(|f| f.serial)
                .collect();
            if gone.is_empty() {
                continue;
            }
            let keep: Vec<i32> = before.iter().copied().filter(|s| !gone.contains(s)).collect();
            let kept: Vec<&Arc<ArmedFault>> =
                keep.iter().filter_map(|s| table.iter().find(|f| f.serial == *s)).collect();
            if let Err(e) = crate::instrument::class_hook::bind(hooks, env, site, &kept, None) {
                tracing::warn!("unbinding {name}: {e}");
                continue;
            }
            sites.set_bound(site, keep);
            let shown = faultline_model::target::method_display(name, &method, &descriptor);
            for f in faults.iter().filter(|f| gone.contains(&f.serial)) {
                f.hits.locked().methods.remove(&shown);
            }
            changed = true;
        }
        drop(sites);
        for f in faults {
            let mut hits = f.hits.locked();
            let prefix = format!("{}#", name.replace('/', "."));
            if !hits.methods.iter().any(|m| m.starts_with(&prefix)) {
                hits.classes.remove(name);
            }
        }
        changed
    }

    /// Event labels for an injection reported by the hook.
    /// `extra` is a JSON object of fields the hook adds (a preset's matched value, the
    /// exception class a preset chose, a status), merged last.
    pub fn fired(
        &self,
        serial: i32,
        site: i32,
        thread: Option<String>,
        delay_nanos: i64,
        caught: Option<String>,
        extra: Option<String>,
    ) {
        let labels = self.labels.reading();
        let Some(label) = labels.get(&serial) else { return };
        let method = self.sites.locked().display(site).unwrap_or("?").to_string();
        let mut event = Event::new(&label.id, label.kind);
        if let Some(preset) = label.preset {
            event = event.with("preset", preset);
        }
        event = event.with("method", method).with("thread", thread.unwrap_or_default());
        if label.at_exit {
            event = event.with("at", "exit");
        }
        match label.kind {
            "exception" => {
                if let Some(ex) = &label.exception {
                    event = event.with("exception", ex.clone());
                }
                event = event.with("caught", caught.unwrap_or_else(|| "unknown".into()));
            }
            "return" => {
                event = match &label.returned {
                    Some(Some(value)) => event.with("returned", value.clone()),
                    _ => event.with("skipped", true),
                };
            }
            "respond" => {}
            _ => {
                let ms = (delay_nanos as f64 / 1e6 * 1000.0).round() / 1000.0;
                event = event.with("delay_ms", ms);
            }
        }
        if let Some(Ok(Value::Object(map))) = extra.as_deref().map(serde_json::from_str::<Value>) {
            for (k, v) in map {
                event = event.with(&k, v);
            }
        }
        self.events.emit(event);
    }

    /// An event reported by Java code of a fault kind with its own fields (pools, and the
    /// kinds to come): `fields` is a JSON object merged after `time`, `fault` and `kind`.
    pub fn java_event(&self, serial: i32, kind: &str, fields: &str) {
        let labels = self.labels.reading();
        let Some(label) = labels.get(&serial) else { return };
        let mut event = Event::new(&label.id, kind);
        if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(fields) {
            for (k, v) in map {
                event = event.with(&k, v);
            }
        }
        self.events.emit(event);
    }

    /// The JVM is exiting: say which faults never matched a method (a likely typo in the
    /// target), and get the last events into the file.
    pub fn on_vm_death(&self) {
        for f in self.table().iter() {
            let hits = f.hits.locked();
            if f.hooks_methods() && hits.methods.is_empty() && f.spec.kind.preset().is_none() {
                let target = f.spec.kind.target().map(|t| t.to_string()).unwrap_or_default();
                let why = "matched no method while this JVM ran: check the class and method names of the target";
                eprintln!("faultline: fault '{}' ({target}) {why}", f.spec.id);
                self.events.emit(Event::new(&f.spec.id, "warning").with("message", why));
            }
            drop(hits);
            if let Some(used) = f.spec.kind.preset() {
                if f.reached().1.is_empty() {
                    let why = format!(
                        "reached no class while this JVM ran: no class of {} ({}) was loaded",
                        used.preset.name, used.preset.about
                    );
                    eprintln!("faultline: fault '{}' ({used}) {why}", f.spec.id);
                    self.events.emit(Event::new(&f.spec.id, "warning").with("message", why));
                }
            }
        }
        self.events.flush(Duration::from_secs(2));
    }

    fn retire_labels(&self, serials: impl Iterator<Item = i32>) {
        let mut retired = self.retired.locked();
        retired.extend(serials);
        let mut labels = self.labels.writing();
        while retired.len() > RETIRED_LABELS {
            if let Some(old) = retired.pop_front() {
                labels.remove(&old);
            }
        }
    }
}
