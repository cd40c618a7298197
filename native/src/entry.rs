//! The doors into the agent: `Agent_OnLoad` (`-agentpath:`), `Agent_OnAttach` (dynamic
//! attach), `JNI_OnLoad` (`System.load` from the Java bootstrap) and the JVMTI event
//! callbacks. Each catches panics: nothing unwinds into the JVM.

use std::ffi::{c_char, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use jni::sys::{jclass, jint, jobject, JNIEnv as RawJNIEnv, JavaVM as RawJavaVM, JNI_ERR, JNI_OK};
use jni::{JNIEnv, JavaVM};
use once_cell::sync::OnceCell;

use crate::agent::Agent;
use crate::hook::JavaSide;
use crate::jvmti::{self, Capabilities, EventCallbacks, Jvmti, RawJvmtiEnv};
use crate::{hook_natives, options, transform};
use jni::sys::jobject as jthread;

static AGENT: OnceCell<Agent> = OnceCell::new();

pub fn agent() -> Option<&'static Agent> {
    AGENT.get()
}

/// The file this library was loaded from, for messages (from the dynamic linker).
pub fn loaded_from() -> Option<String> {
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: dladdr reads the address of a function of this library and fills `info`.
    let found = unsafe { libc::dladdr(agent as *const () as *const c_void, &mut info) };
    if found == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: dladdr returned a NUL-terminated path owned by the dynamic linker.
    Some(unsafe { CStr::from_ptr(info.dli_fname) }.to_string_lossy().into_owned())
}

/// Runs `f`, turning a panic into a logged error and `fallback`.
pub fn catching<T>(what: &str, fallback: T, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            eprintln!("faultline: internal error in {what}: {msg} (the JVM continues; please report this)");
            fallback
        }
    }
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
        callbacks.set(jvmti::EVENT_VM_INIT, vm_init as *const c_void);
        callbacks.set(jvmti::EVENT_CLASS_FILE_LOAD_HOOK, class_file_load_hook as *const c_void);
        callbacks.set(jvmti::EVENT_CLASS_PREPARE, class_prepare as *const c_void);
        callbacks.set(jvmti::EVENT_VM_DEATH, vm_death as *const c_void);
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
fn install_java(agent: &'static Agent, env: &mut JNIEnv) -> Result<(), String> {
    if agent.java.get().is_some() {
        return Ok(());
    }
    let java = JavaSide::install(env, &hook_natives::methods())?;
    java.warm_up(&agent.vm);
    let _ = agent.java.set(java);
    Ok(())
}

/// Starts the agent in a live JVM and applies `options`; `at_startup` when they come from
/// `-javaagent:` at JVM start (faults whose classes are not loaded yet are the rule then).
pub fn start_live(vm: *mut RawJavaVM, env: &mut JNIEnv, options: Option<&str>, at_startup: bool) -> Result<(), String> {
    let agent = init(vm)?;
    install_java(agent, env)?;
    if let Some(text) = options {
        let options = options::parse(text)?;
        agent.apply_options(env, &options, at_startup)?;
    }
    Ok(())
}

fn c_options(options: *const c_char) -> String {
    if options.is_null() {
        return String::new();
    }
    // SAFETY: the JVM passes a NUL-terminated option string.
    unsafe { CStr::from_ptr(options) }.to_string_lossy().into_owned()
}

/// `-agentpath:libfaultline_agent.so=scenario=...,events=...`
///
/// # Safety
/// Called by the JVM with a valid JavaVM and option string.
#[no_mangle]
pub unsafe extern "system" fn Agent_OnLoad(vm: *mut RawJavaVM, options: *const c_char, _reserved: *mut c_void) -> jint {
    catching("Agent_OnLoad", JNI_OK, || {
        let text = c_options(options);
        let agent = match init(vm) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("faultline: the agent cannot start: {e}; the JVM runs without faults");
                return JNI_OK;
            }
        };
        match options::parse(&text) {
            Ok(parsed) => {
                // Check the scenario now so a mistake is reported before the application starts.
                if let Some(path) = &parsed.scenario {
                    if let Err(e) = faultline::scenario::Scenario::load(path) {
                        eprintln!("faultline: {e}\nfaultline: the JVM runs without faults");
                        return JNI_OK;
                    }
                }
                *agent.pending.lock().unwrap_or_else(|p| p.into_inner()) = Some(parsed);
            }
            Err(e) => eprintln!("faultline: {e}; the JVM runs without faults"),
        }
        if let Err(e) = agent.jvmti.set_event_mode(true, jvmti::EVENT_VM_INIT) {
            eprintln!("faultline: cannot watch JVM start-up: {e}; the JVM runs without faults");
        }
        JNI_OK
    })
}

/// Dynamic attach: `load /path/libfaultline_agent.so true options`.
///
/// # Safety
/// Called by the JVM with a valid JavaVM and option string.
#[no_mangle]
pub unsafe extern "system" fn Agent_OnAttach(
    vm: *mut RawJavaVM,
    options: *const c_char,
    _reserved: *mut c_void,
) -> jint {
    catching("Agent_OnAttach", JNI_ERR, || {
        let text = c_options(options);
        // SAFETY: `vm` is valid; the attach listener thread is attached to the JVM.
        let java_vm = match unsafe { JavaVM::from_raw(vm) } {
            Ok(v) => v,
            Err(e) => {
                eprintln!("faultline: attach failed: {e}");
                return JNI_ERR;
            }
        };
        let mut env = match java_vm.get_env() {
            Ok(env) => env,
            Err(e) => {
                eprintln!("faultline: attach failed: {e}");
                return JNI_ERR;
            }
        };
        let started = start_live(vm, &mut env, Some(&text), false)
            .and_then(|()| agent().ok_or_else(|| "the agent did not start".to_string()))
            .and_then(crate::control::ensure_started);
        match started {
            Ok(()) => JNI_OK,
            Err(e) => {
                eprintln!("faultline: {e}");
                JNI_ERR
            }
        }
    })
}

/// `System.load` from `io.faultline.Faultline.install()`: the agent starts at once, idle.
///
/// # Safety
/// Called by the JVM with a valid JavaVM.
#[no_mangle]
pub unsafe extern "system" fn JNI_OnLoad(vm: *mut RawJavaVM, _reserved: *mut c_void) -> jint {
    catching("JNI_OnLoad", jni::sys::JNI_VERSION_1_8, || {
        // SAFETY: `vm` is valid; the loading thread is attached.
        let result = unsafe { JavaVM::from_raw(vm) }.map_err(|e| e.to_string()).and_then(|java_vm| {
            let mut env = java_vm.get_env().map_err(|e| e.to_string())?;
            start_live(vm, &mut env, None, false)
        });
        if let Err(e) = result {
            // Faultline.start0 reports it to the caller with the same reason.
            *LOAD_ERROR.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
        }
        jni::sys::JNI_VERSION_1_8
    })
}

/// Why the `JNI_OnLoad` start failed, if it did.
pub static LOAD_ERROR: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

unsafe extern "system" fn vm_init(_jvmti: RawJvmtiEnv, jni: *mut RawJNIEnv, _thread: jthread) {
    catching("VMInit", (), || {
        let Some(agent) = agent() else { return };
        // SAFETY: the JVM hands the callback the current thread's JNIEnv.
        let Ok(mut env) = (unsafe { JNIEnv::from_raw(jni) }) else { return };
        if let Err(e) = install_java(agent, &mut env) {
            eprintln!("faultline: the agent cannot start: {e}; the JVM runs without faults");
            return;
        }
        let pending = agent.pending.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(options) = pending {
            if let Err(e) = agent.apply_options(&mut env, &options, true) {
                eprintln!("faultline: {e}\nfaultline: the JVM runs without faults");
            }
        }
    })
}

unsafe extern "system" fn vm_death(_jvmti: RawJvmtiEnv, _jni: *mut RawJNIEnv) {
    catching("VMDeath", (), || {
        if let Some(agent) = agent() {
            agent.on_vm_death();
        }
        // The CLI's socket would outlive the JVM in /tmp (it is removed when the channel
        // closes while the JVM lives; a JVM killed outright still leaves it).
        let _ = std::fs::remove_file(crate::control::socket_path());
    })
}

#[allow(clippy::too_many_arguments)]
unsafe extern "system" fn class_file_load_hook(
    _jvmti: RawJvmtiEnv,
    jni: *mut RawJNIEnv,
    _class_being_redefined: jclass,
    loader: jobject,
    name: *const c_char,
    _protection_domain: jobject,
    class_data_len: jint,
    class_data: *const u8,
    new_class_data_len: *mut jint,
    new_class_data: *mut *mut u8,
) {
    catching("ClassFileLoadHook", (), || {
        let Some(agent) = agent() else { return };
        if agent.java.get().is_none() || name.is_null() || class_data.is_null() || class_data_len <= 0 {
            return;
        }
        // SAFETY: the JVM passes a NUL-terminated class name.
        let Ok(name) = (unsafe { CStr::from_ptr(name) }).to_str() else { return };
        // SAFETY: the JVM passes `class_data_len` readable bytes at `class_data`.
        let bytes = unsafe { std::slice::from_raw_parts(class_data, class_data_len as usize) };
        // SAFETY: the JVM hands the callback the current thread's JNIEnv.
        let Ok(mut env) = (unsafe { JNIEnv::from_raw(jni) }) else { return };
        let Some(out) = transform::transform(agent, &mut env, loader.is_null(), name, bytes) else { return };
        match agent.jvmti.allocate_copy(&out) {
            Ok(mem) => {
                // SAFETY: both out pointers are valid for the duration of the callback.
                unsafe {
                    *new_class_data_len = out.len() as jint;
                    *new_class_data = mem;
                }
            }
            Err(e) => eprintln!("faultline: class {name} left untouched: {e}"),
        }
    })
}

unsafe extern "system" fn class_prepare(_jvmti: RawJvmtiEnv, jni: *mut RawJNIEnv, _thread: jthread, klass: jclass) {
    catching("ClassPrepare", (), || {
        let Some(agent) = agent() else { return };
        // SAFETY: the JVM hands the callback the current thread's JNIEnv.
        let Ok(mut env) = (unsafe { JNIEnv::from_raw(jni) }) else { return };
        agent.on_class_prepare(&mut env, klass);
    })
}
