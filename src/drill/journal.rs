//! The drill's journal: one JSON object per line, every record stamped with its wall-clock
//! time (`time`, RFC 3339 UTC) and its offset from the drill's start (`t_ms`). The report and
//! `summary.json` are computed from this file alone.
//!
//! Record types (`type`): `drill` (the plan, first line), `targets`, `phase_start`,
//! `phase_end`, `fault_armed`, `fault_removed`, `agent_event` (injections and the agents' own
//! armed/removed/expired events), `request` (one per request outcome), `window` (the
//! hypothesis judged over a sliding window), `alarm` (a change of firing state), `baseline`,
//! `abort`, `stop` (why the drill ended early), `cleanup`, `end`.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde_json::{Map, Value};

pub const FILE: &str = "journal.jsonl";

pub struct Journal {
    out: BufWriter<File>,
    start: Instant,
    start_wall: SystemTime,
}

impl Journal {
    pub fn create(dir: &Path, start: Instant, start_wall: SystemTime) -> Result<Journal> {
        let path = dir.join(FILE);
        let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Journal { out: BufWriter::new(file), start, start_wall })
    }

    /// Appends a record stamped now.
    pub fn write(&mut self, kind: &str, fields: Value) -> Result<()> {
        let t = self.start.elapsed();
        self.write_at(kind, t, fields)
    }

    /// Appends a record stamped at `t` after the start (for outcomes measured earlier).
    pub fn write_at(&mut self, kind: &str, t: Duration, fields: Value) -> Result<()> {
        let mut record = Map::new();
        record.insert("type".into(), Value::from(kind));
        record.insert("time".into(), Value::from(rfc3339(self.start_wall + t)));
        record.insert("t_ms".into(), Value::from(round3(t.as_secs_f64() * 1000.0)));
        if let Value::Object(more) = fields {
            record.extend(more);
        }
        writeln!(self.out, "{}", Value::Object(record)).context("writing the journal")
    }

    /// Pushes what is buffered to the file: done at every phase boundary and every second, so
    /// that a `kill -9` loses at most a second of records.
    pub fn flush(&mut self) -> Result<()> {
        self.out.flush().context("writing the journal")
    }
}

/// Every record of a journal, in order. A torn last line (the CLI killed mid-write) is skipped.
pub fn read(dir: &Path) -> Result<Vec<Value>> {
    let path = dir.join(FILE);
    let file = File::open(&path).with_context(|| format!("opening {}", path.display()))?;
    let mut records = Vec::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(&line) {
            Ok(v) => records.push(v),
            Err(_) => eprintln!("faultline: {}:{}: skipping a malformed record", path.display(), n + 1),
        }
    }
    if records.first().and_then(|r| r["type"].as_str()) != Some("drill") {
        anyhow::bail!("{} does not start with a drill record: not a drill journal", path.display());
    }
    Ok(records)
}

pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// `2026-11-24T10:00:01.123Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, day) = civil_from_days(days);
    format!("{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z", rem / 3600, rem % 3600 / 60, rem % 60, d.subsec_millis())
}

/// Milliseconds since the epoch of an RFC 3339 UTC time as the agent writes it
/// (`2026-11-24T10:00:01.123456Z`); None for anything else.
pub fn parse_rfc3339_ms(text: &str) -> Option<f64> {
    let (date, time) = text.strip_suffix('Z')?.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let mut t = time.split(':');
    let (h, min) = (t.next()?.parse::<i64>().ok()?, t.next()?.parse::<i64>().ok()?);
    let s: f64 = t.next()?.parse().ok()?;
    let days = days_from_civil(y, m, day);
    Some(((days * 86_400 + h * 3600 + min * 60) as f64 + s) * 1000.0)
}

/// Milliseconds since the epoch.
pub fn epoch_ms(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64() * 1000.0
}

// Howard Hinnant's civil calendar algorithms: exact for the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_utc_with_millis() {
        let t = UNIX_EPOCH + Duration::from_millis(1_795_000_000_123);
        assert_eq!(rfc3339(t), "2026-11-18T11:06:40.123Z");
    }

    #[test]
    fn agent_times_parse_back_to_epoch_millis() {
        let ms = parse_rfc3339_ms("2026-11-18T11:06:40.123456Z").unwrap();
        assert!((ms - 1_795_000_000_123.456).abs() < 0.01, "{ms}");
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(parse_rfc3339_ms("yesterday"), None);
    }

    #[test]
    fn records_carry_type_time_and_offset() {
        let dir = std::env::temp_dir().join(format!("faultline-journal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut j = Journal::create(&dir, Instant::now(), SystemTime::now()).unwrap();
        j.write("drill", serde_json::json!({"name": "x"})).unwrap();
        j.write_at("request", Duration::from_millis(1500), serde_json::json!({"ms": 3.0})).unwrap();
        j.flush().unwrap();
        let records = read(&dir).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[1]["type"], "request");
        assert_eq!(records[1]["t_ms"], 1500.0);
        assert!(records[0]["time"].as_str().unwrap().ends_with('Z'));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
