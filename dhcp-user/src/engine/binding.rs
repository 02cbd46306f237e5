//! Record operations shared by the message handlers: making an offer,
//! binding, giving an address back.
//!
//! Invariant kept here: every pool slot a client's tag holds is accounted for
//! by exactly one `Held` of that client's record, either its outstanding
//! offer or its bound binding. Lapsed bindings (released, expired) hold no
//! slot; they only remember the address for the client's return.

use super::{Ctx, LeaseChange, Local};
use crate::config::{INFINITE_LEASE, PartitionKind, Scope, ScopeId};
use crate::events::Event;
use crate::state::Shared;
use crate::state::pool::Tag;
use crate::state::table::{Binding, Held, RecordId};

/// Milliseconds from now until a lease of `secs` ends (never, if infinite).
pub fn lease_end(now: u64, secs: u32) -> u64 {
    if secs == INFINITE_LEASE {
        u64::MAX
    } else {
        now + u64::from(secs) * 1000
    }
}

/// How long a lapsed binding is remembered, so the client gets its address
/// back when it returns: one lease time, at least an hour.
fn affinity_end(now: u64, scope: &Scope) -> u64 {
    now + u64::from(scope.lease_secs.clamp(3600, 30 * 24 * 3600)) * 1000
}

/// Events 1020 and 1377 when `scope`, or its superscope, just crossed the
/// low-address threshold, and 1343 or 1376 for the partition of `slot` in a
/// scope cut by policy ranges.
pub fn low_address_check(cx: &Ctx<'_, '_>, scope: ScopeId, slot: u32, events: &mut Vec<Event>) {
    let config = cx.config();
    let s = config.scope(scope);
    if let Some(u) = cx.shared.crossed_low_threshold(scope) {
        events.push(Event::LowAddressWarning {
            scope: s.name.clone(),
            percent_used: u.percent_used(),
            free: u.free,
        });
    }
    if let Some(u) = cx.shared.crossed_superscope_threshold(scope)
        && let Some(name) = &s.superscope
    {
        events.push(Event::SuperscopeLowAddressWarning {
            superscope: name.clone(),
            percent_used: u.percent_used(),
            free: u.free,
        });
    }
    if !s.is_partitioned() {
        return;
    }
    let part = cx.shared.pool(scope).partition_of(slot);
    let kind = s.partitions[part].kind;
    if kind == PartitionKind::Bootp {
        return;
    }
    if let Some(u) = cx.shared.crossed_partition_threshold(scope, part) {
        events.push(match kind {
            PartitionKind::Policy(id) => Event::PolicyRangesLowAddressWarning {
                scope: s.name.clone(),
                policy: config.policy(id).name.clone(),
                percent_used: u.percent_used(),
                free: u.free,
            },
            _ => Event::ResidualRangesLowAddressWarning {
                scope: s.name.clone(),
                percent_used: u.percent_used(),
                free: u.free,
            },
        });
    }
}

/// Gives a held slot back to its pool.
pub fn give_back(shared: &Shared, held: &Held, tag: Tag) {
    if let Some(slot) = held.slot {
        shared.pool(held.scope).release(slot, tag);
    }
}

impl Local {
    /// Records `held` as the address offered to the client, until the offer
    /// timeout; while `probe_until` (ms, 0 for none) the address is being
    /// pinged and the OFFER has not left yet, so the timeout starts then.
    /// An earlier offer of another address is withdrawn.
    pub(super) fn set_offer(
        &mut self,
        cx: &Ctx<'_, '_>,
        rec: RecordId,
        mut held: Held,
        probe_until: u64,
    ) {
        let timeout = cx.config().server.offer_timeout_ms;
        let record = self.table.get_mut(rec);
        record.probe_until = probe_until;
        let bound_here = record
            .binding
            .as_ref()
            .and_then(Binding::bound)
            .is_some_and(|b| b.addr == held.addr);
        if let Some(old) = record.offer.take()
            && old.addr != held.addr
        {
            give_back(cx.shared, &old, cx.tag);
        }
        if bound_here {
            // Offering the client its own lease: nothing more to hold.
            return;
        }
        held.expires = cx.now.max(probe_until) + timeout;
        record.offer = Some(held);
        self.table.schedule_offer(rec, held.expires);
    }

    /// Withdraws the client's outstanding offer, if any.
    pub(super) fn withdraw_offer(&mut self, shared: &Shared, rec: RecordId) {
        let record = self.table.get_mut(rec);
        if let Some(old) = record.offer.take() {
            give_back(shared, &old, record.tag);
        }
        self.forget_if_empty(rec);
    }

    /// Binds (or renews) `held` for `lease_secs`. The slot, if any, must
    /// already be the client's (claimed, offered or bound).
    pub(super) fn bind(
        &mut self,
        cx: &Ctx<'_, '_>,
        rec: RecordId,
        lease_secs: u32,
        mut held: Held,
    ) -> LeaseChange {
        held.expires = lease_end(cx.now, lease_secs);
        let record = self.table.get_mut(rec);
        if let Some(offer) = record.offer.take()
            && offer.addr != held.addr
        {
            give_back(cx.shared, &offer, cx.tag);
        }
        let previous = record.binding.take();
        let renewal = matches!(previous, Some(Binding::Bound(old)) if old.addr == held.addr);
        let replaced = match previous {
            Some(Binding::Bound(old)) if old.addr != held.addr => {
                give_back(cx.shared, &old, cx.tag);
                Some(old.addr)
            }
            _ => None,
        };
        record.binding = Some(Binding::Bound(held));
        let client = record.key.clone();
        if held.expires != u64::MAX {
            self.table.schedule_lease(rec, held.expires);
        }
        LeaseChange::Bound {
            client,
            addr: held.addr,
            expires_ms: held.expires,
            renewal,
            replaced,
        }
    }

    /// Ends a bound lease early (RELEASE) or on time (expiry): the slot goes
    /// back to the pool and the address is remembered for the client.
    pub(super) fn lapse(
        &mut self,
        shared: &Shared,
        rec: RecordId,
        now: u64,
        released: bool,
    ) -> Option<Held> {
        let record = self.table.get_mut(rec);
        let Some(Binding::Bound(held)) = record.binding else {
            return None;
        };
        give_back(shared, &held, record.tag);
        let remember = Held {
            expires: affinity_end(now, shared.config.scope(held.scope)),
            ..held
        };
        record.binding = Some(if released {
            Binding::Released(remember)
        } else {
            Binding::Expired(remember)
        });
        self.table.schedule_forget(rec, remember.expires);
        Some(held)
    }

    /// Drops a record that holds and remembers nothing.
    pub(super) fn forget_if_empty(&mut self, rec: RecordId) {
        let record = self.table.get(rec);
        if record.binding.is_none() && record.offer.is_none() {
            self.table.remove(rec);
        }
    }
}
