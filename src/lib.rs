//! The `faultline` CLI: find JVMs and attach to them (`attach`), talk to the agent inside
//! (`client`), the verbs (`commands`) and chaos drills (`drill`). The model it shares with
//! the agent (scenarios, targets, durations, the control protocol) is `faultline_model`.

pub mod attach;
pub mod client;
pub mod commands;
pub mod drill;
pub mod import;
pub mod usage;
