//! A per-thread "faultline code is running here" flag.
//!
//! The hook runs JDK code (counters, thread names, reflection); when a fault targets that
//! very JDK code the hook would re-enter itself. The flag lives in native thread-local
//! storage so that checking it runs no Java code that could itself be instrumented.

use std::cell::Cell;

thread_local! {
    static INSIDE: Cell<bool> = const { Cell::new(false) };
}

/// Takes the guard; false when this thread already holds it. (Also false while the
/// thread's native storage is being torn down: then faultline does nothing at all.)
pub fn enter() -> bool {
    INSIDE.try_with(|inside| !inside.replace(true)).unwrap_or(false)
}

pub fn exit() {
    let _ = INSIDE.try_with(|inside| inside.set(false));
}

/// Runs `f` with the guard held, so Java code the agent calls cannot fire faults on this thread.
pub fn with<T>(f: impl FnOnce() -> T) -> T {
    let took = enter();
    let out = f();
    if took {
        exit();
    }
    out
}
