//! Group commit, the same on both datapaths: replies that grant a lease
//! (ACKs, BOOTREPLYs) wait until their lease changes are durable, and one
//! commit (one sync) serves every reply that waits.
//!
//! A sync costs about the same for one lease as for hundreds (see
//! docs/BENCHMARKS.md), and at moderate rates a worker wakes for almost
//! every datagram: committing at once would pay one sync per lease. So held
//! replies wait up to [`LINGER`] for company, unless a batch is already
//! [`BATCH`] large.

use std::time::{Duration, Instant};
use std::vec::Drain;

use crate::daemon::worker::Worker;

/// Longest a reply waits for others to share its commit's sync.
const LINGER: Duration = Duration::from_micros(500);
/// Held replies that make a commit worth its sync without waiting more.
const BATCH: usize = 64;

/// Replies held until the next commit, in the datapath's own form (a send
/// slot, a frame descriptor).
#[derive(Debug)]
pub struct HeldForCommit<T> {
    held: Vec<T>,
    /// When the oldest of `held` was held back.
    since: Option<Instant>,
}

impl<T> Default for HeldForCommit<T> {
    fn default() -> Self {
        HeldForCommit {
            held: Vec::new(),
            since: None,
        }
    }
}

impl<T> HeldForCommit<T> {
    pub fn with_capacity(capacity: usize) -> Self {
        HeldForCommit {
            held: Vec::with_capacity(capacity),
            since: None,
        }
    }

    /// Holds a reply back until the next commit.
    pub fn hold(&mut self, reply: T) {
        self.since.get_or_insert_with(Instant::now);
        self.held.push(reply);
    }

    /// How much longer the held replies may wait for company; `None` when
    /// it is time to commit (or nothing waits).
    pub fn linger_left(&self) -> Option<Duration> {
        let since = self.since?;
        if self.held.len() >= BATCH {
            return None;
        }
        LINGER.checked_sub(since.elapsed()).filter(|d| !d.is_zero())
    }

    /// Commits the worker's pending lease changes; returns whether they are
    /// durable, and the held replies. Replies of a failed commit must not
    /// leave (the worker counts them withheld).
    pub fn commit(&mut self, worker: &mut Worker, now: u64) -> (bool, Drain<'_, T>) {
        self.since = None;
        let durable = worker.commit(now);
        if !durable {
            worker.withheld(self.held.len() as u64);
        }
        (durable, self.held.drain(..))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_linger_until_a_batch_is_full() {
        let mut held = HeldForCommit::with_capacity(BATCH);
        assert_eq!(held.linger_left(), None, "nothing waits");
        held.hold(0);
        assert!(held.linger_left().is_some_and(|d| d <= LINGER));
        for n in 1..BATCH {
            held.hold(n);
        }
        assert_eq!(held.linger_left(), None, "a full batch commits at once");
    }
}
