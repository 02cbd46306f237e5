//! Durable lease state: one fjall database per worker (a *partition*), so
//! workers sync in parallel and never wait for one another's commits (see
//! `docs/BENCHMARKS.md`, "Lease store").
//!
//! A worker applies the lease changes of one receive batch in one write
//! batch and, in `sync` durability, waits for it to reach the disk before
//! any ACK of that batch leaves (group commit). This module never decides
//! what a lease is; it stores what the engine reports.

pub mod backup;
mod record;

use std::fmt;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

pub use record::{Kind, StoredLease};

use crate::engine::LeaseChange;

/// When a commit returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// After the data is on disk: an ACKed lease survives a crash or power
    /// loss. The default.
    Sync,
    /// As soon as the data is in the operating system's buffers: survives a
    /// crash of xdhcpd, not of the machine; the last moments of leases can
    /// be lost on power loss, and an address may then be handed out twice.
    Async,
}

impl fmt::Display for Durability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Durability::Sync => "sync",
            Durability::Async => "async",
        })
    }
}

/// A store error, naming the path involved.
#[derive(Debug, thiserror::Error)]
#[error("lease store {path}: {source}")]
pub struct StoreError {
    pub path: PathBuf,
    #[source]
    pub source: fjall::Error,
}

/// One worker's database.
///
/// After a failed write (full disk, I/O error) fjall refuses every further
/// write ("poisoned": a failed sync may have lost data silently), so the
/// partition closes its database and opens it again before a later write;
/// the reopened database recovers its journal from what is really on disk.
pub struct Partition {
    path: PathBuf,
    durability: Durability,
    /// `None` after a failure, until a reopen succeeds.
    open: Option<Open>,
    /// When the last reopen was tried (ms), to retry at most once a second.
    reopen_tried_ms: u64,
}

struct Open {
    db: fjall::Database,
    leases: fjall::Keyspace,
}

/// Shortest wait between two attempts to reopen a failed partition.
const REOPEN_RETRY_MS: u64 = 1000;

impl fmt::Debug for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Partition")
            .field("path", &self.path)
            .field("open", &self.open.is_some())
            .finish_non_exhaustive()
    }
}

/// The directory of partition `index` under the state directory.
pub fn partition_dir(state_dir: &Path, index: usize) -> PathBuf {
    state_dir.join(format!("leases-{index}"))
}

impl Partition {
    pub fn open(path: PathBuf, durability: Durability) -> Result<Partition, StoreError> {
        let open = Open::at(&path)?;
        Ok(Partition {
            path,
            durability,
            open: Some(open),
            reopen_tried_ms: 0,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, source: fjall::Error) -> StoreError {
        StoreError {
            path: self.path.clone(),
            source,
        }
    }

    fn ready(&self) -> Result<&Open, StoreError> {
        self.open
            .as_ref()
            .ok_or_else(|| self.error(fjall::Error::Poisoned))
    }

    /// Applies the changes of one batch atomically, durable per the
    /// partition's durability when this returns.
    pub fn commit(&mut self, changes: &[LeaseChange], now_ms: u64) -> Result<(), StoreError> {
        if self.open.is_none() && now_ms.saturating_sub(self.reopen_tried_ms) >= REOPEN_RETRY_MS {
            self.reopen_tried_ms = now_ms;
            self.open = Some(Open::at(&self.path)?);
            tracing::info!(path = %self.path.display(), "lease store partition reopened after a failure");
        }
        let result = self.ready()?.write(changes, self.durability);
        if let Err(e) = result {
            // Close it: fjall refuses writes after a failure until reopened.
            self.open = None;
            self.reopen_tried_ms = now_ms;
            return Err(self.error(e));
        }
        Ok(())
    }

    /// Writes `leases` and deletes `gone` in one synced batch (start-up
    /// bookkeeping: records moving between partitions, expired records).
    pub fn rewrite(&self, leases: &[StoredLease], gone: &[Ipv4Addr]) -> Result<(), StoreError> {
        let open = self.ready()?;
        let mut batch = open
            .db
            .batch()
            .durability(Some(fjall::PersistMode::SyncAll));
        for l in leases {
            batch.insert(&open.leases, l.key(), l.value());
        }
        for addr in gone {
            batch.remove(&open.leases, addr.octets());
        }
        batch.commit().map_err(|e| self.error(e))
    }

    /// Every record; undecodable ones are skipped and counted.
    pub fn load(&self) -> Result<(Vec<StoredLease>, usize), StoreError> {
        let (leases, skipped) = decode_all(&self.ready()?.leases).map_err(|e| self.error(e))?;
        Ok((leases, skipped))
    }

    /// A read handle for a snapshot from another thread (backups), if the
    /// database is open. Holding it keeps the database open: drop it soon.
    pub fn snapshot_handle(&self) -> Option<fjall::Keyspace> {
        self.open.as_ref().map(|o| o.leases.clone())
    }
}

impl Open {
    fn at(path: &Path) -> Result<Open, StoreError> {
        let fail = |source| StoreError {
            path: path.to_path_buf(),
            source,
        };
        let db = fjall::Database::builder(path).open().map_err(fail)?;
        let leases = db
            .keyspace("leases", fjall::KeyspaceCreateOptions::default)
            .map_err(fail)?;
        Ok(Open { db, leases })
    }

    fn write(&self, changes: &[LeaseChange], durability: Durability) -> Result<(), fjall::Error> {
        let mut batch = self.db.batch();
        if durability == Durability::Sync {
            batch = batch.durability(Some(fjall::PersistMode::SyncAll));
        }
        for change in changes {
            match change {
                LeaseChange::Bound {
                    client,
                    addr,
                    expires_ms,
                    replaced,
                    ..
                } => {
                    let lease = StoredLease {
                        addr: *addr,
                        kind: Kind::Bound,
                        client: client.clone(),
                        expires_ms: *expires_ms,
                    };
                    batch.insert(&self.leases, lease.key(), lease.value());
                    if let Some(old) = replaced {
                        batch.remove(&self.leases, old.octets());
                    }
                }
                LeaseChange::Declined {
                    client,
                    addr,
                    until_ms,
                } => {
                    let q = StoredLease {
                        addr: *addr,
                        kind: Kind::Quarantined,
                        client: client.clone(),
                        expires_ms: *until_ms,
                    };
                    batch.insert(&self.leases, q.key(), q.value());
                }
                LeaseChange::Released { addr, .. } | LeaseChange::Expired { addr, .. } => {
                    batch.remove(&self.leases, addr.octets());
                }
            }
        }
        batch.commit()
    }
}

/// Every record of a keyspace (at one instant: writers go on meanwhile),
/// and how many could not be decoded.
pub fn decode_all(leases: &fjall::Keyspace) -> Result<(Vec<StoredLease>, usize), fjall::Error> {
    let mut out = Vec::new();
    let mut skipped = 0;
    for item in leases.iter() {
        let (k, v) = item.into_inner()?;
        match StoredLease::decode(&k, &v) {
            Some(l) => out.push(l),
            None => skipped += 1,
        }
    }
    Ok((out, skipped))
}

/// The partition directories present under `state_dir`, by index.
pub fn existing_partitions(state_dir: &Path) -> std::io::Result<Vec<usize>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(state_dir)? {
        let name = entry?.file_name();
        if let Some(i) = name
            .to_str()
            .and_then(|n| n.strip_prefix("leases-"))
            .and_then(|n| n.parse().ok())
        {
            found.push(i);
        }
    }
    found.sort_unstable();
    Ok(found)
}
