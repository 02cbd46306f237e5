//! Commands from the daemon to its workers — stop, or move onto a new
//! configuration — shared by every datapath. Workers poll these flags in
//! their loops; the datapath wakes them after a change.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};

use crate::daemon::worker::Worker;
use crate::state::Shared;

pub struct Control {
    shutdown: AtomicBool,
    /// Bumped for each reload; the new snapshot waits in `next`.
    reload_generation: AtomicU64,
    next: Mutex<Option<Arc<Shared>>>,
    /// Every worker pauses here twice during a reload (see
    /// `engine::Shard::rebase`).
    barrier: Barrier,
}

impl Control {
    pub fn new(workers: usize) -> Control {
        Control {
            shutdown: AtomicBool::new(false),
            reload_generation: AtomicU64::new(0),
            next: Mutex::new(None),
            barrier: Barrier::new(workers),
        }
    }

    pub fn request_shutdown(&self) {
        self.shutdown.store(true, Ordering::Release);
    }

    pub fn shutting_down(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }

    /// Hands a new snapshot to the workers (then wake them).
    pub fn publish_reload(&self, shared: Arc<Shared>) {
        *self.next.lock().unwrap_or_else(|e| e.into_inner()) = Some(shared);
        self.reload_generation.fetch_add(1, Ordering::AcqRel);
    }

    /// In a worker's loop: if a reload was published since `seen`, waits
    /// until every worker is here, rebases, and waits until every worker
    /// has rebased. True if it rebased.
    pub fn follow_reload(&self, seen: &mut u64, worker: &mut Worker) -> bool {
        let current = self.reload_generation.load(Ordering::Acquire);
        if current == *seen {
            return false;
        }
        *seen = current;
        self.barrier.wait();
        let next = self.next.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(shared) = next {
            worker.rebase(shared);
        }
        self.barrier.wait();
        true
    }
}
