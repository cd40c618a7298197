//! The JVM's ways of loading the agent: `-agentpath:` (`Agent_OnLoad`), dynamic attach
//! (`Agent_OnAttach`) and `System.load` from the Java bootstrap (`JNI_OnLoad`).

use std::ffi::{c_char, c_void, CStr};

use jni::sys::{jint, JavaVM as RawJavaVM, JNI_ERR, JNI_OK};
use jni::JavaVM;

use super::{agent, control, init, start_live, LOAD_ERROR};
use crate::ffi::catching;
use crate::ffi::jvmti;
use crate::options;
use crate::sync::Locked;

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
                    if let Err(e) = faultline_model::scenario::Scenario::load(path) {
                        eprintln!("faultline: {e}\nfaultline: the JVM runs without faults");
                        return JNI_OK;
                    }
                }
                *agent.pending.locked() = Some(parsed);
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
            .and_then(control::ensure_started);
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
            *LOAD_ERROR.locked() = Some(e);
        }
        jni::sys::JNI_VERSION_1_8
    })
}
