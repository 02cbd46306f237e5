//! `xdhcpd restore`: replaces the lease store with a backup, while the
//! server is stopped (events 1040 on success, 1018 on failure).

use std::path::Path;

use anyhow::{Context, bail};

use crate::catalogued;
use crate::config;
use crate::engine::stored_steering_key;
use crate::events::EventId;
use crate::store::{self, Partition, StoredLease, backup};

/// Restores `backup_file` into the state directory of the configuration
/// at `config_path`, spread over `workers` partitions. Returns the number
/// of records restored.
pub fn run(config_path: &Path, backup_file: &Path, workers: usize) -> anyhow::Result<usize> {
    restore(config_path, backup_file, workers.max(1))
        .inspect(|n| catalogued!(EventId::DatabaseRestoreSucceeded, records = *n; "restored {n} lease records from {}", backup_file.display()))
        .inspect_err(|e| catalogued!(EventId::DatabaseRestoreFailed, ; "restore from {} failed: {e:#}", backup_file.display()))
}

fn restore(config_path: &Path, backup_file: &Path, workers: usize) -> anyhow::Result<usize> {
    let config = config::load(config_path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let state_dir = &config.server.state_dir;
    let leases = backup::read(backup_file)?;
    std::fs::create_dir_all(state_dir)
        .with_context(|| format!("lease store directory {}", state_dir.display()))?;
    // Opening a partition takes its lock: a running server makes this fail
    // before anything is deleted.
    let existing = store::existing_partitions(state_dir)?;
    for &i in &existing {
        if let Err(e) =
            Partition::open(store::partition_dir(state_dir, i), config.server.durability)
        {
            bail!("{e}; is the server still running? Stop it before restoring");
        }
    }
    for i in existing {
        let dir = store::partition_dir(state_dir, i);
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    let mut by_worker: Vec<Vec<StoredLease>> = vec![Vec::new(); workers];
    for lease in leases {
        let owner =
            dhcp_common::steer::worker_for(stored_steering_key(&lease.client), workers as u32)
                as usize;
        by_worker[owner].push(lease);
    }
    let mut restored = 0;
    for (i, leases) in by_worker.iter().enumerate() {
        let partition =
            Partition::open(store::partition_dir(state_dir, i), config.server.durability)?;
        partition.rewrite(leases, &[])?;
        restored += leases.len();
    }
    Ok(restored)
}
