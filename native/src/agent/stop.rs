//! Removing faults: unbind them from their sites and give every class they touched its
//! original bytecode back.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use jni::JNIEnv;

use super::arm::LATE_ARRIVAL_PASSES;
use super::{Agent, Removal};
use crate::boot::HookClasses;
use crate::events::Event;
use crate::ffi::jni::in_local_frame;
use crate::instrument::armed::ArmedFault;
use crate::instrument::class_hook;
use crate::instrument::loaded;
use crate::sync::Locked;

impl Agent {
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
        let hooks = self.hooks()?;
        let _control = self.control.locked();
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
            hooks.remove_fault(env, &f.java);
        }
        self.unbind(env, hooks, &removed_serials, &kept);

        let mut touched: BTreeSet<String> = BTreeSet::new();
        for f in &removed {
            touched.extend(f.hits.locked().classes.iter().cloned());
        }
        let classes = in_local_frame(env, 64, |env| loaded::loaded_named(&self.jvmti, env, &touched));
        self.retransform(env, &classes);
        // A class that was loading during the removal may have been rewritten for a removed
        // fault (the hook's snapshot of faults predates it) after the list above was made.
        for _ in 0..LATE_ARRIVAL_PASSES {
            let mut late: BTreeSet<String> = BTreeSet::new();
            for f in &removed {
                let hits = f.hits.locked();
                late.extend(hits.classes.iter().filter(|c| !touched.contains(*c)).cloned());
            }
            if late.is_empty() {
                break;
            }
            touched.extend(late.iter().cloned());
            let classes = in_local_frame(env, 64, |env| loaded::loaded_named(&self.jvmti, env, &late));
            self.retransform(env, &classes);
        }
        self.update_event_modes();

        let kind = match why {
            Removal::Stopped => "removed",
            Removal::Expired => "expired",
        };
        let mut out = Vec::new();
        for f in &removed {
            let (calls, injected) = hooks.counters(env, &f.java);
            self.events.emit(Event::new(&f.spec.id, kind).with("calls", calls).with("injected", injected));
            out.push(f.spec.id.clone());
        }
        self.retire_labels(removed.iter().map(|f| f.serial));
        Ok(out)
    }

    /// Drops removed faults from every site; sites left with no fault are cleared.
    fn unbind(&self, env: &mut JNIEnv, hooks: &HookClasses, removed: &HashSet<i32>, kept: &[Arc<ArmedFault>]) {
        let mut sites = self.sites.locked();
        let affected = sites.bindings_without(removed);
        for (site, serials) in affected {
            let faults: Vec<&Arc<ArmedFault>> = kept.iter().filter(|f| serials.contains(&f.serial)).collect();
            if let Err(e) = class_hook::bind(hooks, env, site, &faults, None) {
                tracing::warn!("unbinding site {site}: {e}");
            }
            if serials.is_empty() {
                sites.instrumented.remove(&site);
            }
            sites.set_bound(site, serials);
        }
    }
}
