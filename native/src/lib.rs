//! faultline's JVMTI agent: rewrites the entry of targeted methods to call a small hook
//! class, which injects latency, exceptions and hangs. With no fault armed, no class is
//! touched and the JVM runs its original bytecode.
//!
//! Layout: `entry` (the JVM's doors and event callbacks), `agent` (arm, stop, status),
//! `lease` (the thread that expires faults and rewrites late subtypes), `sites`
//! (instrumented methods and their faults), `class_match` (finding loaded classes),
//! `modules` (module reads and opens for the hook), `transform` (which methods to
//! rewrite), `classfile` (the rewriter itself), `hook` and `hook_natives` (the Java hook
//! classes and their natives), `landing` (the last stretch of a latency wait), `java_api`
//! (the in-process API's natives), `control` (the CLI's socket), `events` (outcomes),
//! `jvmti` (raw JVMTI calls), `guard`, `options`.

pub mod agent;
mod class_match;
pub mod classfile;
pub mod control;
pub mod entry;
pub mod events;
pub mod guard;
pub mod hook;
pub mod hook_natives;
pub mod java_api;
pub mod jvmti;
mod landing;
mod lease;
mod modules;
pub mod options;
pub mod pools;
pub mod sites;
pub mod transform;
