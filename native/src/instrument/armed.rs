//! An armed fault as the matcher and the rewriter see it: its spec, its Java object, its
//! lease, and what its target has matched so far.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Mutex;
use std::time::{Instant, SystemTime};

use faultline_model::scenario::FaultSpec;
use faultline_model::target::ClassPattern;
use jni::objects::GlobalRef;

/// One armed fault, as the agent tracks it.
pub struct ArmedFault {
    pub serial: i32,
    pub spec: FaultSpec,
    /// The `io.faultline.boot.Fault` (or pool fault) object the hook calls.
    pub java: GlobalRef,
    pub armed_wall: SystemTime,
    pub deadline: Option<Instant>,
    /// For `Class+` targets: internal names of loaded classes known to be subtypes.
    pub subtypes: Mutex<HashSet<String>>,
    pub hits: Mutex<Hits>,
}

impl ArmedFault {
    /// The class part of the fault's target; None for faults without a method target (pools).
    pub fn class_pattern(&self) -> Option<&ClassPattern> {
        self.spec.kind.target().map(|t| &t.class)
    }
}

/// What a fault's target matched, filled in by the class file hook.
#[derive(Default)]
pub struct Hits {
    pub methods: BTreeSet<String>,
    pub classes: BTreeSet<String>,
    /// Methods the pattern matched that cannot be instrumented, with the reason.
    pub skipped: BTreeMap<String, String>,
}
