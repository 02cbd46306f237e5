//! DHCPREQUEST → DHCPACK, DHCPNAK or silence (RFC 2131 §4.3.2).
//!
//! The client's state is read from the message: SELECTING (server
//! identifier present), INIT-REBOOT (requested address, no ciaddr),
//! RENEWING/REBINDING (ciaddr). The rules:
//!
//! * a REQUEST that selects another server withdraws our offer, silently;
//! * an address the client holds (bound, offered, or its lapsed address
//!   still free) is ACKed;
//! * an address that is wrong for the client's network, held by another
//!   client, reserved, excluded or outside the ranges is NAKed;
//! * a free, valid address the server has no record of is ACKed when
//!   SELECTING (our offer timed out) or RENEWING/REBINDING (the lease
//!   outlived our memory of it), as Kea does; for INIT-REBOOT the server
//!   NAKs if the scope is authoritative and stays silent otherwise;
//! * a deactivated scope never answers, not even with a NAK.

use std::net::Ipv4Addr;

use dhcp_wire::MessageType;

use super::binding::low_address_check;
use super::classify::{Boot, Class};
use super::reply::{self, Grant, LeaseTimes, ReplySpec};
use super::select;
use super::{Ctx, Local, Outcome, Silence};
use crate::config::{Reservation, Scope};
use crate::events::{Event, NakReason};
use crate::state::pool::SlotState;
use crate::state::table::{Binding, Held, RecordId};

/// The client state a REQUEST reveals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientState {
    Selecting,
    InitReboot,
    /// RENEWING or REBINDING: the rules are the same, only the reply's way
    /// back differs, and ciaddr decides that.
    Renewing,
}

impl Local {
    pub(super) fn request(
        &mut self,
        cx: &Ctx<'_, '_>,
        out: &mut [u8],
        events: &mut Vec<Event>,
    ) -> Outcome {
        let msg = cx.msg;
        let config = cx.config();
        let ciaddr = msg.ciaddr();
        let (state, addr) = match (msg.server_id(), msg.requested_ip()) {
            (Some(id), requested) => {
                if !cx.is_ours(id) {
                    if let Some(rec) = self.table.find(cx.key.as_bytes(), cx.hash) {
                        self.withdraw_offer(cx.shared, rec);
                    }
                    return Outcome::silent(Silence::OtherServerSelected);
                }
                // Option 50 is required here; some clients put the address
                // in ciaddr instead, and an offer on record settles it too.
                let offered = self
                    .table
                    .find(cx.key.as_bytes(), cx.hash)
                    .and_then(|r| self.table.get(r).offer)
                    .map(|h| h.addr);
                match requested
                    .or((!ciaddr.is_unspecified()).then_some(ciaddr))
                    .or(offered)
                {
                    Some(addr) => (ClientState::Selecting, addr),
                    None => return Outcome::silent(Silence::Malformed),
                }
            }
            (None, Some(requested)) if ciaddr.is_unspecified() => {
                (ClientState::InitReboot, requested)
            }
            (None, _) if !ciaddr.is_unspecified() => (ClientState::Renewing, ciaddr),
            (None, _) => return Outcome::silent(Silence::Malformed),
        };

        let net = match cx.network(state == ClientState::Renewing) {
            Ok(net) => net,
            Err(why) => return Outcome::silent(why),
        };
        let Some(scope) = select::scope_on_network(config, net, addr) else {
            return self.nak(cx, addr, NakReason::WrongNetwork, out, events);
        };
        if !scope.active {
            return Outcome::silent(Silence::ScopeInactive);
        }

        if let Some(res) = config.reservation(net, msg.client_id(), msg.chaddr()) {
            if res.ip != addr {
                return self.nak(cx, addr, NakReason::ReservedElsewhere, out, events);
            }
            let rec = self
                .table
                .find_or_insert(cx.key.as_bytes(), cx.hash, cx.tag);
            let held = Held {
                scope: scope.id,
                addr,
                slot: None,
                expires: 0,
            };
            return self.ack(cx, rec, scope, held, Some(res), out);
        }
        if scope.reservation_for_ip(addr).is_some() {
            return self.nak(cx, addr, NakReason::HeldByOther, out, events);
        }

        let rec = self.table.find(cx.key.as_bytes(), cx.hash);
        if let Some(rec) = rec
            && let Some(held) = self.held_by_client(cx, rec, addr)
        {
            return self.ack(cx, rec, scope, held, None, out);
        }

        let pool = cx.shared.pool(scope.id);
        let Some(slot) = pool.index_of(addr) else {
            return self.nak(cx, addr, NakReason::NotAssignable, out, events);
        };
        match pool.state(slot) {
            SlotState::Free => {}
            SlotState::Excluded => {
                return self.nak(cx, addr, NakReason::NotAssignable, out, events);
            }
            SlotState::Reserved | SlotState::Quarantined | SlotState::Held(_) => {
                return self.nak(cx, addr, NakReason::HeldByOther, out, events);
            }
        }
        // A new address must come from ranges the client's policies allow
        // (not another policy's, not the BOOTP ranges).
        let part = pool.partition_of(slot);
        if !Class::of(config, scope, msg).may_take(config, scope, part) {
            return self.nak(cx, addr, NakReason::NotAssignable, out, events);
        }
        if state == ClientState::InitReboot {
            // The address is free, but we have no record of giving it to
            // this client (or we know it holds another one).
            let has_other = rec.is_some_and(|r| {
                self.table
                    .get(r)
                    .binding
                    .as_ref()
                    .and_then(Binding::bound)
                    .is_some()
            });
            if !has_other && !scope.authoritative {
                return Outcome::silent(Silence::NotAuthoritative);
            }
            let reason = if has_other {
                NakReason::HeldByOther
            } else {
                NakReason::UnknownClient
            };
            return self.nak(cx, addr, reason, out, events);
        }
        if !pool.try_claim(slot, cx.tag) {
            return self.nak(cx, addr, NakReason::HeldByOther, out, events);
        }
        low_address_check(cx, scope.id, slot, events);
        let rec = self
            .table
            .find_or_insert(cx.key.as_bytes(), cx.hash, cx.tag);
        let held = Held {
            scope: scope.id,
            addr,
            slot: Some(slot),
            expires: 0,
        };
        self.ack(cx, rec, scope, held, None, out)
    }

    /// The client's own hold on `addr`: its bound lease, its offer, or its
    /// lapsed address if the slot can be taken back.
    fn held_by_client(&mut self, cx: &Ctx<'_, '_>, rec: RecordId, addr: Ipv4Addr) -> Option<Held> {
        let record = self.table.get(rec);
        if let Some(bound) = record
            .binding
            .as_ref()
            .and_then(Binding::bound)
            .filter(|h| h.addr == addr)
        {
            return Some(*bound);
        }
        if let Some(offer) = record.offer.filter(|h| h.addr == addr) {
            return Some(offer);
        }
        let lapsed = record
            .binding
            .map(|b| *b.held())
            .filter(|h| h.addr == addr)?;
        let slot = lapsed.slot?;
        cx.shared
            .pool(lapsed.scope)
            .try_claim(slot, cx.tag)
            .then_some(lapsed)
    }

    fn ack(
        &mut self,
        cx: &Ctx<'_, '_>,
        rec: RecordId,
        scope: &Scope,
        held: Held,
        reservation: Option<&Reservation>,
        out: &mut [u8],
    ) -> Outcome {
        let config = cx.config();
        let class = Class::of(config, scope, cx.msg);
        let lease_secs = class.lease_secs(config, scope);
        let change = self.bind(cx, rec, lease_secs, held);
        let grant = Grant {
            addr: held.addr,
            times: LeaseTimes::of(scope, lease_secs),
            options: class.options(config, scope, reservation),
            boot: class.boot(config, scope),
        };
        let ack = reply::lease(cx, Some(MessageType::Ack), &grant, out);
        Outcome::reply(ack, Some(change))
    }

    fn nak(
        &mut self,
        cx: &Ctx<'_, '_>,
        addr: Ipv4Addr,
        reason: NakReason,
        out: &mut [u8],
        events: &mut Vec<Event>,
    ) -> Outcome {
        events.push(Event::LeaseNack {
            addr,
            client: cx.key.display(),
            reason,
        });
        let spec = ReplySpec {
            kind: Some(MessageType::Nak),
            yiaddr: Ipv4Addr::UNSPECIFIED,
            server_id: cx.server_id(),
            lease: None,
            options: None,
            boot: Boot::default(),
            message: Some(reason.as_str()),
        };
        Outcome::reply(reply::write(cx.msg, &spec, out), None)
    }
}
