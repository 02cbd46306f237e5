//! Ethernet/IPv4/UDP and ARP framing for the load generator and the
//! responder.
//!
//! `dhcp-user` has a fuller frame module (VLANs, IP options), but depending
//! on `dhcp-user` would make the load generator build the whole server,
//! its eBPF object and the bpf-linker toolchain with it; the load generator
//! needs only untagged frames, so this is the minimal subset, written anew.
//!
//! Owns the header bytes around a payload: it never looks inside the DHCP
//! payload, never allocates and never panics on received bytes. Outgoing
//! UDP frames carry complete checksums (a packet socket gets no offload);
//! received checksums are not verified (veth hands over partial ones).

use std::net::Ipv4Addr;

/// Ethernet header.
pub const ETH_LEN: usize = 14;
/// Ethernet + IPv4 (no options) + UDP: where the payload starts.
pub const UDP_PAYLOAD_AT: usize = ETH_LEN + 20 + 8;
/// The smallest Ethernet frame without its FCS; shorter ones are padded.
const MIN_FRAME: usize = 60;
/// All ones: the Ethernet broadcast address.
pub const BROADCAST_MAC: [u8; 6] = [0xff; 6];

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_ARP: u16 = 0x0806;
const IPPROTO_UDP: u8 = 17;
const ARP_REQUEST: u16 = 1;
const ARP_REPLY: u16 = 2;
/// ARP for IPv4 over Ethernet: the 28-byte body.
const ARP_LEN: usize = 28;

/// Who a UDP frame is from and to, at each layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpAddrs {
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    pub src_ip: Ipv4Addr,
    pub dst_ip: Ipv4Addr,
    pub src_port: u16,
    pub dst_port: u16,
}

/// Writes Ethernet, IPv4 and UDP headers in front of the `payload_len`
/// bytes already at `buf[UDP_PAYLOAD_AT..]`, with both checksums, and
/// returns the frame's length.
///
/// # Panics
/// If `buf` is shorter than the frame: buffers are sized by the caller
/// for the largest message it writes.
pub fn write_udp(buf: &mut [u8], a: &UdpAddrs, payload_len: usize) -> usize {
    let len = UDP_PAYLOAD_AT + payload_len;
    let frame = &mut buf[..len];
    frame[..6].copy_from_slice(&a.dst_mac);
    frame[6..12].copy_from_slice(&a.src_mac);
    frame[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    let udp_len = (8 + payload_len) as u16;
    let (ip, rest) = frame[ETH_LEN..].split_at_mut(20);
    ip[0] = 0x45;
    ip[1] = 0;
    ip[2..4].copy_from_slice(&(20 + udp_len).to_be_bytes());
    ip[4..8].fill(0); // id 0, no flags: never fragmented (far below any MTU)
    ip[8] = 64;
    ip[9] = IPPROTO_UDP;
    ip[10..12].fill(0);
    ip[12..16].copy_from_slice(&a.src_ip.octets());
    ip[16..20].copy_from_slice(&a.dst_ip.octets());
    let ip_sum = !fold(sum(ip));
    ip[10..12].copy_from_slice(&ip_sum.to_be_bytes());

    let (udp, payload) = rest.split_at_mut(8);
    udp[..2].copy_from_slice(&a.src_port.to_be_bytes());
    udp[2..4].copy_from_slice(&a.dst_port.to_be_bytes());
    udp[4..6].copy_from_slice(&udp_len.to_be_bytes());
    udp[6..8].fill(0);
    let mut pseudo = [0u8; 12];
    pseudo[..4].copy_from_slice(&a.src_ip.octets());
    pseudo[4..8].copy_from_slice(&a.dst_ip.octets());
    pseudo[9] = IPPROTO_UDP;
    pseudo[10..].copy_from_slice(&udp_len.to_be_bytes());
    // 0 means "no checksum" in IPv4 UDP: a sum of 0 is sent as 0xffff.
    let udp_sum = match !fold(sum(&pseudo) + sum(udp) + sum(payload)) {
        0 => 0xffff,
        s => s,
    };
    udp[6..8].copy_from_slice(&udp_sum.to_be_bytes());
    len
}

/// One's-complement sum of big-endian 16-bit words, an odd last byte
/// padded with zero; not folded. Every part passed here starts at an even
/// offset of the summed stream, so parts can be summed apart.
fn sum(data: &[u8]) -> u64 {
    let mut words = data.chunks_exact(2);
    let mut acc: u64 = words
        .by_ref()
        .map(|w| u64::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    if let [last] = words.remainder() {
        acc += u64::from(*last) << 8;
    }
    acc
}

fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// A received IPv4 UDP datagram: its addresses and payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Udp<'a> {
    pub addrs: UdpAddrs,
    pub payload: &'a [u8],
}

/// An untagged Ethernet frame carrying an unfragmented IPv4 UDP datagram;
/// `None` for anything else or anything truncated.
pub fn parse_udp(frame: &[u8]) -> Option<Udp<'_>> {
    if be16(frame, 12)? != ETHERTYPE_IPV4 {
        return None;
    }
    let ip = frame.get(ETH_LEN..)?;
    let ihl = usize::from(ip.first()? & 0x0f) * 4;
    if ip[0] >> 4 != 4 || ihl < 20 || *ip.get(9)? != IPPROTO_UDP || be16(ip, 6)? & 0x3fff != 0 {
        return None;
    }
    let total = usize::from(be16(ip, 2)?);
    let ip = ip.get(..total)?;
    let udp = ip.get(ihl..)?;
    let udp_len = usize::from(be16(udp, 4)?);
    let payload = udp.get(8..udp_len.max(8))?;
    Some(Udp {
        addrs: UdpAddrs {
            dst_mac: frame[..6].try_into().ok()?,
            src_mac: frame[6..12].try_into().ok()?,
            src_ip: ipv4_at(ip, 12)?,
            dst_ip: ipv4_at(ip, 16)?,
            src_port: be16(udp, 0)?,
            dst_port: be16(udp, 2)?,
        },
        payload,
    })
}

/// An ARP message for IPv4 over Ethernet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arp {
    /// Whether it asks (request) or answers (reply).
    pub is_request: bool,
    pub sender_mac: [u8; 6],
    pub sender_ip: Ipv4Addr,
    pub target_mac: [u8; 6],
    pub target_ip: Ipv4Addr,
}

/// An untagged Ethernet frame carrying ARP for IPv4 over Ethernet.
pub fn parse_arp(frame: &[u8]) -> Option<Arp> {
    if be16(frame, 12)? != ETHERTYPE_ARP {
        return None;
    }
    let a = frame.get(ETH_LEN..ETH_LEN + ARP_LEN)?;
    // htype Ethernet, ptype IPv4, hlen 6, plen 4.
    if a[..6] != [0, 1, 8, 0, 6, 4] {
        return None;
    }
    let is_request = match be16(a, 6)? {
        ARP_REQUEST => true,
        ARP_REPLY => false,
        _ => return None,
    };
    Some(Arp {
        is_request,
        sender_mac: a[8..14].try_into().ok()?,
        sender_ip: ipv4_at(a, 14)?,
        target_mac: a[18..24].try_into().ok()?,
        target_ip: ipv4_at(a, 24)?,
    })
}

/// Writes `arp` into `buf` as a frame from `arp.sender_mac` to `eth_dst`
/// (padded to the Ethernet minimum) and returns its length.
///
/// # Panics
/// If `buf` holds fewer than 60 bytes.
pub fn write_arp(buf: &mut [u8], arp: &Arp, eth_dst: [u8; 6]) -> usize {
    let frame = &mut buf[..MIN_FRAME];
    frame.fill(0);
    frame[..6].copy_from_slice(&eth_dst);
    frame[6..12].copy_from_slice(&arp.sender_mac);
    frame[12..14].copy_from_slice(&ETHERTYPE_ARP.to_be_bytes());
    let a = &mut frame[ETH_LEN..ETH_LEN + ARP_LEN];
    a[..6].copy_from_slice(&[0, 1, 8, 0, 6, 4]);
    let op = if arp.is_request {
        ARP_REQUEST
    } else {
        ARP_REPLY
    };
    a[6..8].copy_from_slice(&op.to_be_bytes());
    a[8..14].copy_from_slice(&arp.sender_mac);
    a[14..18].copy_from_slice(&arp.sender_ip.octets());
    a[18..24].copy_from_slice(&arp.target_mac);
    a[24..28].copy_from_slice(&arp.target_ip.octets());
    MIN_FRAME
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn ipv4_at(b: &[u8], at: usize) -> Option<Ipv4Addr> {
    let o: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(Ipv4Addr::from(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs() -> UdpAddrs {
        UdpAddrs {
            src_mac: [2, 0, 0, 0, 0, 1],
            dst_mac: BROADCAST_MAC,
            src_ip: Ipv4Addr::new(198, 18, 0, 2),
            dst_ip: Ipv4Addr::new(198, 18, 0, 1),
            src_port: 67,
            dst_port: 67,
        }
    }

    #[test]
    fn a_written_frame_parses_back_and_its_checksums_verify() {
        let mut buf = [0u8; 400];
        // An odd payload length exercises the padding of the last byte.
        for (i, b) in buf[UDP_PAYLOAD_AT..UDP_PAYLOAD_AT + 301]
            .iter_mut()
            .enumerate()
        {
            *b = i as u8 ^ 0x5a;
        }
        let len = write_udp(&mut buf, &addrs(), 301);
        assert_eq!(len, UDP_PAYLOAD_AT + 301);
        let frame = &buf[..len];
        let udp = parse_udp(frame).unwrap();
        assert_eq!(udp.addrs, addrs());
        assert_eq!(udp.payload, &frame[UDP_PAYLOAD_AT..]);
        // A correct header sums to all ones; so does the UDP pseudo-header
        // + datagram.
        assert_eq!(fold(sum(&frame[ETH_LEN..ETH_LEN + 20])), 0xffff);
        let mut pseudo = [0u8; 12];
        pseudo[..8].copy_from_slice(&frame[ETH_LEN + 12..ETH_LEN + 20]);
        pseudo[9] = IPPROTO_UDP;
        pseudo[10..].copy_from_slice(&(8u16 + 301).to_be_bytes());
        assert_eq!(fold(sum(&pseudo) + sum(&frame[ETH_LEN + 20..])), 0xffff);
    }

    #[test]
    fn anything_but_ipv4_udp_is_refused() {
        let mut buf = [0u8; 400];
        let len = write_udp(&mut buf, &addrs(), 300);
        let mut fragment = buf;
        fragment[ETH_LEN + 6] = 0x20; // more fragments
        assert_eq!(parse_udp(&fragment[..len]), None);
        let mut tcp = buf;
        tcp[ETH_LEN + 9] = 6;
        assert_eq!(parse_udp(&tcp[..len]), None);
        assert_eq!(parse_udp(&buf[..len - 1]), None, "truncated");
        assert_eq!(parse_udp(&buf[..10]), None);
        assert_eq!(parse_arp(&buf[..len]), None);
    }

    #[test]
    fn arp_round_trips() {
        let arp = Arp {
            is_request: false,
            sender_mac: [2, 1, 0, 0, 0, 9],
            sender_ip: Ipv4Addr::new(198, 19, 0, 9),
            target_mac: [2, 0, 0, 0, 0, 1],
            target_ip: Ipv4Addr::new(198, 18, 0, 1),
        };
        let mut buf = [0u8; 64];
        let len = write_arp(&mut buf, &arp, arp.target_mac);
        assert_eq!(len, 60);
        assert_eq!(parse_arp(&buf[..len]), Some(arp));
        assert_eq!(parse_udp(&buf[..len]), None);
    }
}
