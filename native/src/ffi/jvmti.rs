//! The slice of the JVMTI function table faultline uses, and a thin safe wrapper.
//!
//! The table is declared as an array indexed by the function numbers of the JVMTI
//! specification (jvmti.h gives each function a fixed slot), so only the functions we
//! call need a signature here. All raw calls live in this module.

// Class and object arguments are JNI references: opaque handles the JVM validates, passed
// through to JVMTI untouched.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use std::ffi::{c_char, c_void, CStr};
use std::ptr;

use jni::objects::{AutoLocal, GlobalRef, JClass, JObject};
use jni::sys::{jclass, jint, jlong, jmethodID, jobject, JNIEnv};

/// `jthread` is a `jobject` in jni.h.
/// A local reference to a class that deletes itself when dropped.
pub type LocalClass<'local> = AutoLocal<'local, JClass<'local>>;

#[allow(non_camel_case_types)]
pub type jthread = jobject;

pub type JvmtiError = u32;
pub const JVMTI_ERROR_NONE: JvmtiError = 0;

pub const JVMTI_VERSION_1_2: jint = 0x3001_0200;
pub const JVMTI_VERSION_11: jint = 0x300B_0000;

pub const JVMTI_ENABLE: jint = 1;
pub const JVMTI_DISABLE: jint = 0;

pub const EVENT_VM_INIT: jint = 50;
pub const EVENT_VM_DEATH: jint = 51;
pub const EVENT_CLASS_FILE_LOAD_HOOK: jint = 54;
pub const EVENT_CLASS_PREPARE: jint = 56;

/// Number of slots in the function table (JDK 25 has 156 entries; we index below that).
const TABLE_SLOTS: usize = 160;

/// `struct jvmtiInterface_1_`: function pointers at the spec's 1-based numbers.
#[repr(C)]
pub struct JvmtiInterface {
    slots: [*const c_void; TABLE_SLOTS],
}

/// `jvmtiEnv` is a pointer to the table pointer.
pub type RawJvmtiEnv = *mut *const JvmtiInterface;

/// `jvmtiCapabilities`: 128 one-bit flags in four 32-bit words, in declaration order.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Capabilities {
    words: [u32; 4],
}

impl Capabilities {
    pub const REDEFINE_CLASSES: u32 = 9;
    pub const GET_LINE_NUMBERS: u32 = 12;
    pub const ALL_CLASS_HOOK_EVENTS: u32 = 26;
    pub const RETRANSFORM_CLASSES: u32 = 37;

    pub fn with(mut self, bit: u32) -> Self {
        self.words[(bit / 32) as usize] |= 1 << (bit % 32);
        self
    }

    pub fn has(&self, bit: u32) -> bool {
        self.words[(bit / 32) as usize] & (1 << (bit % 32)) != 0
    }
}

pub type ClassFileLoadHookFn = unsafe extern "system" fn(
    jvmti: RawJvmtiEnv,
    jni: *mut JNIEnv,
    class_being_redefined: jclass,
    loader: jobject,
    name: *const c_char,
    protection_domain: jobject,
    class_data_len: jint,
    class_data: *const u8,
    new_class_data_len: *mut jint,
    new_class_data: *mut *mut u8,
);
pub type VmInitFn = unsafe extern "system" fn(jvmti: RawJvmtiEnv, jni: *mut JNIEnv, thread: jthread);
pub type VmDeathFn = unsafe extern "system" fn(jvmti: RawJvmtiEnv, jni: *mut JNIEnv);
pub type ClassPrepareFn =
    unsafe extern "system" fn(jvmti: RawJvmtiEnv, jni: *mut JNIEnv, thread: jthread, klass: jclass);

/// `jvmtiEventCallbacks`: one pointer per event number from 50 on.
#[repr(C)]
pub struct EventCallbacks {
    pub slots: [*const c_void; 40],
}

impl Default for EventCallbacks {
    fn default() -> Self {
        EventCallbacks { slots: [ptr::null(); 40] }
    }
}

impl EventCallbacks {
    pub fn set(&mut self, event: jint, callback: *const c_void) {
        self.slots[(event - EVENT_VM_INIT) as usize] = callback;
    }
}

/// A JVMTI environment. JVMTI functions may be called from any thread, so the handle is
/// shared freely; the JVM owns the environment for the life of the process.
#[derive(Clone, Copy)]
pub struct Jvmti(RawJvmtiEnv);

// SAFETY: the JVMTI specification allows calling environment functions from any thread.
unsafe impl Send for Jvmti {}
// SAFETY: as above; the wrapper holds no Rust state of its own.
unsafe impl Sync for Jvmti {}

/// Fetches slot `n` of the function table as a function pointer of type `F`.
macro_rules! jvmti_fn {
    ($env:expr, $n:expr, $ty:ty) => {{
        // SAFETY: `$env` is a live jvmtiEnv handed to us by the JVM; slot `$n` holds the
        // function the JVMTI specification numbers `$n`, whose C signature is `$ty`.
        let slot = unsafe { (**$env.0).slots[$n - 1] };
        if slot.is_null() {
            return Err(JvmtiCallError::new("function missing from this JVM's JVMTI table", 0));
        }
        // SAFETY: a non-null slot is a function with the signature given by the spec.
        unsafe { std::mem::transmute::<*const c_void, $ty>(slot) }
    }};
}

#[derive(Debug, Clone)]
pub struct JvmtiCallError {
    pub what: &'static str,
    pub code: JvmtiError,
}

impl JvmtiCallError {
    fn new(what: &'static str, code: JvmtiError) -> Self {
        JvmtiCallError { what, code }
    }
}

impl std::fmt::Display for JvmtiCallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JVMTI {} failed with error {} ({})", self.what, self.code, error_name(self.code))
    }
}

impl std::error::Error for JvmtiCallError {}

pub type JvmtiResult<T> = Result<T, JvmtiCallError>;

fn check(what: &'static str, code: JvmtiError) -> JvmtiResult<()> {
    if code == JVMTI_ERROR_NONE {
        Ok(())
    } else {
        Err(JvmtiCallError::new(what, code))
    }
}

/// Names of the errors faultline can meet, for messages a user can search for.
pub fn error_name(code: JvmtiError) -> &'static str {
    match code {
        0 => "NONE",
        21 => "INVALID_CLASS",
        60 => "INVALID_CLASS_FORMAT",
        61 => "CIRCULAR_CLASS_DEFINITION",
        62 => "FAILS_VERIFICATION",
        63 => "UNSUPPORTED_REDEFINITION_METHOD_ADDED",
        64 => "UNSUPPORTED_REDEFINITION_SCHEMA_CHANGE",
        66 => "UNSUPPORTED_REDEFINITION_HIERARCHY_CHANGE",
        67 => "UNSUPPORTED_REDEFINITION_METHOD_DELETED",
        68 => "UNSUPPORTED_VERSION",
        79 => "UNMODIFIABLE_CLASS",
        98 => "NOT_AVAILABLE",
        99 => "MUST_POSSESS_CAPABILITY",
        100 => "NULL_POINTER",
        110 => "OUT_OF_MEMORY",
        112 => "WRONG_PHASE",
        113 => "INTERNAL",
        115 => "UNATTACHED_THREAD",
        116 => "INVALID_ENVIRONMENT",
        _ => "see jvmti.h",
    }
}

impl Jvmti {
    /// Wraps a raw environment pointer obtained from `JavaVM::GetEnv`.
    ///
    /// # Safety
    /// `raw` must be a valid jvmtiEnv that stays valid for the life of the process.
    pub unsafe fn from_raw(raw: *mut c_void) -> Jvmti {
        Jvmti(raw as RawJvmtiEnv)
    }

    pub fn raw(&self) -> RawJvmtiEnv {
        self.0
    }

    pub fn potential_capabilities(&self) -> JvmtiResult<Capabilities> {
        let f = jvmti_fn!(self, 140, unsafe extern "system" fn(RawJvmtiEnv, *mut Capabilities) -> JvmtiError);
        let mut caps = Capabilities::default();
        // SAFETY: `caps` is a valid out pointer of the declared layout.
        check("GetPotentialCapabilities", unsafe { f(self.0, &mut caps) })?;
        Ok(caps)
    }

    pub fn add_capabilities(&self, caps: &Capabilities) -> JvmtiResult<()> {
        let f = jvmti_fn!(self, 142, unsafe extern "system" fn(RawJvmtiEnv, *const Capabilities) -> JvmtiError);
        // SAFETY: `caps` points to a valid capabilities struct for the call's duration.
        check("AddCapabilities", unsafe { f(self.0, caps) })
    }

    pub fn set_event_callbacks(&self, callbacks: &EventCallbacks) -> JvmtiResult<()> {
        let f = jvmti_fn!(self, 122, unsafe extern "system" fn(RawJvmtiEnv, *const EventCallbacks, jint) -> JvmtiError);
        let size = std::mem::size_of::<EventCallbacks>() as jint;
        // SAFETY: the JVM copies the callbacks; `size` covers every slot we declare.
        check("SetEventCallbacks", unsafe { f(self.0, callbacks, size) })
    }

    pub fn set_event_mode(&self, enable: bool, event: jint) -> JvmtiResult<()> {
        let f = jvmti_fn!(self, 2, unsafe extern "C" fn(RawJvmtiEnv, jint, jint, jthread, ...) -> JvmtiError);
        let mode = if enable { JVMTI_ENABLE } else { JVMTI_DISABLE };
        // SAFETY: a null thread means "all threads", as the specification allows.
        check("SetEventNotificationMode", unsafe { f(self.0, mode, event, ptr::null_mut()) })
    }

    /// Copies `bytes` into memory the JVM owns, as the ClassFileLoadHook requires.
    pub fn allocate_copy(&self, bytes: &[u8]) -> JvmtiResult<*mut u8> {
        let f = jvmti_fn!(self, 46, unsafe extern "system" fn(RawJvmtiEnv, jlong, *mut *mut u8) -> JvmtiError);
        let mut mem: *mut u8 = ptr::null_mut();
        // SAFETY: `mem` is a valid out pointer; on success it points to `len` writable bytes.
        check("Allocate", unsafe { f(self.0, bytes.len() as jlong, &mut mem) })?;
        // SAFETY: the JVM allocated `bytes.len()` bytes at `mem`; the ranges cannot overlap.
        unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), mem, bytes.len()) };
        Ok(mem)
    }

    fn deallocate(&self, mem: *mut c_void) {
        if mem.is_null() {
            return;
        }
        let f: unsafe extern "system" fn(RawJvmtiEnv, *mut c_void) -> JvmtiError = {
            // SAFETY: slot 47 is Deallocate in every JVMTI version.
            let slot = unsafe { (**self.0).slots[46] };
            if slot.is_null() {
                return;
            }
            // SAFETY: the slot holds Deallocate with this signature.
            unsafe { std::mem::transmute::<*const c_void, _>(slot) }
        };
        // SAFETY: `mem` was allocated by this environment.
        unsafe { f(self.0, mem) };
    }

    /// Takes ownership of a JVMTI-allocated C string, returning it as a Rust string.
    fn take_string(&self, raw: *mut c_char) -> Option<String> {
        if raw.is_null() {
            return None;
        }
        // SAFETY: JVMTI returns NUL-terminated modified UTF-8; class names are ASCII-safe.
        let text = unsafe { CStr::from_ptr(raw) }.to_string_lossy().into_owned();
        self.deallocate(raw as *mut c_void);
        Some(text)
    }

    /// Copies out and frees an array of references the JVM allocated for a call's result.
    /// Local references the JVM returned in a JVMTI-allocated array, each deleted when dropped.
    fn take_locals<'local, T: Into<JObject<'local>>>(
        &self,
        env: &jni::JNIEnv<'local>,
        list: *mut jobject,
        count: jint,
        wrap: impl Fn(jobject) -> T,
    ) -> Vec<AutoLocal<'local, T>> {
        self.take_array(list, count).into_iter().map(|raw| env.auto_local(wrap(raw))).collect()
    }

    fn take_array(&self, list: *mut jobject, count: jint) -> Vec<jobject> {
        let out = if list.is_null() || count <= 0 {
            Vec::new()
        } else {
            // SAFETY: the JVM returned `count` references at `list`.
            unsafe { std::slice::from_raw_parts(list, count as usize) }.to_vec()
        };
        self.deallocate(list as *mut c_void);
        out
    }

    /// The JVM signature of a class, such as `Lcom/acme/Repo;` or `[I`.
    /// A system property of the JVM (as set at startup; readable in every phase but dead).
    pub fn system_property(&self, name: &str) -> JvmtiResult<String> {
        let f =
            jvmti_fn!(self, 131, unsafe extern "system" fn(RawJvmtiEnv, *const c_char, *mut *mut c_char) -> JvmtiError);
        let name = std::ffi::CString::new(name).map_err(|_| JvmtiCallError::new("property name with a NUL byte", 0))?;
        let mut value: *mut c_char = ptr::null_mut();
        // SAFETY: `name` is NUL-terminated and outlives the call; `value` is a valid out pointer.
        check("GetSystemProperty", unsafe { f(self.0, name.as_ptr(), &mut value) })?;
        Ok(self.take_string(value).unwrap_or_default())
    }

    pub fn class_signature(&self, class: &JClass) -> JvmtiResult<String> {
        let f = jvmti_fn!(
            self,
            48,
            unsafe extern "system" fn(RawJvmtiEnv, jclass, *mut *mut c_char, *mut *mut c_char) -> JvmtiError
        );
        let mut sig: *mut c_char = ptr::null_mut();
        // SAFETY: `class` is a live local or global reference; generic signature not requested.
        check("GetClassSignature", unsafe { f(self.0, class.as_raw(), &mut sig, ptr::null_mut()) })?;
        Ok(self.take_string(sig).unwrap_or_default())
    }

    /// Every class loaded in the JVM, as local references of the calling thread.
    /// Every loaded class, as local references of the calling thread that delete themselves.
    pub fn loaded_classes<'local>(&self, env: &jni::JNIEnv<'local>) -> JvmtiResult<Vec<LocalClass<'local>>> {
        let f = jvmti_fn!(self, 78, unsafe extern "system" fn(RawJvmtiEnv, *mut jint, *mut *mut jclass) -> JvmtiError);
        let mut count: jint = 0;
        let mut classes: *mut jclass = ptr::null_mut();
        // SAFETY: valid out pointers.
        check("GetLoadedClasses", unsafe { f(self.0, &mut count, &mut classes) })?;
        // SAFETY: each entry is a new local reference to a class, owned by this call only.
        Ok(self.take_locals(env, classes, count, |raw| unsafe { JClass::from_raw(raw) }))
    }

    pub fn is_modifiable_class(&self, class: &JClass) -> bool {
        let f: unsafe extern "system" fn(RawJvmtiEnv, jclass, *mut u8) -> JvmtiError = {
            // SAFETY: slot 45 is IsModifiableClass.
            let slot = unsafe { (**self.0).slots[44] };
            if slot.is_null() {
                return false;
            }
            // SAFETY: the slot holds IsModifiableClass with this signature.
            unsafe { std::mem::transmute::<*const c_void, _>(slot) }
        };
        let mut modifiable: u8 = 0;
        // SAFETY: `class` is a live reference, `modifiable` a valid out pointer.
        let code = unsafe { f(self.0, class.as_raw(), &mut modifiable) };
        code == JVMTI_ERROR_NONE && modifiable != 0
    }

    pub fn retransform_classes(&self, classes: &[GlobalRef]) -> JvmtiResult<()> {
        if classes.is_empty() {
            return Ok(());
        }
        let raws: Vec<jclass> = classes.iter().map(|c| c.as_obj().as_raw()).collect();
        let f = jvmti_fn!(self, 152, unsafe extern "system" fn(RawJvmtiEnv, jint, *const jclass) -> JvmtiError);
        // SAFETY: `classes` holds live references for the call's duration.
        check("RetransformClasses", unsafe { f(self.0, raws.len() as jint, raws.as_ptr()) })
    }

    /// Name and descriptor of every method a class declares, constructors included. The
    /// class must be prepared (linked); one that is not gives CLASS_NOT_PREPARED.
    pub fn class_methods(&self, class: &JClass) -> JvmtiResult<Vec<(String, String)>> {
        Ok(self.class_methods_with_modifiers(class)?.into_iter().map(|(name, sig, _)| (name, sig)).collect())
    }

    /// As [`Jvmti::class_methods`], with each method's access flags (`static` is 0x0008).
    pub fn class_methods_with_modifiers(&self, class: &JClass) -> JvmtiResult<Vec<(String, String, u16)>> {
        let get_modifiers =
            jvmti_fn!(self, 66, unsafe extern "system" fn(RawJvmtiEnv, jmethodID, *mut jint) -> JvmtiError);
        let get_methods = jvmti_fn!(
            self,
            52,
            unsafe extern "system" fn(RawJvmtiEnv, jclass, *mut jint, *mut *mut jmethodID) -> JvmtiError
        );
        let get_name = jvmti_fn!(
            self,
            64,
            unsafe extern "system" fn(
                RawJvmtiEnv,
                jmethodID,
                *mut *mut c_char,
                *mut *mut c_char,
                *mut *mut c_char,
            ) -> JvmtiError
        );
        let mut count: jint = 0;
        let mut list: *mut jmethodID = ptr::null_mut();
        // SAFETY: valid out pointers; `class` is live.
        check("GetClassMethods", unsafe { get_methods(self.0, class.as_raw(), &mut count, &mut list) })?;
        let ids: Vec<jmethodID> = if list.is_null() || count <= 0 {
            Vec::new()
        } else {
            // SAFETY: the JVM returned `count` method ids at `list`.
            unsafe { std::slice::from_raw_parts(list, count as usize) }.to_vec()
        };
        self.deallocate(list as *mut c_void);
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let (mut name, mut sig): (*mut c_char, *mut c_char) = (ptr::null_mut(), ptr::null_mut());
            // SAFETY: `id` came from GetClassMethods of a live class; generic signature not requested.
            check("GetMethodName", unsafe { get_name(self.0, id, &mut name, &mut sig, ptr::null_mut()) })?;
            let (name, sig) = (self.take_string(name), self.take_string(sig));
            let mut modifiers: jint = 0;
            // SAFETY: `id` came from GetClassMethods of a live class; a valid out pointer.
            check("GetMethodModifiers", unsafe { get_modifiers(self.0, id, &mut modifiers) })?;
            if let (Some(name), Some(sig)) = (name, sig) {
                out.push((name, sig, modifiers as u16));
            }
        }
        Ok(out)
    }

    /// The interfaces a class declares, as local references that delete themselves.
    pub fn implemented_interfaces<'local>(
        &self,
        env: &jni::JNIEnv<'local>,
        class: &JClass,
    ) -> JvmtiResult<Vec<LocalClass<'local>>> {
        let f = jvmti_fn!(
            self,
            54,
            unsafe extern "system" fn(RawJvmtiEnv, jclass, *mut jint, *mut *mut jclass) -> JvmtiError
        );
        let mut count: jint = 0;
        let mut list: *mut jclass = ptr::null_mut();
        // SAFETY: valid out pointers; `class` is live.
        check("GetImplementedInterfaces", unsafe { f(self.0, class.as_raw(), &mut count, &mut list) })?;
        // SAFETY: each entry is a new local reference to an interface, owned by this call only.
        Ok(self.take_locals(env, list, count, |raw| unsafe { JClass::from_raw(raw) }))
    }

    /// Every module of the JVM (JDK 9+), as local references that delete themselves.
    pub fn all_modules<'local>(
        &self,
        env: &jni::JNIEnv<'local>,
    ) -> JvmtiResult<Vec<AutoLocal<'local, JObject<'local>>>> {
        let f = jvmti_fn!(self, 3, unsafe extern "system" fn(RawJvmtiEnv, *mut jint, *mut *mut jobject) -> JvmtiError);
        let mut count: jint = 0;
        let mut list: *mut jobject = ptr::null_mut();
        // SAFETY: valid out pointers.
        check("GetAllModules", unsafe { f(self.0, &mut count, &mut list) })?;
        // SAFETY: each entry is a new local reference to a module, owned by this call only.
        Ok(self.take_locals(env, list, count, |raw| unsafe { JObject::from_raw(raw) }))
    }

    /// Lets `module` read `to_module`, so classes of named modules (the JDK's) may call
    /// the hook class, which lives in the boot loader's unnamed module.
    pub fn add_module_reads(&self, module: &JObject, to_module: &JObject) -> JvmtiResult<()> {
        let f = jvmti_fn!(self, 94, unsafe extern "system" fn(RawJvmtiEnv, jobject, jobject) -> JvmtiError);
        // SAFETY: both are live module references.
        check("AddModuleReads", unsafe { f(self.0, module.as_raw(), to_module.as_raw()) })
    }

    /// Opens `package` of `module` to `to_module` for deep reflection (JVMTI 9+).
    pub fn add_module_opens(&self, module: &JObject, package: &CStr, to_module: &JObject) -> JvmtiResult<()> {
        let f =
            jvmti_fn!(self, 96, unsafe extern "system" fn(RawJvmtiEnv, jobject, *const c_char, jobject) -> JvmtiError);
        // SAFETY: live references and a NUL-terminated package name.
        check("AddModuleOpens", unsafe { f(self.0, module.as_raw(), package.as_ptr(), to_module.as_raw()) })
    }

    /// Exports `package` of `module` to `to_module`.
    pub fn add_module_exports(&self, module: &JObject, package: &CStr, to_module: &JObject) -> JvmtiResult<()> {
        let f =
            jvmti_fn!(self, 95, unsafe extern "system" fn(RawJvmtiEnv, jobject, *const c_char, jobject) -> JvmtiError);
        // SAFETY: live references and a NUL-terminated package name.
        check("AddModuleExports", unsafe { f(self.0, module.as_raw(), package.as_ptr(), to_module.as_raw()) })
    }
}
