//! Finding loaded classes: those a fault's class pattern matches (by name, or by supertype
//! for `Class+`), those with given names, a class by binary name, and targets that name a
//! loaded class without a matching method (typos).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use faultline_model::spelling::edit_distance;
use faultline_model::target::{method_display, ClassPattern, TargetPattern};
use jni::objects::{GlobalRef, JClass, JValue};
use jni::JNIEnv;

use super::armed::ArmedFault;
use super::never::never_instrumented;
use crate::ffi::jvmti::Jvmti;
use crate::guard;
use crate::sync::Locked;

/// `com/acme/Repo` from a class reference; None for arrays and primitives.
pub fn internal_name(jvmti: &Jvmti, class: &JClass) -> Option<String> {
    let sig = jvmti.class_signature(class).ok()?;
    sig.strip_prefix('L').and_then(|s| s.strip_suffix(';')).map(str::to_string)
}

/// Answers of [`is_subtype`] already known, by pattern and class: one walk over the loaded
/// classes asks for several patterns.
pub type SubtypeMemo = HashMap<(String, String), bool>;

/// Whether `class` or any of its supertypes matches the glob of a `Class+` pattern.
pub fn is_subtype(
    jvmti: &Jvmti,
    env: &mut JNIEnv,
    class: &JClass,
    pattern: &ClassPattern,
    memo: &mut SubtypeMemo,
) -> bool {
    let Some(name) = internal_name(jvmti, class) else { return false };
    let key = (pattern.text().to_string(), name);
    if let Some(known) = memo.get(&key) {
        return *known;
    }
    let name = key.1.clone();
    memo.insert(key.clone(), false); // cycles cannot happen, but be safe
    let mut result = pattern.matches_name(&name);
    if !result {
        if let Ok(Some(sup)) = env.get_superclass(class) {
            let sup = env.auto_local(sup);
            result = is_subtype(jvmti, env, &sup, pattern, memo);
        }
        if !result {
            for iface in jvmti.implemented_interfaces(env, class).unwrap_or_default() {
                if !result {
                    result = is_subtype(jvmti, env, &iface, pattern, memo);
                }
            }
        }
    }
    memo.insert(key, result);
    result
}

/// Loaded classes that `faults` may instrument (by name, or by supertype for `Class+`).
pub fn loaded_matches(jvmti: &Jvmti, env: &mut JNIEnv, faults: &[Arc<ArmedFault>]) -> Vec<GlobalRef> {
    let Ok(classes) = jvmti.loaded_classes(env) else {
        return Vec::new();
    };
    let mut memo = SubtypeMemo::new();
    let mut out = Vec::new();
    for class in classes {
        let Some(name) = internal_name(jvmti, &class) else { continue };
        let mut wanted = false;
        if !never_instrumented(&name) {
            for point in faults.iter().flat_map(|f| f.points.iter()) {
                let pattern = &point.target.class;
                if pattern.matches_name(&name) {
                    wanted = true;
                } else if pattern.subtypes() && is_subtype(jvmti, env, &class, pattern, &mut memo) {
                    point.classes.known.locked().insert(name.clone());
                    wanted = true;
                }
            }
        }
        if wanted && jvmti.is_modifiable_class(&class) {
            if let Ok(global) = env.new_global_ref(&*class) {
                out.push(global);
            }
        }
    }
    out
}

/// Loaded classes with the given internal names.
pub fn loaded_named(jvmti: &Jvmti, env: &mut JNIEnv, names: &BTreeSet<String>) -> Vec<GlobalRef> {
    if names.is_empty() {
        return Vec::new();
    }
    let Ok(classes) = jvmti.loaded_classes(env) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for class in classes {
        if internal_name(jvmti, &class).is_some_and(|n| names.contains(&n)) {
            if let Ok(g) = env.new_global_ref(&*class) {
                out.push(g);
            }
        }
    }
    out
}

/// One method of a loaded class that a target matches, as the checks before arming see it.
pub struct LoadedMethod {
    pub class: String,
    pub name: String,
    pub descriptor: String,
    pub is_static: bool,
}

/// For each target, the methods of loaded classes it matches (by name, or by supertype for
/// `Class+`), in one walk over the loaded classes. A class not prepared yet cannot list its
/// methods: the class file hook checks those as they are rewritten.
pub fn loaded_methods(jvmti: &Jvmti, env: &mut JNIEnv, targets: &[&TargetPattern]) -> Vec<Vec<LoadedMethod>> {
    let mut out: Vec<Vec<LoadedMethod>> = targets.iter().map(|_| Vec::new()).collect();
    let Ok(classes) = jvmti.loaded_classes(env) else {
        return out;
    };
    let mut memo = SubtypeMemo::new();
    for class in classes {
        let Some(name) = internal_name(jvmti, &class) else { continue };
        if never_instrumented(&name) {
            continue;
        }
        let wanted: Vec<usize> = (0..targets.len())
            .filter(|&i| {
                let pattern = &targets[i].class;
                pattern.matches_name(&name)
                    || (pattern.subtypes() && is_subtype(jvmti, env, &class, pattern, &mut memo))
            })
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let Ok(methods) = jvmti.class_methods_with_modifiers(&class) else { continue };
        for i in wanted {
            for (method, descriptor, modifiers) in &methods {
                if method != "<clinit>" && modifiers & 0x0500 == 0 && targets[i].matches_method(method, descriptor) {
                    out[i].push(LoadedMethod {
                        class: name.clone(),
                        name: method.clone(),
                        descriptor: descriptor.clone(),
                        is_static: modifiers & 0x0008 != 0,
                    });
                }
            }
        }
    }
    out
}

/// Finds a class by binary name: through the system class loader first (which loads it if
/// needed), else among the classes already loaded by any loader (so application exception
/// classes behind custom loaders work).
pub fn resolve_class(jvmti: &Jvmti, env: &mut JNIEnv, name: &str) -> Result<GlobalRef, String> {
    let from_system = guard::with(|| -> Option<GlobalRef> {
        let jname = env.new_string(name).ok()?;
        let loader = env
            .call_static_method("java/lang/ClassLoader", "getSystemClassLoader", "()Ljava/lang/ClassLoader;", &[])
            .and_then(|v| v.l())
            .ok()?;
        let class = env
            .call_static_method(
                "java/lang/Class",
                "forName",
                "(Ljava/lang/String;ZLjava/lang/ClassLoader;)Ljava/lang/Class;",
                &[JValue::Object(&jname), JValue::Bool(0), JValue::Object(&loader)],
            )
            .and_then(|v| v.l());
        match class {
            Ok(c) if !c.is_null() => env.new_global_ref(c).ok(),
            _ => {
                let _ = env.exception_clear();
                None
            }
        }
    });
    if let Some(c) = from_system {
        return Ok(c);
    }
    let wanted = format!("L{};", name.replace('.', "/"));
    let classes = jvmti.loaded_classes(env).map_err(|e| e.to_string())?;
    let mut found = None;
    for class in classes {
        if found.is_none() && jvmti.class_signature(&class).is_ok_and(|s| s == wanted) {
            found = env.new_global_ref(&*class).ok();
        }
    }
    found.ok_or_else(|| {
        format!(
            "exception class {name} not found: it is not loaded and the system class loader cannot load it \
             (check the name, e.g. java.net.SocketTimeoutException, and that the class is on the classpath)"
        )
    })
}

/// For each target naming one class (no wildcard, no `+`) that is loaded and has no method
/// matching the target's method and parameters: the target's index, and what is wrong with
/// the closest methods the class has. A class that is loaded already never loads again with
/// other methods (in this loader), so such a fault could never fire: a typo. Targets whose
/// class is not loaded (it may load later) pass. One walk over the loaded classes for all.
pub fn method_typos(jvmti: &Jvmti, env: &mut JNIEnv, targets: &[&TargetPattern]) -> Vec<(usize, String)> {
    let literal = |t: &TargetPattern| t.class.literal().filter(|_| !t.class.subtypes()).map(str::to_string);
    let names: BTreeSet<String> = targets.iter().filter_map(|t| literal(t)).collect();
    if names.is_empty() {
        return Vec::new();
    }
    // Methods of every loaded class of those names; None when one cannot list them yet.
    let mut methods: HashMap<String, Option<Vec<(String, String)>>> = HashMap::new();
    for class in loaded_named(jvmti, env, &names) {
        let class: &JClass = class.as_obj().into();
        let Some(name) = internal_name(jvmti, class) else { continue };
        let listed = jvmti.class_methods(class).ok();
        let entry = methods.entry(name).or_insert_with(|| Some(Vec::new()));
        match (entry.as_mut(), listed) {
            (Some(all), Some(more)) => all.extend(more),
            _ => *entry = None,
        }
    }
    let mut out = Vec::new();
    for (index, target) in targets.iter().enumerate() {
        let Some(literal) = literal(target) else { continue };
        // Not loaded, or a class not prepared yet (it cannot list its methods): no verdict.
        let Some(Some(methods)) = methods.get(&literal) else { continue };
        if let Some(problem) = method_typo(target, &literal, methods) {
            out.push((index, problem));
        }
    }
    out
}

fn method_typo(target: &TargetPattern, literal: &str, methods: &[(String, String)]) -> Option<String> {
    if methods.iter().any(|(name, desc)| target.matches_method(name, desc)) {
        return None;
    }
    let class = literal.replace('/', ".");
    let wanted = target.text().rsplit_once('#').map_or("", |(_, m)| m);
    let wanted_name = wanted.split('(').next().unwrap_or(wanted);
    let same_name: Vec<String> = methods
        .iter()
        .filter(|(name, _)| name == wanted_name)
        .map(|(name, desc)| method_display(literal, name, desc))
        .collect();
    if !same_name.is_empty() {
        return Some(format!(
            "{class} is loaded and has no method matching {wanted:?}: its {wanted_name} methods are {}",
            same_name.join(", ")
        ));
    }
    let mut names: Vec<&str> = methods.iter().map(|(n, _)| n.as_str()).filter(|n| *n != "<clinit>").collect();
    names.sort_unstable();
    names.dedup();
    let close: Vec<&str> = names.iter().copied().filter(|n| close_to(n, wanted_name)).collect();
    let hint = if close.is_empty() {
        format!("its methods are {}", names.iter().take(20).copied().collect::<Vec<_>>().join(", "))
    } else {
        format!("did you mean {}?", close.join(" or "))
    };
    Some(format!("{class} is loaded and has no method matching {wanted:?}: {hint}"))
}

/// Whether two method names are a likely typo of each other (at most two edits, or one
/// contains the other), compared without case.
fn close_to(a: &str, b: &str) -> bool {
    let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
    a.contains(&b) || b.contains(&a) || edit_distance(&a, &b) <= 2
}
