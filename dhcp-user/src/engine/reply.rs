//! Building replies: the BOOTP header, the options in the order and within
//! the size the client accepts, and where the reply goes (RFC 2131 §4.1).

use std::net::{Ipv4Addr, SocketAddrV4};

use dhcp_wire::{BOOTREPLY, BROADCAST_FLAG, Message, MessageType, ReplyHeader, Writer, code};

use super::classify::{Boot, OptionLayers};
use super::{Ctx, Reply};
use crate::config::{INFINITE_LEASE, Scope};

const SERVER_PORT: u16 = 67;
const CLIENT_PORT: u16 = 68;
/// RFC 2131 §2: every client accepts 576-byte IP datagrams, i.e. a 548-byte
/// DHCP message.
const MIN_MESSAGE: usize = 576 - 28;

/// Where a reply goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// To the relay agent at giaddr, server port 67.
    Relay(SocketAddrV4),
    /// Limited broadcast 255.255.255.255:68 on the receiving link.
    Broadcast,
    /// Unicast to an address the client already uses (ciaddr), port 68.
    Unicast(SocketAddrV4),
    /// Unicast to `addr`:68 at the client's hardware address. The client
    /// does not answer ARP for `addr` yet, so the datapath must address the
    /// link-layer frame to `chaddr` itself.
    UnicastHw {
        addr: Ipv4Addr,
        chaddr: [u8; 16],
        hlen: u8,
    },
}

/// Lease timers of an OFFER or ACK: lease time, T1, T2 (seconds).
#[derive(Debug, Clone, Copy)]
pub struct LeaseTimes {
    pub lease: u32,
    pub renewal: u32,
    pub rebinding: u32,
}

impl LeaseTimes {
    /// A lease of `lease` seconds on `scope`: the scope's timers for its own
    /// lease time, RFC 2131 §4.4.5's defaults (0.5 and 0.875) for another
    /// (a policy's).
    pub fn of(scope: &Scope, lease: u32) -> LeaseTimes {
        if lease == scope.lease_secs {
            LeaseTimes {
                lease,
                renewal: scope.renewal_secs,
                rebinding: scope.rebinding_secs,
            }
        } else if lease == INFINITE_LEASE {
            LeaseTimes {
                lease,
                renewal: INFINITE_LEASE,
                rebinding: INFINITE_LEASE,
            }
        } else {
            LeaseTimes {
                lease,
                renewal: lease / 2,
                rebinding: (u64::from(lease) * 7 / 8) as u32,
            }
        }
    }
}

/// What the handler decided; the writer turns it into bytes.
pub struct ReplySpec<'o> {
    /// `None`: a BOOTP reply (no DHCP message type, server identifier or
    /// lease options).
    pub kind: Option<MessageType>,
    pub yiaddr: Ipv4Addr,
    pub server_id: Ipv4Addr,
    pub lease: Option<LeaseTimes>,
    pub options: Option<&'o OptionLayers<'o>>,
    pub boot: Boot<'o>,
    /// Option 56 text of a NAK.
    pub message: Option<&'o str>,
}

/// RFC 2131 §4.1 and §4.3.2, in order: relayed → the relay; NAK → broadcast;
/// ciaddr set → unicast to it; broadcast bit → broadcast; else unicast to
/// yiaddr at chaddr.
pub fn destination(msg: &Message<'_>, kind: Option<MessageType>, yiaddr: Ipv4Addr) -> Destination {
    let giaddr = msg.giaddr();
    let ciaddr = msg.ciaddr();
    if !giaddr.is_unspecified() {
        Destination::Relay(SocketAddrV4::new(giaddr, SERVER_PORT))
    } else if kind == Some(MessageType::Nak) {
        Destination::Broadcast
    } else if !ciaddr.is_unspecified() {
        Destination::Unicast(SocketAddrV4::new(ciaddr, CLIENT_PORT))
    } else if msg.broadcast() || yiaddr.is_unspecified() || msg.chaddr().is_empty() {
        Destination::Broadcast
    } else {
        Destination::UnicastHw {
            addr: yiaddr,
            chaddr: *msg.chaddr_raw(),
            hlen: msg.chaddr().len() as u8,
        }
    }
}

/// The largest reply the client accepts (option 57), within `buf`.
///
/// Option 57 is read as an IP datagram size, as ISC dhcpd does: clients
/// commonly send their MTU there, and a reply sized to the full value plus
/// headers would not fit it.
fn size_limit(msg: &Message<'_>, buf: usize) -> usize {
    let asked = msg
        .max_message_size()
        .map_or(MIN_MESSAGE, |m| usize::from(m).saturating_sub(28));
    asked.max(MIN_MESSAGE).min(buf)
}

/// What an OFFER, ACK or BOOTP reply grants: the address, for how long,
/// with which options and boot fields.
pub(super) struct Grant<'c> {
    pub addr: Ipv4Addr,
    pub times: LeaseTimes,
    pub options: OptionLayers<'c>,
    pub boot: Boot<'c>,
}

/// An OFFER or ACK (or, with `kind` `None`, a BOOTP reply) for `grant`.
pub(super) fn lease(
    cx: &Ctx<'_, '_>,
    kind: Option<MessageType>,
    grant: &Grant<'_>,
    out: &mut [u8],
) -> Reply {
    let spec = ReplySpec {
        kind,
        yiaddr: grant.addr,
        server_id: cx.server_id(),
        lease: kind.is_some().then_some(grant.times),
        options: Some(&grant.options),
        boot: grant.boot,
        message: None,
    };
    write(cx.msg, &spec, out)
}

/// Writes the reply to `msg` into `out`.
pub fn write(msg: &Message<'_>, spec: &ReplySpec<'_>, out: &mut [u8]) -> Reply {
    let limit = size_limit(msg, out.len());
    let nak = spec.kind == Some(MessageType::Nak);
    let relayed = !msg.giaddr().is_unspecified();
    let mut flags = msg.flags();
    if nak && relayed {
        // §4.3.2: the relay must broadcast a NAK to the client.
        flags |= BROADCAST_FLAG;
    }
    // RFC 2131 table 3: only an ACK carries the client's ciaddr back.
    let ciaddr = if matches!(spec.kind, Some(MessageType::Ack) | None) {
        msg.ciaddr()
    } else {
        Ipv4Addr::UNSPECIFIED
    };
    // BOOTP clients take the boot file from the header; PXE clients may ask
    // for it as options 66 and 67 instead, and get both.
    let boot = match spec.kind {
        None => Boot {
            file: spec.boot.file.or_else(|| spec.options?.get(code::BOOTFILE)),
            sname: spec
                .boot
                .sname
                .or_else(|| spec.options?.get(code::TFTP_SERVER)),
            ..spec.boot
        },
        Some(_) => spec.boot,
    };
    let header = ReplyHeader {
        op: BOOTREPLY,
        htype: msg.htype(),
        hlen: msg.hlen(),
        hops: 0,
        xid: msg.xid(),
        secs: 0,
        flags,
        ciaddr,
        yiaddr: spec.yiaddr,
        siaddr: boot.next_server.unwrap_or(Ipv4Addr::UNSPECIFIED),
        giaddr: msg.giaddr(),
        chaddr: msg.chaddr_raw(),
        sname: boot.sname.unwrap_or_default(),
        file: boot.file.unwrap_or_default(),
    };
    let mut w = Writer::new(out, limit);
    w.header(&header);
    // Mandatory options first, so they always fit. A minimum-size reply
    // holds all of them, hence the ignored results.
    if let Some(kind) = spec.kind {
        let _ = w.option_u8(code::MESSAGE_TYPE, kind as u8);
        let _ = w.option_ip(code::SERVER_ID, spec.server_id);
    }
    if let Some(t) = spec.lease {
        let _ = w.option_u32(code::LEASE_TIME, t.lease);
        let _ = w.option_u32(code::RENEWAL_TIME, t.renewal);
        let _ = w.option_u32(code::REBINDING_TIME, t.rebinding);
    }
    if let Some(text) = spec.message {
        let _ = w.option(code::MESSAGE, text.as_bytes());
    }
    if let Some(options) = spec.options {
        write_requested(&mut w, msg, options);
    }
    // RFC 6842: echo the client identifier; RFC 3046: option 82 comes back
    // unchanged, last.
    if let Some(id) = msg.client_id() {
        let _ = w.option(code::CLIENT_ID, id);
    }
    if let Some(rai) = msg.relay_agent_info() {
        let _ = w.option(code::RELAY_AGENT_INFO, rai);
    }
    let len = w.finish();
    Reply {
        kind: spec.kind,
        len,
        dest: destination(msg, spec.kind, spec.yiaddr),
        delay_ms: 0,
        probe: None,
    }
}

/// The subnet mask always, then what the client asked for in its order
/// (option 55); everything configured when it asked for nothing. Options
/// that do not fit are left out, least wanted first.
fn write_requested(w: &mut Writer<'_>, msg: &Message<'_>, options: &OptionLayers<'_>) {
    let mut written = [0u64; 4];
    let mut put = |w: &mut Writer<'_>, code: u8| {
        let (word, bit) = ((code / 64) as usize, 1u64 << (code % 64));
        if written[word] & bit != 0 {
            return;
        }
        written[word] |= bit;
        if let Some(value) = options.get(code) {
            let _ = w.option(code, value);
        }
    };
    put(w, code::SUBNET_MASK);
    match msg.parameter_request_list() {
        Some(prl) => {
            for &code in prl {
                put(w, code);
            }
        }
        None => {
            for code in options.codes() {
                put(w, code);
            }
        }
    }
}
