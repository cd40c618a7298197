//! An armed fault as the matcher and the rewriter see it: its spec, its Java object, its
//! lease, the method patterns it hooks and what they have matched so far.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use faultline_model::scenario::{Aim, FaultSpec, Point};

use crate::events::{Event, EventLog};
use crate::sync::Locked;
use faultline_model::target::TargetPattern;
use jni::objects::GlobalRef;

/// One armed fault, as the agent tracks it.
pub struct ArmedFault {
    pub serial: i32,
    pub spec: FaultSpec,
    /// The `io.faultline.boot.Fault` (or pool fault) object the hook calls.
    pub java: GlobalRef,
    pub armed_wall: SystemTime,
    pub deadline: Option<Instant>,
    /// The method patterns it hooks: its target, or its preset's hooks; none for pools.
    pub points: Vec<HookPoint>,
    pub hits: Mutex<Hits>,
}

/// Where in a call the hook is called for a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reach {
    pub entry: bool,
    pub exit: bool,
    /// Also when the call ends by an exception.
    pub thrown: bool,
}

/// One method pattern of a fault, with what is known of the classes its `Class+` covers.
pub struct HookPoint {
    pub target: TargetPattern,
    pub reach: Reach,
    /// Preset hooks take the receiver and every argument, and may end the call.
    pub preset: bool,
    /// Shared by the fault's points with the same class pattern (a preset hooks several
    /// methods of one interface).
    pub classes: Arc<Subtypes>,
}

/// For a `Class+` pattern: the classes known to be subtypes, known not to be, and held on
/// trust (instrumented while loading, before their supertypes were loaded, until the JVM
/// prepares them and their place is settled).
#[derive(Default)]
pub struct Subtypes {
    pub known: Mutex<HashSet<String>>,
    pub not: Mutex<HashSet<String>>,
    pub on_trust: Mutex<HashSet<String>>,
}

/// The hook points of a fault: its target at entry or at exit; every hook of its preset
/// around the call (entry, exit and exit by exception: a preset counts the calls a library
/// makes inside another as one); none for pool faults.
pub fn hook_points(spec: &FaultSpec) -> Vec<HookPoint> {
    match spec.kind.aim() {
        Some(Aim::Target(target)) => {
            let at_exit = spec.at == Point::Exit;
            vec![HookPoint {
                target: target.clone(),
                reach: Reach { entry: !at_exit, exit: at_exit, thrown: false },
                preset: false,
                classes: Arc::default(),
            }]
        }
        Some(Aim::Preset(used)) => {
            let mut shared: HashMap<String, Arc<Subtypes>> = HashMap::new();
            used.preset
                .hook_targets()
                .into_iter()
                .map(|target| {
                    let classes = shared.entry(target.class.text().to_string()).or_default().clone();
                    HookPoint { target, reach: Reach { entry: true, exit: true, thrown: true }, preset: true, classes }
                })
                .collect()
        }
        None => Vec::new(),
    }
}

impl ArmedFault {
    /// Whether the fault hooks methods (every kind but pools).
    pub fn hooks_methods(&self) -> bool {
        !self.points.is_empty()
    }

    /// The methods and classes it has reached, as reports show them: without the classes it
    /// holds on trust (loaded, not yet prepared, maybe never: a class loaded only for another
    /// one's verification), which are not known to be subtypes yet.
    pub fn reached(&self) -> (Vec<String>, Vec<String>) {
        let on_trust: HashSet<String> = self.points.iter().flat_map(|p| p.classes.on_trust.locked().clone()).collect();
        let hits = self.hits.locked();
        let trusted = |class: &str| on_trust.contains(class);
        let methods = hits
            .methods
            .iter()
            .filter(|m| !trusted(&m.split('#').next().unwrap_or("").replace('.', "/")))
            .cloned()
            .collect();
        let classes = hits.classes.iter().filter(|c| !trusted(c)).cloned().collect();
        (methods, classes)
    }

    /// Where its hook is called (the same for each of its points); None for pools.
    pub fn reach(&self) -> Option<Reach> {
        self.points.first().map(|p| p.reach)
    }

    /// Records that `method` matched but cannot be instrumented. The first time for this
    /// fault and method, one `skipped` event, whichever way the fault was armed (startup
    /// flags and the Java API have no `status` to read); for the first such method the fault
    /// `announces`, one line on stderr, since a fault armed at startup has no other place to
    /// say it (the events and `status` list the rest). An abstract method under a `Class+`
    /// pattern is not announced: its implementations are the point of such a pattern.
    pub fn skip(&self, events: &EventLog, method: &str, reason: &str, announce: bool) {
        let mut hits = self.hits.locked();
        if hits.skipped.insert(method.to_string(), reason.to_string()).is_some() {
            return;
        }
        let announce_now = announce && !hits.announced_skip;
        hits.announced_skip |= announce_now;
        drop(hits);
        events.emit(Event::new(&self.spec.id, "skipped").with("method", method).with("reason", reason));
        if announce_now {
            let aim = self.spec.kind.aim().map(|a| format!(" ({a})")).unwrap_or_default();
            eprintln!(
                "faultline: fault '{}'{aim} cannot instrument {method}: {reason} (every method it skips is a \"skipped\" \
                 event, and `faultline status` lists them)",
                self.spec.id
            );
        }
    }
}

/// What a fault's patterns matched, filled in by the class file hook.
#[derive(Default)]
pub struct Hits {
    pub methods: BTreeSet<String>,
    pub classes: BTreeSet<String>,
    /// Methods the pattern matched that cannot be instrumented, with the reason.
    pub skipped: BTreeMap<String, String>,
    /// Whether a skipped method of this fault was announced on stderr (once per fault).
    pub announced_skip: bool,
}
