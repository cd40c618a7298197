//! faultline's JVMTI agent: rewrites the entry of targeted methods to call a small hook
//! class, which injects latency, exceptions and hangs. With no fault armed, no class is
//! touched and the JVM runs its original bytecode.
//!
//! Layers, each using only those below it:
//! - `entry`: the doors into the agent (the JVM's load routes and JVMTI events, the hook's
//!   natives, the Java API, the CLI's socket), each behind a panic barrier;
//! - `agent`: arm, stop, status, and the one dispatcher of protocol requests;
//! - `instrument`: which classes and methods a fault reaches, and the class file hook's
//!   rewriting and site bindings; `classfile` is the rewriter itself;
//! - `boot`: the hook classes defined in the JVM, and the calls the agent makes on them;
//! - leaves: `ffi` (raw JVMTI and JNI, the panic barrier), `events`, `guard` (re-entry),
//!   `landing` (the last stretch of a latency wait), `options`, `sync`.

pub mod agent;
pub mod boot;
pub mod classfile;
mod entry;
pub mod events;
pub mod ffi;
pub mod guard;
pub mod instrument;
mod landing;
pub mod options;
pub mod sync;
