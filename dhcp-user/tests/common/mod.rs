//! Test harness for the engine: client messages built as real frames by an
//! independent encoder (dhcproto), fed through the zero-copy decoder into a
//! shard, and replies decoded back with dhcproto.
#![allow(dead_code)] // each test file uses a different part of the harness

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;

use dhcp_user::config;
use dhcp_user::engine::{MAX_REPLY_LEN, Outcome, RecvMeta, Shard};
use dhcp_user::events::Event;
use dhcp_user::state::Shared;
use dhcp_wire::Message;
use dhcproto::v4::{self, DhcpOption, MessageType, OptionCode, UnknownOption};
use dhcproto::{Decodable, Decoder, Encodable, Encoder};

/// The address of the server's interface on the direct link.
pub const IFACE: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

pub fn shared(toml: &str, shards: usize) -> Arc<Shared> {
    let cfg = config::from_toml(toml).unwrap_or_else(|e| panic!("test config invalid: {e}"));
    Arc::new(Shared::new(Arc::new(cfg), shards))
}

pub fn shard(toml: &str) -> Shard {
    Shard::new(shared(toml, 1), 0)
}

/// A client message under construction.
#[derive(Clone)]
pub struct Client {
    pub mac: [u8; 6],
    pub xid: u32,
    pub client_id: Option<Vec<u8>>,
    pub giaddr: Ipv4Addr,
    pub broadcast: bool,
    pub prl: Option<Vec<u8>>,
    pub max_size: Option<u16>,
    pub relay_info: Option<Vec<u8>>,
    pub extra: Vec<(u8, Vec<u8>)>,
}

pub fn client(n: u32) -> Client {
    Client {
        mac: [
            0x02,
            0x00,
            (n >> 24) as u8,
            (n >> 16) as u8,
            (n >> 8) as u8,
            n as u8,
        ],
        xid: 0x1000 + n,
        client_id: None,
        giaddr: Ipv4Addr::UNSPECIFIED,
        broadcast: false,
        prl: Some(vec![1, 3, 6, 15, 51, 54]),
        max_size: None,
        relay_info: None,
        extra: Vec::new(),
    }
}

impl Client {
    fn base(&self, kind: MessageType) -> v4::Message {
        let mut m = v4::Message::default();
        m.set_opcode(v4::Opcode::BootRequest)
            .set_xid(self.xid)
            .set_chaddr(&self.mac)
            .set_giaddr(self.giaddr)
            .set_flags(if self.broadcast {
                v4::Flags::default().set_broadcast()
            } else {
                v4::Flags::default()
            });
        if !self.giaddr.is_unspecified() {
            m.set_hops(1);
        }
        let opts = m.opts_mut();
        opts.insert(DhcpOption::MessageType(kind));
        if let Some(id) = &self.client_id {
            opts.insert(DhcpOption::ClientIdentifier(id.clone()));
        }
        if let Some(prl) = &self.prl {
            opts.insert(DhcpOption::ParameterRequestList(
                prl.iter().map(|c| OptionCode::from(*c)).collect(),
            ));
        }
        if let Some(size) = self.max_size {
            opts.insert(DhcpOption::MaxMessageSize(size));
        }
        if let Some(rai) = &self.relay_info {
            opts.insert(DhcpOption::Unknown(UnknownOption::new(
                82.into(),
                rai.clone(),
            )));
        }
        for (code, data) in &self.extra {
            opts.insert(DhcpOption::Unknown(UnknownOption::new(
                (*code).into(),
                data.clone(),
            )));
        }
        m
    }

    pub fn discover(&self) -> Vec<u8> {
        encode(&self.base(MessageType::Discover))
    }

    pub fn discover_wanting(&self, addr: Ipv4Addr) -> Vec<u8> {
        let mut m = self.base(MessageType::Discover);
        m.opts_mut().insert(DhcpOption::RequestedIpAddress(addr));
        encode(&m)
    }

    /// REQUEST in SELECTING: server id + requested address.
    pub fn select(&self, addr: Ipv4Addr, server: Ipv4Addr) -> Vec<u8> {
        let mut m = self.base(MessageType::Request);
        m.opts_mut().insert(DhcpOption::RequestedIpAddress(addr));
        m.opts_mut().insert(DhcpOption::ServerIdentifier(server));
        encode(&m)
    }

    /// REQUEST in INIT-REBOOT: requested address, no server id, no ciaddr.
    pub fn init_reboot(&self, addr: Ipv4Addr) -> Vec<u8> {
        let mut m = self.base(MessageType::Request);
        m.opts_mut().insert(DhcpOption::RequestedIpAddress(addr));
        encode(&m)
    }

    /// REQUEST in RENEWING/REBINDING: ciaddr only.
    pub fn renew(&self, addr: Ipv4Addr) -> Vec<u8> {
        let mut m = self.base(MessageType::Request);
        m.set_ciaddr(addr);
        encode(&m)
    }

    pub fn release(&self, addr: Ipv4Addr, server: Ipv4Addr) -> Vec<u8> {
        let mut m = self.base(MessageType::Release);
        m.set_ciaddr(addr);
        m.opts_mut().insert(DhcpOption::ServerIdentifier(server));
        encode(&m)
    }

    pub fn decline(&self, addr: Ipv4Addr, server: Ipv4Addr) -> Vec<u8> {
        let mut m = self.base(MessageType::Decline);
        m.opts_mut().insert(DhcpOption::RequestedIpAddress(addr));
        m.opts_mut().insert(DhcpOption::ServerIdentifier(server));
        encode(&m)
    }

    pub fn inform(&self, ciaddr: Ipv4Addr) -> Vec<u8> {
        let mut m = self.base(MessageType::Inform);
        m.set_ciaddr(ciaddr);
        encode(&m)
    }
}

pub fn encode(m: &v4::Message) -> Vec<u8> {
    let mut buf = Vec::new();
    m.encode(&mut Encoder::new(&mut buf))
        .expect("dhcproto encodes");
    buf
}

/// Receive metadata of a broadcast on the direct link (or a unicast to us).
pub fn meta_direct() -> RecvMeta {
    RecvMeta {
        ifindex: 2,
        iface_addr: IFACE,
        src: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
        dst: Ipv4Addr::BROADCAST,
        arrival_ms: 0,
    }
}

/// What one message did.
pub struct Exchange {
    pub outcome: Outcome,
    pub reply: Option<v4::Message>,
    pub raw: Vec<u8>,
    pub events: Vec<Event>,
}

impl Exchange {
    pub fn reply(&self) -> &v4::Message {
        self.reply
            .as_ref()
            .unwrap_or_else(|| panic!("expected a reply, got {:?}", self.outcome))
    }

    pub fn kind(&self) -> Option<MessageType> {
        self.reply
            .as_ref()
            .and_then(|r| match r.opts().get(OptionCode::MessageType) {
                Some(DhcpOption::MessageType(t)) => Some(*t),
                _ => None,
            })
    }

    pub fn yiaddr(&self) -> Ipv4Addr {
        self.reply().yiaddr()
    }

    pub fn option(&self, code: u8) -> Option<Vec<u8>> {
        option_bytes(&self.raw, code)
    }

    pub fn event_ids(&self) -> Vec<u16> {
        self.events.iter().map(|e| e.id().id()).collect()
    }
}

/// Raw option bytes of a reply, read by dhcproto (RFC 3396 joined).
pub fn option_bytes(raw: &[u8], code: u8) -> Option<Vec<u8>> {
    let m = v4::Message::decode(&mut Decoder::new(raw)).ok()?;
    let opt = m.opts().get(OptionCode::from(code))?;
    let mut buf = Vec::new();
    opt.encode(&mut Encoder::new(&mut buf)).ok()?;
    // Strip the code and length headers of every (possibly split) instance.
    let mut out = Vec::new();
    let mut rest = &buf[..];
    while let [_, len, tail @ ..] = rest {
        let len = *len as usize;
        out.extend_from_slice(&tail[..len]);
        rest = &tail[len..];
    }
    Some(out)
}

pub fn send(shard: &mut Shard, frame: &[u8], meta: RecvMeta, now: u64) -> Exchange {
    let msg = Message::parse(frame).expect("test frames decode");
    let mut out = vec![0u8; MAX_REPLY_LEN];
    let mut events = Vec::new();
    let outcome = shard.handle(&msg, &meta, now, &mut out, &mut events);
    let (reply, raw) = match &outcome.reply {
        Some(r) => {
            let raw = out[..r.len].to_vec();
            let decoded =
                v4::Message::decode(&mut Decoder::new(&raw)).expect("replies decode with dhcproto");
            (Some(decoded), raw)
        }
        None => (None, Vec::new()),
    };
    Exchange {
        outcome,
        reply,
        raw,
        events,
    }
}

pub fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// A full DORA on the direct link; returns the ACKed address.
pub fn dora(shard: &mut Shard, c: &Client, now: u64) -> Ipv4Addr {
    let offer = send(shard, &c.discover(), meta_direct(), now);
    assert_eq!(
        offer.kind(),
        Some(MessageType::Offer),
        "{:?}",
        offer.outcome
    );
    let addr = offer.yiaddr();
    let ack = send(shard, &c.select(addr, IFACE), meta_direct(), now);
    assert_eq!(ack.kind(), Some(MessageType::Ack), "{:?}", ack.outcome);
    assert_eq!(ack.yiaddr(), addr);
    addr
}

impl Client {
    pub fn with_giaddr(mut self, giaddr: Ipv4Addr) -> Client {
        self.giaddr = giaddr;
        self
    }
}
