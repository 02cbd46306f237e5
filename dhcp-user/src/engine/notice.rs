//! DHCPDECLINE and DHCPRELEASE (RFC 2131 §4.3.3, §4.3.4): client notices
//! that change lease state and are never answered.
//!
//! Only the client that holds an address can decline or release it, so a
//! forged notice cannot take an address away from its owner.

use std::net::Ipv4Addr;

use super::{Ctx, LeaseChange, Local, Outcome, Silence};
use crate::events::Event;
use crate::state::table::{Binding, RecordId};

impl Local {
    pub(super) fn decline(&mut self, cx: &Ctx<'_, '_>, events: &mut Vec<Event>) -> Outcome {
        let Some(addr) = cx.msg.requested_ip() else {
            return Outcome::silent(Silence::Malformed);
        };
        if let Some(id) = cx.msg.server_id()
            && !cx.is_ours(id)
        {
            return Outcome::silent(Silence::OtherServerSelected);
        }
        let Some(rec) = self.table.find(cx.key.as_bytes(), cx.hash) else {
            return Outcome::silent(Silence::NotHeld);
        };
        let record = self.table.get_mut(rec);
        let held = if let Some(offer) = record.offer.filter(|h| h.addr == addr) {
            record.offer = None;
            offer
        } else if let Some(bound) = record
            .binding
            .as_ref()
            .and_then(Binding::bound)
            .copied()
            .filter(|h| h.addr == addr)
        {
            record.binding = None;
            bound
        } else {
            return Outcome::silent(Silence::NotHeld);
        };
        let until = cx.now + cx.config().server.decline_quarantine_ms;
        if let Some(slot) = held.slot
            && cx.shared.pool(held.scope).quarantine(slot, cx.tag)
        {
            self.table.schedule_quarantine_end(held.scope, slot, until);
        }
        let client = self.table.get(rec).key.clone();
        self.forget_if_empty(rec);
        events.push(Event::LeaseDeclined {
            addr,
            client: cx.key.display(),
        });
        Outcome::noted(LeaseChange::Declined {
            client,
            addr,
            until_ms: until,
        })
    }

    pub(super) fn release(&mut self, cx: &Ctx<'_, '_>, events: &mut Vec<Event>) -> Outcome {
        let addr = cx.msg.ciaddr();
        if addr.is_unspecified() {
            return Outcome::silent(Silence::Malformed);
        }
        if let Some(id) = cx.msg.server_id()
            && !cx.is_ours(id)
        {
            return Outcome::silent(Silence::OtherServerSelected);
        }
        let Some(rec) = self.bound_record(cx, addr) else {
            return Outcome::silent(Silence::NotHeld);
        };
        self.lapse(cx.shared, rec, cx.now, true);
        let client = self.table.get(rec).key.clone();
        events.push(Event::LeaseReleased {
            addr,
            client: cx.key.display(),
        });
        Outcome::noted(LeaseChange::Released { client, addr })
    }

    /// The client's record, if it holds `addr` as a bound lease.
    fn bound_record(&self, cx: &Ctx<'_, '_>, addr: Ipv4Addr) -> Option<RecordId> {
        let rec = self.table.find(cx.key.as_bytes(), cx.hash)?;
        let record = self.table.get(rec);
        record
            .binding
            .as_ref()
            .and_then(Binding::bound)
            .filter(|h| h.addr == addr)
            .map(|_| rec)
    }
}
