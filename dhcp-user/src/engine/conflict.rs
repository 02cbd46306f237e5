//! Conflict detection (Windows' "conflict detection attempts"): an address
//! about to be offered for the first time is pinged first, and one that
//! answers is in use by a host the server does not know.
//!
//! The engine only decides and keeps the books; the pinging is the
//! datapath's (a worker must never wait for it). With
//! `conflict_detection_attempts` > 0, a DISCOVER whose address was claimed
//! anew for the client — not a reservation, not the client's own lease or
//! outstanding offer — gets an OFFER marked `Reply::probe`, and the record
//! notes until when the ping lasts, so that a retransmitted DISCOVER is not
//! answered (nor pinged) a second time meanwhile ([`Silence::Probing`]).
//! Then the datapath reports one of:
//!
//! * nobody answered (or the ping could not be sent: event 1029): the OFFER
//!   leaves, and [`Shard::probe_done`] ends the probing period;
//! * the address answered: the OFFER is dropped, [`Shard::conflict`] takes
//!   the address from the client and quarantines it for
//!   `decline_quarantine` (as a DECLINE does: the change is stored, so the
//!   quarantine outlasts a restart), and the worker runs the DISCOVER
//!   again, which offers the next free address.
//!
//! [`Silence::Probing`]: super::Silence::Probing

use std::net::Ipv4Addr;

use dhcp_wire::Message;

use super::{ClientKey, LeaseChange, Shard};

impl Shard {
    /// `addr`, offered to the sender of the DISCOVER `msg`, answered a
    /// ping: the offer is withdrawn and the address quarantined for
    /// `decline_quarantine`. Returns the change to store (as for a
    /// DECLINE), or `None` if the address was neither the client's offer
    /// nor free (e.g. a reload dropped the offer and someone else has the
    /// address now: nothing to take from anyone).
    pub fn conflict(&mut self, msg: &Message<'_>, addr: Ipv4Addr, now: u64) -> Option<LeaseChange> {
        let key = ClientKey::of(msg)?;
        let shared = &*self.shared;
        let local = &mut self.local;
        let rec = local
            .table
            .find(key.as_bytes(), shared.hash_key(key.as_bytes()));
        let mut quarantined = None;
        if let Some(rec) = rec {
            let record = local.table.get_mut(rec);
            if let Some(held) = record.offer.filter(|h| h.addr == addr) {
                record.offer = None;
                record.probe_until = 0;
                if let Some(slot) = held.slot
                    && shared.pool(held.scope).quarantine(slot, record.tag)
                {
                    quarantined = Some((held.scope, slot));
                }
            }
        }
        if quarantined.is_none()
            && let Some(scope) = shared.config.scope_for(addr)
            && let Some(slot) = shared.pool(scope.id).index_of(addr)
            && shared.pool(scope.id).quarantine_free(slot)
        {
            // Not (or no longer) the client's offer, but free: nobody
            // else is offered it either.
            quarantined = Some((scope.id, slot));
        }
        let client = rec.map_or_else(
            || key.as_bytes().into(),
            |rec| local.table.get(rec).key.clone(),
        );
        if let Some(rec) = rec {
            local.forget_if_empty(rec);
        }
        let (scope, slot) = quarantined?;
        let until = now + shared.config.server.decline_quarantine_ms;
        local.table.schedule_quarantine_end(scope, slot, until);
        Some(LeaseChange::Declined {
            client,
            addr,
            until_ms: until,
        })
    }

    /// The ping of the address offered to the sender of `msg` is over
    /// without a reply (or could not be sent): its OFFER has left, and a
    /// retransmitted DISCOVER is answered again.
    pub fn probe_done(&mut self, msg: &Message<'_>) {
        let Some(key) = ClientKey::of(msg) else {
            return;
        };
        let hash = self.shared.hash_key(key.as_bytes());
        if let Some(rec) = self.local.table.find(key.as_bytes(), hash) {
            self.local.table.get_mut(rec).probe_until = 0;
        }
    }
}
