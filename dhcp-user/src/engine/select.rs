//! Which network a message comes from, and so which scopes may serve it.
//!
//! Order (as Kea and ISC dhcpd do it): the relay's link-selection sub-option
//! (RFC 3527, option 82.5), the subnet-selection option (RFC 3011, option
//! 118), giaddr, then ciaddr for a client renewing by unicast (it may arrive
//! through a router, on an interface not on its subnet), and last the
//! address of the interface the message arrived on.

use std::net::Ipv4Addr;

use dhcp_wire::{Message, code};

use crate::config::{Config, Scope};

/// RFC 3527 link-selection sub-option of option 82.
const LINK_SELECTION: u8 = 5;

/// The address that identifies the client's network.
pub fn network_hint(msg: &Message<'_>, iface_addr: Ipv4Addr, use_ciaddr: bool) -> Ipv4Addr {
    if let Some(link) = msg
        .relay_agent_info()
        .and_then(|rai| sub_option(rai, LINK_SELECTION))
        .and_then(ipv4)
    {
        return link;
    }
    if let Some(subnet) = msg.option(code::SUBNET_SELECTION).and_then(ipv4) {
        return subnet;
    }
    let giaddr = msg.giaddr();
    if !giaddr.is_unspecified() {
        return giaddr;
    }
    let ciaddr = msg.ciaddr();
    if use_ciaddr && !ciaddr.is_unspecified() {
        return ciaddr;
    }
    iface_addr
}

/// The scope serving the client's network, if any.
pub fn scope<'c>(
    config: &'c Config,
    msg: &Message<'_>,
    iface_addr: Ipv4Addr,
    use_ciaddr: bool,
) -> Option<&'c Scope> {
    config.scope_for(network_hint(msg, iface_addr, use_ciaddr))
}

/// The scope of `network` (a scope and its superscope siblings) whose subnet
/// holds `addr`.
pub fn scope_on_network<'c>(
    config: &'c Config,
    network: &Scope,
    addr: Ipv4Addr,
) -> Option<&'c Scope> {
    network
        .network
        .iter()
        .map(|id| config.scope(*id))
        .find(|s| s.contains(addr))
}

fn sub_option(data: &[u8], wanted: u8) -> Option<&[u8]> {
    let mut rest = data;
    while let [code, len, tail @ ..] = rest {
        let len = *len as usize;
        let value = tail.get(..len)?;
        if *code == wanted {
            return Some(value);
        }
        rest = &tail[len..];
    }
    None
}

fn ipv4(bytes: &[u8]) -> Option<Ipv4Addr> {
    <[u8; 4]>::try_from(bytes).ok().map(Ipv4Addr::from)
}
