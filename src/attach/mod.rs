//! Attaching to a running HotSpot JVM without JDK tools: find it (`ps`), learn about it
//! (`proc`, `jdk`), and speak its attach protocol (`hotspot`).
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! use faultline::attach::{hotspot, ps};
//! let jvm = ps::resolve("com.acme.Main")?;
//! let reply = hotspot::attach_agent(&jvm.info, "target/release/libfaultline_agent.so".as_ref(), "", hotspot::DEFAULT_TIMEOUT)?;
//! # Ok(()) }
//! ```

pub mod hotspot;
pub mod jdk;
pub mod proc;
pub mod ps;

#[cfg(test)]
mod jvm_tests;

pub use hotspot::{attach_agent, execute, load_agent, place_agent, DEFAULT_TIMEOUT};
pub use jdk::jdk_version;
pub use proc::{process, ProcessInfo};
pub use ps::{dynamic_agent_warning, list_jvms, resolve, Jvm};
