//! The lease thread: ends faults whose duration ran out and rewrites `Class+` subtypes
//! prepared after arming (retransforming from inside the ClassPrepare event is not safe).
//! It starts on demand and exits when no fault is armed.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use jni::objects::GlobalRef;

use super::{Agent, Removal};
use crate::guard;
use crate::sync::Locked;

/// The lease thread's shared state and the condition variable that wakes it.
#[derive(Default)]
pub(crate) struct LeaseWorker {
    state: Mutex<WorkerState>,
    wake: Condvar,
}

#[derive(Default)]
struct WorkerState {
    running: bool,
    prepared: Vec<GlobalRef>,
    /// Arming calls in progress that will need the thread: it stays while any does.
    holds: usize,
}

/// Keeps the lease thread alive while faults with a lease are being armed (see
/// [`LeaseWorker::hold`]); released on drop.
pub(crate) struct LeaseHold(&'static LeaseWorker);

impl Drop for LeaseHold {
    fn drop(&mut self) {
        self.0.state.locked().holds -= 1;
        self.0.wake.notify_all();
    }
}

impl LeaseWorker {
    /// Starts the thread unless it runs already. `agent` is the agent that owns this worker.
    pub(crate) fn ensure_running(&'static self, agent: &'static Agent) {
        if let Err(e) = self.start(agent) {
            eprintln!("faultline: cannot start the lease thread ({e}); fault durations will not be enforced");
        }
    }

    /// The thread running, kept until the hold is dropped: taken before faults with a lease
    /// are armed, so the lease is enforced even when arming leaves the process no room for a
    /// new thread (a threads fault at the operating system's limit). An error when the
    /// thread cannot be started: such faults must not be armed.
    pub(crate) fn hold(&'static self, agent: &'static Agent) -> std::io::Result<LeaseHold> {
        self.state.locked().holds += 1;
        let hold = LeaseHold(self);
        self.start(agent)?;
        Ok(hold)
    }

    fn start(&'static self, agent: &'static Agent) -> std::io::Result<()> {
        let mut state = self.state.locked();
        if state.running {
            return Ok(());
        }
        state.running = true;
        let spawned = std::thread::Builder::new().name("faultline-leases".into()).spawn(move || self.run(agent));
        if let Err(e) = spawned {
            state.running = false;
            return Err(e);
        }
        Ok(())
    }

    /// Hands a just-prepared class to the thread for retransformation, and wakes it.
    pub(crate) fn queue_prepared(&'static self, agent: &'static Agent, class: GlobalRef) {
        self.state.locked().prepared.push(class);
        self.ensure_running(agent);
        self.wake.notify_all();
    }

    /// Ends faults whose lease ran out and rewrites late-loaded subtypes. Exits when no
    /// fault is armed, so an idle agent has no thread of its own in the JVM.
    fn run(&self, agent: &'static Agent) {
        let mut env = match agent.vm.attach_current_thread_as_daemon() {
            Ok(env) => env,
            Err(e) => {
                eprintln!("faultline: lease thread cannot attach to the JVM: {e}");
                self.state.locked().running = false;
                return;
            }
        };
        loop {
            let prepared = std::mem::take(&mut self.state.locked().prepared);
            if !prepared.is_empty() {
                agent.retransform(&mut env, &prepared);
            }
            let now = Instant::now();
            let table = agent.table();
            let due: Vec<String> =
                table.iter().filter(|f| f.deadline.is_some_and(|d| d <= now)).map(|f| f.spec.id.clone()).collect();
            if !due.is_empty() {
                let result = guard::with(|| agent.stop(&mut env, &due, Removal::Expired, true));
                if let Err(e) = result {
                    tracing::debug!("expiring {due:?}: {e}");
                }
                continue;
            }
            let next = table.iter().filter_map(|f| f.deadline).min();
            let state = self.state.locked();
            if table.is_empty() && state.prepared.is_empty() && state.holds == 0 {
                let mut state = state;
                state.running = false;
                return;
            }
            let wait = next.map(|d| d.saturating_duration_since(now)).unwrap_or(Duration::from_secs(1));
            let wait = wait.clamp(Duration::from_millis(1), Duration::from_secs(1));
            let _unused = self.wake.wait_timeout(state, wait);
        }
    }
}
