//! Hand-built DHCP messages over ordinary UDP sockets, for what the real
//! clients cannot do: act as a relay agent ([`Relay`]) and probe a link
//! for any answer at all ([`Probe`]).
//!
//! Messages are written with `dhcp_wire::Writer` and replies read with
//! `dhcp_wire::Message`; each socket is opened inside its namespace and
//! then used from the test's own thread.

use std::{
    io::ErrorKind,
    net::{Ipv4Addr, SocketAddrV4, UdpSocket},
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use dhcp_wire::{
    BOOTREPLY, BOOTREQUEST, BROADCAST_FLAG, Message, MessageType, ReplyHeader, Writer, code,
};
use nix::sys::socket::{setsockopt, sockopt::BindToDevice};

use crate::{Namespace, addr};

/// Large enough for every message built here.
const BUF_LEN: usize = 576;

/// A client message; [`Self::encode`] writes it.
#[derive(Debug, Clone)]
pub struct ClientMessage {
    pub kind: MessageType,
    pub xid: u32,
    pub mac: [u8; 6],
    pub ciaddr: Ipv4Addr,
    pub giaddr: Ipv4Addr,
    pub broadcast: bool,
    /// Option 50.
    pub requested_ip: Option<Ipv4Addr>,
    /// Option 54.
    pub server_id: Option<Ipv4Addr>,
    /// Option 82 (relay agent information), written last as relays do.
    pub relay_info: Option<Vec<u8>>,
    /// More options, written after the parameter request list.
    pub extra: Vec<(u8, Vec<u8>)>,
    /// A BOOTP request: no message type and no parameter request list
    /// (`kind` is then ignored).
    pub bootp: bool,
}

impl ClientMessage {
    /// A DISCOVER from `mac` with nothing else set.
    pub fn discover(xid: u32, mac: [u8; 6]) -> Self {
        Self {
            kind: MessageType::Discover,
            xid,
            mac,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: Ipv4Addr::UNSPECIFIED,
            broadcast: false,
            requested_ip: None,
            server_id: None,
            relay_info: None,
            extra: Vec::new(),
            bootp: false,
        }
    }

    /// A BOOTREQUEST from `mac` (RFC 1048 vendor area, no options).
    pub fn bootp(xid: u32, mac: [u8; 6]) -> Self {
        Self {
            bootp: true,
            ..Self::discover(xid, mac)
        }
    }

    /// The bytes on the wire.
    pub fn encode(&self) -> Vec<u8> {
        let mut buf = vec![0u8; BUF_LEN];
        let mut chaddr = [0u8; 16];
        chaddr[..6].copy_from_slice(&self.mac);
        let mut w = Writer::new(&mut buf, BUF_LEN);
        w.header(&ReplyHeader {
            op: BOOTREQUEST,
            htype: 1,
            hlen: 6,
            hops: u8::from(!self.giaddr.is_unspecified()),
            xid: self.xid,
            secs: 0,
            flags: if self.broadcast { BROADCAST_FLAG } else { 0 },
            ciaddr: self.ciaddr,
            yiaddr: Ipv4Addr::UNSPECIFIED,
            siaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: self.giaddr,
            chaddr: &chaddr,
            sname: &[],
            file: &[],
        });
        // Far below the size limit: these cannot fail.
        if !self.bootp {
            w.option_u8(code::MESSAGE_TYPE, self.kind as u8)
                .expect("fits");
        }
        if let Some(ip) = self.requested_ip {
            w.option_ip(code::REQUESTED_IP, ip).expect("fits");
        }
        if let Some(ip) = self.server_id {
            w.option_ip(code::SERVER_ID, ip).expect("fits");
        }
        if !self.bootp {
            w.option(code::PARAMETER_REQUEST_LIST, &[1, 3, 6, 15, 42, 51, 54])
                .expect("fits");
        }
        for (c, value) in &self.extra {
            w.option(*c, value).expect("fits");
        }
        if let Some(info) = &self.relay_info {
            w.option(code::RELAY_AGENT_INFO, info).expect("fits");
        }
        let len = w.finish();
        buf.truncate(len);
        buf
    }
}

/// Waits up to `timeout` for a BOOTREPLY with transaction id `xid` on
/// `sock`; other datagrams are skipped. `None` when none came.
pub fn recv_reply(sock: &UdpSocket, xid: u32, timeout: Duration) -> Result<Option<Vec<u8>>> {
    let deadline = Instant::now() + timeout;
    let mut buf = [0u8; 1500];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        sock.set_read_timeout(Some(left))?;
        let len = match sock.recv(&mut buf) {
            Ok(len) => len,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Ok(None);
            }
            // A signal (another test's child exiting) cut the wait short.
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("receiving a reply"),
        };
        if Message::parse(&buf[..len]).is_ok_and(|m| m.op() == BOOTREPLY && m.xid() == xid) {
            return Ok(Some(buf[..len].to_vec()));
        }
    }
}

/// A relay agent in the relay namespace: a UDP socket on giaddr port 67,
/// which is where the server sends its replies to relayed messages.
pub struct Relay {
    sock: UdpSocket,
}

impl Relay {
    pub fn open(relay_ns: &Namespace) -> Result<Self> {
        let sock = relay_ns
            .run_in(|| UdpSocket::bind(SocketAddrV4::new(addr::GIADDR, 67)))?
            .context("binding giaddr:67 in the relay namespace")?;
        Ok(Self { sock })
    }

    /// Sends `msg` (its giaddr set to ours) to the server.
    pub fn send(&self, msg: &ClientMessage) -> Result<()> {
        let msg = ClientMessage {
            giaddr: addr::GIADDR,
            ..msg.clone()
        };
        self.sock
            .send_to(&msg.encode(), SocketAddrV4::new(addr::SERVER_RELAY, 67))
            .context("sending to the server")?;
        Ok(())
    }

    /// Sends `msg` and waits for the reply to it.
    pub fn exchange(&self, msg: &ClientMessage, timeout: Duration) -> Result<Option<Vec<u8>>> {
        self.send(msg)?;
        recv_reply(&self.sock, msg.xid, timeout)
    }

    /// A full DORA for the client `mac`, each reply awaited up to
    /// `timeout`; the ACKed address if the exchange completed.
    pub fn dora(&self, xid: u32, mac: [u8; 6], timeout: Duration) -> Option<Ipv4Addr> {
        let offer = self
            .exchange(&ClientMessage::discover(xid, mac), timeout)
            .ok()??;
        let offer = Message::parse(&offer).ok()?;
        if offer.message_type() != Some(MessageType::Offer) {
            return None;
        }
        let request = ClientMessage {
            kind: MessageType::Request,
            requested_ip: Some(offer.yiaddr()),
            server_id: offer.server_id(),
            ..ClientMessage::discover(xid, mac)
        };
        let ack = self.exchange(&request, timeout).ok()??;
        let ack = Message::parse(&ack).ok()?;
        (ack.message_type() == Some(MessageType::Ack)).then(|| ack.yiaddr())
    }

    /// A renewal of `addr` (ciaddr set, no server identifier): the reply's
    /// type and address, if one came.
    pub fn renew(
        &self,
        xid: u32,
        mac: [u8; 6],
        addr: Ipv4Addr,
        timeout: Duration,
    ) -> Option<(MessageType, Ipv4Addr)> {
        let msg = ClientMessage {
            kind: MessageType::Request,
            ciaddr: addr,
            ..ClientMessage::discover(xid, mac)
        };
        let bytes = self.exchange(&msg, timeout).ok()??;
        let reply = Message::parse(&bytes).ok()?;
        Some((reply.message_type()?, reply.yiaddr()))
    }
}

/// A client socket on the direct link (port 68 of the client namespace's
/// interface, no address): sends broadcasts, receives broadcast replies.
pub struct Probe {
    sock: UdpSocket,
}

impl Probe {
    pub fn open(client_ns: &Namespace) -> Result<Self> {
        let sock = client_ns
            .run_in(|| -> Result<UdpSocket> {
                let sock = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68))?;
                sock.set_broadcast(true)?;
                // A limited broadcast needs an interface: the namespace
                // has no address and no route.
                setsockopt(&sock, BindToDevice, &addr::CLIENT_IF.into())?;
                Ok(sock)
            })?
            .context("opening the probe socket in the client namespace")?;
        Ok(Self { sock })
    }

    /// Broadcasts `msg` (with the broadcast flag, so that a reply comes
    /// back by broadcast to a client without an address).
    pub fn send(&self, msg: &ClientMessage) -> Result<()> {
        let msg = ClientMessage {
            broadcast: true,
            ..msg.clone()
        };
        self.sock
            .send_to(&msg.encode(), SocketAddrV4::new(Ipv4Addr::BROADCAST, 67))
            .context("broadcasting on the client link")?;
        Ok(())
    }

    /// Every DHCP reply (any xid) that arrives within `timeout`.
    pub fn collect(&self, timeout: Duration) -> Result<Vec<Vec<u8>>> {
        let deadline = Instant::now() + timeout;
        let mut replies = Vec::new();
        let mut buf = [0u8; 1500];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(replies);
            }
            self.sock.set_read_timeout(Some(left))?;
            match self.sock.recv(&mut buf) {
                Ok(len) => replies.push(buf[..len].to_vec()),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Ok(replies);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e).context("receiving on the probe"),
            }
        }
    }

    /// Sends `msg` and waits for the reply to it.
    pub fn exchange(&self, msg: &ClientMessage, timeout: Duration) -> Result<Option<Vec<u8>>> {
        self.send(msg)?;
        recv_reply(&self.sock, msg.xid, timeout)
    }
}
