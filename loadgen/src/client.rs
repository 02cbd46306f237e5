//! [`SimClient`]: one simulated DHCP client, and the messages it sends,
//! written straight into caller buffers.
//!
//! Shared by `xdhcp-loadgen` and the benchmarks, so both put the same bytes
//! on the wire. Client `n` always has the same MAC and client identifier,
//! so a run is reproducible and its clients can be told apart in replies.
//!
//! Owns the DHCP payload of client messages only: it never frames them,
//! never keeps state between messages and never decides when to send
//! (`scenario` does).

use std::net::Ipv4Addr;

use dhcp_wire::{BOOTREQUEST, BROADCAST_FLAG, MessageType, ReplyHeader, Writer, code};

/// Ethernet.
const HTYPE_ETHERNET: u8 = 1;
/// Options a typical client (Windows, dhclient) asks for.
const PARAMETER_REQUEST_LIST: [u8; 8] = [1, 3, 6, 15, 28, 42, 51, 54];
/// Large enough for every client message built here.
pub const MESSAGE_BUF_LEN: usize = 576;

/// The transaction id of client `n`'s `attempt`-th exchange: spread over
/// the 32 bits, so clients' xids rarely coincide, and computable from the
/// index alone, so no table of xids is needed.
pub fn xid(n: u32, attempt: u32) -> u32 {
    n.wrapping_mul(0x9e37_79b9) ^ attempt
}

/// Client `n` of a population: locally administered MAC `02:xx:nn:nn:nn:nn`,
/// where `xx` is the population's seed, so two load generators never
/// collide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimClient {
    pub n: u32,
    pub mac: [u8; 6],
    /// Send option 61 (`01` + MAC, as Windows clients do).
    pub with_client_id: bool,
    pub broadcast: bool,
    /// The relay this client is behind, if any.
    pub giaddr: Ipv4Addr,
    /// Seconds since the client began acquiring or renewing (RFC 2131
    /// `secs`): grows with retransmissions, which failover servers read.
    pub secs: u16,
    /// Option 82 as the relay at `giaddr` would append it.
    pub agent_info: Option<AgentInfo>,
}

/// Relay agent information (option 82, RFC 3046) a relay adds to the
/// messages of one client: the port the client is on and the relay's own
/// identity. Binary values, as most access switches send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentInfo {
    /// Sub-option 1: the relay port (circuit) of the client.
    pub circuit_id: u32,
    /// Sub-option 2: the relay's identity (a MAC, commonly).
    pub remote_id: [u8; 6],
}

impl AgentInfo {
    /// Sub-option 1 (4 bytes) and sub-option 2 (6 bytes), each with its
    /// code and length.
    pub const ENCODED_LEN: usize = 2 + 4 + 2 + 6;

    /// The option's value in wire form.
    pub fn encode(&self) -> [u8; Self::ENCODED_LEN] {
        let mut v = [0u8; Self::ENCODED_LEN];
        v[0] = 1;
        v[1] = 4;
        v[2..6].copy_from_slice(&self.circuit_id.to_be_bytes());
        v[6] = 2;
        v[7] = 6;
        v[8..].copy_from_slice(&self.remote_id);
        v
    }
}

impl SimClient {
    pub fn new(seed: u8, n: u32) -> SimClient {
        let b = n.to_be_bytes();
        SimClient {
            n,
            mac: [0x02, seed, b[0], b[1], b[2], b[3]],
            with_client_id: false,
            broadcast: false,
            giaddr: Ipv4Addr::UNSPECIFIED,
            secs: 0,
            agent_info: None,
        }
    }

    /// The transaction id of this client's `attempt`-th exchange.
    pub fn xid(&self, attempt: u32) -> u32 {
        xid(self.n, attempt)
    }

    fn chaddr(&self) -> [u8; 16] {
        let mut c = [0u8; 16];
        c[..6].copy_from_slice(&self.mac);
        c
    }

    fn start<'b>(
        &self,
        buf: &'b mut [u8],
        xid: u32,
        ciaddr: Ipv4Addr,
        kind: MessageType,
    ) -> Writer<'b> {
        let chaddr = self.chaddr();
        let mut w = Writer::new(buf, MESSAGE_BUF_LEN);
        w.header(&ReplyHeader {
            op: BOOTREQUEST,
            htype: HTYPE_ETHERNET,
            hlen: 6,
            hops: u8::from(!self.giaddr.is_unspecified()),
            xid,
            secs: self.secs,
            flags: if self.broadcast { BROADCAST_FLAG } else { 0 },
            ciaddr,
            yiaddr: Ipv4Addr::UNSPECIFIED,
            siaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: self.giaddr,
            chaddr: &chaddr,
            sname: &[],
            file: &[],
        });
        // Every message here is far below the size limit.
        w.option_u8(code::MESSAGE_TYPE, kind as u8).expect("fits");
        if self.with_client_id {
            let mut id = [0u8; 7];
            id[0] = HTYPE_ETHERNET;
            id[1..].copy_from_slice(&self.mac);
            w.option(code::CLIENT_ID, &id).expect("fits");
        }
        w
    }

    /// Appends option 82 when relayed (a relay appends it after the
    /// client's options, RFC 3046 §2.1) and ends the message.
    fn end(&self, mut w: Writer<'_>) -> usize {
        if let Some(info) = self.agent_info {
            w.option(code::RELAY_AGENT_INFO, &info.encode())
                .expect("fits");
        }
        w.finish()
    }

    /// DHCPDISCOVER; returns its length in `buf`.
    pub fn discover(&self, buf: &mut [u8], xid: u32) -> usize {
        let mut w = self.start(buf, xid, Ipv4Addr::UNSPECIFIED, MessageType::Discover);
        w.option(code::PARAMETER_REQUEST_LIST, &PARAMETER_REQUEST_LIST)
            .expect("fits");
        w.option_u16(code::MAX_MESSAGE_SIZE, 1500).expect("fits");
        self.end(w)
    }

    /// DHCPREQUEST in SELECTING state, for `addr` offered by `server`.
    pub fn request(&self, buf: &mut [u8], xid: u32, addr: Ipv4Addr, server: Ipv4Addr) -> usize {
        let mut w = self.start(buf, xid, Ipv4Addr::UNSPECIFIED, MessageType::Request);
        w.option_ip(code::REQUESTED_IP, addr).expect("fits");
        w.option_ip(code::SERVER_ID, server).expect("fits");
        w.option(code::PARAMETER_REQUEST_LIST, &PARAMETER_REQUEST_LIST)
            .expect("fits");
        self.end(w)
    }

    /// DHCPREQUEST in RENEWING state for the bound `addr`.
    pub fn renew(&self, buf: &mut [u8], xid: u32, addr: Ipv4Addr) -> usize {
        let mut w = self.start(buf, xid, addr, MessageType::Request);
        w.option(code::PARAMETER_REQUEST_LIST, &PARAMETER_REQUEST_LIST)
            .expect("fits");
        self.end(w)
    }

    /// DHCPRELEASE of `addr`.
    pub fn release(&self, buf: &mut [u8], xid: u32, addr: Ipv4Addr, server: Ipv4Addr) -> usize {
        let mut w = self.start(buf, xid, addr, MessageType::Release);
        w.option_ip(code::SERVER_ID, server).expect("fits");
        self.end(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dhcp_wire::Message;

    #[test]
    fn messages_parse_back_with_the_right_fields() {
        let mut c = SimClient::new(7, 0x0102_0304);
        c.with_client_id = true;
        c.giaddr = Ipv4Addr::new(10, 9, 0, 1);
        let mut buf = [0u8; MESSAGE_BUF_LEN];
        let len = c.request(
            &mut buf,
            42,
            Ipv4Addr::new(10, 9, 0, 7),
            Ipv4Addr::new(10, 0, 0, 1),
        );
        let m = Message::parse(&buf[..len]).unwrap();
        assert_eq!(m.op(), BOOTREQUEST);
        assert_eq!(m.xid(), 42);
        assert_eq!(m.chaddr(), [2, 7, 1, 2, 3, 4]);
        assert_eq!(m.hops(), 1);
        assert_eq!(m.giaddr(), Ipv4Addr::new(10, 9, 0, 1));
        assert_eq!(m.message_type(), Some(MessageType::Request));
        assert_eq!(m.requested_ip(), Some(Ipv4Addr::new(10, 9, 0, 7)));
        assert_eq!(m.server_id(), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(m.client_id(), Some(&[1, 2, 7, 1, 2, 3, 4][..]));
        assert_eq!(m.relay_agent_info(), None);
    }

    #[test]
    fn relayed_messages_carry_option_82_last_and_secs() {
        let mut c = SimClient::new(3, 9);
        c.giaddr = Ipv4Addr::new(198, 19, 0, 1);
        c.secs = 12;
        c.agent_info = Some(AgentInfo {
            circuit_id: 0x0102_0304,
            remote_id: [2, 0, 0, 0, 0, 7],
        });
        let mut buf = [0u8; MESSAGE_BUF_LEN];
        let len = c.discover(&mut buf, 5);
        let m = Message::parse(&buf[..len]).unwrap();
        assert_eq!(m.secs(), 12);
        assert_eq!(
            m.relay_agent_info(),
            Some(&[1, 4, 1, 2, 3, 4, 2, 6, 2, 0, 0, 0, 0, 7][..])
        );
        let last = m.options().last().map(|(c, _)| c);
        assert_eq!(last, Some(code::RELAY_AGENT_INFO));
    }

    #[test]
    fn clients_of_different_seeds_never_share_a_mac() {
        assert_ne!(SimClient::new(1, 5).mac, SimClient::new(2, 5).mac);
        assert_ne!(SimClient::new(1, 5).mac, SimClient::new(1, 6).mac);
    }
}
