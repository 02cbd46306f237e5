//! Reading the log of a daemon the root tasks started: xdhcpd's JSON
//! records (`--log-format json`), and the tail of any log for an error.

use std::{fs, path::Path};

use serde_json::Value;

/// Event 1024: xdhcpd serves (every worker bound its sockets).
pub const EVENT_READY: u64 = 1024;

/// The JSON records of an xdhcpd log; lines that are not are skipped.
pub fn records(path: &Path) -> Vec<Value> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(Value::is_object)
        .collect()
}

pub fn event_id(record: &Value) -> Option<u64> {
    record.get("event_id").and_then(Value::as_u64)
}

/// The last `n` lines of a log, for an error message.
pub fn tail(path: &Path, n: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
