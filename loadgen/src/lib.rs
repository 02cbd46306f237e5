//! Simulated DHCP clients: the identities of a client population and the
//! messages each client sends, written straight into caller buffers.
//!
//! Shared by `xdhcp-loadgen` and the benchmarks, so both put the same bytes
//! on the wire. Client `n` always has the same MAC and client identifier,
//! so a run is reproducible and its clients can be told apart in replies.

use std::net::Ipv4Addr;

use dhcp_wire::{BOOTREQUEST, BROADCAST_FLAG, MessageType, ReplyHeader, Writer, code};

/// Ethernet.
const HTYPE_ETHERNET: u8 = 1;
/// Options a typical client (Windows, dhclient) asks for.
const PARAMETER_REQUEST_LIST: [u8; 8] = [1, 3, 6, 15, 28, 42, 51, 54];
/// Large enough for every client message built here.
pub const MESSAGE_BUF_LEN: usize = 576;

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
        }
    }

    /// The transaction id of this client's `attempt`-th exchange.
    pub fn xid(&self, attempt: u32) -> u32 {
        self.n.wrapping_mul(0x9e37_79b9) ^ attempt
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
            secs: 0,
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

    /// DHCPDISCOVER; returns its length in `buf`.
    pub fn discover(&self, buf: &mut [u8], xid: u32) -> usize {
        let mut w = self.start(buf, xid, Ipv4Addr::UNSPECIFIED, MessageType::Discover);
        w.option(code::PARAMETER_REQUEST_LIST, &PARAMETER_REQUEST_LIST)
            .expect("fits");
        w.option_u16(code::MAX_MESSAGE_SIZE, 1500).expect("fits");
        w.finish()
    }

    /// DHCPREQUEST in SELECTING state, for `addr` offered by `server`.
    pub fn request(&self, buf: &mut [u8], xid: u32, addr: Ipv4Addr, server: Ipv4Addr) -> usize {
        let mut w = self.start(buf, xid, Ipv4Addr::UNSPECIFIED, MessageType::Request);
        w.option_ip(code::REQUESTED_IP, addr).expect("fits");
        w.option_ip(code::SERVER_ID, server).expect("fits");
        w.option(code::PARAMETER_REQUEST_LIST, &PARAMETER_REQUEST_LIST)
            .expect("fits");
        w.finish()
    }

    /// DHCPREQUEST in RENEWING state for the bound `addr`.
    pub fn renew(&self, buf: &mut [u8], xid: u32, addr: Ipv4Addr) -> usize {
        let mut w = self.start(buf, xid, addr, MessageType::Request);
        w.option(code::PARAMETER_REQUEST_LIST, &PARAMETER_REQUEST_LIST)
            .expect("fits");
        w.finish()
    }

    /// DHCPRELEASE of `addr`.
    pub fn release(&self, buf: &mut [u8], xid: u32, addr: Ipv4Addr, server: Ipv4Addr) -> usize {
        let mut w = self.start(buf, xid, addr, MessageType::Release);
        w.option_ip(code::SERVER_ID, server).expect("fits");
        w.finish()
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
    }

    #[test]
    fn clients_of_different_seeds_never_share_a_mac() {
        assert_ne!(SimClient::new(1, 5).mac, SimClient::new(2, 5).mac);
        assert_ne!(SimClient::new(1, 5).mac, SimClient::new(1, 6).mac);
    }
}
