//! Resource faults (`heap`, `cpu`, `threads`, `gc`, `metaspace`, `direct`, `exit`): the
//! agent's half. The work happens in Java (`io.faultline.boot.Resources` and a class per
//! kind, in the bootstrap loader beside the hook), on daemon threads of the fault's own; this
//! module builds the Java fault object from the model's settings and reads its figures for
//! `status`.
//!
//! The Java object answers the same calls as every other fault (`remove()`, `calls()`,
//! `injected()`, `announced()`), so arm, stop, leases and counters need nothing special: the
//! lease thread's `remove()` is what gives a busy or GC-bound JVM its resources back.

use faultline_model::resource::Resource;
use jni::objects::{GlobalRef, JObject, JValue};
use jni::JNIEnv;

use super::take_exception_message;
use crate::ffi::jni::in_local_frame;
use crate::guard;

const RESOURCES_CLASS: &str = "io/faultline/boot/Resources";
const DEFINE_SIG: &str = "(ILjava/lang/String;Ljava/lang/String;[Ljava/lang/String;)Ljava/lang/Object;";

/// Builds and starts a resource fault; an error carries the reason for the user.
pub fn define(env: &mut JNIEnv, serial: i32, id: &str, resource: &Resource) -> Result<GlobalRef, String> {
    guard::with(|| {
        in_local_frame(env, 32, |env| {
            let values = resource.key_values();
            let keys = env
                .new_object_array((values.len() * 2) as i32, "java/lang/String", JObject::null())
                .map_err(|e| e.to_string())?;
            for (i, text) in values.iter().flat_map(|(k, v)| [*k, v.as_str()]).enumerate() {
                let s = env.new_string(text).map_err(|e| e.to_string())?;
                env.set_object_array_element(&keys, i as i32, &s).map_err(|e| e.to_string())?;
            }
            let id = env.new_string(id).map_err(|e| e.to_string())?;
            let kind = env.new_string(resource.kind()).map_err(|e| e.to_string())?;
            let made = env
                .call_static_method(
                    RESOURCES_CLASS,
                    "define",
                    DEFINE_SIG,
                    &[JValue::Int(serial), JValue::Object(&id), JValue::Object(&kind), JValue::Object(&keys)],
                )
                .and_then(|v| v.l());
            match made {
                Ok(obj) if !obj.is_null() => env.new_global_ref(obj).map_err(|e| e.to_string()),
                Ok(_) => Err(format!("the {} fault could not be started", resource.kind())),
                Err(e) => Err(take_exception_message(env)
                    .unwrap_or_else(|| format!("the {} fault could not be started: {e}", resource.kind()))),
            }
        })
    })
}
