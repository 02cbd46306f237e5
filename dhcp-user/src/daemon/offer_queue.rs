//! The server-wide bound on delayed OFFERs (Windows' rule: 1000 by
//! default). While it is reached, DISCOVERs that need a delayed OFFER are
//! dropped (event 1338, once); when the backlog falls below it again,
//! event 1339. Undelayed OFFERs never touch it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::catalogued;
use crate::events::EventId;

#[derive(Debug)]
pub struct OfferQueue {
    limit: usize,
    pending: AtomicUsize,
    /// True between a 1338 and the matching 1339.
    full: AtomicBool,
}

impl OfferQueue {
    pub fn new(limit: usize) -> OfferQueue {
        OfferQueue {
            limit,
            pending: AtomicUsize::new(0),
            full: AtomicBool::new(false),
        }
    }

    /// Takes a place for one delayed OFFER; false (and 1338 the first time)
    /// when the queue is full.
    pub fn try_hold(&self) -> bool {
        let taken = self
            .pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.limit).then_some(n + 1)
            })
            .is_ok();
        if !taken && !self.full.swap(true, Ordering::AcqRel) {
            catalogued!(EventId::OfferQueueFull, limit = self.limit; "{} delayed OFFERs are pending: DISCOVERs that need a delay are dropped until the queue drains (undelayed scopes are unaffected)", self.limit);
        }
        taken
    }

    /// Gives a place back once a delayed OFFER has left (or was dropped).
    pub fn release(&self) {
        let before = self.pending.fetch_sub(1, Ordering::AcqRel);
        if before <= self.limit
            && self.full.load(Ordering::Acquire)
            && self.full.swap(false, Ordering::AcqRel)
        {
            catalogued!(EventId::OfferQueueFunctional, limit = self.limit; "the delayed-OFFER queue is below its limit again: delayed DISCOVERs are answered");
        }
    }

    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_with_one_full_and_one_functional_transition() {
        let q = OfferQueue::new(2);
        assert!(q.try_hold() && q.try_hold());
        assert!(!q.try_hold());
        assert!(q.full.load(Ordering::Relaxed));
        assert!(!q.try_hold());
        q.release();
        assert!(!q.full.load(Ordering::Relaxed), "below the limit again");
        assert!(q.try_hold());
        assert_eq!(q.pending(), 2);
    }
}
