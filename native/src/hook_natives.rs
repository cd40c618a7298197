//! Native methods of the hook class (`io.faultline.boot.Hook`), registered with
//! RegisterNatives because the class lives in the bootstrap loader, which cannot find
//! this library by name.

use std::ffi::c_void;

use jni::objects::{JByteArray, JClass, JObject, JString};
use jni::sys::{jboolean, jint, jlong, jobjectArray, JNI_FALSE, JNI_TRUE};
use jni::{JNIEnv, NativeMethod};

use crate::classfile;
use crate::{entry, guard, hook, landing};

pub fn methods() -> Vec<NativeMethod> {
    vec![
        NativeMethod { name: "guardEnter0".into(), sig: "(J)Z".into(), fn_ptr: guard_enter as *mut c_void },
        NativeMethod { name: "guardExit0".into(), sig: "(J)V".into(), fn_ptr: guard_exit as *mut c_void },
        NativeMethod { name: "landAt".into(), sig: "(J)V".into(), fn_ptr: land_at as *mut c_void },
        NativeMethod {
            name: "fired".into(),
            sig: "(IILjava/lang/String;JLjava/lang/String;)V".into(),
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
) {
    entry::catching("Hook.fired", (), || {
        let Some(agent) = entry::agent() else { return };
        let thread = hook::java_string(&mut env, &thread);
        let caught = hook::java_string(&mut env, &caught);
        agent.fired(serial, site, thread, delay_nanos, caught);
    })
}

/// An event with kind-specific fields, as a JSON object (see `Agent::java_event`).
extern "system" fn event(mut env: JNIEnv, _class: JClass, serial: jint, kind: JString, fields: JString) {
    entry::catching("Hook.event", (), || {
        let Some(agent) = entry::agent() else { return };
        let kind = hook::java_string(&mut env, &kind).unwrap_or_default();
        let fields = hook::java_string(&mut env, &fields).unwrap_or_default();
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
    entry::catching("Hook.handlers", std::ptr::null_mut(), || {
        let Some(agent) = entry::agent() else { return std::ptr::null_mut() };
        let Ok(bytes) = env.convert_byte_array(&class_file) else { return std::ptr::null_mut() };
        let (Some(method), Some(descriptor)) =
            (hook::java_string(&mut env, &method), hook::java_string(&mut env, &descriptor))
        else {
            return std::ptr::null_mut();
        };
        let Ok(info) = classfile::parse(&bytes) else { return std::ptr::null_mut() };
        let Ok(Some(table)) = classfile::exception_handlers(&bytes, &method, &descriptor) else {
            return std::ptr::null_mut();
        };
        let mut pc = bci.max(0) as u32;
        {
            let sites = agent.sites.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(site) = sites.site_of(&info.name, &method, &descriptor) {
                if let Some(len) = sites.instrumented.get(&site) {
                    pc = pc.saturating_sub(u32::from(*len));
                }
            }
        }
        let covering: Vec<String> = table
            .handlers
            .iter()
            .filter(|h| u32::from(h.start_pc) <= pc && pc < u32::from(h.end_pc))
            .map(|h| {
                let line = table.line_at(h.handler_pc).map(|l| l.to_string()).unwrap_or_else(|| "?".into());
                format!("{}|{}", h.catch_type.as_deref().unwrap_or(""), line)
            })
            .collect();
        string_array(&mut env, &covering)
    })
}

pub fn string_array(env: &mut JNIEnv, items: &[String]) -> jobjectArray {
    let Ok(array) = env.new_object_array(items.len() as jint, "java/lang/String", JObject::null()) else {
        return std::ptr::null_mut();
    };
    for (i, item) in items.iter().enumerate() {
        let Ok(s) = env.new_string(item) else { return std::ptr::null_mut() };
        if env.set_object_array_element(&array, i as jint, &s).is_err() {
            return std::ptr::null_mut();
        }
        let _ = env.delete_local_ref(s);
    }
    array.into_raw()
}
