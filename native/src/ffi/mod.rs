//! The bridge to the JVM and the dynamic linker: raw JVMTI calls (`jvmti`), JNI helpers
//! (`jni`), and the panic barrier every entry point runs behind. Depends on nothing else of
//! the crate; everything above it is safe Rust.

pub mod jni;
pub mod jvmti;

use std::ffi::{c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `f`, turning a panic into a logged error and `fallback`: nothing unwinds into the JVM.
pub fn catching<T>(what: &str, fallback: T, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            eprintln!("faultline: internal error in {what}: {msg} (the JVM continues; please report this)");
            fallback
        }
    }
}

/// The file this library was loaded from, for messages (from the dynamic linker).
pub fn loaded_from() -> Option<String> {
    // SAFETY: Dl_info is plain data (pointers and integers); all zeroes is a valid value.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: dladdr reads the address of a function of this library and fills `info`.
    let found = unsafe { libc::dladdr(loaded_from as *const () as *const c_void, &mut info) };
    if found == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: dladdr returned a NUL-terminated path owned by the dynamic linker.
    Some(unsafe { CStr::from_ptr(info.dli_fname) }.to_string_lossy().into_owned())
}
