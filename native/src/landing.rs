//! The last stretch of a latency fault: landing on the deadline.
//!
//! A timed sleep wakes up late: by the timer slack (50 µs by default on Linux) plus the time
//! the scheduler takes to give the thread a CPU again, often 0.1-0.5 ms on a virtualized
//! host. The Java side parks until [`STRETCH_NANOS`] before the deadline and reports the
//! event there; this module then sleeps with a 1 µs timer slack until a margin before the
//! deadline and spins what is left. The margin adapts to the wake-ups this process sees (up
//! fast, down slowly), so the spin is typically well under 0.1 ms per wait.
//!
//! It runs in native code so that the wait's last stretch executes no Java: a Java spin loop
//! gets compiled while it spins (an on-stack replacement, several times during the first
//! waits), and the compiler thread it wakes can take the CPU from the waiting thread for a
//! millisecond or more.

use std::sync::atomic::{AtomicI64, Ordering};

/// How long before the deadline the Java side hands over: `Fault.STRETCH_NANOS` must be the
/// same value (a larger one would be cut short by [`MAX_NANOS`]).
pub const STRETCH_NANOS: i64 = 2_000_000;
/// The longest wait this module does, whatever it is asked: a fault's wait stays bounded.
const MAX_NANOS: i64 = 2 * STRETCH_NANOS;
const TIMER_SLACK_NANOS: libc::c_ulong = 1_000;
const MIN_MARGIN_NANOS: i64 = 20_000;
const MAX_MARGIN_NANOS: i64 = 800_000;

/// How late this process's sleeps wake up: a high estimate, shared by all threads.
static LATENESS_NANOS: AtomicI64 = AtomicI64::new(150_000);

/// `System.nanoTime()` of HotSpot on Linux: CLOCK_MONOTONIC, in nanoseconds.
fn now_nanos() -> i64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

/// Returns when `System.nanoTime()` reaches `deadline`, or after at most 4 ms.
pub fn land_at(deadline: i64) {
    let now = now_nanos();
    let deadline = deadline.min(now.saturating_add(MAX_NANOS));
    let margin = LATENESS_NANOS.load(Ordering::Relaxed);
    let wake = deadline.saturating_sub(margin);
    if wake > now {
        let slack = TimerSlack::lower_to(TIMER_SLACK_NANOS);
        sleep_until(wake);
        drop(slack);
        learn(now_nanos() - wake);
    }
    while now_nanos() < deadline {
        std::hint::spin_loop();
    }
}

/// Folds one observed lateness into the estimate: up fast, down slowly, so the margin
/// covers the slow tail rather than the average. A lost update between threads only
/// delays the adaptation by one wait.
fn learn(observed: i64) {
    let estimate = LATENESS_NANOS.load(Ordering::Relaxed);
    let next =
        if observed > estimate { estimate + (observed - estimate) / 2 } else { estimate - (estimate - observed) / 32 };
    LATENESS_NANOS.store(next.clamp(MIN_MARGIN_NANOS, MAX_MARGIN_NANOS), Ordering::Relaxed);
}

fn sleep_until(wake: i64) {
    let at = libc::timespec { tv_sec: wake / 1_000_000_000, tv_nsec: wake % 1_000_000_000 };
    loop {
        // SAFETY: `at` is a valid timespec; with TIMER_ABSTIME the remainder pointer is unused.
        let rc =
            unsafe { libc::clock_nanosleep(libc::CLOCK_MONOTONIC, libc::TIMER_ABSTIME, &at, std::ptr::null_mut()) };
        // Interrupted by a signal (the JVM uses some): sleep on to the same instant.
        if rc != libc::EINTR {
            return;
        }
    }
}

/// The calling thread's timer slack, lowered for as long as this value lives.
struct TimerSlack {
    previous: Option<libc::c_ulong>,
}

impl TimerSlack {
    fn lower_to(nanos: libc::c_ulong) -> TimerSlack {
        // SAFETY: PR_GET_TIMERSLACK takes no pointer arguments and only reads this thread's setting.
        let previous = unsafe { libc::prctl(libc::PR_GET_TIMERSLACK, 0, 0, 0, 0) };
        if previous < 0 {
            return TimerSlack { previous: None };
        }
        // SAFETY: PR_SET_TIMERSLACK takes a plain value and changes only this thread's setting.
        let rc = unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, nanos, 0, 0, 0) };
        TimerSlack { previous: (rc == 0).then_some(previous as libc::c_ulong) }
    }
}

impl Drop for TimerSlack {
    fn drop(&mut self) {
        if let Some(previous) = self.previous {
            // SAFETY: as above; restores the value this thread had before.
            unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, previous, 0, 0, 0) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lands_on_the_deadline_and_never_before() {
        for _ in 0..20 {
            let deadline = now_nanos() + 1_500_000;
            land_at(deadline);
            let after = now_nanos();
            assert!(after >= deadline, "returned {} ns early", deadline - after);
        }
    }

    #[test]
    fn a_far_deadline_is_cut_to_the_bound() {
        let start = now_nanos();
        land_at(start + 10_000_000_000);
        let took = now_nanos() - start;
        assert!((MAX_NANOS..MAX_NANOS + 200_000_000).contains(&took), "took {took} ns");
    }
}
