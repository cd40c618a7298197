//! The JVMTI events the agent listens to: VMInit (startup options), VMDeath (last words and
//! cleanup), the class file hook (rewriting) and ClassPrepare (late subtypes).

use std::ffi::{c_char, CStr};

use jni::objects::JClass;
use jni::sys::{jclass, jint, jobject, JNIEnv as RawJNIEnv};
use jni::JNIEnv;

use super::{agent, control, install_hooks};
use crate::ffi::catching;
use crate::ffi::jvmti::{jthread, RawJvmtiEnv};
use crate::sync::Locked;

pub(super) unsafe extern "system" fn vm_init(_jvmti: RawJvmtiEnv, jni: *mut RawJNIEnv, _thread: jthread) {
    catching("VMInit", (), || {
        let Some(agent) = agent() else { return };
        // SAFETY: the JVM hands the callback the current thread's JNIEnv.
        let Ok(mut env) = (unsafe { JNIEnv::from_raw(jni) }) else { return };
        if let Err(e) = install_hooks(agent, &mut env) {
            eprintln!("faultline: the agent cannot start: {e}; the JVM runs without faults");
            return;
        }
        let pending = agent.pending.locked().take();
        if let Some(options) = pending {
            if let Err(e) = agent.apply_options(&mut env, &options, true) {
                eprintln!("faultline: {e}\nfaultline: the JVM runs without faults");
            }
        }
    })
}

pub(super) unsafe extern "system" fn vm_death(_jvmti: RawJvmtiEnv, _jni: *mut RawJNIEnv) {
    catching("VMDeath", (), || {
        if let Some(agent) = agent() {
            agent.on_vm_death();
        }
        // The CLI's socket would outlive the JVM in /tmp (it is removed when the channel
        // closes while the JVM lives; a JVM killed outright still leaves it).
        let _ = std::fs::remove_file(control::socket_path());
    })
}

#[allow(clippy::too_many_arguments)]
pub(super) unsafe extern "system" fn class_file_load_hook(
    _jvmti: RawJvmtiEnv,
    jni: *mut RawJNIEnv,
    class_being_redefined: jclass,
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
        if agent.hooks.get().is_none() || name.is_null() || class_data.is_null() || class_data_len <= 0 {
            return;
        }
        // SAFETY: the JVM passes a NUL-terminated class name.
        let Ok(name) = (unsafe { CStr::from_ptr(name) }).to_str() else { return };
        // SAFETY: the JVM passes `class_data_len` readable bytes at `class_data`.
        let bytes = unsafe { std::slice::from_raw_parts(class_data, class_data_len as usize) };
        // SAFETY: the JVM hands the callback the current thread's JNIEnv.
        let Ok(mut env) = (unsafe { JNIEnv::from_raw(jni) }) else { return };
        // SAFETY: `loader` is a local reference the JVM passes for the callback's duration (or null).
        let loader = unsafe { jni::objects::JObject::from_raw(loader) };
        let loading = class_being_redefined.is_null();
        let Some(out) = agent.rewrite_class(&mut env, &loader, loading, name, bytes) else { return };
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

pub(super) unsafe extern "system" fn class_prepare(
    _jvmti: RawJvmtiEnv,
    jni: *mut RawJNIEnv,
    _thread: jthread,
    klass: jclass,
) {
    catching("ClassPrepare", (), || {
        let Some(agent) = agent() else { return };
        // SAFETY: the JVM hands the callback the current thread's JNIEnv.
        let Ok(mut env) = (unsafe { JNIEnv::from_raw(jni) }) else { return };
        // SAFETY: `klass` is the live local reference to the prepared class the event hands us.
        let class = unsafe { JClass::from_raw(klass) };
        agent.on_class_prepare(&mut env, &class);
    })
}
