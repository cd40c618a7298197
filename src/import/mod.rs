//! `faultline import`: experiments written for other tools (ChaosBlade commands, Chaos Mesh
//! `JVMChaos` resources) turned into a scenario. What has no faithful equivalent is refused
//! with the reason and what to write instead ([`UsageError`], exit 2); a difference in
//! behaviour that the user must know is written as a comment above the fault, never left
//! silent.

pub mod chaos_mesh;
pub mod chaosblade;

use faultline_model::scenario::Scenario;

use crate::usage::UsageError;

pub use chaos_mesh::{chaos_mesh, chaos_mesh_file};
pub use chaosblade::chaosblade;

/// One `[[fault]]` table being written: comment lines, then keys in the order they were set.
#[derive(Default)]
struct Fault {
    comments: Vec<String>,
    keys: Vec<(&'static str, String)>,
}

impl Fault {
    fn new(kind: &str) -> Fault {
        let mut f = Fault::default();
        f.text("kind", kind);
        f
    }

    /// A key whose value is already TOML (a number, a boolean).
    fn raw(&mut self, key: &'static str, toml: impl Into<String>) {
        self.keys.push((key, toml.into()));
    }

    fn text(&mut self, key: &'static str, value: &str) {
        self.raw(key, toml_string(value));
    }

    fn note(&mut self, line: impl Into<String>) {
        self.comments.push(line.into());
    }

    fn has(&self, key: &str) -> bool {
        self.keys.iter().any(|(k, _)| *k == key)
    }
}

/// A TOML string literal: a literal string ('...') when that needs no escape, as regular
/// expressions read best that way; a basic string otherwise.
fn toml_string(value: &str) -> String {
    if !value.contains('\'') && !value.chars().any(char::is_control) {
        format!("'{value}'")
    } else {
        toml::Value::String(value.to_string()).to_string()
    }
}

/// Milliseconds as a scenario duration.
fn millis(ms: u64) -> String {
    toml_string(&format!("{ms}ms"))
}

/// Writes the scenario and checks it by the rules `faultline check` applies. A value from the
/// input that faultline's ranges refuse is the user's to change (exit 2); any other failure is
/// our bug, not the user's: an internal error (exit 1).
fn render(header: &[String], faults: &[Fault]) -> anyhow::Result<String> {
    let mut out = String::new();
    for line in header {
        push_comment(&mut out, line);
    }
    for fault in faults {
        out.push('\n');
        for line in &fault.comments {
            push_comment(&mut out, line);
        }
        out.push_str("[[fault]]\n");
        for (key, value) in &fault.keys {
            out.push_str(&format!("{key} = {value}\n"));
        }
    }
    if let Err(e) = Scenario::parse(&out, "imported scenario") {
        // Keys holding values we chose are ours to get right; any other key holds a value
        // from the input that faultline's own ranges refuse (a count past its limit, say).
        if let Some(key) = e.key.as_deref().filter(|k| !OUR_VALUES.contains(k)) {
            return Err(refuse(format!(
                "the experiment's value for faultline's key '{key}' does not fit: {}; change it in the experiment \
                 and import again",
                e.message
            )));
        }
        anyhow::bail!(
            "internal error: the imported scenario does not pass faultline's own checks ({e}); please report \
             this with the input. The scenario was:\n{out}"
        );
    }
    Ok(out)
}

/// The keys whose values the import writes itself, never copied from the input.
const OUR_VALUES: &[&str] = &["kind", "preset", "fill", "load", "at", "state"];

/// A comment that stays one comment, whatever the input text holds (TOML allows no control
/// character but tab in a comment: the others are written escaped).
fn push_comment(out: &mut String, line: &str) {
    for part in line.split(['\n', '\r']) {
        out.push_str("# ");
        for c in part.chars() {
            if c.is_control() && c != '\t' {
                out.extend(c.escape_default());
            } else {
                out.push(c);
            }
        }
        out.push('\n');
    }
}

/// Refuses the input: bad usage (exit 2), with the reason and what to write instead.
fn refuse(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::from(UsageError(message.into()))
}

/// A fault id by faultline's rules (letters, digits, `_.-`, starting with a letter or digit,
/// at most 64): other characters become `-`. `None` when nothing usable is left.
fn sanitise_id(name: &str) -> Option<String> {
    let mapped: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || "_.-".contains(c) { c } else { '-' }).collect();
    let trimmed = mapped.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
    let id: String = trimmed.chars().take(64).collect();
    (!id.is_empty()).then_some(id)
}

/// A glob matches `*` and `?` specially: a value holding them cannot be matched literally.
fn literal_for_glob(flag: &str, value: &str) -> anyhow::Result<String> {
    if value.contains(['*', '?']) {
        return Err(refuse(format!(
            "{flag} '{value}' holds '*' or '?', which faultline's globs read as wildcards, while the source compares \
             the text literally; write the fault by hand with the glob you mean"
        )));
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_keep_allowed_characters_and_replace_the_rest() {
        assert_eq!(sanitise_id("return").as_deref(), Some("return"));
        assert_eq!(sanitise_id("my chaos/1").as_deref(), Some("my-chaos-1"));
        assert_eq!(sanitise_id("-x").as_deref(), Some("x"));
        assert_eq!(sanitise_id("---"), None);
        assert_eq!(sanitise_id(&"a".repeat(80)).map(|s| s.len()), Some(64));
    }

    #[test]
    fn strings_are_literal_when_they_can_be() {
        assert_eq!(toml_string(r"(?i)\borders\b"), r"'(?i)\borders\b'");
        assert_eq!(toml_string("it's"), "\"it's\"");
    }

    #[test]
    fn comments_cannot_break_out_of_their_line() {
        let mut out = String::new();
        push_comment(&mut out, "a\n[[fault]]");
        assert_eq!(out, "# a\n# [[fault]]\n");
    }
}
