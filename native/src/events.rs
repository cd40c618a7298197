//! Fault outcomes: every arm, injection, removal and expiry becomes one JSON object.
//!
//! Application threads only format the line and hand it over: the file is written by a
//! background thread through a bounded queue, and when the queue is full the event is
//! counted as dropped instead of blocking the application. The most recent events are also
//! kept in memory for the in-process API and the CLI.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};

use crate::sync::Locked;
use serde_json::{Map, Value};

/// Events kept in memory; older ones are still in the events file.
const RECENT_CAPACITY: usize = 20_000;
/// Events waiting for the file writer before new ones are dropped.
const QUEUE_CAPACITY: usize = 65_536;

pub struct Event {
    pub fault: String,
    pub kind: String,
    pub fields: Map<String, Value>,
}

impl Event {
    pub fn new(fault: &str, kind: &str) -> Event {
        Event { fault: fault.to_string(), kind: kind.to_string(), fields: Map::new() }
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Event {
        self.fields.insert(key.to_string(), value.into());
        self
    }

    /// One JSON line: `time`, `fault` and `kind` first, then the kind's own fields.
    pub fn to_json(&self, time: SystemTime) -> String {
        let mut out = String::with_capacity(160);
        out.push_str("{\"time\":");
        out.push_str(&Value::from(humantime::format_rfc3339_micros(time).to_string()).to_string());
        out.push_str(",\"fault\":");
        out.push_str(&Value::from(self.fault.as_str()).to_string());
        out.push_str(",\"kind\":");
        out.push_str(&Value::from(self.kind.as_str()).to_string());
        for (key, value) in &self.fields {
            out.push(',');
            out.push_str(&Value::from(key.as_str()).to_string());
            out.push(':');
            out.push_str(&value.to_string());
        }
        out.push('}');
        out
    }
}

enum Message {
    Line(String),
    /// Answered once every line queued before it is written and flushed.
    Flush(Sender<()>),
}

struct Recent {
    lines: VecDeque<(String, String)>,
    /// Sequence number of the oldest line still held.
    first_seq: u64,
}

pub struct EventLog {
    recent: Mutex<Recent>,
    file: Mutex<Option<(PathBuf, Sender<Message>)>>,
    dropped: AtomicU64,
}

impl Default for EventLog {
    fn default() -> Self {
        EventLog {
            recent: Mutex::new(Recent { lines: VecDeque::new(), first_seq: 0 }),
            file: Mutex::new(None),
            dropped: AtomicU64::new(0),
        }
    }
}

impl EventLog {
    /// Starts appending events to `path` (created if missing).
    pub fn open_file(&self, path: &Path) -> Result<(), String> {
        let mut current = self.file.locked();
        if current.as_ref().is_some_and(|(p, _)| p == path) {
            return Ok(());
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("cannot open the events file {}: {e}", path.display()))?;
        let (tx, rx) = bounded::<Message>(QUEUE_CAPACITY);
        std::thread::Builder::new()
            .name("faultline-events".into())
            .spawn(move || write_lines(file, rx))
            .map_err(|e| format!("cannot start the events writer: {e}"))?;
        *current = Some((path.to_path_buf(), tx));
        Ok(())
    }

    pub fn emit(&self, event: Event) {
        let line = event.to_json(SystemTime::now());
        if let Some((_, tx)) = self.file.locked().as_ref() {
            match tx.try_send(Message::Line(line.clone())) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        let mut recent = self.recent.locked();
        if recent.lines.len() == RECENT_CAPACITY {
            recent.lines.pop_front();
            recent.first_seq += 1;
        }
        recent.lines.push_back((event.fault, line));
    }

    /// Waits (up to `limit`) until every event emitted so far is in the file: called when
    /// the JVM exits, so the last outcomes are not lost.
    pub fn flush(&self, limit: std::time::Duration) {
        let tx = match self.file.locked().as_ref() {
            Some((_, tx)) => tx.clone(),
            None => return,
        };
        let (done_tx, done_rx) = bounded(1);
        if tx.send_timeout(Message::Flush(done_tx), limit).is_ok() {
            let _ = done_rx.recv_timeout(limit);
        }
    }

    /// Events that could not be queued for the file (the in-memory list still has them).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Lines after sequence number `since` (0 = from the oldest held), optionally of one
    /// fault only, and the next number.
    pub fn since(&self, since: u64, fault: Option<&str>) -> (Vec<String>, u64) {
        let recent = self.recent.locked();
        let end = recent.first_seq + recent.lines.len() as u64;
        let start = since.max(recent.first_seq);
        let skip = (start - recent.first_seq) as usize;
        let lines = recent
            .lines
            .iter()
            .skip(skip)
            .filter(|(f, _)| fault.is_none_or(|want| want == f))
            .map(|(_, line)| line.clone())
            .collect();
        (lines, end)
    }
}

fn write_lines(file: File, rx: Receiver<Message>) {
    let mut out = BufWriter::new(file);
    let mut waiting = Vec::new();
    while let Ok(first) = rx.recv() {
        // Write out what is queued now, then flush, so a reader of the file sees events
        // within milliseconds without one write per event under load.
        let mut next = Some(first);
        while let Some(message) = next {
            match message {
                Message::Line(line) => {
                    let _ = writeln!(out, "{line}");
                }
                Message::Flush(done) => waiting.push(done),
            }
            next = rx.try_recv().ok();
        }
        let _ = out.flush();
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn event_json_starts_with_time_fault_kind() {
        let e = Event::new("slow-save", "latency").with("delay_ms", 213.4).with("thread", "main");
        let json = e.to_json(UNIX_EPOCH + Duration::from_micros(1_500_000));
        assert_eq!(
            json,
            r#"{"time":"1970-01-01T00:00:01.500000Z","fault":"slow-save","kind":"latency","delay_ms":213.4,"thread":"main"}"#
        );
    }

    #[test]
    fn events_are_read_after_a_cursor_and_by_fault() {
        let log = EventLog::default();
        log.emit(Event::new("a", "armed"));
        log.emit(Event::new("b", "armed"));
        log.emit(Event::new("a", "removed"));
        assert_eq!(log.since(0, Some("a")).0.len(), 2);
        assert_eq!(log.since(0, None).0.len(), 3);
        let (lines, next) = log.since(1, None);
        assert_eq!((lines.len(), next), (2, 3));
        assert_eq!(log.since(1, Some("a")).0.len(), 1);
    }
}
