//! This crate has no code: its build script builds the Java artifacts shipped beside the
//! agent library (`faultline-agent.jar`, `faultline-junit.jar`, `faultline-demo.jar`) into
//! `target/<profile>/`. See `build.rs`.
