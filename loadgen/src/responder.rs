//! [`Responder`]: a null DHCP server that answers every DISCOVER with an
//! OFFER and every REQUEST with an ACK at once, for measuring the load
//! generator itself (`xdhcp-reflector`) and for testing it.
//!
//! Owns the answer to one frame: address choice (one address per client,
//! handed out in order, kept for the client), reply addressing (RFC 2131
//! §4.1: relay, ciaddr, broadcast bit, else chaddr) and deliberate faults
//! (drop every Nth reply, give every Nth ACK an address another client
//! holds, NAK every Nth REQUEST), so the loadgen's bookkeeping can be
//! checked against known mistakes. It never does I/O, keeps no time and
//! implements none of a real server's policy: no pools to exhaust, no lease
//! expiry, no persistence.

use std::{collections::HashMap, net::Ipv4Addr};

use dhcp_wire::{BOOTREPLY, BOOTREQUEST, Message, MessageType, ReplyHeader, Writer, code};
use serde::Serialize;

use crate::frame::{self, BROADCAST_MAC, UDP_PAYLOAD_AT, UdpAddrs};

/// Lease time in every OFFER and ACK (1 h).
const LEASE_S: u32 = 3600;
const SERVER_PORT: u16 = 67;
const CLIENT_PORT: u16 = 68;
/// The largest reply written here (options are few and short).
const REPLY_LEN: usize = 400;
/// Room a caller's output buffer needs.
pub const OUT_LEN: usize = UDP_PAYLOAD_AT + REPLY_LEN;

/// Mistakes to make on purpose; 0 disables one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    /// Do not send every Nth reply (OFFERs and ACKs counted together).
    pub drop_every: u64,
    /// Every Nth ACK carries the address of the previous ACKed client.
    pub duplicate_every: u64,
    /// Every Nth REQUEST is NAKed.
    pub nak_every: u64,
}

/// What the responder did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    pub discovers: u64,
    pub requests: u64,
    pub releases: u64,
    pub offers: u64,
    pub acks: u64,
    pub naks: u64,
    /// Replies withheld by `drop_every`.
    pub dropped: u64,
    /// ACKs given an address another client holds.
    pub duplicates: u64,
    /// Frames that were not a DHCP request for us.
    pub ignored: u64,
}

/// The null server's state.
pub struct Responder {
    server_ip: Ipv4Addr,
    server_mac: [u8; 6],
    first: u32,
    next: u32,
    /// Client MAC → its address.
    leases: HashMap<[u8; 6], Ipv4Addr>,
    last_acked: Option<([u8; 6], Ipv4Addr)>,
    faults: Faults,
    replies: u64,
    counters: Counters,
}

impl Responder {
    /// A server at `server_ip`/`server_mac` handing out addresses from
    /// `first` upwards.
    pub fn new(server_ip: Ipv4Addr, server_mac: [u8; 6], first: Ipv4Addr, faults: Faults) -> Self {
        Self {
            server_ip,
            server_mac,
            first: u32::from(first),
            next: 0,
            leases: HashMap::new(),
            last_acked: None,
            faults,
            replies: 0,
            counters: Counters::default(),
        }
    }

    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Answers the request in `frame`, writing the reply frame into `out`
    /// (at least [`OUT_LEN`] bytes); returns its length, or `None` when
    /// there is nothing to send.
    pub fn handle(&mut self, frame: &[u8], out: &mut [u8]) -> Option<usize> {
        let len = self.answer(frame, out)?;
        self.replies += 1;
        if every(self.faults.drop_every, self.replies) {
            self.counters.dropped += 1;
            return None;
        }
        Some(len)
    }

    fn answer(&mut self, frame: &[u8], out: &mut [u8]) -> Option<usize> {
        let Some(udp) = frame::parse_udp(frame).filter(|u| u.addrs.dst_port == SERVER_PORT) else {
            self.counters.ignored += 1;
            return None;
        };
        let Some(msg) = Message::parse(udp.payload)
            .ok()
            .filter(|m| m.op() == BOOTREQUEST)
        else {
            self.counters.ignored += 1;
            return None;
        };
        let Ok(mac) = <[u8; 6]>::try_from(msg.chaddr_raw().get(..6)?) else {
            self.counters.ignored += 1;
            return None;
        };
        let (reply_type, yiaddr) = match msg.message_type() {
            Some(MessageType::Discover) => {
                self.counters.discovers += 1;
                self.counters.offers += 1;
                (MessageType::Offer, self.address_of(mac))
            }
            Some(MessageType::Request) => {
                if msg.server_id().is_some_and(|s| s != self.server_ip) {
                    self.counters.ignored += 1;
                    return None; // the client chose another server
                }
                self.counters.requests += 1;
                if every(self.faults.nak_every, self.counters.requests) {
                    self.counters.naks += 1;
                    (MessageType::Nak, Ipv4Addr::UNSPECIFIED)
                } else {
                    self.counters.acks += 1;
                    (MessageType::Ack, self.ack_address(mac))
                }
            }
            Some(MessageType::Release) => {
                self.counters.releases += 1;
                return None;
            }
            _ => {
                self.counters.ignored += 1;
                return None;
            }
        };

        let giaddr = msg.giaddr();
        let ciaddr = msg.ciaddr();
        let (dst_mac, dst_ip, dst_port) = if !giaddr.is_unspecified() {
            (udp.addrs.src_mac, giaddr, SERVER_PORT)
        } else if reply_type == MessageType::Nak || msg.broadcast() {
            (BROADCAST_MAC, Ipv4Addr::BROADCAST, CLIENT_PORT)
        } else if !ciaddr.is_unspecified() {
            (udp.addrs.src_mac, ciaddr, CLIENT_PORT)
        } else {
            (mac, yiaddr, CLIENT_PORT)
        };

        let payload = &mut out[UDP_PAYLOAD_AT..UDP_PAYLOAD_AT + REPLY_LEN];
        let mut w = Writer::new(payload, REPLY_LEN);
        w.header(&ReplyHeader {
            op: BOOTREPLY,
            htype: msg.htype(),
            hlen: msg.hlen(),
            hops: 0,
            xid: msg.xid(),
            secs: 0,
            flags: msg.flags(),
            ciaddr: if reply_type == MessageType::Ack {
                ciaddr
            } else {
                Ipv4Addr::UNSPECIFIED
            },
            yiaddr,
            siaddr: Ipv4Addr::UNSPECIFIED,
            giaddr,
            chaddr: msg.chaddr_raw(),
            sname: &[],
            file: &[],
        });
        // Four short options and option 82 (≤ 255 bytes) fit in 400.
        w.option_u8(code::MESSAGE_TYPE, reply_type as u8).ok()?;
        w.option_ip(code::SERVER_ID, self.server_ip).ok()?;
        if reply_type != MessageType::Nak {
            w.option_u32(code::LEASE_TIME, LEASE_S).ok()?;
            w.option_ip(code::SUBNET_MASK, Ipv4Addr::new(255, 255, 0, 0))
                .ok()?;
        }
        if let Some(info) = msg.relay_agent_info() {
            w.option(code::RELAY_AGENT_INFO, info).ok()?;
        }
        let len = w.finish();
        let addrs = UdpAddrs {
            src_mac: self.server_mac,
            dst_mac,
            src_ip: self.server_ip,
            dst_ip,
            src_port: SERVER_PORT,
            dst_port,
        };
        Some(frame::write_udp(out, &addrs, len))
    }

    fn address_of(&mut self, mac: [u8; 6]) -> Ipv4Addr {
        *self.leases.entry(mac).or_insert_with(|| {
            let a = Ipv4Addr::from(self.first.wrapping_add(self.next));
            self.next = self.next.wrapping_add(1);
            a
        })
    }

    fn ack_address(&mut self, mac: [u8; 6]) -> Ipv4Addr {
        let own = self.address_of(mac);
        let give = match self.last_acked {
            Some((other, addr))
                if other != mac && every(self.faults.duplicate_every, self.counters.acks) =>
            {
                self.counters.duplicates += 1;
                addr
            }
            _ => own,
        };
        self.last_acked = Some((mac, give));
        give
    }
}

/// Whether the `count`-th event is one of every `n`th (never for n = 0).
fn every(n: u64, count: u64) -> bool {
    n != 0 && count.is_multiple_of(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::population::Population;

    const SERVER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
    const SERVER_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
    const RELAY_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];
    const FIRST: Ipv4Addr = Ipv4Addr::new(100, 64, 0, 0);

    /// Client `n`'s message as a frame from the relay (or the client).
    fn request(
        p: &Population,
        n: u32,
        build: impl Fn(&crate::SimClient, &mut [u8]) -> usize,
    ) -> Vec<u8> {
        let c = p.client(n, 0);
        let mut buf = vec![0u8; UDP_PAYLOAD_AT + crate::MESSAGE_BUF_LEN];
        let len = build(&c, &mut buf[UDP_PAYLOAD_AT..]);
        let relayed = p.is_relayed();
        let addrs = UdpAddrs {
            src_mac: if relayed { RELAY_MAC } else { c.mac },
            dst_mac: BROADCAST_MAC,
            src_ip: c.giaddr,
            dst_ip: SERVER,
            src_port: if relayed { 67 } else { 68 },
            dst_port: 67,
        };
        let len = frame::write_udp(&mut buf, &addrs, len);
        buf.truncate(len);
        buf
    }

    fn reply(r: &mut Responder, frame: &[u8]) -> Option<(UdpAddrs, Vec<u8>)> {
        let mut out = [0u8; OUT_LEN];
        let len = r.handle(frame, &mut out)?;
        let udp = frame::parse_udp(&out[..len]).unwrap();
        Some((udp.addrs, udp.payload.to_vec()))
    }

    #[test]
    fn a_direct_client_gets_an_offer_to_its_mac_and_an_ack_of_the_same_address() {
        let p = Population::new(1, 10, vec![]);
        let mut r = Responder::new(SERVER, SERVER_MAC, FIRST, Faults::default());
        let (addrs, payload) = reply(&mut r, &request(&p, 3, |c, b| c.discover(b, 77))).unwrap();
        let offer = Message::parse(&payload).unwrap();
        assert_eq!(offer.message_type(), Some(MessageType::Offer));
        assert_eq!(offer.xid(), 77);
        assert_eq!(offer.yiaddr(), FIRST);
        assert_eq!(offer.server_id(), Some(SERVER));
        assert_eq!(addrs.dst_mac, p.client(3, 0).mac);
        assert_eq!((addrs.dst_ip, addrs.dst_port), (FIRST, 68));

        let (_, payload) = reply(
            &mut r,
            &request(&p, 3, |c, b| c.request(b, 78, FIRST, SERVER)),
        )
        .unwrap();
        let ack = Message::parse(&payload).unwrap();
        assert_eq!(ack.message_type(), Some(MessageType::Ack));
        assert_eq!(ack.yiaddr(), FIRST);
        assert_eq!(ack.lease_time(), Some(LEASE_S));
        // Another client gets the next address; a request for another
        // server is not ours to answer.
        let (_, payload) = reply(&mut r, &request(&p, 4, |c, b| c.discover(b, 1))).unwrap();
        assert_eq!(
            Message::parse(&payload).unwrap().yiaddr(),
            Ipv4Addr::new(100, 64, 0, 1)
        );
        let other = Ipv4Addr::new(198, 18, 0, 9);
        assert!(
            reply(
                &mut r,
                &request(&p, 4, |c, b| c.request(b, 1, FIRST, other))
            )
            .is_none()
        );
        assert!(
            reply(
                &mut r,
                &request(&p, 4, |c, b| c.release(b, 1, FIRST, SERVER))
            )
            .is_none()
        );
        let c = r.counters();
        assert_eq!((c.offers, c.acks, c.releases, c.ignored), (2, 1, 1, 1));
    }

    #[test]
    fn a_relayed_request_is_answered_to_the_relay_with_option_82_echoed() {
        let p = Population::new(1, 10, vec![Ipv4Addr::new(198, 19, 0, 1)]);
        let mut r = Responder::new(SERVER, SERVER_MAC, FIRST, Faults::default());
        let (addrs, payload) = reply(&mut r, &request(&p, 2, |c, b| c.discover(b, 5))).unwrap();
        assert_eq!(addrs.dst_mac, RELAY_MAC);
        assert_eq!(
            (addrs.dst_ip, addrs.dst_port),
            (Ipv4Addr::new(198, 19, 0, 1), 67)
        );
        let offer = Message::parse(&payload).unwrap();
        let sent = p.client(2, 0).agent_info.unwrap().encode();
        assert_eq!(offer.relay_agent_info(), Some(&sent[..]));
        assert_eq!(offer.giaddr(), Ipv4Addr::new(198, 19, 0, 1));
    }

    #[test]
    fn faults_happen_exactly_as_often_as_asked() {
        let p = Population::new(1, 100, vec![]);
        let faults = Faults {
            drop_every: 10,
            duplicate_every: 7,
            nak_every: 0,
        };
        let mut r = Responder::new(SERVER, SERVER_MAC, FIRST, faults);
        let mut answered = 0;
        let mut acked = Vec::new();
        for n in 0..100 {
            if let Some((_, p1)) = reply(&mut r, &request(&p, n, |c, b| c.discover(b, n))) {
                answered += 1;
                let a = Message::parse(&p1).unwrap().yiaddr();
                if let Some((_, p2)) =
                    reply(&mut r, &request(&p, n, |c, b| c.request(b, n, a, SERVER)))
                {
                    answered += 1;
                    acked.push(Message::parse(&p2).unwrap().yiaddr());
                }
            }
        }
        let c = r.counters();
        assert_eq!(c.offers + c.acks, answered + c.dropped);
        assert_eq!(c.dropped, (c.offers + c.acks) / 10);
        assert_eq!(c.duplicates, c.acks / 7);
        let mut unique = acked.clone();
        unique.sort();
        unique.dedup();
        // Each duplicate whose ACK was delivered repeats an address.
        assert!(acked.len() - unique.len() <= c.duplicates as usize);
        assert!(acked.len() > unique.len());
    }

    #[test]
    fn nak_every_naks_by_broadcast() {
        let p = Population::new(1, 10, vec![]);
        let faults = Faults {
            nak_every: 1,
            ..Faults::default()
        };
        let mut r = Responder::new(SERVER, SERVER_MAC, FIRST, faults);
        let (addrs, payload) = reply(
            &mut r,
            &request(&p, 1, |c, b| c.request(b, 9, FIRST, SERVER)),
        )
        .unwrap();
        assert_eq!(
            Message::parse(&payload).unwrap().message_type(),
            Some(MessageType::Nak)
        );
        assert_eq!(addrs.dst_mac, BROADCAST_MAC);
        assert_eq!(r.counters().naks, 1);
    }

    #[test]
    fn garbage_is_ignored_without_a_reply() {
        let mut r = Responder::new(SERVER, SERVER_MAC, FIRST, Faults::default());
        let mut out = [0u8; OUT_LEN];
        assert_eq!(r.handle(&[0u8; 20], &mut out), None);
        let mut f = [0u8; 100];
        let addrs = UdpAddrs {
            src_mac: [2; 6],
            dst_mac: BROADCAST_MAC,
            src_ip: Ipv4Addr::UNSPECIFIED,
            dst_ip: Ipv4Addr::BROADCAST,
            src_port: 68,
            dst_port: 67,
        };
        let len = frame::write_udp(&mut f, &addrs, 58);
        assert_eq!(r.handle(&f[..len], &mut out), None, "too short for DHCP");
        assert_eq!(r.counters().ignored, 2);
    }
}
