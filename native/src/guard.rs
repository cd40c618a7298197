//! The "faultline code is running here" guard.
//!
//! The hook runs JDK code (counters, thread names, reflection); when a fault targets that
//! very JDK code the hook would re-enter itself. The guard lives in native thread-local
//! storage, so checking it runs no Java code that could itself be instrumented.
//!
//! Two flags per OS thread:
//! - `NATIVE`: set while the agent's native code calls into Java (arming, counters). A
//!   thread inside a native frame cannot move, not even a virtual thread (it is pinned), so
//!   a per-OS-thread flag is exact.
//! - `OWNER`: the Java thread id holding the guard from Java code (the hook). A virtual
//!   thread can unmount inside the hook (blocking on a lock on JDK 24+) and resume on
//!   another carrier, so the flag records its owner: another thread mounted on the same
//!   carrier takes it over instead of finding it stuck, and an owner's exit clears only its
//!   own mark. A virtual thread that moved may re-enter once on its new carrier: bounded.

use std::cell::Cell;

thread_local! {
    static NATIVE: Cell<bool> = const { Cell::new(false) };
    static OWNER: Cell<u64> = const { Cell::new(0) };
}

/// Takes the guard for Java thread `thread` (ids start at 1); false when it already holds
/// it here, or when the agent's native code is calling Java on this thread. (Also false
/// while the thread's native storage is torn down: then faultline does nothing at all.)
pub fn enter_java(thread: u64) -> bool {
    if NATIVE.try_with(Cell::get).unwrap_or(true) {
        return false;
    }
    OWNER
        .try_with(|owner| {
            if owner.get() == thread {
                false
            } else {
                owner.set(thread);
                true
            }
        })
        .unwrap_or(false)
}

pub fn exit_java(thread: u64) {
    let _ = OWNER.try_with(|owner| {
        if owner.get() == thread {
            owner.set(0);
        }
    });
}

/// Runs `f` with the guard held, so Java code the agent calls cannot fire faults on this thread.
pub fn with<T>(f: impl FnOnce() -> T) -> T {
    let took = NATIVE.try_with(|n| !n.replace(true)).unwrap_or(false);
    let out = f();
    if took {
        let _ = NATIVE.try_with(|n| n.set(false));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_cannot_enter_twice() {
        assert!(enter_java(7));
        assert!(!enter_java(7));
        exit_java(7);
        assert!(enter_java(7));
        exit_java(7);
    }

    #[test]
    fn another_thread_on_the_same_carrier_takes_over_and_the_first_exit_is_ignored() {
        assert!(enter_java(1)); // a virtual thread that then unmounted
        assert!(enter_java(2)); // the next one mounted on this carrier is not locked out
        exit_java(1); // the first one's exit does not clear the second one's mark
        assert!(!enter_java(2));
        exit_java(2);
    }

    #[test]
    fn native_calls_into_java_hold_the_guard() {
        with(|| assert!(!enter_java(3)));
        assert!(enter_java(3));
        exit_java(3);
    }
}
