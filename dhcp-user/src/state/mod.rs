//! Lease state: the shared lock-free address pools ([`pool`]) and each
//! shard's own lease records ([`table`]).
//!
//! See `docs/ARCHITECTURE.md` for why this split gives one-owner records
//! without locks and still never binds an address to two clients.

pub mod pool;
pub mod table;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::{Config, ScopeId};
use pool::Pool;

/// State shared by every shard: the configuration snapshot and one pool per
/// scope.
#[derive(Debug)]
pub struct Shared {
    pub config: Arc<Config>,
    pools: Vec<Pool>,
    /// Per scope: true while the scope is above the low-address threshold
    /// and event 1020 has been emitted (hysteresis, no event storms).
    low_warned: Vec<AtomicBool>,
    /// Per scope: true once event 1063 was emitted for its network, until an
    /// address is found there again.
    full_warned: Vec<AtomicBool>,
    shards: usize,
    key_hasher: ahash::RandomState,
}

impl Shared {
    pub fn new(config: Arc<Config>, shards: usize) -> Shared {
        let shards = shards.max(1);
        let pools = config.scopes.iter().map(|s| Pool::new(s, shards)).collect();
        let low_warned = config
            .scopes
            .iter()
            .map(|_| AtomicBool::new(false))
            .collect();
        let full_warned = config
            .scopes
            .iter()
            .map(|_| AtomicBool::new(false))
            .collect();
        Shared {
            config,
            pools,
            low_warned,
            full_warned,
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
    pub fn crossed_low_threshold(&self, scope: ScopeId) -> bool {
        let pool = self.pool(scope);
        let capacity = u64::from(pool.capacity());
        if capacity == 0 {
            return false;
        }
        let used = capacity - u64::from(pool.free());
        let percent = u64::from(self.config.server.low_address_warning_percent);
        let flag = &self.low_warned[scope.index()];
        let above = used * 100 >= percent * capacity;
        // Read before writing: a store on every claim would bounce the flag's
        // cache line between workers.
        if flag.load(Ordering::Relaxed) == above {
            return false;
        }
        if above {
            !flag.swap(true, Ordering::Relaxed)
        } else {
            flag.store(false, Ordering::Relaxed);
            false
        }
    }

    /// A DISCOVER on `scope`'s network found no address; true when the
    /// caller should emit event 1063 (once until addresses are found again).
    pub fn note_exhausted(&self, scope: ScopeId) -> bool {
        let flag = &self.full_warned[scope.index()];
        !flag.load(Ordering::Relaxed) && !flag.swap(true, Ordering::Relaxed)
    }

    /// A DISCOVER on `scope`'s network found an address: re-arms 1063.
    pub fn note_not_full(&self, scope: ScopeId) {
        let flag = &self.full_warned[scope.index()];
        if flag.load(Ordering::Relaxed) {
            flag.store(false, Ordering::Relaxed);
        }
    }
}
