//! DHCPDISCOVER → DHCPOFFER (RFC 2131 §4.3.1).
//!
//! Address choice, in order: the client's reservation; its current binding
//! or outstanding offer; the address it held before (released or expired)
//! if still free; the address it asks for (option 50) if free and valid;
//! then any free address of its network, scope by scope through the
//! superscope. A new address always comes from a partition the client's
//! policies allow (see `classify`).
//!
//! With conflict detection on, an address chosen anew for the client (not
//! a reservation, not one it already holds) is marked for a ping before
//! its OFFER leaves (`Reply::probe`; the rest is in `conflict`).

use super::binding::low_address_check;
use super::classify::Class;
use super::reply::{self, Grant, LeaseTimes};
use super::select;
use super::{Ctx, Local, Outcome, Silence};
use crate::config::{PartitionKind, Reservation, Scope, ScopeId};
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
        let net = match cx.network(false) {
            Ok(net) => net,
            Err(why) => return Outcome::silent(why),
        };
        let rec = self
            .table
            .find_or_insert(cx.key.as_bytes(), cx.hash, cx.tag);
        let record = self.table.get(rec);
        if record.offer.is_some() && record.probe_until > cx.now {
            // A retransmission while its OFFER waits for the ping: that
            // OFFER answers it.
            return Outcome::silent(Silence::Probing);
        }
        let mut fresh = false;
        let reservation = config.reservation(net, cx.msg.client_id(), cx.msg.chaddr());
        let held = match reservation {
            Some(res) => {
                let Some(scope) =
                    select::scope_on_network(config, net, res.ip).filter(|s| s.active)
                else {
                    self.forget_if_empty(rec);
                    return Outcome::silent(Silence::ScopeInactive);
                };
                Held {
                    scope: scope.id,
                    addr: res.ip,
                    slot: None,
                    expires: 0,
                }
            }
            None => match self.choose_dynamic(cx, net, rec, events) {
                Some((held, new)) => {
                    fresh = new;
                    held
                }
                None => {
                    self.forget_if_empty(rec);
                    if network_is_full(cx, net) && cx.shared.note_exhausted(net.id) {
                        events.push(Event::ScopeFull {
                            scope: net.superscope.clone().unwrap_or_else(|| net.name.clone()),
                        });
                    }
                    return Outcome::silent(Silence::PoolExhausted);
                }
            },
        };
        cx.shared.note_not_full(net.id);
        if let Some(slot) = held.slot {
            low_address_check(cx, held.scope, slot, events);
        }
        let attempts = config.server.conflict_detection_attempts;
        let probe = fresh && attempts > 0;
        let probe_until = if probe {
            cx.now + u64::from(attempts) * config.server.conflict_detection_timeout_ms
        } else {
            0
        };
        self.set_offer(cx, rec, held, probe_until);
        let scope = config.scope(held.scope);
        let mut reply = offer_reply(cx, scope, held, reservation, out);
        reply.probe = probe.then_some(held.addr);
        Outcome::reply(reply, None)
    }

    /// A dynamic address for the client on `net`, claimed in the pool
    /// unless the client already holds it; true if it was claimed now.
    fn choose_dynamic(
        &mut self,
        cx: &Ctx<'_, '_>,
        net: &Scope,
        rec: RecordId,
        events: &mut Vec<Event>,
    ) -> Option<(Held, bool)> {
        let config = cx.config();
        let on_net = |h: &Held| net.network.contains(&h.scope) && config.scope(h.scope).active;
        let record = self.table.get(rec);
        if let Some(bound) = record
            .binding
            .as_ref()
            .and_then(Binding::bound)
            .filter(|h| on_net(h))
        {
            return Some((*bound, false));
        }
        if let Some(offer) = record.offer.filter(on_net) {
            return Some((offer, false));
        }
        if let Some(prev) = record.binding.map(|b| *b.held()).filter(on_net)
            && let Some(slot) = prev.slot
            && may_take(cx, prev.scope, slot)
            && cx.shared.pool(prev.scope).try_claim(slot, cx.tag)
        {
            return Some((prev, true));
        }
        if let Some(want) = cx.msg.requested_ip()
            && let Some(scope) = select::scope_on_network(config, net, want).filter(|s| s.active)
            && let Some(slot) = cx.shared.pool(scope.id).index_of(want)
            && may_take(cx, scope.id, slot)
            && cx.shared.pool(scope.id).try_claim(slot, cx.tag)
        {
            return Some((
                Held {
                    scope: scope.id,
                    addr: want,
                    slot: Some(slot),
                    expires: 0,
                },
                true,
            ));
        }
        for &id in &net.network {
            let scope = config.scope(id);
            if !scope.active {
                continue;
            }
            let class = Class::of(config, scope, cx.msg);
            let pool = cx.shared.pool(id);
            for part in class.partitions(config, scope) {
                let cursor = &mut self.cursors[id.index()][part];
                if let Some(slot) = pool.claim_any(part, self.id, cx.tag, cursor) {
                    cx.shared.note_partition_not_full(id, part);
                    return Some((
                        Held {
                            scope: id,
                            addr: pool.addr_at(slot),
                            slot: Some(slot),
                            expires: 0,
                        },
                        true,
                    ));
                }
                partition_full(cx, scope, part, events);
            }
        }
        None
    }
}

/// Whether the slot of a scope's pool lies in a partition the client may
/// take a new address from.
fn may_take(cx: &Ctx<'_, '_>, scope: ScopeId, slot: u32) -> bool {
    let config = cx.config();
    let s = config.scope(scope);
    let part = cx.shared.pool(scope).partition_of(slot);
    Class::of(config, s, cx.msg).may_take(config, s, part)
}

/// Events 1341 and 1342: a partition of a scope cut by policy ranges had
/// nothing for a client (once until it has an address again).
fn partition_full(cx: &Ctx<'_, '_>, scope: &Scope, part: usize, events: &mut Vec<Event>) {
    if !scope.is_partitioned() || !cx.shared.note_partition_exhausted(scope.id, part) {
        return;
    }
    events.push(match scope.partitions[part].kind {
        PartitionKind::Policy(id) => Event::PolicyRangesFull {
            scope: scope.name.clone(),
            policy: cx.config().policy(id).name.clone(),
        },
        _ => Event::ResidualRangesFull {
            scope: scope.name.clone(),
        },
    });
}

/// Whether no DHCP client could get an address on `net` any more: every
/// address outside the BOOTP ranges of every active scope is taken.
fn network_is_full(cx: &Ctx<'_, '_>, net: &Scope) -> bool {
    let config = cx.config();
    net.network.iter().all(|&id| {
        let scope = config.scope(id);
        let pool = cx.shared.pool(id);
        !scope.active
            || scope
                .partitions
                .iter()
                .enumerate()
                .filter(|(_, p)| p.kind != PartitionKind::Bootp)
                .all(|(i, _)| pool.free_of(i) == 0)
    })
}

/// The OFFER for `held`, with what the client's policies decide.
fn offer_reply(
    cx: &Ctx<'_, '_>,
    scope: &Scope,
    held: Held,
    reservation: Option<&Reservation>,
    out: &mut [u8],
) -> super::Reply {
    let config = cx.config();
    let class = Class::of(config, scope, cx.msg);
    let grant = Grant {
        addr: held.addr,
        times: LeaseTimes::of(scope, class.lease_secs(config, scope)),
        options: class.options(config, scope, reservation),
        boot: class.boot(config, scope),
    };
    let offer = reply::lease(cx, Some(MessageType::Offer), &grant, out);
    super::Reply {
        delay_ms: scope.offer_delay_ms,
        ..offer
    }
}
