//! One shard's lease records: what each of its clients holds and until when.
//!
//! Owned by exactly one worker (clients are steered to workers by client
//! key), so nothing here is shared or locked. Records live in a slab with a
//! key index; timers refer to records by slab position and generation and
//! are checked when they fire, so rescheduling never has to find and delete
//! the old timer.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::Ipv4Addr;

use std::sync::Arc;

use hashbrown::HashTable;

use super::pool::Tag;
use crate::config::ScopeId;

/// An address a client holds or held, and until when (ms timestamp).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    pub scope: ScopeId,
    pub addr: Ipv4Addr,
    /// The pool slot, `None` for reserved addresses outside the dynamic
    /// ranges (nothing to claim: the address is the client's by config).
    pub slot: Option<u32>,
    pub expires: u64,
}

/// Where a binding stands. Lapsed bindings keep the client's affinity to its
/// address: a returning client gets it back if it is still free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    Bound(Held),
    Released(Held),
    Expired(Held),
}

impl Binding {
    pub fn held(&self) -> &Held {
        match self {
            Binding::Bound(h) | Binding::Released(h) | Binding::Expired(h) => h,
        }
    }

    pub fn bound(&self) -> Option<&Held> {
        match self {
            Binding::Bound(h) => Some(h),
            _ => None,
        }
    }
}

/// Everything a shard knows about one client.
#[derive(Debug)]
pub struct Record {
    /// Shared with the lease changes that name the client, without a copy.
    pub key: Arc<[u8]>,
    /// The key's hash, computed once per message (see `Shared::hash_key`).
    hash: u64,
    pub tag: Tag,
    pub binding: Option<Binding>,
    /// An outstanding offer of an address other than a bound one.
    pub offer: Option<Held>,
    /// Conflict detection: until when (ms) the offered address is being
    /// pinged, its OFFER parked in the datapath; 0 when it is not.
    pub probe_until: u64,
    generation: u32,
}

/// What a due timer is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {
    Offer { record: u32, generation: u32 },
    Lease { record: u32, generation: u32 },
    Forget { record: u32, generation: u32 },
    Quarantine { scope: ScopeId, slot: u32 },
}

/// A handle to a record, valid until the record is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordId(u32);

#[derive(Debug, Default)]
pub struct LeaseTable {
    records: Vec<Option<Record>>,
    free: Vec<u32>,
    /// Slab positions by key hash: the key lives once, in its record.
    index: HashTable<u32>,
    timers: BinaryHeap<Reverse<(u64, Timer)>>,
    next_generation: u32,
}

impl LeaseTable {
    /// A table with room for `clients` records before it has to grow, so a
    /// storm of new clients does not pay for rehashing as it arrives.
    pub fn with_capacity(clients: usize) -> LeaseTable {
        LeaseTable {
            records: Vec::with_capacity(clients),
            index: HashTable::with_capacity(clients),
            timers: BinaryHeap::with_capacity(clients),
            ..LeaseTable::default()
        }
    }

    /// The record of the client with `key`, whose hash is `hash`.
    pub fn find(&self, key: &[u8], hash: u64) -> Option<RecordId> {
        let records = &self.records;
        self.index
            .find(hash, |&i| {
                records[i as usize].as_ref().is_some_and(|r| &*r.key == key)
            })
            .map(|&i| RecordId(i))
    }

    /// The record for `key`, created empty if the client is new.
    pub fn find_or_insert(&mut self, key: &[u8], hash: u64, tag: Tag) -> RecordId {
        if let Some(id) = self.find(key, hash) {
            return id;
        }
        self.next_generation = self.next_generation.wrapping_add(1);
        let record = Record {
            key: key.into(),
            hash,
            tag,
            binding: None,
            offer: None,
            probe_until: 0,
            generation: self.next_generation,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.records[i as usize] = Some(record);
                i
            }
            None => {
                self.records.push(Some(record));
                (self.records.len() - 1) as u32
            }
        };
        let records = &self.records;
        self.index.insert_unique(hash, i, |&j| {
            records[j as usize].as_ref().map_or(0, |r| r.hash)
        });
        RecordId(i)
    }

    pub fn get(&self, id: RecordId) -> &Record {
        self.records[id.0 as usize].as_ref().expect("live record")
    }

    pub fn get_mut(&mut self, id: RecordId) -> &mut Record {
        self.records[id.0 as usize].as_mut().expect("live record")
    }

    pub fn remove(&mut self, id: RecordId) {
        if let Some(r) = self.records[id.0 as usize].take() {
            if let Ok(entry) = self.index.find_entry(r.hash, |&i| i == id.0) {
                entry.remove();
            }
            self.free.push(id.0);
        }
    }

    /// Number of clients with a record.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Handles to every live record.
    pub fn record_ids(&self) -> impl Iterator<Item = RecordId> + use<'_> {
        self.records
            .iter()
            .enumerate()
            .filter(|(_, r)| r.is_some())
            .map(|(i, _)| RecordId(i as u32))
    }

    /// Takes every pending quarantine timer out of the heap (for a reload).
    pub fn drain_quarantines(&mut self) -> Vec<(u64, Timer)> {
        let (quarantines, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.timers)
            .into_iter()
            .partition(|Reverse((_, t))| matches!(t, Timer::Quarantine { .. }));
        self.timers = rest.into_iter().collect();
        quarantines
            .into_iter()
            .map(|Reverse(entry)| entry)
            .collect()
    }

    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.records.iter().flatten()
    }

    pub fn schedule_offer(&mut self, id: RecordId, at: u64) {
        let generation = self.get(id).generation;
        self.timers.push(Reverse((
            at,
            Timer::Offer {
                record: id.0,
                generation,
            },
        )));
    }

    pub fn schedule_lease(&mut self, id: RecordId, at: u64) {
        let generation = self.get(id).generation;
        self.timers.push(Reverse((
            at,
            Timer::Lease {
                record: id.0,
                generation,
            },
        )));
    }

    pub fn schedule_forget(&mut self, id: RecordId, at: u64) {
        let generation = self.get(id).generation;
        self.timers.push(Reverse((
            at,
            Timer::Forget {
                record: id.0,
                generation,
            },
        )));
    }

    pub fn schedule_quarantine_end(&mut self, scope: ScopeId, slot: u32, at: u64) {
        self.timers
            .push(Reverse((at, Timer::Quarantine { scope, slot })));
    }

    /// The earliest timer, so a worker knows how long it may sleep.
    pub fn next_deadline(&self) -> Option<u64> {
        self.timers.peek().map(|Reverse((at, _))| *at)
    }

    /// Pops the next timer due at or before `now`, with the record it refers
    /// to if that record still exists (a stale timer yields `None` there and
    /// the caller's checks of the record's own deadline skip it).
    pub fn pop_due(&mut self, now: u64) -> Option<(u64, Timer, Option<RecordId>)> {
        let &Reverse((at, timer)) = self.timers.peek()?;
        if at > now {
            return None;
        }
        self.timers.pop();
        let record = match timer {
            Timer::Offer { record, generation }
            | Timer::Lease { record, generation }
            | Timer::Forget { record, generation } => self
                .records
                .get(record as usize)
                .and_then(Option::as_ref)
                .filter(|r| r.generation == generation)
                .map(|_| RecordId(record)),
            Timer::Quarantine { .. } => None,
        };
        Some((at, timer, record))
    }
}
