//! What kind of frame is this: DHCP to the server, malformed, or other.
//!
//! Written against [`Packet`] rather than `XdpContext` so the same code runs
//! in the kernel and in the host unit tests below. Every read is a
//! bounds-checked [`Packet::bytes`] of a constant size at an offset whose
//! range the verifier can follow (the IPv4 header length is at most 60).

/// Bounds-checked reads from a frame.
pub trait Packet {
    /// The `N` bytes at `offset`, or `None` when the frame ends first.
    fn bytes<const N: usize>(&self, offset: usize) -> Option<[u8; N]>;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// IPv4, UDP, destination port 67, first (or only) fragment.
    Dhcp,
    /// A header this program must read is cut short or invalid: an Ethernet
    /// header under 14 bytes, an IPv4 header with version ≠ 4 or IHL < 5 or
    /// cut short, or a UDP header cut short.
    Malformed,
    /// Anything else: other EtherTypes (ARP, IPv6, VLAN-tagged frames for
    /// now), other IP protocols, other ports, non-first fragments.
    Other,
}

const ETH_HLEN: usize = 14;
const ETH_TYPE_OFFSET: usize = 12;
const ETH_P_IP: [u8; 2] = [0x08, 0x00];
const IPV4_MIN_HLEN: usize = 20;
const IPPROTO_UDP: u8 = 17;
const UDP_HLEN: usize = 8;
const DHCP_SERVER_PORT: u16 = 67;

#[inline(always)]
pub fn classify<P: Packet>(frame: &P) -> Class {
    let Some(eth_type) = frame.bytes::<2>(ETH_TYPE_OFFSET) else {
        return Class::Malformed;
    };
    if eth_type != ETH_P_IP {
        return Class::Other;
    }

    let Some(ip) = frame.bytes::<IPV4_MIN_HLEN>(ETH_HLEN) else {
        return Class::Malformed;
    };
    let version = ip[0] >> 4;
    // In 32-bit words; the mask bounds the UDP offset below for the verifier.
    let ihl = usize::from(ip[0] & 0x0f);
    if version != 4 || ihl * 4 < IPV4_MIN_HLEN {
        return Class::Malformed;
    }
    if ip[9] != IPPROTO_UDP {
        return Class::Other;
    }
    // Only the first fragment carries the UDP header; later ones cannot be
    // told apart and are left to the kernel's reassembly.
    let fragment_offset = u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff;
    if fragment_offset != 0 {
        return Class::Other;
    }

    let Some(udp) = frame.bytes::<UDP_HLEN>(ETH_HLEN + ihl * 4) else {
        return Class::Malformed;
    };
    if u16::from_be_bytes([udp[2], udp[3]]) == DHCP_SERVER_PORT {
        Class::Dhcp
    } else {
        Class::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Frame(Vec<u8>);

    impl Packet for Frame {
        fn bytes<const N: usize>(&self, offset: usize) -> Option<[u8; N]> {
            self.0.get(offset..offset + N)?.try_into().ok()
        }
    }

    /// Ethernet + IPv4 (with `options` words of IP options) + UDP to `dport`.
    fn udp_frame(options: usize, dport: u16) -> Vec<u8> {
        let mut f = vec![0xff; 12];
        f.extend_from_slice(&ETH_P_IP);
        f.push(0x45 + options as u8);
        f.extend_from_slice(&[0; 8]);
        f.push(IPPROTO_UDP);
        f.extend_from_slice(&[0; 10]);
        f.extend(std::iter::repeat_n(1, options * 4)); // NOP options
        f.extend_from_slice(&68u16.to_be_bytes());
        f.extend_from_slice(&dport.to_be_bytes());
        f.extend_from_slice(&[0; 4]);
        f.extend_from_slice(&[0; 240]); // BOOTP body, not inspected
        f
    }

    fn class(bytes: Vec<u8>) -> Class {
        classify(&Frame(bytes))
    }

    #[test]
    fn dhcp_with_and_without_ip_options() {
        assert_eq!(class(udp_frame(0, 67)), Class::Dhcp);
        assert_eq!(class(udp_frame(1, 67)), Class::Dhcp);
        assert_eq!(class(udp_frame(10, 67)), Class::Dhcp);
    }

    #[test]
    fn other_traffic() {
        assert_eq!(class(udp_frame(0, 68)), Class::Other);
        let mut tcp = udp_frame(0, 67);
        tcp[ETH_HLEN + 9] = 6;
        assert_eq!(class(tcp), Class::Other);
        let mut arp = udp_frame(0, 67);
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(class(arp), Class::Other);
        let mut later_fragment = udp_frame(0, 67);
        later_fragment[ETH_HLEN + 7] = 0x10;
        assert_eq!(class(later_fragment), Class::Other);
    }

    #[test]
    fn first_fragment_is_still_dhcp() {
        let mut first = udp_frame(0, 67);
        first[ETH_HLEN + 6] = 0x20; // more fragments, offset 0
        assert_eq!(class(first), Class::Dhcp);
    }

    #[test]
    fn malformed_headers() {
        assert_eq!(class(vec![0; 13]), Class::Malformed);
        assert_eq!(
            class(udp_frame(0, 67)[..ETH_HLEN + 19].to_vec()),
            Class::Malformed
        );
        let mut v6 = udp_frame(0, 67);
        v6[ETH_HLEN] = 0x65;
        assert_eq!(class(v6), Class::Malformed);
        let mut short_ihl = udp_frame(0, 67);
        short_ihl[ETH_HLEN] = 0x44;
        assert_eq!(class(short_ihl), Class::Malformed);
        // UDP header cut short, then IP options running past the end.
        assert_eq!(
            class(udp_frame(0, 67)[..ETH_HLEN + 24].to_vec()),
            Class::Malformed
        );
        let mut long_ihl = udp_frame(0, 67)[..ETH_HLEN + 40].to_vec();
        long_ihl[ETH_HLEN] = 0x4f;
        assert_eq!(class(long_ihl), Class::Malformed);
    }
}
