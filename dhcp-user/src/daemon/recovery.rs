//! Start-up recovery: the lease state is rebuilt from the store before the
//! datapath opens, and the store is put in order for this run's workers.
//!
//! Every stored lease goes back to the shard that owns its client (the same
//! steering as the datapath), so a change in the worker count moves records
//! between partitions. Expired leases and quarantines, and leases the
//! configuration no longer allows, are deleted (events 1037 and 1038).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;

use anyhow::Context;

use crate::catalogued;
use crate::engine::{Shard, stored_steering_key};
use crate::events::EventId;
use crate::store::{self, Durability, Kind, Partition, StoredLease};

/// What recovery found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Recovered {
    pub leases: usize,
    pub quarantines: usize,
    pub removed: usize,
}

/// Opens the store under `state_dir`, restores its leases into `shards`
/// and returns one partition per shard.
pub fn recover(
    state_dir: &Path,
    durability: Durability,
    shards: &mut [Shard],
    now: u64,
) -> anyhow::Result<(Vec<Partition>, Recovered)> {
    let existing = std::fs::create_dir_all(state_dir)
        .and_then(|()| store::existing_partitions(state_dir))
        .inspect_err(|e| {
            catalogued!(EventId::DbPathNotAccessible, path = tracing::field::display(state_dir.display()); "cannot use the lease store directory: {e}");
        })
        .with_context(|| format!("lease store directory {}", state_dir.display()))?;
    let workers = shards.len();
    let open = |i: usize| {
        Partition::open(store::partition_dir(state_dir, i), durability).inspect_err(|e| {
            catalogued!(EventId::InitDatabaseFailed, path = tracing::field::display(state_dir.display()); "cannot open the lease store (is another server using it?): {e}");
        })
    };
    let mut partitions: BTreeMap<usize, Partition> = BTreeMap::new();
    for i in existing.iter().copied().chain(0..workers) {
        if let std::collections::btree_map::Entry::Vacant(slot) = partitions.entry(i) {
            slot.insert(open(i)?);
        }
    }

    catalogued!(EventId::CleanupStarted, ; "restoring leases from {} and removing expired ones", state_dir.display());
    let mut found = Recovered::default();
    // Per partition: records to add (moved in) and addresses to delete.
    let mut writes: BTreeMap<usize, (Vec<StoredLease>, Vec<Ipv4Addr>)> = BTreeMap::new();
    for (&index, partition) in &partitions {
        let (records, skipped) = partition.load()?;
        if skipped > 0 {
            tracing::warn!(
                partition = index,
                skipped,
                "lease records this version cannot read were skipped"
            );
        }
        for lease in records {
            let owner =
                dhcp_common::steer::worker_for(stored_steering_key(&lease.client), workers as u32)
                    as usize;
            let kept = match lease.kind {
                Kind::Bound => {
                    shards[owner].restore_lease(&lease.client, lease.addr, lease.expires_ms, now)
                }
                Kind::Quarantined => {
                    shards[owner].restore_quarantine(lease.addr, lease.expires_ms, now)
                }
            };
            if !kept {
                found.removed += 1;
                writes.entry(index).or_default().1.push(lease.addr);
                continue;
            }
            match lease.kind {
                Kind::Bound => found.leases += 1,
                Kind::Quarantined => found.quarantines += 1,
            }
            if owner != index {
                writes.entry(index).or_default().1.push(lease.addr);
                writes.entry(owner).or_default().0.push(lease);
            }
        }
    }
    // New homes first, then deletions: a crash in between leaves a record
    // twice, which the next recovery resolves, never zero times.
    let cleanup_failed = |e: &store::StoreError| catalogued!(EventId::DatabaseCleanup, ; "cannot clean up the lease store: {e}");
    for (index, (adds, _)) in &writes {
        partitions[index]
            .rewrite(adds, &[])
            .inspect_err(cleanup_failed)?;
    }
    for (index, (_, gone)) in &writes {
        partitions[index]
            .rewrite(&[], gone)
            .inspect_err(cleanup_failed)?;
    }
    let extra: Vec<usize> = partitions
        .keys()
        .copied()
        .filter(|&i| i >= workers)
        .collect();
    for i in extra {
        let partition = partitions.remove(&i).expect("listed above");
        let path = partition.path().to_path_buf();
        drop(partition);
        std::fs::remove_dir_all(&path)
            .with_context(|| format!("removing the emptied partition {}", path.display()))?;
    }
    catalogued!(
        EventId::IpCleanupFinished,
        leases = found.leases,
        quarantines = found.quarantines,
        removed = found.removed;
        "restored {} leases and {} quarantined addresses; removed {} expired or no longer valid records",
        found.leases, found.quarantines, found.removed
    );
    Ok((partitions.into_values().collect(), found))
}
