//! TOML tables read key by key with their line numbers, so that every error about a file
//! names the file, the line and the key. Scenario files and drill files both read through
//! this module.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use toml::{Spanned, Value};

use crate::duration::parse_duration;
use crate::spelling::suggestion;

/// Why a scenario or drill file was rejected, located as precisely as possible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// File path or `<inline>`.
    pub origin: String,
    /// 1-based line, when the problem is at one place in the text.
    pub line: Option<usize>,
    /// The key at fault, when there is one.
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    /// `slow-db.toml:12: key 'delay': invalid duration ...`, the shape
    /// compilers use, so editors and terminals can jump to the line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": key '{key}'")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ScenarioError {}

/// A table as the toml crate gives it with spans: keys and values keep their byte offsets.
pub type RawTable = BTreeMap<Spanned<String>, Spanned<Value>>;

/// The text being read, for turning byte offsets into located errors.
pub struct Source<'a> {
    pub text: &'a str,
    pub origin: &'a str,
}

impl<'a> Source<'a> {
    /// 1-based line of a byte offset.
    pub fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        1 + self.text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count()
    }

    pub fn error(&self, line: Option<usize>, key: Option<&str>, message: String) -> ScenarioError {
        ScenarioError { origin: self.origin.to_string(), line, key: key.map(str::to_string), message }
    }

    /// A TOML syntax error, located by the toml crate's span and flattened to one line.
    pub fn syntax_error(&self, e: &toml::de::Error) -> ScenarioError {
        let line = e.span().map(|span| self.line(span.start));
        let message = e.message().trim().replace('\n', "; ");
        self.error(line, None, format!("invalid TOML: {message}"))
    }

    /// The keys of `table` in file order. `name` prefixes keys in errors (`load` makes
    /// `rate` read `load.rate`); `header` is the line where missing keys are reported.
    pub fn table(&'a self, table: RawTable, name: Option<&str>, header: usize) -> Table<'a> {
        let mut entries: Vec<Entry> = table
            .into_iter()
            .map(|(key, value)| Entry {
                offset: key.span().start,
                line: self.line(key.span().start),
                key: key.into_inner(),
                value: value.into_inner(),
            })
            .collect();
        entries.sort_by_key(|entry| entry.offset);
        Table { source: self, name: name.map(str::to_string), header, entries }
    }

    /// As [`Source::table`], with the header line taken from the table's span.
    pub fn spanned_table(&'a self, table: Spanned<RawTable>, name: Option<&str>) -> Table<'a> {
        let header = self.line(table.span().start);
        self.table(table.into_inner(), name, header)
    }
}

/// One `key = value` of a table.
pub struct Entry {
    pub key: String,
    pub value: Value,
    pub line: usize,
    offset: usize,
}

/// The keys of one table, with typed, located accessors.
pub struct Table<'a> {
    source: &'a Source<'a>,
    name: Option<String>,
    /// Line of the table's header, where missing keys are reported.
    pub header: usize,
    pub entries: Vec<Entry>,
}

impl Table<'_> {
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|entry| entry.key == key)
    }

    /// The key as errors show it: `load.rate` in the `[load]` table.
    fn dotted(&self, key: &str) -> String {
        match &self.name {
            Some(name) => format!("{name}.{key}"),
            None => key.to_string(),
        }
    }

    /// An error on a line of this table, about `key` when given.
    pub fn error(&self, line: usize, key: Option<&str>, message: impl Into<String>) -> ScenarioError {
        self.source.error(Some(line), key.map(|k| self.dotted(k)).as_deref(), message.into())
    }

    /// An error about a key that is present, on the key's line.
    pub fn error_at(&self, key: &str, message: impl Into<String>) -> ScenarioError {
        let line = self.get(key).map_or(self.header, |entry| entry.line);
        self.error(line, Some(key), message)
    }

    /// An error about a key that is missing, on the header's line.
    pub fn missing(&self, key: &str, what: &str) -> ScenarioError {
        self.error(self.header, Some(key), format!("missing, and required: {what}"))
    }

    pub fn wrong_type(&self, entry: &Entry, expected: &str) -> ScenarioError {
        self.error_at(&entry.key, format!("expected {expected}, found {}", type_name(&entry.value)))
    }

    /// The first key not in `known`, as an error that suggests the closest valid key.
    pub fn check_known_keys(&self, known: &[&str]) -> Result<(), ScenarioError> {
        match self.entries.iter().find(|entry| !known.contains(&entry.key.as_str())) {
            Some(entry) => Err(self.error_at(&entry.key, unknown_key(&entry.key, known, known))),
            None => Ok(()),
        }
    }

    pub fn string(&self, key: &str) -> Result<Option<(&Entry, &str)>, ScenarioError> {
        match self.get(key) {
            None => Ok(None),
            Some(entry) => match &entry.value {
                Value::String(text) => Ok(Some((entry, text))),
                _ => Err(self.wrong_type(entry, "a string")),
            },
        }
    }

    pub fn non_empty_string(&self, key: &str) -> Result<Option<String>, ScenarioError> {
        match self.string(key)? {
            Some((entry, "")) => Err(self.error_at(&entry.key, "must not be empty")),
            other => Ok(other.map(|(_, text)| text.to_string())),
        }
    }

    pub fn required_string(&self, key: &str, what: &str) -> Result<String, ScenarioError> {
        self.non_empty_string(key)?.ok_or_else(|| self.missing(key, what))
    }

    pub fn string_list(&self, entry: &Entry) -> Result<Vec<String>, ScenarioError> {
        match &entry.value {
            Value::Array(items) => items
                .iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s.clone()),
                    Value::Integer(n) => Err(self.error_at(
                        &entry.key,
                        format!("expected strings only, found the number {n}; quote it: \"{n}\""),
                    )),
                    other => {
                        Err(self.error_at(&entry.key, format!("expected strings only, found {}", type_name(other))))
                    }
                })
                .collect(),
            _ => Err(self.wrong_type(entry, "an array of strings")),
        }
    }

    pub fn duration(&self, key: &str) -> Result<Option<Duration>, ScenarioError> {
        let Some(entry) = self.get(key) else {
            return Ok(None);
        };
        let Value::String(text) = &entry.value else {
            return Err(self.wrong_type(entry, "a string with a unit, such as \"200ms\""));
        };
        parse_duration(text).map(Some).map_err(|message| self.error_at(key, message))
    }

    /// A duration where zero would be meaningless.
    pub fn positive_duration(&self, key: &str) -> Result<Option<Duration>, ScenarioError> {
        match self.duration(key)? {
            Some(d) if d.is_zero() => Err(self.error_at(key, "must be greater than zero")),
            other => Ok(other),
        }
    }

    /// An integer or a float (`1` is as natural to write as `1.0`).
    pub fn number(&self, key: &str, expected: &str) -> Result<Option<f64>, ScenarioError> {
        match self.get(key) {
            None => Ok(None),
            Some(Entry { value: Value::Float(x), .. }) => Ok(Some(*x)),
            Some(Entry { value: Value::Integer(n), .. }) => Ok(Some(*n as f64)),
            Some(entry) => Err(self.wrong_type(entry, expected)),
        }
    }

    pub fn boolean(&self, key: &str) -> Result<Option<bool>, ScenarioError> {
        match self.get(key) {
            None => Ok(None),
            Some(Entry { value: Value::Boolean(b), .. }) => Ok(Some(*b)),
            Some(entry) => Err(self.wrong_type(entry, "true or false")),
        }
    }

    /// An inline table of strings, such as `labels = { service = "checkout" }`.
    pub fn string_map(&self, key: &str) -> Result<Option<std::collections::BTreeMap<String, String>>, ScenarioError> {
        let Some(entry) = self.get(key) else {
            return Ok(None);
        };
        let Value::Table(table) = &entry.value else {
            return Err(self.wrong_type(entry, "a table of strings, e.g. { service = \"checkout\" }"));
        };
        table
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                other => Err(self
                    .error_at(key, format!("expected strings only, found {} for {k:?}; quote it", type_name(other)))),
            })
            .collect::<Result<_, _>>()
            .map(Some)
    }

    pub fn count(&self, key: &str) -> Result<Option<u64>, ScenarioError> {
        let Some(entry) = self.get(key) else {
            return Ok(None);
        };
        match entry.value {
            Value::Integer(n) => u64::try_from(n)
                .map(Some)
                .map_err(|_| self.error_at(key, format!("expected a non-negative integer, found {n}"))),
            _ => Err(self.wrong_type(entry, "a non-negative integer")),
        }
    }
}

/// "unknown key 'dealy' (did you mean 'delay'?); valid keys are ..."
pub fn unknown_key(key: &str, shown: &[&str], candidates: &[&str]) -> String {
    format!("unknown key{}; valid keys are {}", suggestion(key, candidates), shown.join(", "))
}

/// The TOML type of a value, with its article, for "found ..." messages.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date-time",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}
