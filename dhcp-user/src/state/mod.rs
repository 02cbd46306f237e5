//! Lease state: the shared lock-free address pools ([`pool`]) and each
//! shard's own lease records ([`table`]).
//!
//! See `docs/ARCHITECTURE.md` for why this split gives one-owner records
//! without locks and still never binds an address to two clients.

pub mod pool;
pub mod table;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::{Config, PartitionIndex, ScopeId};
use pool::Pool;

/// Addresses of a scope or superscope that can be handed out, and free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub capacity: u32,
    pub free: u32,
}

impl Usage {
    pub fn used(&self) -> u32 {
        self.capacity - self.free.min(self.capacity)
    }

    pub fn percent_used(&self) -> u8 {
        (u64::from(self.used()) * 100 / u64::from(self.capacity.max(1))) as u8
    }
}

/// State shared by every shard: the configuration snapshot and one pool per
/// scope.
#[derive(Debug)]
pub struct Shared {
    pub config: Arc<Config>,
    pools: Vec<Pool>,
    /// Per scope: true while the scope is above the low-address threshold
    /// and event 1020 has been emitted (hysteresis, no event storms).
    low_warned: Vec<AtomicBool>,
    /// Per superscope (indexed by its first member): the same for 1377.
    superscope_low_warned: Vec<AtomicBool>,
    /// Per scope: true once event 1063 was emitted for its network, until an
    /// address is found there again.
    full_warned: Vec<AtomicBool>,
    /// Per scope, per partition: the same pair of flags for the policy,
    /// residual and BOOTP ranges (1343/1376, and 1341/1342/1064).
    part_low_warned: Vec<Box<[AtomicBool]>>,
    part_full_warned: Vec<Box<[AtomicBool]>>,
    shards: usize,
    key_hasher: ahash::RandomState,
}

impl Shared {
    pub fn new(config: Arc<Config>, shards: usize) -> Shared {
        let shards = shards.max(1);
        let pools = config.scopes.iter().map(|s| Pool::new(s, shards)).collect();
        let flags = || {
            config
                .scopes
                .iter()
                .map(|_| AtomicBool::new(false))
                .collect()
        };
        let (low_warned, full_warned, superscope_low_warned) = (flags(), flags(), flags());
        let part_flags = || -> Vec<Box<[AtomicBool]>> {
            config
                .scopes
                .iter()
                .map(|s| {
                    s.partitions
                        .iter()
                        .map(|_| AtomicBool::new(false))
                        .collect()
                })
                .collect()
        };
        let (part_low_warned, part_full_warned) = (part_flags(), part_flags());
        Shared {
            config,
            pools,
            low_warned,
            full_warned,
            superscope_low_warned,
            part_low_warned,
            part_full_warned,
            shards,
            // Fixed seeds: hashes must not change while the process runs,
            // and they never leave it.
            key_hasher: ahash::RandomState::with_seeds(0x7864_6863, 0x7064, 0x6c65_6173, 0x6573),
        }
    }

    pub fn pool(&self, scope: ScopeId) -> &Pool {
        &self.pools[scope.index()]
    }

    pub fn shards(&self) -> usize {
        self.shards
    }

    /// The hash of a client key: computed once per message, it indexes the
    /// shard's lease table and gives the client's slot [`Tag`](pool::Tag).
    pub fn hash_key(&self, key: &[u8]) -> u64 {
        self.key_hasher.hash_one(key)
    }

    /// Updates the low-address hysteresis of `scope`; true when the caller
    /// should emit event 1020 now (exactly one caller wins the crossing).
    pub fn crossed_low_threshold(&self, scope: ScopeId) -> Option<Usage> {
        let pool = self.pool(scope);
        let usage = Usage {
            capacity: pool.capacity(),
            free: pool.free(),
        };
        self.crossed(&self.low_warned[scope.index()], usage)
    }

    /// The same for the whole superscope `scope` belongs to (event 1377);
    /// `None` for a scope outside any superscope.
    pub fn crossed_superscope_threshold(&self, scope: ScopeId) -> Option<Usage> {
        let network = &self.config.scope(scope).network;
        self.config.scope(scope).superscope.as_ref()?;
        let usage = network.iter().fold(
            Usage {
                capacity: 0,
                free: 0,
            },
            |u, id| {
                let pool = self.pool(*id);
                Usage {
                    capacity: u.capacity + pool.capacity(),
                    free: u.free + pool.free(),
                }
            },
        );
        // One flag per superscope: its first member's.
        let first = network.iter().min().copied().unwrap_or(scope);
        self.crossed(&self.superscope_low_warned[first.index()], usage)
    }

    /// The same for one partition of `scope` (events 1343 and 1376).
    pub fn crossed_partition_threshold(
        &self,
        scope: ScopeId,
        part: PartitionIndex,
    ) -> Option<Usage> {
        let pool = self.pool(scope);
        let usage = Usage {
            capacity: pool.capacity_of(part),
            free: pool.free_of(part),
        };
        self.crossed(&self.part_low_warned[scope.index()][part], usage)
    }

    /// Hysteresis: `Some` exactly when usage rises over the threshold with
    /// the flag down (which it raises); falling under lowers the flag.
    fn crossed(&self, flag: &AtomicBool, usage: Usage) -> Option<Usage> {
        if usage.capacity == 0 {
            return None;
        }
        let percent = u64::from(self.config.server.low_address_warning_percent);
        let above = u64::from(usage.used()) * 100 >= percent * u64::from(usage.capacity);
        // Read before writing: a store on every claim would bounce the flag's
        // cache line between workers.
        if flag.load(Ordering::Relaxed) == above {
            return None;
        }
        if above {
            (!flag.swap(true, Ordering::Relaxed)).then_some(usage)
        } else {
            flag.store(false, Ordering::Relaxed);
            None
        }
    }

    /// A DISCOVER on `scope`'s network found no address; true when the
    /// caller should emit event 1063 (once until addresses are found again).
    pub fn note_exhausted(&self, scope: ScopeId) -> bool {
        raise_once(&self.full_warned[scope.index()])
    }

    /// A DISCOVER on `scope`'s network found an address: re-arms 1063.
    pub fn note_not_full(&self, scope: ScopeId) {
        lower(&self.full_warned[scope.index()]);
    }

    /// A partition of `scope` had no address for a client; true when the
    /// caller should emit 1341, 1342 or 1064 (once until it has one again).
    pub fn note_partition_exhausted(&self, scope: ScopeId, part: PartitionIndex) -> bool {
        raise_once(&self.part_full_warned[scope.index()][part])
    }

    /// A partition of `scope` gave a client an address: re-arms its event.
    pub fn note_partition_not_full(&self, scope: ScopeId, part: PartitionIndex) {
        lower(&self.part_full_warned[scope.index()][part]);
    }
}

/// Raises `flag`; true for the one caller that raised it. Reads first: a
/// write on every call would bounce the cache line between workers.
fn raise_once(flag: &AtomicBool) -> bool {
    !flag.load(Ordering::Relaxed) && !flag.swap(true, Ordering::Relaxed)
}

fn lower(flag: &AtomicBool) {
    if flag.load(Ordering::Relaxed) {
        flag.store(false, Ordering::Relaxed);
    }
}
