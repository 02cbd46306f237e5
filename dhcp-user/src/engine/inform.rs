//! DHCPINFORM → DHCPACK with configuration only (RFC 2131 §4.3.5): no
//! address, no lease time, and no lease state touched.

use std::net::Ipv4Addr;

use dhcp_wire::MessageType;

use super::classify::Class;
use super::reply::{self, ReplySpec};
use super::select;
use super::{Ctx, Local, Outcome, Silence};

impl Local {
    pub(super) fn inform(&mut self, cx: &Ctx<'_, '_>, out: &mut [u8]) -> Outcome {
        let config = cx.config();
        let Some(net) = select::scope(config, cx.msg, cx.meta.iface_addr, true) else {
            return Outcome::silent(Silence::NoScope);
        };
        let scope = select::scope_on_network(config, net, cx.msg.ciaddr()).unwrap_or(net);
        if !net.active || !scope.active {
            return Outcome::silent(Silence::ScopeInactive);
        }
        let reservation = config.reservation(net, cx.msg.client_id(), cx.msg.chaddr());
        let class = Class::of(config, scope, cx.msg);
        let options = class.options(config, scope, reservation);
        let spec = ReplySpec {
            kind: Some(MessageType::Ack),
            yiaddr: Ipv4Addr::UNSPECIFIED,
            server_id: cx.server_id(),
            lease: None,
            options: Some(&options),
            boot: class.boot(config, scope),
            message: None,
        };
        Outcome::reply(reply::write(cx.msg, &spec, out), None)
    }
}
