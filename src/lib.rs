//! faultline's shared model: scenarios, faults, target patterns and durations.
//! The native agent and the CLI both use this crate, so there is one parser.

#[cfg(feature = "cli")]
pub mod attach;
#[cfg(feature = "cli")]
pub mod client;
#[cfg(feature = "cli")]
pub mod commands;
#[cfg(feature = "cli")]
pub mod drill;
pub mod duration;
pub mod scenario;
pub mod target;
mod toml_table;
