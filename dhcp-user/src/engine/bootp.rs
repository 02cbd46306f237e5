//! BOOTREQUEST without a DHCP message type → BOOTREPLY (RFC 951, RFC 1542,
//! RFC 2131 §4 on BOOTP clients).
//!
//! Served only on scopes with BOOTP enabled. A BOOTP client has no way to
//! renew or release, so it is bound at once (the store commits the lease
//! before the reply leaves) for the scope's BOOTP lease time, infinite by
//! default. Address choice: its reservation; the address it is bound to on
//! the network; then a free address of a BOOTP range (never a DHCP one: an
//! infinite lease must not take the DHCP clients' addresses).

use super::classify::Class;
use super::reply::{self, Grant, LeaseTimes};
use super::select;
use super::{Ctx, Local, Outcome, Silence};
use crate::config::{Bootp, Reservation, Scope};
use crate::events::Event;
use crate::state::table::Held;

impl Local {
    pub(super) fn bootp(
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
        let serving = |s: &Scope| s.active && s.bootp.is_some();
        let reservation = config.reservation(net, cx.msg.client_id(), cx.msg.chaddr());
        let held = match reservation {
            Some(res) => {
                let Some(scope) =
                    select::scope_on_network(config, net, res.ip).filter(|s| serving(s))
                else {
                    return Outcome::silent(Silence::BootpNotServed);
                };
                Held {
                    scope: scope.id,
                    addr: res.ip,
                    slot: None,
                    expires: 0,
                }
            }
            None => {
                let rec = self.table.find(cx.key.as_bytes(), cx.hash);
                let bound = rec
                    .and_then(|r| self.table.get(r).binding.as_ref()?.bound().copied())
                    .filter(|h| net.network.contains(&h.scope) && in_bootp_range(cx, h));
                match bound {
                    Some(held) => held,
                    None => match self.claim_bootp(cx, net, events) {
                        Ok(held) => held,
                        Err(why) => return Outcome::silent(why),
                    },
                }
            }
        };
        let scope = config.scope(held.scope);
        let Some(bootp) = &scope.bootp else {
            return Outcome::silent(Silence::BootpNotServed);
        };
        let rec = self
            .table
            .find_or_insert(cx.key.as_bytes(), cx.hash, cx.tag);
        let change = self.bind(cx, rec, bootp.lease_secs, held);
        let reply = bootp_reply(cx, scope, bootp, held, reservation, out);
        Outcome::reply(reply, Some(change))
    }

    /// A free address of a BOOTP range on `net`; 1064 when every BOOTP
    /// range of the network is taken.
    fn claim_bootp(
        &mut self,
        cx: &Ctx<'_, '_>,
        net: &Scope,
        events: &mut Vec<Event>,
    ) -> Result<Held, Silence> {
        let config = cx.config();
        let mut full = None;
        for &id in &net.network {
            let scope = config.scope(id);
            let Some(part) = scope.bootp_partition() else {
                continue;
            };
            if !scope.active {
                continue;
            }
            let pool = cx.shared.pool(id);
            let cursor = &mut self.cursors[id.index()][part];
            if let Some(slot) = pool.claim_any(part, self.id, cx.tag, cursor) {
                cx.shared.note_partition_not_full(id, part);
                return Ok(Held {
                    scope: id,
                    addr: pool.addr_at(slot),
                    slot: Some(slot),
                    expires: 0,
                });
            }
            full.get_or_insert((id, part));
        }
        // No BOOTP ranges at all: only reserved BOOTP clients are served.
        let (first, part) = full.ok_or(Silence::BootpNotServed)?;
        if cx.shared.note_partition_exhausted(first, part) {
            events.push(Event::BootpFull {
                scope: net.superscope.clone().unwrap_or_else(|| net.name.clone()),
            });
        }
        Err(Silence::PoolExhausted)
    }
}

/// Whether `held` is an address of a BOOTP range of a scope serving BOOTP
/// (a DHCP lease of the same client does not become a BOOTP one).
fn in_bootp_range(cx: &Ctx<'_, '_>, held: &Held) -> bool {
    let scope = cx.config().scope(held.scope);
    let part = scope.bootp_partition();
    scope.active
        && held
            .slot
            .is_some_and(|slot| Some(cx.shared.pool(held.scope).partition_of(slot)) == part)
}

/// The BOOTREPLY: the address, the boot fields, and the scope's options in
/// the vendor area (RFC 1497), without DHCP's own options.
fn bootp_reply(
    cx: &Ctx<'_, '_>,
    scope: &Scope,
    bootp: &Bootp,
    held: Held,
    reservation: Option<&Reservation>,
    out: &mut [u8],
) -> super::Reply {
    let config = cx.config();
    let class = Class::of(config, scope, cx.msg);
    let grant = Grant {
        addr: held.addr,
        times: LeaseTimes::of(scope, bootp.lease_secs),
        options: class.options(config, scope, reservation),
        boot: class.boot(config, scope),
    };
    reply::lease(cx, None, &grant, out)
}
