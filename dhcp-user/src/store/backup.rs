//! Backups of the lease store: a consistent snapshot of every partition,
//! written as JSON lines (one lease per line, readable and greppable by an
//! operator), and read back by `xdhcpd restore`.
//!
//! A backup file is written under a temporary name, synced and renamed, so
//! a crash never leaves a half-written file that looks complete.

use std::io::{BufRead, BufReader, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use std::sync::{Arc, Mutex};

use super::{Kind, Partition, StoredLease};
use crate::config::options::parse_hex;

/// Backups kept in the directory; older ones are deleted.
const KEEP: usize = 8;
const FORMAT: &str = "xdhcpd-leases";
const VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Store(#[from] super::StoreError),
    #[error("partition {0} is closed after a storage failure")]
    Closed(PathBuf),
    #[error("{path} line {line}: {why}")]
    Format {
        path: PathBuf,
        line: usize,
        why: String,
    },
}

#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
    written_ms: u64,
    leases: usize,
}

#[derive(Serialize, Deserialize)]
struct Line {
    addr: Ipv4Addr,
    kind: String,
    client: String,
    expires_ms: u64,
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes a backup of every partition into `dir`; returns the file.
pub fn write(
    partitions: &[Arc<Mutex<Partition>>],
    dir: &Path,
    now_ms: u64,
) -> Result<PathBuf, BackupError> {
    let mut leases = Vec::new();
    for p in partitions {
        // Lock only to take a handle: the worker commits meanwhile.
        let (handle, path) = {
            let p = p.lock().unwrap_or_else(|e| e.into_inner());
            (p.snapshot_handle(), p.path().to_path_buf())
        };
        let handle = handle.ok_or_else(|| BackupError::Closed(path.clone()))?;
        let (records, _) =
            super::decode_all(&handle).map_err(|source| super::StoreError { path, source })?;
        leases.extend(records);
    }
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    let name = format!("{FORMAT}-{now_ms}.jsonl");
    let path = dir.join(&name);
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(io_error(&tmp))?);
    let header = Header {
        format: FORMAT.into(),
        version: VERSION,
        written_ms: now_ms,
        leases: leases.len(),
    };
    json_line(&mut out, &header).map_err(io_error(&tmp))?;
    for l in &leases {
        let line = Line {
            addr: l.addr,
            kind: match l.kind {
                Kind::Bound => "bound".into(),
                Kind::Quarantined => "quarantined".into(),
            },
            client: l
                .client
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":"),
            expires_ms: l.expires_ms,
        };
        json_line(&mut out, &line).map_err(io_error(&tmp))?;
    }
    let file = out.into_inner().map_err(|e| BackupError::Io {
        path: tmp.clone(),
        source: e.into_error(),
    })?;
    file.sync_all().map_err(io_error(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io_error(&path))?;
    prune(dir);
    Ok(path)
}

/// Deletes all but the newest `KEEP` backups (best effort).
fn prune(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut backups: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(FORMAT) && n.ends_with(".jsonl"))
        })
        .collect();
    // The name carries the time; equal-length numbers sort as text.
    backups.sort();
    for old in backups.iter().rev().skip(KEEP) {
        let _ = std::fs::remove_file(old);
    }
}

/// Reads a backup file back.
pub fn read(path: &Path) -> Result<Vec<StoredLease>, BackupError> {
    let file = std::fs::File::open(path).map_err(io_error(path))?;
    let bad = |line: usize, why: String| BackupError::Format {
        path: path.to_path_buf(),
        line,
        why,
    };
    let mut lines = BufReader::new(file).lines();
    let first = lines
        .next()
        .ok_or_else(|| bad(1, "empty file".into()))?
        .map_err(io_error(path))?;
    let header: Header = serde_json::from_str(&first).map_err(|e| bad(1, e.to_string()))?;
    if header.format != FORMAT || header.version != VERSION {
        return Err(bad(1, format!("not an {FORMAT} version {VERSION} backup")));
    }
    let mut leases = Vec::with_capacity(header.leases);
    for (i, line) in lines.enumerate() {
        let n = i + 2;
        let line = line.map_err(io_error(path))?;
        let l: Line = serde_json::from_str(&line).map_err(|e| bad(n, e.to_string()))?;
        let kind = match l.kind.as_str() {
            "bound" => Kind::Bound,
            "quarantined" => Kind::Quarantined,
            other => return Err(bad(n, format!("unknown kind {other:?}"))),
        };
        let client = parse_hex(&l.client).map_err(|e| bad(n, e))?;
        leases.push(StoredLease {
            addr: l.addr,
            kind,
            client: client.into(),
            expires_ms: l.expires_ms,
        });
    }
    if leases.len() != header.leases {
        return Err(bad(
            1,
            format!(
                "header announces {} leases, file holds {}",
                header.leases,
                leases.len()
            ),
        ));
    }
    Ok(leases)
}

fn json_line(out: &mut impl Write, value: &impl Serialize) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, value).map_err(std::io::Error::other)?;
    out.write_all(b"\n")
}
