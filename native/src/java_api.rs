//! Native methods of `io.faultline.Faultline`, the in-process API. The library is loaded
//! with `System.load` by that class's own loader, so the JVM binds these by name.

use jni::objects::{JClass, JObjectArray, JString};
use jni::sys::{jboolean, jlong, jobjectArray, jstring};
use jni::JNIEnv;

use faultline::scenario::Scenario;

use crate::agent::{Agent, Removal};
use crate::entry::{self, catching};
use crate::hook::java_string;
use crate::hook_natives::string_array;

fn throw(env: &mut JNIEnv, message: &str) {
    let _ = env.throw_new("java/lang/IllegalArgumentException", message);
}

fn running_agent(env: &mut JNIEnv) -> Option<&'static Agent> {
    let agent = entry::agent();
    if agent.is_none() {
        let _ = env.throw_new("java/lang/IllegalStateException", "faultline: the agent is not loaded");
    }
    agent
}

#[no_mangle]
pub extern "system" fn Java_io_faultline_Faultline_start0(
    mut env: JNIEnv,
    _class: JClass,
    options: JString,
    at_startup: jboolean,
) -> jstring {
    catching("Faultline.start0", std::ptr::null_mut(), || {
        let problem = if let Some(e) = entry::LOAD_ERROR.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            Some(e)
        } else {
            let options = java_string(&mut env, &options);
            let Ok(vm) = env.get_java_vm() else { return std::ptr::null_mut() };
            entry::start_live(vm.get_java_vm_pointer(), &mut env, options.as_deref(), at_startup != 0).err()
        };
        match problem {
            Some(p) => env.new_string(p).map(|s| s.into_raw()).unwrap_or(std::ptr::null_mut()),
            None => std::ptr::null_mut(),
        }
    })
}

fn arm_scenario(env: &mut JNIEnv, scenario: Result<Scenario, String>) -> jobjectArray {
    let Some(agent) = running_agent(env) else { return std::ptr::null_mut() };
    let result = scenario.and_then(|s| agent.arm(env, &s, None, false));
    match result {
        Ok(armed) => {
            let ids: Vec<String> = armed.into_iter().map(|a| a.id).collect();
            string_array(env, &ids)
        }
        Err(e) => {
            throw(env, &e);
            std::ptr::null_mut()
        }
    }
}

#[no_mangle]
pub extern "system" fn Java_io_faultline_Faultline_arm0(
    mut env: JNIEnv,
    _class: JClass,
    text: JString,
    origin: JString,
) -> jobjectArray {
    catching("Faultline.arm0", std::ptr::null_mut(), || {
        let text = java_string(&mut env, &text).unwrap_or_default();
        let origin = java_string(&mut env, &origin).unwrap_or_else(|| "<api>".into());
        let scenario = Scenario::parse(&text, &origin).map_err(|e| e.to_string());
        arm_scenario(&mut env, scenario)
    })
}

#[no_mangle]
pub extern "system" fn Java_io_faultline_Faultline_armFile0(
    mut env: JNIEnv,
    _class: JClass,
    path: JString,
) -> jobjectArray {
    catching("Faultline.armFile0", std::ptr::null_mut(), || {
        let path = java_string(&mut env, &path).unwrap_or_default();
        let scenario = Scenario::load(std::path::Path::new(&path)).map_err(|e| e.to_string());
        arm_scenario(&mut env, scenario)
    })
}

#[no_mangle]
pub extern "system" fn Java_io_faultline_Faultline_stop0(
    mut env: JNIEnv,
    _class: JClass,
    ids: JObjectArray,
    ignore_missing: jboolean,
) {
    catching("Faultline.stop0", (), || {
        let Some(agent) = running_agent(&mut env) else { return };
        let count = env.get_array_length(&ids).unwrap_or(0);
        let mut list = Vec::new();
        for i in 0..count {
            let Ok(item) = env.get_object_array_element(&ids, i) else { continue };
            if let Some(s) = java_string(&mut env, &JString::from(item)) {
                list.push(s);
            }
        }
        if let Err(e) = agent.stop(&mut env, &list, Removal::Stopped, ignore_missing != 0) {
            throw(&mut env, &e);
        }
    })
}

fn counter(env: &mut JNIEnv, id: &JString, pick: fn((i64, i64)) -> i64) -> jlong {
    let Some(agent) = running_agent(env) else { return -1 };
    let id = java_string(env, id).unwrap_or_default();
    match agent.counters(env, &id) {
        Ok(c) => pick(c),
        Err(e) => {
            throw(env, &e);
            -1
        }
    }
}

#[no_mangle]
pub extern "system" fn Java_io_faultline_Faultline_injected0(mut env: JNIEnv, _class: JClass, id: JString) -> jlong {
    catching("Faultline.injected0", -1, || counter(&mut env, &id, |c| c.1))
}

#[no_mangle]
pub extern "system" fn Java_io_faultline_Faultline_calls0(mut env: JNIEnv, _class: JClass, id: JString) -> jlong {
    catching("Faultline.calls0", -1, || counter(&mut env, &id, |c| c.0))
}

#[no_mangle]
pub extern "system" fn Java_io_faultline_Faultline_events0(
    mut env: JNIEnv,
    _class: JClass,
    id: JString,
) -> jobjectArray {
    catching("Faultline.events0", std::ptr::null_mut(), || {
        let Some(agent) = running_agent(&mut env) else { return std::ptr::null_mut() };
        let id = java_string(&mut env, &id);
        let lines = agent.events.recent(id.as_deref());
        string_array(&mut env, &lines)
    })
}

#[no_mangle]
pub extern "system" fn Java_io_faultline_Faultline_status0(mut env: JNIEnv, _class: JClass) -> jstring {
    catching("Faultline.status0", std::ptr::null_mut(), || {
        let Some(agent) = running_agent(&mut env) else { return std::ptr::null_mut() };
        match agent.status(&mut env) {
            Ok(v) => env.new_string(v.to_string()).map(|s| s.into_raw()).unwrap_or(std::ptr::null_mut()),
            Err(e) => {
                throw(&mut env, &e);
                std::ptr::null_mut()
            }
        }
    })
}
