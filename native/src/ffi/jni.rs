//! JNI helpers every layer uses: local frames, Java strings and arrays. (Reading a Java
//! exception's message runs Java code, so it lives with the hook classes, under the guard.)

use jni::objects::{JObject, JString};
use jni::sys::{jint, jobjectArray};
use jni::JNIEnv;

/// Runs `f` in a fresh JNI local frame, so the local references it creates are freed.
/// `f` must not return local references (global ones are fine).
pub fn in_local_frame<T>(env: &mut JNIEnv, capacity: i32, f: impl FnOnce(&mut JNIEnv) -> T) -> T {
    let pushed = env.push_local_frame(capacity).is_ok();
    let out = f(env);
    if pushed {
        // SAFETY: the frame pushed above is the innermost one, and nothing created in it escapes.
        let _ = unsafe { env.pop_local_frame(&JObject::null()) };
    }
    out
}

/// Reads a Java string the caller knows is a `java.lang.String` (or null).
pub fn java_string(env: &mut JNIEnv, s: &JString) -> Option<String> {
    if s.is_null() {
        return None;
    }
    // SAFETY: callers pass only references declared as java.lang.String in the JNI signature.
    unsafe { env.get_string_unchecked(s) }.ok().map(|j| j.into())
}

/// A new Java string, or null for None.
pub fn optional_string<'a>(env: &mut JNIEnv<'a>, text: Option<&str>) -> Result<JObject<'a>, String> {
    match text {
        Some(t) => env.new_string(t).map(JObject::from).map_err(|e| e.to_string()),
        None => Ok(JObject::null()),
    }
}

/// A `String[]` for Java code, or null (with a pending exception) when the JVM is out of memory.
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
