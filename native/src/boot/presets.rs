//! A fault's preset, made into the Java object its hooks consult (`io.faultline.boot.Preset`):
//! the preset's name and its keys' values; the Java side compiles what it matches with (a
//! regular expression that does not compile is refused here, before anything is armed).

use faultline_model::preset::PresetUse;
use jni::objects::{GlobalRef, JObject, JValue};
use jni::JNIEnv;

use super::take_exception_message;
use crate::ffi::jni::in_local_frame;
use crate::guard;

const PRESET: &str = "io/faultline/boot/Preset";
const DEFINE_SIG: &str = "(Ljava/lang/String;[Ljava/lang/String;ILjava/lang/String;)Lio/faultline/boot/Preset;";

/// The Java preset for `used`; `status` for respond faults (else 0); `throw_name` a symbolic
/// `throw` the preset maps to each library's own exception (else None).
pub fn define(env: &mut JNIEnv, used: &PresetUse, status: i32, throw_name: Option<&str>) -> Result<GlobalRef, String> {
    guard::with(|| {
        in_local_frame(env, 32, |env| {
            let values = used.values();
            let keys = env
                .new_object_array((values.len() * 2) as i32, "java/lang/String", JObject::null())
                .map_err(|e| e.to_string())?;
            for (i, text) in values.iter().flat_map(|(k, v)| [*k, *v]).enumerate() {
                let s = env.new_string(text).map_err(|e| e.to_string())?;
                env.set_object_array_element(&keys, i as i32, &s).map_err(|e| e.to_string())?;
            }
            let name = env.new_string(used.preset.name).map_err(|e| e.to_string())?;
            let throw_name: JObject = match throw_name {
                Some(t) => env.new_string(t).map_err(|e| e.to_string())?.into(),
                None => JObject::null(),
            };
            let made = env
                .call_static_method(
                    PRESET,
                    "define",
                    DEFINE_SIG,
                    &[JValue::Object(&name), JValue::Object(&keys), JValue::Int(status), JValue::Object(&throw_name)],
                )
                .and_then(|v| v.l());
            match made {
                Ok(obj) => env.new_global_ref(obj).map_err(|e| e.to_string()),
                Err(e) => {
                    Err(take_exception_message(env).unwrap_or_else(|| format!("the preset could not be set up: {e}")))
                }
            }
        })
    })
}
