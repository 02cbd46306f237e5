//! Carrying leases into a configuration snapshot: on reload (a shard moves
//! onto new pools) and on restart (leases read back from the store).
//!
//! On reload, every worker must be paused between the moment the first
//! shard rebases and the moment the last one has (the daemon's reload
//! barrier), so that no shard hands out, from the new pools, an address
//! another shard is about to carry over. On restart, every lease is restored
//! before the datapath opens.
//!
//! A lease is kept when its address is still the client's to have under
//! the configuration: inside a dynamic range and not claimed by anyone else,
//! or reserved for this very client. Leases of deactivated scopes are kept
//! too (the scope stays silent, but its addresses stay taken, so turning it
//! back on hands nothing out twice).

use std::net::Ipv4Addr;
use std::sync::Arc;

use super::binding::give_back;
use super::{LeaseChange, Local, Shard};
use crate::state::Shared;
use crate::state::pool::Tag;
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
        local.cursors = super::cursors(&self.shared.config);
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
fn locate(shared: &Shared, addr: Ipv4Addr) -> Option<(&crate::config::Scope, u32)> {
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
        let scope = shared.config.scope_for(held.addr);
        let moved = scope.and_then(|scope| {
            let reserved = scope.reservation_for_ip(held.addr);
            match (binding, reserved) {
                (Binding::Bound(_), _) => claim_known(shared, held.addr, &key, tag).map(|h| Held {
                    expires: held.expires,
                    ..h
                }),
                // A reserved address stays with its client only.
                (_, Some(r)) => reservation_matches(r, &key).then_some(Held {
                    scope: scope.id,
                    slot: None,
                    ..held
                }),
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

/// Claims `addr` for the client with `key` under `shared`'s configuration:
/// reserved for this client (nothing to claim), or a free slot of a dynamic
/// range. `None` if the address is not this client's to have.
fn claim_known(shared: &Shared, addr: Ipv4Addr, key: &[u8], tag: Tag) -> Option<Held> {
    let scope = shared.config.scope_for(addr)?;
    if let Some(r) = scope.reservation_for_ip(addr) {
        return reservation_matches(r, key).then_some(Held {
            scope: scope.id,
            addr,
            slot: None,
            expires: 0,
        });
    }
    let slot = shared.pool(scope.id).index_of(addr)?;
    shared.pool(scope.id).try_claim(slot, tag).then_some(Held {
        scope: scope.id,
        addr,
        slot: Some(slot),
        expires: 0,
    })
}

impl Shard {
    /// Restores a lease read back from the store (at start, before serving).
    /// False if it cannot be kept: expired, or no longer this client's
    /// address under the configuration; the caller deletes it from the store.
    pub fn restore_lease(
        &mut self,
        client: &[u8],
        addr: Ipv4Addr,
        expires_ms: u64,
        now: u64,
    ) -> bool {
        if expires_ms <= now {
            return false;
        }
        let shared = &*self.shared;
        let hash = shared.hash_key(client);
        let tag = Tag::from_hash(hash);
        let Some(held) = claim_known(shared, addr, client, tag) else {
            return false;
        };
        let table = &mut self.local.table;
        let rec = table.find_or_insert(client, hash, tag);
        let record = table.get_mut(rec);
        if let Some(Binding::Bound(old)) = record.binding {
            // Two stored leases for one client (a crash between writing the
            // new lease and deleting the one it replaced): keep the later.
            if old.expires >= expires_ms {
                give_back(shared, &held, tag);
                return false;
            }
            give_back(shared, &old, tag);
        }
        record.binding = Some(Binding::Bound(Held {
            expires: expires_ms,
            ..held
        }));
        if expires_ms != u64::MAX {
            table.schedule_lease(rec, expires_ms);
        }
        true
    }

    /// Restores a quarantined (declined) address until `until_ms`. False if
    /// the quarantine is over or the address is no longer in a range.
    pub fn restore_quarantine(&mut self, addr: Ipv4Addr, until_ms: u64, now: u64) -> bool {
        if until_ms <= now {
            return false;
        }
        let Some((scope, slot)) = locate(&self.shared, addr) else {
            return false;
        };
        let id = scope.id;
        let kept = self.shared.pool(id).quarantine_free(slot);
        if kept {
            self.local.table.schedule_quarantine_end(id, slot, until_ms);
        }
        kept
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
