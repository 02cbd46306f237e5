//! DHCPDISCOVER → DHCPOFFER (RFC 2131 §4.3.1).
//!
//! Address choice, in order: the client's reservation; its current binding
//! or outstanding offer; the address it held before (released or expired)
//! if still free; the address it asks for (option 50) if free and valid;
//! then any free address of its network, scope by scope through the
//! superscope.

use super::binding::low_address_check;
use super::reply;
use super::select;
use super::{Ctx, Local, Outcome, Silence};
use crate::config::{OptionSet, Scope};
use crate::events::Event;
use crate::state::table::{Binding, Held, RecordId};
use dhcp_wire::MessageType;

impl Local {
    pub(super) fn discover(
        &mut self,
        cx: &Ctx<'_, '_>,
        out: &mut [u8],
        events: &mut Vec<Event>,
    ) -> Outcome {
        let config = cx.config();
        let Some(net) = select::scope(config, cx.msg, cx.meta.iface_addr, false) else {
            return Outcome::silent(Silence::NoScope);
        };
        if !net.active {
            return Outcome::silent(Silence::ScopeInactive);
        }
        let rec = self
            .table
            .find_or_insert(cx.key.as_bytes(), cx.hash, cx.tag);
        let (held, options) = match config.reservation(net, cx.msg.client_id(), cx.msg.chaddr()) {
            Some(res) => {
                let Some(scope) =
                    select::scope_on_network(config, net, res.ip).filter(|s| s.active)
                else {
                    self.forget_if_empty(rec);
                    return Outcome::silent(Silence::ScopeInactive);
                };
                (
                    Held {
                        scope: scope.id,
                        addr: res.ip,
                        slot: None,
                        expires: 0,
                    },
                    &res.options,
                )
            }
            None => match self.choose_dynamic(cx, net, rec) {
                Some(held) => (held, &config.scope(held.scope).options),
                None => {
                    self.forget_if_empty(rec);
                    if cx.shared.note_exhausted(net.id) {
                        events.push(Event::ScopeFull {
                            scope: net.superscope.clone().unwrap_or_else(|| net.name.clone()),
                        });
                    }
                    return Outcome::silent(Silence::PoolExhausted);
                }
            },
        };
        cx.shared.note_not_full(net.id);
        if held.slot.is_some() {
            low_address_check(cx, held.scope, events);
        }
        self.set_offer(cx, rec, held);
        let scope = config.scope(held.scope);
        let reply = offer_reply(cx, scope, held, options, out);
        Outcome::reply(reply, None)
    }

    /// A dynamic address for the client on `net`, claimed in the pool
    /// unless the client already holds it.
    fn choose_dynamic(&mut self, cx: &Ctx<'_, '_>, net: &Scope, rec: RecordId) -> Option<Held> {
        let config = cx.config();
        let on_net = |h: &Held| net.network.contains(&h.scope) && config.scope(h.scope).active;
        let record = self.table.get(rec);
        if let Some(bound) = record
            .binding
            .as_ref()
            .and_then(Binding::bound)
            .filter(|h| on_net(h))
        {
            return Some(*bound);
        }
        if let Some(offer) = record.offer.filter(on_net) {
            return Some(offer);
        }
        if let Some(prev) = record.binding.map(|b| *b.held()).filter(on_net)
            && let Some(slot) = prev.slot
            && cx.shared.pool(prev.scope).try_claim(slot, cx.tag)
        {
            return Some(prev);
        }
        if let Some(want) = cx.msg.requested_ip()
            && let Some(scope) = select::scope_on_network(config, net, want).filter(|s| s.active)
            && let Some(slot) = cx.shared.pool(scope.id).index_of(want)
            && cx.shared.pool(scope.id).try_claim(slot, cx.tag)
        {
            return Some(Held {
                scope: scope.id,
                addr: want,
                slot: Some(slot),
                expires: 0,
            });
        }
        for &id in &net.network {
            if !config.scope(id).active {
                continue;
            }
            let pool = cx.shared.pool(id);
            if let Some(slot) = pool.claim_any(self.id, cx.tag, &mut self.cursors[id.index()]) {
                return Some(Held {
                    scope: id,
                    addr: pool.addr_at(slot),
                    slot: Some(slot),
                    expires: 0,
                });
            }
        }
        None
    }
}

/// The OFFER for `held`.
fn offer_reply(
    cx: &Ctx<'_, '_>,
    scope: &Scope,
    held: Held,
    options: &OptionSet,
    out: &mut [u8],
) -> super::Reply {
    let offer = reply::lease(cx, MessageType::Offer, held.addr, scope, options, out);
    super::Reply {
        delay_ms: scope.offer_delay_ms,
        ..offer
    }
}
