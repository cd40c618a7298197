//! faultline's model, shared by the agent and the CLI: scenarios (`scenario`), target
//! patterns (`target`), presets (`preset`), resource faults (`resource`), conditions (`condition`), return values (`returns`), durations
//! (`duration`) and the control protocol (`protocol`), with
//! the TOML reading that names file, line and key in every error (`toml_table`, `spelling`).
//! Nothing here touches a JVM, a socket or a terminal.

pub mod condition;
pub mod duration;
pub mod preset;
pub mod protocol;
pub mod resource;
pub mod returns;
pub mod scenario;
pub mod spelling;
pub mod target;
pub mod toml_table;
