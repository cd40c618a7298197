//! Resource faults: the JVM as a whole (heap, CPU, threads, GC, metaspace, direct memory,
//! exit) rather than calls of methods. Each is aimed at nothing, takes no per-call keys, and
//! is released at once on stop or when its lease ends. Sizes are written as people write
//! them for the JVM (`"256MB"`, `"1.5GB"`, `"512KB"`: binary units, as `-Xmx256m` means).

use std::fmt;
use std::time::Duration;

use crate::duration::format_duration;

/// One resource fault, with its settings.
#[derive(Debug, Clone, PartialEq)]
pub enum Resource {
    /// Hold live data until this fraction of the maximum heap is in use (application data
    /// included), giving it back before the application could run out.
    Heap { fill: f64 },
    /// Busy threads at a duty cycle; `cores` None means the JVM's available processors.
    Cpu { cores: Option<u32>, load: f64 },
    /// Threads started and held until the fault ends.
    Threads { count: u32, state: ThreadState },
    /// A full collection this often.
    Gc { every: Duration },
    /// Classes defined (in loaders of their own, unloadable) until this much metaspace is taken.
    Metaspace { size: u64 },
    /// Direct (off-heap) buffers held, freed at once on stop.
    Direct { size: u64 },
    /// The JVM ends with this code.
    Exit { code: i32, mode: ExitMode },
}

/// What held threads do while held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ThreadState {
    /// Parked: they take memory and a thread slot, no CPU.
    #[default]
    Waiting,
    /// Runnable, spinning: they also compete for the CPU, as a runaway pool does.
    Running,
}

impl ThreadState {
    pub const NAMES: [&'static str; 2] = ["waiting", "running"];

    pub fn as_str(self) -> &'static str {
        match self {
            ThreadState::Waiting => "waiting",
            ThreadState::Running => "running",
        }
    }

    pub fn parse(text: &str) -> Option<ThreadState> {
        match text {
            "waiting" => Some(ThreadState::Waiting),
            "running" => Some(ThreadState::Running),
            _ => None,
        }
    }
}

/// How an exit fault ends the JVM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExitMode {
    /// `System.exit`: shutdown hooks run, as for an orderly stop.
    #[default]
    Exit,
    /// `Runtime.halt`: no shutdown hook runs, as for a crash or a kill.
    Halt,
}

impl ExitMode {
    pub const NAMES: [&'static str; 2] = ["exit", "halt"];

    pub fn as_str(self) -> &'static str {
        match self {
            ExitMode::Exit => "exit",
            ExitMode::Halt => "halt",
        }
    }

    pub fn parse(text: &str) -> Option<ExitMode> {
        match text {
            "exit" => Some(ExitMode::Exit),
            "halt" => Some(ExitMode::Halt),
            _ => None,
        }
    }
}

/// The resource kinds, as written in `kind = "..."`.
pub const KINDS: [&str; 7] = ["heap", "cpu", "threads", "gc", "metaspace", "direct", "exit"];

/// The keys of each resource kind (besides `id`, `kind`, `duration`).
pub fn keys_of(kind: &str) -> &'static [&'static str] {
    match kind {
        "heap" => &["fill"],
        "cpu" => &["cores", "load"],
        "threads" => &["count", "state"],
        "gc" => &["every"],
        "metaspace" | "direct" => &["size"],
        "exit" => &["code", "mode"],
        _ => &[],
    }
}

/// Every key some resource kind takes.
pub const ALL_KEYS: [&str; 8] = ["fill", "cores", "load", "count", "state", "every", "size", "code"];

/// The most busy threads a `cpu` fault starts.
pub const MAX_CORES: u32 = 4096;

/// The shortest `every` of a `gc` fault.
pub const MIN_GC_EVERY: Duration = Duration::from_millis(100);

/// The smallest `size` of a metaspace or direct fault.
pub const MIN_SIZE: u64 = 1 << 10;

/// The most threads a `threads` fault starts: beyond it a typo (an extra zero) would end
/// in the operating system's limit for every thread of the machine's user.
pub const MAX_THREADS: u32 = 100_000;

impl Resource {
    pub fn kind(&self) -> &'static str {
        match self {
            Resource::Heap { .. } => "heap",
            Resource::Cpu { .. } => "cpu",
            Resource::Threads { .. } => "threads",
            Resource::Gc { .. } => "gc",
            Resource::Metaspace { .. } => "metaspace",
            Resource::Direct { .. } => "direct",
            Resource::Exit { .. } => "exit",
        }
    }

    /// The settings as `key, value` text pairs, in the kind's key order: what the agent hands
    /// to the Java side (durations in nanoseconds, sizes in bytes), and `to_toml`'s values.
    pub fn key_values(&self) -> Vec<(&'static str, String)> {
        match self {
            Resource::Heap { fill } => vec![("fill", fill.to_string())],
            Resource::Cpu { cores, load } => {
                let mut out = Vec::new();
                if let Some(cores) = cores {
                    out.push(("cores", cores.to_string()));
                }
                out.push(("load", load.to_string()));
                out
            }
            Resource::Threads { count, state } => {
                vec![("count", count.to_string()), ("state", state.as_str().to_string())]
            }
            Resource::Gc { every } => vec![("every", every.as_nanos().to_string())],
            Resource::Metaspace { size } | Resource::Direct { size } => vec![("size", size.to_string())],
            Resource::Exit { code, mode } => vec![("code", code.to_string()), ("mode", mode.as_str().to_string())],
        }
    }

    /// The settings as events and `status` show them: numbers as numbers, durations and sizes
    /// as written (`"2s"`, `"128MB"`).
    pub fn json_pairs(&self) -> Vec<(&'static str, serde_json::Value)> {
        use serde_json::Value;
        match self {
            Resource::Heap { fill } => vec![("fill", (*fill).into())],
            Resource::Cpu { cores, load } => {
                let mut out = Vec::new();
                if let Some(cores) = cores {
                    out.push(("cores", (*cores).into()));
                }
                out.push(("load", (*load).into()));
                out
            }
            Resource::Threads { count, state } => vec![("count", (*count).into()), ("state", state.as_str().into())],
            Resource::Gc { every } => vec![("every", Value::String(format_duration(*every)))],
            Resource::Metaspace { size } | Resource::Direct { size } => {
                vec![("size", Value::String(format_size(*size)))]
            }
            Resource::Exit { code, mode } => vec![("code", (*code).into()), ("mode", mode.as_str().into())],
        }
    }

    /// The settings as TOML `key = value` pairs that parse back to this resource.
    pub fn toml_pairs(&self) -> Vec<(&'static str, String)> {
        let quoted = |s: &str| toml::Value::String(s.to_string()).to_string();
        match self {
            Resource::Heap { fill } => vec![("fill", toml::Value::Float(*fill).to_string())],
            Resource::Cpu { cores, load } => {
                let mut out = Vec::new();
                if let Some(cores) = cores {
                    out.push(("cores", cores.to_string()));
                }
                out.push(("load", toml::Value::Float(*load).to_string()));
                out
            }
            Resource::Threads { count, state } => vec![("count", count.to_string()), ("state", quoted(state.as_str()))],
            Resource::Gc { every } => vec![("every", quoted(&format_duration(*every)))],
            Resource::Metaspace { size } | Resource::Direct { size } => vec![("size", quoted(&format_size(*size)))],
            Resource::Exit { code, mode } => vec![("code", code.to_string()), ("mode", quoted(mode.as_str()))],
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Resource::Heap { fill } => write!(f, "heap fill {fill}"),
            Resource::Cpu { cores: Some(cores), load } => write!(f, "cpu {cores} cores at load {load}"),
            Resource::Cpu { cores: None, load } => write!(f, "cpu all cores at load {load}"),
            Resource::Threads { count, state } => write!(f, "threads {count} {}", state.as_str()),
            Resource::Gc { every } => write!(f, "gc every {}", format_duration(*every)),
            Resource::Metaspace { size } => write!(f, "metaspace {}", format_size(*size)),
            Resource::Direct { size } => write!(f, "direct {}", format_size(*size)),
            Resource::Exit { code, mode } => write!(f, "exit code {code} ({})", mode.as_str()),
        }
    }
}

const SIZE_EXAMPLES: &str = r#"(expected e.g. "256MB", "1.5GB", "512KB")"#;

/// Units of sizes, binary as the JVM's own flags (`-Xmx256m` is 256 MiB); `MiB` spellings too.
const SIZE_UNITS: [(&str, u64); 9] = [
    ("B", 1),
    ("KB", 1 << 10),
    ("KiB", 1 << 10),
    ("MB", 1 << 20),
    ("MiB", 1 << 20),
    ("GB", 1 << 30),
    ("GiB", 1 << 30),
    ("TB", 1 << 40),
    ("TiB", 1 << 40),
];

/// Parses a size such as `256MB`, `1.5GB` or `512KB` into bytes (binary units; a unit is
/// required, case-insensitive; decimals are allowed and rounded down to a byte).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let fail = |why: &str| Err(format!("invalid size {text:?}: {why} {SIZE_EXAMPLES}"));
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return fail("it is empty");
    }
    if trimmed.starts_with('-') {
        return fail("it is negative");
    }
    let number_len = trimmed.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(number_len);
    let unit = unit.trim();
    if number.is_empty() {
        return fail("it does not start with a number");
    }
    let Some((_, scale)) = SIZE_UNITS.iter().find(|(name, _)| name.eq_ignore_ascii_case(unit)) else {
        return if unit.is_empty() {
            fail("it has no unit (one of B, KB, MB, GB, TB)")
        } else {
            fail(&format!("unknown unit {unit:?} (one of B, KB, MB, GB, TB)"))
        };
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() || (number.contains('.') && fraction.is_empty()) || fraction.contains('.') {
        return fail("the number is not written like 256 or 1.5");
    }
    let whole: u64 = match whole.parse() {
        Ok(n) => n,
        Err(_) => return fail("the number is too large"),
    };
    let Some(mut bytes) = whole.checked_mul(*scale) else {
        return fail("it is too large");
    };
    // The fraction digit by digit, so 1.5GB is exactly 1.5 * 2^30.
    let mut place = *scale as u128;
    let mut part: u128 = 0;
    for digit in fraction.bytes() {
        place *= 10;
        part = part * 10 + u128::from(digit - b'0');
        if place > 1 << 100 {
            break;
        }
    }
    if !fraction.is_empty() {
        let extra = (part * *scale as u128) / 10u128.pow(fraction.len().min(30) as u32);
        bytes = match u64::try_from(extra).ok().and_then(|e| bytes.checked_add(e)) {
            Some(b) => b,
            None => return fail("it is too large"),
        };
    }
    Ok(bytes)
}

/// A size in the largest binary unit that shows it exactly (or to two decimals), such that
/// [`parse_size`] reads it back to the same bytes when it is exact.
pub fn format_size(bytes: u64) -> String {
    for (name, scale) in [("TB", 1u64 << 40), ("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)] {
        if bytes >= scale && bytes % scale == 0 {
            return format!("{}{name}", bytes / scale);
        }
    }
    for (name, scale) in [("GB", 1u64 << 30), ("MB", 1 << 20), ("KB", 1 << 10)] {
        if bytes >= scale && (bytes * 100) % scale == 0 {
            return format!("{}{name}", bytes as f64 / scale as f64);
        }
    }
    format!("{bytes}B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_in_binary_units() {
        assert_eq!(parse_size("256MB"), Ok(256 << 20));
        assert_eq!(parse_size("1.5GB"), Ok(3 << 29));
        assert_eq!(parse_size("512KB"), Ok(512 << 10));
        assert_eq!(parse_size("512kb"), Ok(512 << 10));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("100B"), Ok(100));
        assert_eq!(parse_size("0.25MB"), Ok(1 << 18));
    }

    #[test]
    fn bad_sizes_say_what_is_wrong() {
        let e = parse_size("256").unwrap_err();
        assert!(e.contains("no unit") && e.contains("\"256MB\""), "{e}");
        assert!(parse_size("256XB").unwrap_err().contains("unknown unit \"XB\""));
        assert!(parse_size("-1MB").unwrap_err().contains("negative"));
        assert!(parse_size("MB").unwrap_err().contains("does not start with a number"));
        assert!(parse_size("1.MB").unwrap_err().contains("not written like"));
        assert!(parse_size("99999999999TB").unwrap_err().contains("too large"));
    }

    #[test]
    fn sizes_format_back_to_the_same_bytes() {
        for bytes in [256u64 << 20, 3 << 29, 512 << 10, 100, 1 << 40, (1 << 20) + (1 << 19)] {
            let text = format_size(bytes);
            assert_eq!(parse_size(&text), Ok(bytes), "{text}");
        }
        assert_eq!(format_size(256 << 20), "256MB");
        assert_eq!(format_size(3 << 29), "1536MB");
        assert_eq!(format_size((1 << 30) + 1), "1073741825B");
    }
}
