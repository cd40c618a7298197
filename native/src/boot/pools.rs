//! Thread-pool exhaustion faults (`kind = "pool"`): the agent's half. The work of finding
//! executors and occupying them happens in Java (`io.faultline.boot.Pools`, in the
//! bootstrap loader beside the hook); this module builds the Java fault object and previews
//! what a pool fault would act on (`drill check`); its description for `status` is read as
//! every self-running fault's is (`boot::described`).
//!
//! The Java object answers the same calls as every other fault (`remove()`, `calls()`,
//! `injected()`), so arm, stop and counters need nothing special.

use faultline_model::target::ClassPattern;
use jni::objects::{GlobalRef, JObject, JString, JValue};
use jni::JNIEnv;
use serde_json::Value;

use super::take_exception_message;
use crate::ffi::jni::{java_string, optional_string};
use crate::guard;

const POOLS_CLASS: &str = "io/faultline/boot/Pools";
const DEFINE_SIG: &str =
    "(ILjava/lang/String;Ljava/lang/String;Ljava/lang/String;ZLjava/lang/String;)Ljava/lang/Object;";
const PREVIEW_SIG: &str =
    "(Ljava/lang/String;Ljava/lang/String;Ljava/lang/String;ZLjava/lang/String;)Ljava/lang/String;";

/// Builds and starts a pool fault; an error carries the reason for the user.
pub fn define(
    env: &mut JNIEnv,
    serial: i32,
    id: &str,
    pool: Option<&str>,
    executor: Option<&ClassPattern>,
    mode: &str,
) -> Result<GlobalRef, String> {
    guard::with(|| {
        let obj = call(env, "define", DEFINE_SIG, Some(serial), id, pool, executor, mode)?;
        env.new_global_ref(obj).map_err(|e| e.to_string())
    })
}

/// The executors a pool fault would act on if armed now (a JSON array), without arming it;
/// an error is what arming would say.
pub fn preview(
    env: &mut JNIEnv,
    id: &str,
    pool: Option<&str>,
    executor: Option<&ClassPattern>,
    mode: &str,
) -> Result<Value, String> {
    guard::with(|| {
        let obj = call(env, "preview", PREVIEW_SIG, None, id, pool, executor, mode)?;
        let text = java_string(env, &JString::from(obj)).unwrap_or_default();
        serde_json::from_str(&text).map_err(|e| format!("unreadable pool preview: {e}"))
    })
}

/// `Pools.define` or `Pools.preview`: the same arguments (define's first is the serial).
#[allow(clippy::too_many_arguments)]
fn call<'a>(
    env: &mut JNIEnv<'a>,
    method: &str,
    sig: &str,
    serial: Option<i32>,
    id: &str,
    pool: Option<&str>,
    executor: Option<&ClassPattern>,
    mode: &str,
) -> Result<JObject<'a>, String> {
    let id = env.new_string(id).map_err(|e| e.to_string())?;
    let pool = optional_string(env, pool)?;
    // The class glob as written, without the `+`; subtypes passed apart.
    let executor_glob = executor.map(|p| p.text().trim_end_matches('+').to_string());
    let executor_obj = optional_string(env, executor_glob.as_deref())?;
    let subtypes = executor.is_some_and(|p| p.subtypes());
    let mode = env.new_string(mode).map_err(|e| e.to_string())?;
    let mut args = Vec::with_capacity(6);
    if let Some(serial) = serial {
        args.push(JValue::Int(serial));
    }
    args.extend([
        JValue::Object(&id),
        JValue::Object(&pool),
        JValue::Object(&executor_obj),
        JValue::Bool(u8::from(subtypes)),
        JValue::Object(&mode),
    ]);
    match env.call_static_method(POOLS_CLASS, method, sig, &args).and_then(|v| v.l()) {
        Ok(obj) if !obj.is_null() => Ok(obj),
        Ok(_) => Err(format!("the pool fault could not be {}", if serial.is_some() { "created" } else { "previewed" })),
        Err(_) => Err(take_exception_message(env).unwrap_or_else(|| "the pool fault could not be created".into())),
    }
}
