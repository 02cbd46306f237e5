//! The address pool of one scope: one atomic slot per address of its dynamic
//! ranges, shared by every worker.
//!
//! A slot holds who has the address (a client tag), or why nobody may have
//! it. Every change is a compare-and-swap, so two workers can never both
//! claim one address, and no worker ever takes a lock. The index space holds
//! the scope's partitions one after the other (the residual, each policy's
//! ranges, the BOOTP ranges: see `config::Partition`), and each partition is
//! cut into one slice per shard: a shard searches its own slice first (no
//! cache-line sharing in the common case) and borrows from the others only
//! when its slice is dry. Per-slice free counters let a search skip slices
//! that have nothing left, and sum to a partition's free count.
//!
//! This module never decides *whether* a client should get an address; that
//! is the engine's job.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crossbeam_utils::CachePadded;

use crate::config::{PartitionIndex, Scope};

/// Slot value of a free address.
const FREE: u64 = 0;
/// Excluded by configuration.
const EXCLUDED: u64 = u64::MAX;
/// Reserved for one client by configuration; never handed out dynamically.
const RESERVED: u64 = u64::MAX - 1;
/// Declined by a client (probably in use by a host we do not know).
const QUARANTINED: u64 = u64::MAX - 2;

/// A client's identity in slots: a 64-bit hash of its key, never equal to a
/// sentinel. Two clients may collide; the engine confirms ownership against
/// the owning shard's lease record, so a collision can refuse an address but
/// never hand one out twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tag(u64);

impl Tag {
    pub fn from_hash(h: u64) -> Tag {
        // Top bit clear keeps clear of the sentinels; never zero (FREE).
        Tag((h >> 1).max(1))
    }
}

/// What a slot says about an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotState {
    Free,
    Excluded,
    Reserved,
    Quarantined,
    Held(Tag),
}

fn decode(v: u64) -> SlotState {
    match v {
        FREE => SlotState::Free,
        EXCLUDED => SlotState::Excluded,
        RESERVED => SlotState::Reserved,
        QUARANTINED => SlotState::Quarantined,
        t => SlotState::Held(Tag(t)),
    }
}

/// A dynamic range placed in the pool's index space.
#[derive(Debug)]
struct Segment {
    first_addr: u32,
    first_index: u32,
    len: u32,
}

/// One partition's place in the index space and its slices.
#[derive(Debug)]
struct Part {
    first_index: u32,
    len: u32,
    slice_len: u32,
    /// Its slices are `slice_free[first_slice..first_slice + slices]`.
    first_slice: usize,
    slices: usize,
    /// Addresses that could ever be handed out (not excluded or reserved).
    capacity: u32,
}

/// The shared slots of one scope.
#[derive(Debug)]
pub struct Pool {
    segments: Vec<Segment>,
    slots: Box<[AtomicU64]>,
    /// In the order of `Scope::partitions`, which is index order.
    parts: Vec<Part>,
    /// Free addresses per slice, each on its own cache line: a shard mostly
    /// updates its own slice's counter, and no counter is shared by all.
    slice_free: Box<[CachePadded<AtomicU32>]>,
}

impl Pool {
    /// Builds the pool of `scope`, each partition cut into `shards` slices.
    pub fn new(scope: &Scope, shards: usize) -> Pool {
        let shards = shards.max(1) as u32;
        let mut segments = Vec::with_capacity(scope.ranges.len());
        let mut parts = Vec::with_capacity(scope.partitions.len());
        let (mut next, mut next_slice) = (0u32, 0usize);
        for partition in &scope.partitions {
            let first_index = next;
            for r in &partition.ranges {
                segments.push(Segment {
                    first_addr: r.first,
                    first_index: next,
                    len: r.size(),
                });
                next += r.size();
            }
            let len = next - first_index;
            let slice_len = len.div_ceil(shards).max(1);
            let slices = len.div_ceil(slice_len) as usize;
            parts.push(Part {
                first_index,
                len,
                slice_len,
                first_slice: next_slice,
                slices,
                capacity: 0,
            });
            next_slice += slices;
        }
        // Address lookups search segments by address.
        segments.sort_unstable_by_key(|s| s.first_addr);
        let slots: Box<[AtomicU64]> = (0..next).map(|_| AtomicU64::new(FREE)).collect();
        let mut pool = Pool {
            segments,
            slots,
            parts,
            slice_free: (0..next_slice)
                .map(|_| CachePadded::new(AtomicU32::new(0)))
                .collect(),
        };
        for seg in &pool.segments {
            for i in 0..seg.len {
                let addr = Ipv4Addr::from(seg.first_addr + i);
                let slot = &pool.slots[(seg.first_index + i) as usize];
                if scope.is_excluded(seg.first_addr + i) {
                    slot.store(EXCLUDED, Ordering::Relaxed);
                } else if scope.reservation_for_ip(addr).is_some() {
                    slot.store(RESERVED, Ordering::Relaxed);
                }
            }
        }
        for p in 0..pool.parts.len() {
            let part = &pool.parts[p];
            let (first, len) = (part.first_index, part.len);
            for index in first..first + len {
                if pool.slots[index as usize].load(Ordering::Relaxed) == FREE {
                    pool.slice_free[pool.slice_of(p, index)].fetch_add(1, Ordering::Relaxed);
                    pool.parts[p].capacity += 1;
                }
            }
        }
        pool
    }

    /// Addresses that can be handed out dynamically.
    pub fn capacity(&self) -> u32 {
        self.parts.iter().map(|p| p.capacity).sum()
    }

    /// Addresses free right now (a sum over slices: exact when no claim is
    /// in flight, close enough for thresholds otherwise).
    pub fn free(&self) -> u32 {
        self.slice_free
            .iter()
            .map(|f| f.load(Ordering::Relaxed))
            .sum()
    }

    /// [`capacity`](Self::capacity) of one partition.
    pub fn capacity_of(&self, part: PartitionIndex) -> u32 {
        self.parts[part].capacity
    }

    /// [`free`](Self::free) of one partition.
    pub fn free_of(&self, part: PartitionIndex) -> u32 {
        let p = &self.parts[part];
        self.slice_free[p.first_slice..p.first_slice + p.slices]
            .iter()
            .map(|f| f.load(Ordering::Relaxed))
            .sum()
    }

    /// The partition a slot index belongs to.
    pub fn partition_of(&self, index: u32) -> PartitionIndex {
        // Few partitions, and the residual comes first: a linear scan.
        self.parts
            .iter()
            .rposition(|p| p.first_index <= index && p.len > 0)
            .unwrap_or(0)
    }

    fn slice_of(&self, part: PartitionIndex, index: u32) -> usize {
        let p = &self.parts[part];
        p.first_slice + ((index - p.first_index) / p.slice_len) as usize
    }

    /// The slot index of `addr`, if it lies in a dynamic range.
    pub fn index_of(&self, addr: Ipv4Addr) -> Option<u32> {
        let a = u32::from(addr);
        self.segments
            .iter()
            .find(|s| a >= s.first_addr && a - s.first_addr < s.len)
            .map(|s| s.first_index + (a - s.first_addr))
    }

    pub fn addr_at(&self, index: u32) -> Ipv4Addr {
        let seg = self
            .segments
            .iter()
            .find(|s| index >= s.first_index && index - s.first_index < s.len)
            .expect("slot index inside the pool");
        Ipv4Addr::from(seg.first_addr + (index - seg.first_index))
    }

    pub fn state(&self, index: u32) -> SlotState {
        decode(self.slots[index as usize].load(Ordering::Acquire))
    }

    /// Takes a free slot for `tag`. False if anyone (or anything) has it.
    pub fn try_claim(&self, index: u32, tag: Tag) -> bool {
        self.transition(index, FREE, tag.0)
    }

    /// Gives back a slot `tag` holds. False if `tag` does not hold it.
    pub fn release(&self, index: u32, tag: Tag) -> bool {
        self.transition(index, tag.0, FREE)
    }

    /// Moves a slot `tag` holds into quarantine.
    pub fn quarantine(&self, index: u32, tag: Tag) -> bool {
        self.transition(index, tag.0, QUARANTINED)
    }

    /// Quarantines a free slot (carrying a quarantine over a reload).
    pub fn quarantine_free(&self, index: u32) -> bool {
        self.transition(index, FREE, QUARANTINED)
    }

    /// Ends a quarantine.
    pub fn end_quarantine(&self, index: u32) -> bool {
        self.transition(index, QUARANTINED, FREE)
    }

    /// Claims any free address of partition `part` for `tag`, starting in
    /// `shard`'s slice at `cursor` (which moves on, so successive claims do
    /// not rescan), then borrowing from the other slices in turn.
    pub fn claim_any(
        &self,
        part: PartitionIndex,
        shard: usize,
        tag: Tag,
        cursor: &mut u32,
    ) -> Option<u32> {
        let p = &self.parts[part];
        let slices = p.slices;
        for step in 0..slices {
            let slice = (shard + step) % slices;
            if self.slice_free[p.first_slice + slice].load(Ordering::Relaxed) == 0 {
                continue;
            }
            let start = p.first_index + slice as u32 * p.slice_len;
            let end = (start + p.slice_len).min(p.first_index + p.len);
            let len = end - start;
            // The cursor belongs to the shard's own slice; borrowed slices
            // are scanned from their start.
            let offset = if step == 0 { *cursor % len } else { 0 };
            let from_cursor = (start + offset..end).chain(start..start + offset);
            if let Some(index) = from_cursor.into_iter().find(|&i| {
                self.slots[i as usize].load(Ordering::Relaxed) == FREE && self.try_claim(i, tag)
            }) {
                if step == 0 {
                    *cursor = index + 1 - start;
                }
                return Some(index);
            }
        }
        None
    }

    fn transition(&self, index: u32, from: u64, to: u64) -> bool {
        let ok = self.slots[index as usize]
            .compare_exchange(from, to, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if ok {
            let slice = &self.slice_free[self.slice_of(self.partition_of(index), index)];
            match (from, to) {
                (FREE, _) => {
                    slice.fetch_sub(1, Ordering::Relaxed);
                }
                (_, FREE) => {
                    slice.fetch_add(1, Ordering::Relaxed);
                }
                _ => {}
            }
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{self, RESIDUAL};

    fn scope() -> config::Config {
        config::from_toml(
            r#"
            [[scope]]
            name = "a"
            subnet = "10.0.0.0/24"
            ranges = ["10.0.0.10-10.0.0.19", "10.0.0.100-10.0.0.104"]
            exclusions = ["10.0.0.12"]
            [[scope.reservation]]
            mac = "02:00:00:00:00:01"
            ip = "10.0.0.13"
            "#,
        )
        .unwrap()
    }

    #[test]
    fn maps_addresses_across_segments() {
        let cfg = scope();
        let pool = Pool::new(&cfg.scopes[0], 2);
        assert_eq!(pool.capacity(), 15 - 2);
        assert_eq!(pool.index_of("10.0.0.100".parse().unwrap()), Some(10));
        assert_eq!(pool.addr_at(14), "10.0.0.104".parse::<Ipv4Addr>().unwrap());
        assert_eq!(pool.index_of("10.0.0.20".parse().unwrap()), None);
        assert_eq!(pool.state(2), SlotState::Excluded);
        assert_eq!(pool.state(3), SlotState::Reserved);
    }

    #[test]
    fn claims_every_free_address_once_then_runs_dry() {
        let cfg = scope();
        let pool = Pool::new(&cfg.scopes[0], 2);
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        while let Some(i) = pool.claim_any(RESIDUAL, 1, Tag::from_hash(7), &mut cursor) {
            assert!(seen.insert(i));
        }
        assert_eq!(seen.len() as u32, pool.capacity());
        assert_eq!(pool.free(), 0);
        assert!(!seen.contains(&2) && !seen.contains(&3));
        assert!(pool.release(4, Tag::from_hash(7)));
        assert!(!pool.release(4, Tag::from_hash(7)));
        assert_eq!(
            pool.claim_any(RESIDUAL, 0, Tag::from_hash(9), &mut cursor),
            Some(4)
        );
    }

    #[test]
    fn quarantine_blocks_until_ended() {
        let cfg = scope();
        let pool = Pool::new(&cfg.scopes[0], 1);
        let t = Tag::from_hash(1);
        assert!(pool.try_claim(0, t));
        assert!(pool.quarantine(0, t));
        assert!(!pool.try_claim(0, t));
        assert!(pool.end_quarantine(0));
        assert!(pool.try_claim(0, t));
    }
}
