//! Instrumented methods ("sites"): a stable id per method, its display name, and the
//! faults bound to it.

use std::collections::{HashMap, HashSet};

use faultline_model::target::method_display;

use crate::classfile::OffsetMap;

/// Instrumented methods ("sites"); ids are stable per method for the life of the JVM, so
/// repeated arm/stop cycles do not grow anything.
#[derive(Default)]
pub struct Sites {
    ids: HashMap<(String, String, String), i32>,
    display: Vec<String>,
    /// How the code of sites that carry the hook moved (see `OffsetMap`).
    pub instrumented: HashMap<i32, OffsetMap>,
    /// Serials bound to each site.
    bound: HashMap<i32, Vec<i32>>,
}

impl Sites {
    pub fn site_for(&mut self, class: &str, name: &str, descriptor: &str) -> i32 {
        let key = (class.to_string(), name.to_string(), descriptor.to_string());
        if let Some(id) = self.ids.get(&key) {
            return *id;
        }
        let id = self.display.len() as i32;
        self.display.push(method_display(class, name, descriptor));
        self.ids.insert(key, id);
        id
    }

    pub fn site_of(&self, class: &str, name: &str, descriptor: &str) -> Option<i32> {
        self.ids.get(&(class.to_string(), name.to_string(), descriptor.to_string())).copied()
    }

    /// The sites of the methods of class `class` (internal name), with each method's name
    /// and descriptor.
    pub fn methods_of_class(&self, class: &str) -> Vec<(i32, String, String)> {
        self.ids
            .iter()
            .filter(|((c, _, _), _)| c == class)
            .map(|((_, name, descriptor), id)| (*id, name.clone(), descriptor.clone()))
            .collect()
    }

    pub fn display(&self, site: i32) -> Option<&str> {
        self.display.get(site as usize).map(String::as_str)
    }

    /// Serials bound to a site (empty when none).
    pub fn bound(&self, site: i32) -> &[i32] {
        self.bound.get(&site).map_or(&[], Vec::as_slice)
    }

    pub fn set_bound(&mut self, site: i32, serials: Vec<i32>) {
        if serials.is_empty() {
            self.bound.remove(&site);
        } else {
            self.bound.insert(site, serials);
        }
    }

    /// Sites bound to any serial in `removed`, each with the serials it keeps once those
    /// are gone (possibly none).
    pub fn bindings_without(&self, removed: &HashSet<i32>) -> Vec<(i32, Vec<i32>)> {
        self.bound
            .iter()
            .filter(|(_, serials)| serials.iter().any(|s| removed.contains(s)))
            .map(|(site, serials)| (*site, serials.iter().copied().filter(|s| !removed.contains(s)).collect()))
            .collect()
    }
}
