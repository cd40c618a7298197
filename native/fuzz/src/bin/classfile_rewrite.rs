//! Fuzz target: the class-file reader and rewriter on one input (a plan byte and a class
//! file), checked by `faultline_agent::classfile::fuzz_check`. A broken property, a panic or
//! an allocation beyond the limit aborts, which AFL++ records as a crash; a run past AFL++'s
//! time limit is recorded as a hang.

use faultline_agent::classfile::fuzz_check;
use peak_alloc::PeakAlloc;

#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

fn main() {
    afl::fuzz!(|input: &[u8]| {
        ALLOCATOR.reset_peak_usage();
        let before = ALLOCATOR.current_usage();
        if let Err(broken) = fuzz_check::check(input) {
            panic!("property broken: {broken}");
        }
        let peak = ALLOCATOR.peak_usage().saturating_sub(before);
        let limit = fuzz_check::allocation_limit(input.len());
        assert!(peak <= limit, "allocated {peak} bytes at once for a {}-byte input (limit {limit})", input.len());
    });
}
