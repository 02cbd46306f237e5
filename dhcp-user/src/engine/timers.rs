//! Time-driven state changes: offers that were never taken up, leases that
//! ran out, lapsed records to forget, quarantines that end.
//!
//! The engine reads no clock: the worker calls [`Shard::poll_timers`] with
//! the current time, at the latest when [`Shard::next_deadline`] says.

use super::{LeaseChange, Local, Shard};
use crate::state::Shared;
use crate::state::table::{Binding, RecordId, Timer};

impl Shard {
    /// Applies every timer due at `now`; durable changes (expired leases)
    /// are appended to `changes`.
    pub fn poll_timers(&mut self, now: u64, changes: &mut Vec<LeaseChange>) {
        let shared = &*self.shared;
        let local = &mut self.local;
        while let Some((at, timer, rec)) = local.table.pop_due(now) {
            match (timer, rec) {
                (Timer::Offer { .. }, Some(rec)) => local.offer_timeout(shared, rec, at),
                (Timer::Lease { .. }, Some(rec)) => {
                    local.lease_timeout(shared, rec, at, now, changes)
                }
                (Timer::Forget { .. }, Some(rec)) => local.forget_timeout(rec, at),
                (Timer::Quarantine { scope, slot }, _) => {
                    shared.pool(scope).end_quarantine(slot);
                }
                // The record is gone: the timer is stale.
                (_, None) => {}
            }
        }
    }

    /// When the next timer is due, if any.
    pub fn next_deadline(&self) -> Option<u64> {
        self.local.table.next_deadline()
    }
}

impl Local {
    fn offer_timeout(&mut self, shared: &Shared, rec: RecordId, at: u64) {
        if self.table.get(rec).offer.is_some_and(|o| o.expires == at) {
            self.withdraw_offer(shared, rec);
        }
    }

    fn lease_timeout(
        &mut self,
        shared: &Shared,
        rec: RecordId,
        at: u64,
        now: u64,
        changes: &mut Vec<LeaseChange>,
    ) {
        let due = self
            .table
            .get(rec)
            .binding
            .as_ref()
            .and_then(Binding::bound)
            .is_some_and(|b| b.expires == at);
        if due && let Some(held) = self.lapse(shared, rec, now, false) {
            changes.push(LeaseChange::Expired {
                client: self.table.get(rec).key.clone(),
                addr: held.addr,
            });
        }
    }

    fn forget_timeout(&mut self, rec: RecordId, at: u64) {
        let record = self.table.get_mut(rec);
        let lapsed = matches!(record.binding, Some(Binding::Released(h) | Binding::Expired(h)) if h.expires == at);
        if lapsed && record.offer.is_none() {
            record.binding = None;
            self.forget_if_empty(rec);
        }
    }
}
