//! Moving a shard onto a new configuration snapshot (SIGHUP reload) without
//! losing leases.
//!
//! The new snapshot comes with new pools. Every worker must be paused
//! between the moment the first shard rebases and the moment the last one
//! has (the daemon's reload barrier), so that no shard hands out, from the
//! new pools, an address another shard is about to carry over.

use std::sync::Arc;

use super::{LeaseChange, Local, Shard};
use crate::state::Shared;
use crate::state::table::{Binding, Held, RecordId, Timer};

impl Shard {
    /// Switches to `shared` (a new configuration and its pools). Bound
    /// leases still valid under the new configuration are claimed in the new
    /// pools; the others end (reported in `changes` as expired, so the
    /// client is NAKed or re-addressed when it next asks). Pending offers
    /// are dropped; quarantined addresses stay quarantined.
    pub fn rebase(&mut self, shared: Arc<Shared>, changes: &mut Vec<LeaseChange>) {
        let old = std::mem::replace(&mut self.shared, shared);
        let local = &mut self.local;
        local.cursors = vec![0; self.shared.config.scopes.len()];
        for (at, timer) in local.table.drain_quarantines() {
            if let Timer::Quarantine { scope, slot } = timer {
                let addr = old.pool(scope).addr_at(slot);
                if let Some((new_scope, new_slot)) = locate(&self.shared, addr)
                    && self.shared.pool(new_scope.id).quarantine_free(new_slot)
                {
                    local
                        .table
                        .schedule_quarantine_end(new_scope.id, new_slot, at);
                }
            }
        }
        let ids: Vec<RecordId> = local.table.record_ids().collect();
        for rec in ids {
            local.carry_over(&self.shared, rec, changes);
        }
    }
}

/// The scope and pool slot of `addr` under a configuration, if it lies in a
/// dynamic range.
fn locate(shared: &Shared, addr: std::net::Ipv4Addr) -> Option<(&crate::config::Scope, u32)> {
    let scope = shared.config.scope_for(addr)?;
    let slot = shared.pool(scope.id).index_of(addr)?;
    Some((scope, slot))
}

impl Local {
    fn carry_over(&mut self, shared: &Shared, rec: RecordId, changes: &mut Vec<LeaseChange>) {
        let record = self.table.get_mut(rec);
        record.offer = None;
        let Some(binding) = record.binding else {
            self.forget_if_empty(rec);
            return;
        };
        let held = *binding.held();
        let key = record.key.clone();
        let tag = record.tag;
        let scope = shared.config.scope_for(held.addr).filter(|s| s.active);
        let moved = scope.and_then(|scope| {
            let reserved = scope.reservation_for_ip(held.addr);
            match (binding, reserved) {
                // A reserved address stays with its client only.
                (_, Some(r)) => reservation_matches(r, &key).then_some(Held {
                    scope: scope.id,
                    slot: None,
                    ..held
                }),
                (Binding::Bound(_), None) => {
                    let slot = shared.pool(scope.id).index_of(held.addr)?;
                    shared.pool(scope.id).try_claim(slot, tag).then_some(Held {
                        scope: scope.id,
                        slot: Some(slot),
                        ..held
                    })
                }
                // Lapsed: remember the address, claim nothing.
                (_, None) => Some(Held {
                    scope: scope.id,
                    slot: shared.pool(scope.id).index_of(held.addr),
                    ..held
                }),
            }
        });
        let record = self.table.get_mut(rec);
        record.binding = match (binding, moved) {
            (Binding::Bound(_), Some(h)) => Some(Binding::Bound(h)),
            (Binding::Released(_), Some(h)) => Some(Binding::Released(h)),
            (Binding::Expired(_), Some(h)) => Some(Binding::Expired(h)),
            (Binding::Bound(_), None) => {
                changes.push(LeaseChange::Expired {
                    client: key,
                    addr: held.addr,
                });
                None
            }
            (_, None) => None,
        };
        self.forget_if_empty(rec);
    }
}

/// Whether a reservation names the client with this stored key.
fn reservation_matches(r: &crate::config::Reservation, key: &[u8]) -> bool {
    match key.split_first() {
        Some((0, id)) => r.client_id.as_deref() == Some(id),
        Some((_, rest)) if !rest.is_empty() => r.mac.as_deref() == Some(&rest[1..]),
        _ => false,
    }
}
