//! The Java half of the agent, as the agent sees it: the hook classes embedded in this
//! library (`io.faultline.boot.*`), defined in the bootstrap class loader so every class can
//! call them, and the calls the agent makes on them: define a fault, bind faults to sites,
//! read counters, remove a fault (`HookClasses`); pool faults (`pools`); module access for
//! the hook (`module_access`).
//!
//! Binding writes the `Hook.sites` array through JNI array functions only, so it runs no
//! Java code: it is safe inside the ClassFileLoadHook, on any class-loading thread.

pub mod conditions;
pub mod module_access;
pub mod pools;
pub mod presets;
pub mod resources;

use jni::objects::{GlobalRef, JClass, JObject, JObjectArray, JStaticFieldID, JString, JValue};
use jni::sys::jsize;
use jni::JNIEnv;

use crate::ffi::jni::{in_local_frame, java_string, optional_string};
use crate::guard;
use crate::sync::Locked;

include!(concat!(env!("OUT_DIR"), "/boot_classes.rs"));

pub const HOOK_CLASS: &str = "io/faultline/boot/Hook";
const FAULT_CLASS: &str = "io/faultline/boot/Fault";
const SITES_SIG: &str = "[[Lio/faultline/boot/Fault;";
const DESCRIPTORS_SIG: &str = "[Ljava/lang/String;";
const DEFINE_SIG: &str = "(ILjava/lang/String;IDJJLjava/lang/String;Ljava/lang/String;JJLjava/lang/Class;\
                          Ljava/lang/String;ZLio/faultline/boot/Condition;ILjava/lang/Object;\
                          Lio/faultline/boot/Preset;)Lio/faultline/boot/Fault;";

/// Fault kinds as `Fault.java` numbers them.
pub const KIND_LATENCY: i32 = 0;
pub const KIND_EXCEPTION: i32 = 1;
pub const KIND_HANG: i32 = 2;
pub const KIND_RETURN: i32 = 3;
pub const KIND_RESPOND: i32 = 4;

/// The hook classes once defined in this JVM, and the site arrays the inserted code reads.
pub struct HookClasses {
    hook: GlobalRef,
    fault: GlobalRef,
    /// `Hook.sites` (faults at entry), `Hook.exits` (faults at exit), `Hook.descriptors`,
    /// `Hook.names`.
    fields: [JStaticFieldID; 4],
    sites: std::sync::Mutex<SiteArrays>,
}

/// The four per-site arrays, grown together.
struct SiteArrays {
    arrays: [Option<GlobalRef>; 4],
    capacity: jsize,
}

const ENTRY: usize = 0;
const EXIT: usize = 1;
const DESCRIPTORS: usize = 2;
const NAMES: usize = 3;

/// The faults of one site, as the hook reads them.
pub struct SiteBinding<'a> {
    pub entry: &'a [GlobalRef],
    pub exit: &'a [GlobalRef],
    /// The method's name and descriptor, for sites whose calls capture operands or return
    /// values (presets tell their hooks apart by them).
    pub method: Option<(&'a str, &'a str)>,
}

/// What `Fault.define` needs besides the scenario spec.
pub struct FaultDefinition<'a> {
    pub serial: i32,
    pub id: &'a str,
    pub kind: i32,
    pub probability: f64,
    pub after: i64,
    pub limit: i64,
    pub threads: Option<&'a str>,
    pub scope: Option<&'a str>,
    pub delay_nanos: i64,
    pub jitter_nanos: i64,
    pub message: Option<&'a str>,
    pub at_exit: bool,
    /// The condition object (see `conditions::build`), or null.
    pub condition: Option<&'a GlobalRef>,
    /// Return faults: the value's kind and the value (see `Values.java`).
    pub value_kind: i32,
    pub value: Option<&'a GlobalRef>,
    /// The preset object (see `presets::define`), or null.
    pub preset: Option<&'a GlobalRef>,
}

impl HookClasses {
    /// Defines the hook classes in the bootstrap loader and binds their native methods.
    pub fn install(env: &mut JNIEnv, natives: &[jni::NativeMethod]) -> Result<HookClasses, String> {
        // Another copy of the agent library (another path) already owns the hook classes:
        // two agents would fight over them, so this one stays out.
        if env.find_class(HOOK_CLASS).is_ok() {
            let active = system_property(env, AGENT_PATH_PROPERTY).unwrap_or_else(|| "another path".into());
            return Err(format!(
                "another copy of the faultline agent, loaded from {active}, is already active in this JVM; \
                 use that file (this one is {})",
                crate::ffi::loaded_from().unwrap_or_else(|| "unknown".into())
            ));
        }
        let _ = env.exception_clear();
        // A class can only be defined once its superclass and interfaces are (the bootstrap
        // loader cannot find ours by itself): rounds, each defining what it can, until none
        // is left or a round makes no progress.
        let null = JObject::null();
        let mut left: Vec<&(&str, &[u8])> = BOOT_CLASSES.iter().collect();
        while !left.is_empty() {
            let mut failed = Vec::new();
            let mut last_error = String::new();
            for entry in &left {
                let (name, bytes) = **entry;
                if let Err(e) = env.define_class(name, &null, bytes) {
                    last_error = format!("{name}: {}", take_exception_message(env).unwrap_or_else(|| e.to_string()));
                    failed.push(*entry);
                }
            }
            if failed.len() == left.len() {
                return Err(format!("cannot define the hook class {last_error}"));
            }
            left = failed;
        }
        let hook_local = find_boot_class(env, HOOK_CLASS)?;
        let fault_local = find_boot_class(env, FAULT_CLASS)?;
        env.register_native_methods(&hook_local, natives)
            .map_err(|e| format!("cannot bind the hook's native methods: {e}"))?;
        let mut fields = Vec::with_capacity(4);
        for (name, sig) in
            [("sites", SITES_SIG), ("exits", SITES_SIG), ("descriptors", DESCRIPTORS_SIG), ("names", DESCRIPTORS_SIG)]
        {
            fields.push(
                env.get_static_field_id(&hook_local, name, sig)
                    .map_err(|e| format!("hook class lacks its {name} field: {e}"))?,
            );
        }
        let fields = [fields[0], fields[1], fields[2], fields[3]];
        if let Some(path) = crate::ffi::loaded_from() {
            set_system_property(env, AGENT_PATH_PROPERTY, &path);
        }
        let hook = env.new_global_ref(&hook_local).map_err(|e| e.to_string())?;
        let fault = env.new_global_ref(&fault_local).map_err(|e| e.to_string())?;
        let arrays = SiteArrays { arrays: [None, None, None, None], capacity: 0 };
        Ok(HookClasses { hook, fault, fields, sites: std::sync::Mutex::new(arrays) })
    }

    pub fn hook_class(&self) -> &GlobalRef {
        &self.hook
    }

    /// Builds the Java `Fault`; an error carries the reason for the user.
    pub fn define_fault(
        &self,
        env: &mut JNIEnv,
        def: &FaultDefinition,
        throw_class: Option<&JClass>,
    ) -> Result<GlobalRef, String> {
        guard::with(|| {
            let id = env.new_string(def.id).map_err(|e| e.to_string())?;
            let threads = optional_string(env, def.threads)?;
            let message = optional_string(env, def.message)?;
            let scope = optional_string(env, def.scope)?;
            let null = JObject::null();
            let throw_obj: &JObject = match throw_class {
                Some(c) => c,
                None => &null,
            };
            let condition: &JObject = def.condition.map_or(&null, |c| c.as_obj());
            let value: &JObject = def.value.map_or(&null, |v| v.as_obj());
            let preset: &JObject = def.preset.map_or(&null, |v| v.as_obj());
            let fault_class: &JClass = self.fault.as_obj().into();
            let result = env.call_static_method(
                fault_class,
                "define",
                DEFINE_SIG,
                &[
                    JValue::Int(def.serial),
                    JValue::Object(&id),
                    JValue::Int(def.kind),
                    JValue::Double(def.probability),
                    JValue::Long(def.after),
                    JValue::Long(def.limit),
                    JValue::Object(&threads),
                    JValue::Object(&scope),
                    JValue::Long(def.delay_nanos),
                    JValue::Long(def.jitter_nanos),
                    JValue::Object(throw_obj),
                    JValue::Object(&message),
                    JValue::Bool(u8::from(def.at_exit)),
                    JValue::Object(condition),
                    JValue::Int(def.value_kind),
                    JValue::Object(value),
                    JValue::Object(preset),
                ],
            );
            match result.and_then(|v| v.l()) {
                Ok(obj) => env.new_global_ref(obj).map_err(|e| e.to_string()),
                Err(_) => Err(take_exception_message(env).unwrap_or_else(|| "the fault could not be defined".into())),
            }
        })
    }

    /// Warms up the hook's first-use costs (see `Fault.warmUp`) on a short-lived thread.
    pub fn warm_up(&self, vm: &jni::JavaVM) {
        let fault = self.fault.clone();
        // SAFETY: the JavaVM pointer stays valid for the life of the process.
        let Ok(vm) = (unsafe { jni::JavaVM::from_raw(vm.get_java_vm_pointer()) }) else { return };
        let _ = std::thread::Builder::new().name("faultline-warmup".into()).spawn(move || {
            let Ok(mut env) = vm.attach_current_thread() else { return };
            guard::with(|| {
                let class: &JClass = fault.as_obj().into();
                if env.call_static_method(class, "warmUp", "()V", &[]).is_err() {
                    let _ = env.exception_clear();
                }
            });
        });
    }

    /// `(calls, injected)` of a fault.
    pub fn counters(&self, env: &mut JNIEnv, fault: &GlobalRef) -> (i64, i64) {
        guard::with(|| {
            let calls = env.call_method(fault, "calls", "()J", &[]).and_then(|v| v.j()).unwrap_or(-1);
            let injected = env.call_method(fault, "injected", "()J", &[]).and_then(|v| v.j()).unwrap_or(-1);
            let _ = env.exception_clear();
            (calls, injected)
        })
    }

    /// Marks a fault removed and wakes every thread it holds.
    pub fn remove_fault(&self, env: &mut JNIEnv, fault: &GlobalRef) {
        guard::with(|| {
            if env.call_method(fault, "remove", "()V", &[]).is_err() {
                let _ = env.exception_clear();
            }
        })
    }

    /// Makes the site arrays hold exactly `binding` for `site` (no fault: null, so the
    /// inserted code returns at once). JNI array functions only: no Java code runs.
    pub fn bind_site(&self, env: &mut JNIEnv, site: i32, binding: &SiteBinding) -> Result<(), String> {
        let mut sites = self.sites.locked();
        in_local_frame(env, 16, |env| -> Result<(), String> {
            if site >= sites.capacity || sites.arrays.iter().any(Option::is_none) {
                self.grow(env, &mut sites, site)?;
            }
            for (which, faults) in [(ENTRY, binding.entry), (EXIT, binding.exit)] {
                let value = self.fault_list(env, faults)?;
                let Some(array) = sites.arrays[which].as_ref() else {
                    return Err("a site array is missing".into());
                };
                let array: &JObjectArray = array.as_obj().into();
                env.set_object_array_element(array, site, &value).map_err(|e| failure(env, "bind a site", e))?;
            }
            if let Some((name, descriptor)) = binding.method {
                for (which, value) in [(DESCRIPTORS, descriptor), (NAMES, name)] {
                    let text = env.new_string(value).map_err(|e| failure(env, "describe a site", e))?;
                    let Some(array) = sites.arrays[which].as_ref() else {
                        return Err("a site description array is missing".into());
                    };
                    let array: &JObjectArray = array.as_obj().into();
                    env.set_object_array_element(array, site, &text).map_err(|e| failure(env, "describe a site", e))?;
                    env.delete_local_ref(text).map_err(|e| e.to_string())?;
                }
            }
            Ok(())
        })
    }

    /// A `Fault[]` of `faults`, or null for none.
    fn fault_list<'a>(&self, env: &mut JNIEnv<'a>, faults: &[GlobalRef]) -> Result<JObject<'a>, String> {
        if faults.is_empty() {
            return Ok(JObject::null());
        }
        let fault_class: &JClass = self.fault.as_obj().into();
        let list = env
            .new_object_array(faults.len() as jsize, fault_class, JObject::null())
            .map_err(|e| failure(env, "allocate a site's fault list", e))?;
        for (i, f) in faults.iter().enumerate() {
            env.set_object_array_element(&list, i as jsize, f)
                .map_err(|e| failure(env, "fill a site's fault list", e))?;
        }
        Ok(list.into())
    }

    /// Replaces the site arrays by larger copies; called with the site lock held.
    fn grow(&self, env: &mut JNIEnv, sites: &mut SiteArrays, site: i32) -> Result<(), String> {
        let mut capacity = sites.capacity.max(256);
        while capacity <= site {
            capacity = capacity.saturating_mul(2);
        }
        let hook_class: &JClass = self.hook.as_obj().into();
        for (which, element) in [
            (ENTRY, "[Lio/faultline/boot/Fault;"),
            (EXIT, "[Lio/faultline/boot/Fault;"),
            (DESCRIPTORS, "java/lang/String"),
            (NAMES, "java/lang/String"),
        ] {
            let element_class = env.find_class(element).map_err(|e| failure(env, "find a site array's class", e))?;
            let bigger = env
                .new_object_array(capacity, &element_class, JObject::null())
                .map_err(|e| failure(env, "allocate a site array", e))?;
            if let Some(old) = sites.arrays[which].as_ref() {
                let old: &JObjectArray = old.as_obj().into();
                for i in 0..sites.capacity {
                    let item = env.get_object_array_element(old, i).map_err(|e| failure(env, "copy sites", e))?;
                    if !item.is_null() {
                        env.set_object_array_element(&bigger, i, &item).map_err(|e| failure(env, "copy sites", e))?;
                    }
                    env.delete_local_ref(item).map_err(|e| e.to_string())?;
                }
            }
            env.set_static_field(hook_class, self.fields[which], JValue::Object(&bigger))
                .map_err(|e| failure(env, "publish a site array", e))?;
            sites.arrays[which] = Some(env.new_global_ref(&bigger).map_err(|e| e.to_string())?);
            env.delete_local_ref(bigger).map_err(|e| e.to_string())?;
            env.delete_local_ref(element_class).map_err(|e| e.to_string())?;
        }
        sites.capacity = capacity;
        Ok(())
    }
}

/// Where the active agent library was loaded from, for a second copy's error message.
const AGENT_PATH_PROPERTY: &str = "faultline.agent.loaded";

fn system_property(env: &mut JNIEnv, key: &str) -> Option<String> {
    guard::with(|| {
        let key = env.new_string(key).ok()?;
        let value = env
            .call_static_method(
                "java/lang/System",
                "getProperty",
                "(Ljava/lang/String;)Ljava/lang/String;",
                &[JValue::Object(&key)],
            )
            .and_then(|v| v.l());
        match value {
            Ok(v) if !v.is_null() => java_string(env, &JString::from(v)),
            _ => {
                let _ = env.exception_clear();
                None
            }
        }
    })
}

fn set_system_property(env: &mut JNIEnv, key: &str, value: &str) {
    guard::with(|| {
        let (Ok(k), Ok(v)) = (env.new_string(key), env.new_string(value)) else { return };
        let set = env.call_static_method(
            "java/lang/System",
            "setProperty",
            "(Ljava/lang/String;Ljava/lang/String;)Ljava/lang/String;",
            &[JValue::Object(&k), JValue::Object(&v)],
        );
        if set.is_err() {
            let _ = env.exception_clear();
        }
    })
}

fn find_boot_class<'a>(env: &mut JNIEnv<'a>, name: &str) -> Result<JClass<'a>, String> {
    env.find_class(name).map_err(|e| {
        let _ = env.exception_clear();
        format!("cannot find the hook class {name} after defining it: {e}")
    })
}

/// Tells a fault that runs on its own (a pool or resource fault) that its "armed" event is
/// written, so the events it produced while being armed follow that event.
pub fn announced(env: &mut JNIEnv, fault: &GlobalRef) {
    guard::with(|| {
        if env.call_method(fault, "announced", "()V", &[]).is_err() {
            let _ = env.exception_clear();
        }
    })
}

/// What a fault that runs on its own says of itself for `status` (its `describe()`, a JSON
/// string: the pools it found, a resource fault's figures), parsed; Null when unreadable.
pub fn described(env: &mut JNIEnv, fault: &GlobalRef) -> serde_json::Value {
    guard::with(|| {
        let text = env
            .call_method(fault, "describe", "()Ljava/lang/String;", &[])
            .and_then(|v| v.l())
            .ok()
            .and_then(|o| java_string(env, &JString::from(o)));
        let _ = env.exception_clear();
        text.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or(serde_json::Value::Null)
    })
}

/// "cannot WHAT: the Java exception's message" (or the JNI error when there is none).
pub fn failure(env: &mut JNIEnv, what: &str, e: jni::errors::Error) -> String {
    let detail = take_exception_message(env).unwrap_or_else(|| e.to_string());
    format!("cannot {what}: {detail}")
}

/// Clears the pending Java exception and returns its message (or class name).
pub fn take_exception_message(env: &mut JNIEnv) -> Option<String> {
    if !env.exception_check().unwrap_or(false) {
        return None;
    }
    let throwable = env.exception_occurred().ok()?;
    let _ = env.exception_clear();
    let text = guard::with(|| {
        env.call_method(&throwable, "getMessage", "()Ljava/lang/String;", &[])
            .and_then(|v| v.l())
            .ok()
            .filter(|o| !o.is_null())
            .and_then(|o| java_string(env, &JString::from(o)))
            .or_else(|| {
                env.call_method(&throwable, "toString", "()Ljava/lang/String;", &[])
                    .and_then(|v| v.l())
                    .ok()
                    .and_then(|o| java_string(env, &JString::from(o)))
            })
    });
    let _ = env.exception_clear();
    text
}
