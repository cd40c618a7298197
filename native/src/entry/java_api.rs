//! Native methods of `io.faultline.Faultline`, the in-process API: `start0` loads and starts
//! the agent, and `execute0` answers one protocol request, as the control channel does for
//! the CLI (one command language, whatever the door). The library is loaded with
//! `System.load` by that class's own loader, so the JVM binds these by name.

use faultline_model::protocol::{self, Reply, Request};
use jni::objects::{JClass, JString};
use jni::sys::{jboolean, jstring};
use jni::JNIEnv;

use super::{agent, start_live, LOAD_ERROR};
use crate::ffi::catching;
use crate::ffi::jni::java_string;
use crate::guard;
use crate::sync::Locked;

/// Starts the agent (idle, or with `options`); returns why it could not, or null.
#[no_mangle]
pub extern "system" fn Java_io_faultline_Faultline_start0(
    mut env: JNIEnv,
    _class: JClass,
    options: JString,
    at_startup: jboolean,
) -> jstring {
    catching("Faultline.start0", std::ptr::null_mut(), || {
        let problem = if let Some(e) = LOAD_ERROR.locked().clone() {
            Some(e)
        } else {
            let options = java_string(&mut env, &options);
            let Ok(vm) = env.get_java_vm() else { return std::ptr::null_mut() };
            start_live(vm.get_java_vm_pointer(), &mut env, options.as_deref(), at_startup != 0).err()
        };
        match problem {
            Some(p) => env.new_string(p).map(|s| s.into_raw()).unwrap_or(std::ptr::null_mut()),
            None => std::ptr::null_mut(),
        }
    })
}

/// One request line in, one reply line out (`{"ok":false,"error":...}` when refused).
#[no_mangle]
pub extern "system" fn Java_io_faultline_Faultline_execute0(
    mut env: JNIEnv,
    _class: JClass,
    request: JString,
) -> jstring {
    catching("Faultline.execute0", std::ptr::null_mut(), || {
        let line = java_string(&mut env, &request).unwrap_or_default();
        let reply = match (agent(), serde_json::from_str::<Request>(&line)) {
            (None, _) => Err("the agent is not loaded".to_string()),
            (Some(_), Err(e)) => Err(format!("malformed request: {e}")),
            (Some(agent), Ok(request)) => guard::with(|| agent.answer(&mut env, request)),
        };
        let text = protocol::reply_line::<Reply>(&reply);
        env.new_string(text).map(|s| s.into_raw()).unwrap_or(std::ptr::null_mut())
    })
}
