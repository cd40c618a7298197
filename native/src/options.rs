//! Agent options: `key=value` pairs separated by commas, the same for `-agentpath:`,
//! `-javaagent:`, attach and the in-process API.

use std::path::PathBuf;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct AgentOptions {
    /// A scenario file to arm as soon as the JVM is ready.
    pub scenario: Option<PathBuf>,
    /// Where events are appended as JSON Lines.
    pub events: Option<PathBuf>,
}

const KEYS: &str = "scenario, events";

pub fn parse(text: &str) -> Result<AgentOptions, String> {
    let mut options = AgentOptions::default();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(format!("option '{pair}' has no value: write key=value (valid keys: {KEYS})"));
        };
        let value = value.trim();
        if value.is_empty() {
            return Err(format!("option '{key}' has an empty value"));
        }
        match key.trim() {
            "scenario" => options.scenario = Some(PathBuf::from(value)),
            "events" => options.events = Some(PathBuf::from(value)),
            other => return Err(format!("unknown option '{other}' (valid keys: {KEYS})")),
        }
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_options_load_the_agent_idle() {
        assert_eq!(parse("").unwrap(), AgentOptions::default());
    }

    #[test]
    fn scenario_and_events_are_read() {
        let o = parse("scenario=/etc/f.toml,events=/var/log/f.jsonl").unwrap();
        assert_eq!(o.scenario, Some(PathBuf::from("/etc/f.toml")));
        assert_eq!(o.events, Some(PathBuf::from("/var/log/f.jsonl")));
    }

    #[test]
    fn unknown_key_names_the_valid_ones() {
        let err = parse("scenaro=x").unwrap_err();
        assert!(err.contains("unknown option 'scenaro'") && err.contains("scenario, events"), "{err}");
    }

    #[test]
    fn pair_without_value_is_an_error() {
        assert!(parse("scenario").unwrap_err().contains("has no value"));
    }
}
