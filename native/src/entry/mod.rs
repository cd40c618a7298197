//! The doors into the agent: the JVM's own (`load`: `-agentpath:`, dynamic attach,
//! `System.load`; `jvmti_events`: VMInit, VMDeath, the class file hook, ClassPrepare), the
//! natives of the hook classes (`hook_natives`), the in-process Java API (`java_api`) and
//! the CLI's socket (`control`). Each catches panics: nothing unwinds into the JVM. This
//! module holds the one agent of the process.

mod control;
mod hook_natives;
mod java_api;
mod jvmti_events;
mod load;

use std::ffi::c_void;

use jni::sys::{JavaVM as RawJavaVM, JNI_OK};
use jni::{JNIEnv, JavaVM};
use once_cell::sync::OnceCell;

use crate::agent::Agent;
use crate::boot::HookClasses;
use crate::ffi::jvmti::{self, Capabilities, EventCallbacks, Jvmti};
use crate::options;

static AGENT: OnceCell<Agent> = OnceCell::new();

/// The agent of this process, once started.
fn agent() -> Option<&'static Agent> {
    AGENT.get()
}

/// Creates the agent once per process: JVMTI environment, capabilities, callbacks.
fn init(vm: *mut RawJavaVM) -> Result<&'static Agent, String> {
    AGENT.get_or_try_init(|| {
        let jvmti = jvmti_env(vm)?;
        let potential = jvmti.potential_capabilities().map_err(|e| e.to_string())?;
        if !potential.has(Capabilities::RETRANSFORM_CLASSES) {
            return Err("this JVM cannot retransform classes (JVMTI can_retransform_classes is unavailable)".into());
        }
        let mut caps = Capabilities::default().with(Capabilities::RETRANSFORM_CLASSES);
        if potential.has(Capabilities::ALL_CLASS_HOOK_EVENTS) {
            caps = caps.with(Capabilities::ALL_CLASS_HOOK_EVENTS);
        }
        jvmti.add_capabilities(&caps).map_err(|e| e.to_string())?;
        let mut callbacks = EventCallbacks::default();
        callbacks.set(jvmti::EVENT_VM_INIT, jvmti_events::vm_init as *const c_void);
        callbacks.set(jvmti::EVENT_CLASS_FILE_LOAD_HOOK, jvmti_events::class_file_load_hook as *const c_void);
        callbacks.set(jvmti::EVENT_CLASS_PREPARE, jvmti_events::class_prepare as *const c_void);
        callbacks.set(jvmti::EVENT_VM_DEATH, jvmti_events::vm_death as *const c_void);
        jvmti.set_event_callbacks(&callbacks).map_err(|e| e.to_string())?;
        jvmti.set_event_mode(true, jvmti::EVENT_VM_DEATH).map_err(|e| e.to_string())?;
        // SAFETY: `vm` is the JavaVM the JVM handed to this entry point.
        let java_vm = unsafe { JavaVM::from_raw(vm) }.map_err(|e| e.to_string())?;
        Ok(Agent::new(jvmti, java_vm))
    })
}

fn jvmti_env(vm: *mut RawJavaVM) -> Result<Jvmti, String> {
    // SAFETY: `vm` is a valid JavaVM; GetEnv is present in every JNI invocation table.
    let get_env = unsafe { (**vm).GetEnv }.ok_or("the JVM offers no GetEnv")?;
    for version in [jvmti::JVMTI_VERSION_11, jvmti::JVMTI_VERSION_1_2] {
        let mut env: *mut c_void = std::ptr::null_mut();
        // SAFETY: valid out pointer; GetEnv for a JVMTI version creates a new environment.
        if unsafe { get_env(vm, &mut env, version) } == JNI_OK && !env.is_null() {
            // SAFETY: GetEnv returned a live jvmtiEnv that lasts as long as the JVM.
            return Ok(unsafe { Jvmti::from_raw(env) });
        }
    }
    Err("the JVM offers no JVMTI environment".into())
}

/// Defines the hook classes; needs a live JVM (after VMInit, or any time in attach/JNI routes).
fn install_hooks(agent: &'static Agent, env: &mut JNIEnv) -> Result<(), String> {
    if agent.hooks.get().is_some() {
        return Ok(());
    }
    let hooks = HookClasses::install(env, &hook_natives::methods())?;
    hooks.warm_up(&agent.vm);
    let _ = agent.hooks.set(hooks);
    Ok(())
}

/// Starts the agent in a live JVM and applies `options`; `at_startup` when they come from
/// `-javaagent:` at JVM start (faults whose classes are not loaded yet are the rule then).
fn start_live(vm: *mut RawJavaVM, env: &mut JNIEnv, options: Option<&str>, at_startup: bool) -> Result<(), String> {
    let agent = init(vm)?;
    install_hooks(agent, env)?;
    if let Some(text) = options {
        let options = options::parse(text)?;
        agent.apply_options(env, &options, at_startup)?;
    }
    Ok(())
}

/// Why the `JNI_OnLoad` start failed, if it did.
static LOAD_ERROR: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);
