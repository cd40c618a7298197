//! Native methods of the hook class (`io.faultline.boot.Hook`), registered with
//! RegisterNatives because the class lives in the bootstrap loader, which cannot find
//! this library by name.

use std::ffi::c_void;

use jni::objects::{JByteArray, JClass, JString};
use jni::sys::{jboolean, jint, jlong, jobjectArray, JNI_FALSE, JNI_TRUE};
use jni::{JNIEnv, NativeMethod};

use super::agent;
use crate::ffi::catching;
use crate::ffi::jni::{java_string, string_array};
use crate::instrument::catch_handlers;
use crate::{guard, landing};

pub fn methods() -> Vec<NativeMethod> {
    vec![
        NativeMethod { name: "guardEnter0".into(), sig: "(J)Z".into(), fn_ptr: guard_enter as *mut c_void },
        NativeMethod { name: "guardExit0".into(), sig: "(J)V".into(), fn_ptr: guard_exit as *mut c_void },
        NativeMethod { name: "landAt".into(), sig: "(J)V".into(), fn_ptr: land_at as *mut c_void },
        NativeMethod {
            name: "fired".into(),
            sig: "(IILjava/lang/String;JLjava/lang/String;Ljava/lang/String;)V".into(),
            fn_ptr: fired as *mut c_void,
        },
        NativeMethod {
            name: "event".into(),
            sig: "(ILjava/lang/String;Ljava/lang/String;)V".into(),
            fn_ptr: event as *mut c_void,
        },
        NativeMethod {
            name: "handlers".into(),
            sig: "([BLjava/lang/String;Ljava/lang/String;I)[Ljava/lang/String;".into(),
            fn_ptr: handlers as *mut c_void,
        },
    ]
}

extern "system" fn guard_enter(_env: JNIEnv, _class: JClass, thread: jlong) -> jboolean {
    // Cannot panic: thread-local flags only.
    if guard::enter_java(thread as u64) {
        JNI_TRUE
    } else {
        JNI_FALSE
    }
}

extern "system" fn guard_exit(_env: JNIEnv, _class: JClass, thread: jlong) {
    guard::exit_java(thread as u64);
}

/// The last stretch of a latency wait (see `landing`).
extern "system" fn land_at(_env: JNIEnv, _class: JClass, deadline: jlong) {
    // Cannot panic: clock and sleep system calls on the calling thread.
    landing::land_at(deadline);
}

extern "system" fn fired(
    mut env: JNIEnv,
    _class: JClass,
    serial: jint,
    site: jint,
    thread: JString,
    delay_nanos: jlong,
    caught: JString,
    extra: JString,
) {
    catching("Hook.fired", (), || {
        let Some(agent) = agent() else { return };
        let thread = java_string(&mut env, &thread);
        let caught = java_string(&mut env, &caught);
        let extra = java_string(&mut env, &extra);
        agent.fired(serial, site, thread, delay_nanos, caught, extra);
    })
}

/// An event with kind-specific fields, as a JSON object (see `Agent::java_event`).
extern "system" fn event(mut env: JNIEnv, _class: JClass, serial: jint, kind: JString, fields: JString) {
    catching("Hook.event", (), || {
        let Some(agent) = agent() else { return };
        let kind = java_string(&mut env, &kind).unwrap_or_default();
        let fields = java_string(&mut env, &fields).unwrap_or_default();
        agent.java_event(serial, &kind, &fields);
    })
}

/// Handlers of one method that cover `bci`, in table order, as `catchType|line` strings
/// (`catchType` empty for finally and catch-all handlers). The bci is that of the running
/// code: for a method that carries our prologue, it is shifted back first.
extern "system" fn handlers(
    mut env: JNIEnv,
    _class: JClass,
    class_file: JByteArray,
    method: JString,
    descriptor: JString,
    bci: jint,
) -> jobjectArray {
    catching("Hook.handlers", std::ptr::null_mut(), || {
        let Some(agent) = agent() else { return std::ptr::null_mut() };
        let Ok(bytes) = env.convert_byte_array(&class_file) else { return std::ptr::null_mut() };
        let (Some(method), Some(descriptor)) = (java_string(&mut env, &method), java_string(&mut env, &descriptor))
        else {
            return std::ptr::null_mut();
        };
        let Some(covering) = catch_handlers::covering(&agent.sites, &bytes, &method, &descriptor, bci) else {
            return std::ptr::null_mut();
        };
        string_array(&mut env, &covering)
    })
}
