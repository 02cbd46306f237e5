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
pub struct Partition {
    path: PathBuf,
    db: fjall::Database,
    leases: fjall::Keyspace,
    durability: Durability,
}

impl fmt::Debug for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Partition")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The directory of partition `index` under the state directory.
pub fn partition_dir(state_dir: &Path, index: usize) -> PathBuf {
    state_dir.join(format!("leases-{index}"))
}

impl Partition {
    pub fn open(path: PathBuf, durability: Durability) -> Result<Partition, StoreError> {
        let fail = |source| StoreError {
            path: path.clone(),
            source,
        };
        let db = fjall::Database::builder(&path).open().map_err(fail)?;
        let leases = db
            .keyspace("leases", fjall::KeyspaceCreateOptions::default)
            .map_err(fail)?;
        Ok(Partition {
            path,
            db,
            leases,
            durability,
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

    /// Applies the changes of one batch atomically, durable per the
    /// partition's durability when this returns.
    pub fn commit(&self, changes: &[LeaseChange]) -> Result<(), StoreError> {
        let mut batch = self.db.batch();
        if self.durability == Durability::Sync {
            batch = batch.durability(Some(fjall::PersistMode::SyncAll));
        }
        for change in changes {
            match change {
                LeaseChange::Bound {
                    client,
                    addr,
                    expires_ms,
                    replaced,
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
        batch.commit().map_err(|e| self.error(e))
    }

    /// Writes `leases` and deletes `gone` in one synced batch (start-up
    /// bookkeeping: records moving between partitions, expired records).
    pub fn rewrite(&self, leases: &[StoredLease], gone: &[Ipv4Addr]) -> Result<(), StoreError> {
        let mut batch = self
            .db
            .batch()
            .durability(Some(fjall::PersistMode::SyncAll));
        for l in leases {
            batch.insert(&self.leases, l.key(), l.value());
        }
        for addr in gone {
            batch.remove(&self.leases, addr.octets());
        }
        batch.commit().map_err(|e| self.error(e))
    }

    /// Every record; undecodable ones are skipped and counted.
    pub fn load(&self) -> Result<(Vec<StoredLease>, usize), StoreError> {
        let mut out = Vec::new();
        let mut skipped = 0;
        for item in self.leases.iter() {
            let (k, v) = item.into_inner().map_err(|e| self.error(e))?;
            match StoredLease::decode(&k, &v) {
                Some(l) => out.push(l),
                None => skipped += 1,
            }
        }
        Ok((out, skipped))
    }

    /// A handle for reading this partition from another thread (backups).
    pub fn reader(&self) -> Reader {
        Reader {
            path: self.path.clone(),
            leases: self.leases.clone(),
        }
    }
}

/// Read access to a partition from another thread.
#[derive(Clone)]
pub struct Reader {
    path: PathBuf,
    leases: fjall::Keyspace,
}

impl Reader {
    /// Every record at one instant (a snapshot: writers go on meanwhile).
    pub fn snapshot(&self) -> Result<Vec<StoredLease>, StoreError> {
        let mut out = Vec::new();
        for item in self.leases.iter() {
            let (k, v) = item.into_inner().map_err(|source| StoreError {
                path: self.path.clone(),
                source,
            })?;
            out.extend(StoredLease::decode(&k, &v));
        }
        Ok(out)
    }
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
