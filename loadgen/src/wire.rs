//! [`Wire`]: the translation between the scenario and frames — who each
//! message is from and to, which received frames are replies for our
//! clients, and which ARP requests our clients and relays must answer.
//!
//! Addressing (RFC 2131 §4.1, §4.4.5):
//! * on the link (no relays), DISCOVER and REQUEST are broadcast from the
//!   client's MAC, 0.0.0.0:68 → 255.255.255.255:67; replies come to port 68
//!   at the client's MAC or broadcast;
//! * through relays, they go from giaddr:67 at the interface's MAC to the
//!   server:67 (option 82 appended), and replies come back to giaddr:67.
//!   The giaddrs need not be assigned to the interface: ARP for them is
//!   answered here;
//! * renewals and releases are unicast from the client's address to the
//!   server, untouched by any relay; the server then unicasts to ciaddr, so
//!   ARP is answered for every address a client holds (with the client's
//!   MAC on the link, with the interface's MAC behind relays, where the
//!   relay routes for its clients).
//!
//! Owns addresses and bytes only: it keeps no client state (it asks who
//! holds an address), never touches a socket and never reads a clock.

use std::{collections::HashSet, net::Ipv4Addr};

use dhcp_wire::{BOOTREPLY, Message as Dhcp, MessageType};

use crate::{
    frame::{self, Arp, BROADCAST_MAC, UDP_PAYLOAD_AT, UdpAddrs},
    population::Population,
    scenario::{Message, Reply, ReplyType, Send},
};

const SERVER_PORT: u16 = 67;
const CLIENT_PORT: u16 = 68;

/// What a received frame is, for the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// A DHCP reply to one of our clients, from `src_mac`.
    Reply { reply: Reply, src_mac: [u8; 6] },
    /// A DHCP reply to a client that is not ours.
    Foreign,
    /// An ARP message.
    Arp(Arp),
    /// Anything else: requests of other clients, other UDP.
    Other,
}

/// The addresses of both ends.
#[derive(Debug, Clone)]
pub struct Wire {
    population: Population,
    if_mac: [u8; 6],
    /// The server's address: where relayed messages go.
    server: Option<Ipv4Addr>,
    /// The server's (or next hop's) MAC; broadcast until known.
    pub server_mac: Option<[u8; 6]>,
    relays: HashSet<Ipv4Addr>,
}

impl Wire {
    pub fn new(
        population: Population,
        if_mac: [u8; 6],
        server: Option<Ipv4Addr>,
        server_mac: Option<[u8; 6]>,
    ) -> Self {
        let relays = population.relays().iter().copied().collect();
        Self {
            population,
            if_mac,
            server,
            server_mac,
            relays,
        }
    }

    /// Writes `s` as a complete frame into `slot` (at least
    /// `UDP_PAYLOAD_AT + MESSAGE_BUF_LEN` bytes); returns its length.
    pub fn write(&self, s: &Send, slot: &mut [u8]) -> usize {
        let mut c = self.population.client(s.client, s.secs);
        let relayed = self.population.is_relayed();
        let payload = &mut slot[UDP_PAYLOAD_AT..];
        let server_mac = self.server_mac.unwrap_or(BROADCAST_MAC);
        let (len, addrs) = match s.message {
            Message::Discover | Message::Request { .. } => {
                let len = match s.message {
                    Message::Request { addr, server } => c.request(payload, s.xid, addr, server),
                    _ => c.discover(payload, s.xid),
                };
                let addrs = if relayed {
                    UdpAddrs {
                        src_mac: self.if_mac,
                        dst_mac: server_mac,
                        src_ip: c.giaddr,
                        dst_ip: self.server.unwrap_or(Ipv4Addr::BROADCAST),
                        src_port: SERVER_PORT,
                        dst_port: SERVER_PORT,
                    }
                } else {
                    UdpAddrs {
                        src_mac: c.mac,
                        dst_mac: BROADCAST_MAC,
                        src_ip: Ipv4Addr::UNSPECIFIED,
                        dst_ip: Ipv4Addr::BROADCAST,
                        src_port: CLIENT_PORT,
                        dst_port: SERVER_PORT,
                    }
                };
                (len, addrs)
            }
            Message::Renew { addr, server } | Message::Release { addr, server } => {
                c.giaddr = Ipv4Addr::UNSPECIFIED;
                c.agent_info = None;
                let len = match s.message {
                    Message::Renew { .. } => c.renew(payload, s.xid, addr),
                    _ => c.release(payload, s.xid, addr, server),
                };
                let addrs = UdpAddrs {
                    src_mac: if relayed { self.if_mac } else { c.mac },
                    dst_mac: server_mac,
                    src_ip: addr,
                    dst_ip: server,
                    src_port: CLIENT_PORT,
                    dst_port: SERVER_PORT,
                };
                (len, addrs)
            }
        };
        frame::write_udp(slot, &addrs, len)
    }

    /// What a received frame is.
    pub fn classify(&self, f: &[u8]) -> Received {
        if let Some(arp) = frame::parse_arp(f) {
            return Received::Arp(arp);
        }
        let Some(udp) = frame::parse_udp(f) else {
            return Received::Other;
        };
        let Some(msg) = Dhcp::parse(udp.payload)
            .ok()
            .filter(|m| m.op() == BOOTREPLY)
        else {
            return Received::Other;
        };
        let kind = match msg.message_type() {
            Some(MessageType::Offer) => ReplyType::Offer,
            Some(MessageType::Ack) => ReplyType::Ack,
            Some(MessageType::Nak) => ReplyType::Nak,
            _ => return Received::Other,
        };
        let Some(client) = self.population.index_of(msg.chaddr()) else {
            return Received::Foreign;
        };
        Received::Reply {
            reply: Reply {
                client,
                xid: msg.xid(),
                kind,
                yiaddr: msg.yiaddr(),
                server: msg.server_id().unwrap_or(udp.addrs.src_ip),
                lease_s: msg.lease_time(),
            },
            src_mac: udp.addrs.src_mac,
        }
    }

    /// The answer to an ARP request, if the address is a relay's or held
    /// by one of our clients (`holder`): the reply and its Ethernet
    /// destination.
    pub fn answer_arp(
        &self,
        arp: &Arp,
        holder: impl Fn(Ipv4Addr) -> Option<u32>,
    ) -> Option<(Arp, [u8; 6])> {
        if !arp.is_request {
            return None;
        }
        let mac = if self.relays.contains(&arp.target_ip) {
            self.if_mac
        } else {
            let n = holder(arp.target_ip)?;
            if self.population.is_relayed() {
                self.if_mac
            } else {
                self.population.client(n, 0).mac
            }
        };
        let reply = Arp {
            is_request: false,
            sender_mac: mac,
            sender_ip: arp.target_ip,
            target_mac: arp.sender_mac,
            target_ip: arp.sender_ip,
        };
        Some((reply, arp.sender_mac))
    }
}

#[cfg(test)]
mod tests {
    use dhcp_wire::{ReplyHeader, Writer, code};

    use super::*;
    use crate::{MESSAGE_BUF_LEN, stats::Kind};

    const IF_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];
    const SERVER_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
    const SERVER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
    const GIADDR: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 1);
    const LEASED: Ipv4Addr = Ipv4Addr::new(198, 19, 1, 7);

    fn wire(relays: Vec<Ipv4Addr>) -> Wire {
        Wire::new(
            Population::new(5, 100, relays),
            IF_MAC,
            Some(SERVER),
            Some(SERVER_MAC),
        )
    }

    fn send(message: Message) -> Send {
        Send {
            client: 7,
            xid: 99,
            secs: 3,
            kind: Kind::Do,
            retransmit: false,
            message,
        }
    }

    fn written(w: &Wire, s: &Send) -> (UdpAddrs, Vec<u8>) {
        let mut slot = vec![0u8; UDP_PAYLOAD_AT + MESSAGE_BUF_LEN];
        let len = w.write(s, &mut slot);
        let udp = frame::parse_udp(&slot[..len]).unwrap();
        (udp.addrs, udp.payload.to_vec())
    }

    #[test]
    fn a_direct_discover_is_broadcast_from_the_clients_mac() {
        let w = wire(vec![]);
        let (a, payload) = written(&w, &send(Message::Discover));
        let mac = Population::new(5, 100, vec![]).client(7, 0).mac;
        assert_eq!((a.src_mac, a.dst_mac), (mac, BROADCAST_MAC));
        assert_eq!((a.src_ip, a.src_port), (Ipv4Addr::UNSPECIFIED, 68));
        assert_eq!((a.dst_ip, a.dst_port), (Ipv4Addr::BROADCAST, 67));
        let m = Dhcp::parse(&payload).unwrap();
        assert_eq!(
            (m.xid(), m.secs(), m.giaddr()),
            (99, 3, Ipv4Addr::UNSPECIFIED)
        );
        assert_eq!(m.relay_agent_info(), None);
    }

    #[test]
    fn a_relayed_request_goes_from_giaddr_to_the_server_with_option_82() {
        let w = wire(vec![Ipv4Addr::new(198, 19, 0, 0), GIADDR]);
        let (a, payload) = written(
            &w,
            &send(Message::Request {
                addr: LEASED,
                server: SERVER,
            }),
        );
        assert_eq!((a.src_mac, a.dst_mac), (IF_MAC, SERVER_MAC));
        assert_eq!(
            (a.src_ip, a.src_port, a.dst_ip, a.dst_port),
            (GIADDR, 67, SERVER, 67)
        );
        let m = Dhcp::parse(&payload).unwrap();
        assert_eq!(m.giaddr(), GIADDR, "client 7 is behind relay 7 % 2 = 1");
        assert_eq!(m.hops(), 1);
        assert!(m.relay_agent_info().is_some());
        assert_eq!(m.requested_ip(), Some(LEASED));
    }

    #[test]
    fn renewals_and_releases_are_unicast_from_ciaddr_without_relay_fields() {
        for relays in [vec![], vec![GIADDR]] {
            let w = wire(relays.clone());
            for message in [
                Message::Renew {
                    addr: LEASED,
                    server: SERVER,
                },
                Message::Release {
                    addr: LEASED,
                    server: SERVER,
                },
            ] {
                let (a, payload) = written(&w, &send(message));
                assert_eq!(
                    (a.src_ip, a.src_port, a.dst_ip, a.dst_port),
                    (LEASED, 68, SERVER, 67)
                );
                assert_eq!(a.dst_mac, SERVER_MAC);
                let m = Dhcp::parse(&payload).unwrap();
                assert_eq!(
                    (m.ciaddr(), m.giaddr(), m.hops()),
                    (LEASED, Ipv4Addr::UNSPECIFIED, 0)
                );
                assert_eq!(m.relay_agent_info(), None);
                let expected_src = if relays.is_empty() {
                    w.population.client(7, 0).mac
                } else {
                    IF_MAC
                };
                assert_eq!(a.src_mac, expected_src);
            }
        }
    }

    fn reply_frame(chaddr: [u8; 6], op: u8, kind: MessageType) -> Vec<u8> {
        let mut buf = vec![0u8; UDP_PAYLOAD_AT + 400];
        let mut ch = [0u8; 16];
        ch[..6].copy_from_slice(&chaddr);
        let mut wr = Writer::new(&mut buf[UDP_PAYLOAD_AT..], 400);
        wr.header(&ReplyHeader {
            op,
            htype: 1,
            hlen: 6,
            hops: 0,
            xid: 42,
            secs: 0,
            flags: 0,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            yiaddr: LEASED,
            siaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: Ipv4Addr::UNSPECIFIED,
            chaddr: &ch,
            sname: &[],
            file: &[],
        });
        wr.option_u8(code::MESSAGE_TYPE, kind as u8).unwrap();
        wr.option_u32(code::LEASE_TIME, 60).unwrap();
        let len = wr.finish();
        let addrs = UdpAddrs {
            src_mac: SERVER_MAC,
            dst_mac: chaddr,
            src_ip: SERVER,
            dst_ip: LEASED,
            src_port: 67,
            dst_port: 68,
        };
        let len = frame::write_udp(&mut buf, &addrs, len);
        buf.truncate(len);
        buf
    }

    #[test]
    fn replies_are_mapped_to_their_client_and_the_rest_is_told_apart() {
        let w = wire(vec![]);
        let mac = Population::new(5, 100, vec![]).client(7, 0).mac;
        let got = w.classify(&reply_frame(mac, BOOTREPLY, MessageType::Ack));
        let Received::Reply { reply, src_mac } = got else {
            panic!("{got:?}");
        };
        assert_eq!(src_mac, SERVER_MAC);
        assert_eq!(
            (reply.client, reply.xid, reply.kind),
            (7, 42, ReplyType::Ack)
        );
        assert_eq!((reply.yiaddr, reply.lease_s), (LEASED, Some(60)));
        assert_eq!(reply.server, SERVER, "no option 54: the source address");
        let stranger = [2, 6, 0, 0, 0, 7];
        assert_eq!(
            w.classify(&reply_frame(stranger, BOOTREPLY, MessageType::Offer)),
            Received::Foreign
        );
        assert_eq!(
            w.classify(&reply_frame(mac, 1, MessageType::Discover)),
            Received::Other,
            "a request"
        );
        assert_eq!(
            w.classify(&reply_frame(mac, BOOTREPLY, MessageType::Inform)),
            Received::Other
        );
        assert_eq!(w.classify(&[0u8; 30]), Received::Other);
    }

    #[test]
    fn arp_is_answered_for_relays_and_held_addresses_only() {
        let asker = |target_ip| Arp {
            is_request: true,
            sender_mac: SERVER_MAC,
            sender_ip: SERVER,
            target_mac: [0; 6],
            target_ip,
        };
        let held = |ip| (ip == LEASED).then_some(7);
        let direct = wire(vec![]);
        let (reply, to) = direct.answer_arp(&asker(LEASED), held).unwrap();
        assert_eq!(to, SERVER_MAC);
        assert_eq!(reply.sender_mac, direct.population.client(7, 0).mac);
        assert_eq!((reply.sender_ip, reply.target_ip), (LEASED, SERVER));
        assert!(!reply.is_request);
        assert_eq!(
            direct.answer_arp(&asker(Ipv4Addr::new(198, 19, 1, 8)), held),
            None
        );

        let relayed = wire(vec![GIADDR]);
        assert_eq!(
            relayed
                .answer_arp(&asker(GIADDR), |_| None)
                .unwrap()
                .0
                .sender_mac,
            IF_MAC
        );
        assert_eq!(
            relayed
                .answer_arp(&asker(LEASED), held)
                .unwrap()
                .0
                .sender_mac,
            IF_MAC
        );
        let mut not_a_request = asker(GIADDR);
        not_a_request.is_request = false;
        assert_eq!(relayed.answer_arp(&not_a_request, held), None);
    }
}
