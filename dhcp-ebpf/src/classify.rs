//! What kind of frame is this — DHCP to the server (and which client sent
//! it), malformed, or other — read the way the verifier can follow.
//!
//! Written against [`Packet`] rather than `XdpContext` so the same code runs
//! in the kernel, in this crate's unit tests and in `dhcp-user`'s tests,
//! which check the client hash against the userspace steering of the same
//! frames. Headers are read with [`Packet::bytes`], whose offsets are small
//! by construction (at most two VLAN tags, an IPv4 header of at most 60
//! bytes), so the verifier can follow direct packet access. The DHCP
//! options are read with [`Packet::load`]: their offsets depend on the
//! data, and if they reached packet pointers the verifier would have to
//! follow every path through the option walk apart (it gives up long
//! before 32 options).
//!
//! It never writes to the frame and never decides where a frame goes: the
//! program turns the [`Class`] into an action.

use dhcp_common::steer;

/// Bounds-checked reads from a frame.
pub trait Packet {
    /// The `N` bytes at `offset`, or `None` when the frame ends first. For
    /// offsets with a small range (header offsets): in the kernel this is
    /// direct packet access.
    fn bytes<const N: usize>(&self, offset: usize) -> Option<[u8; N]>;

    /// `buf.len()` bytes at `offset` into `buf`, or `None` when the frame
    /// ends first. For offsets that depend on the data: in the kernel this
    /// is a helper call (`bpf_xdp_load_bytes`), which checks the bounds
    /// itself, so the verifier need not track the offset's range.
    fn load(&self, offset: usize, buf: &mut [u8]) -> Option<()>;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// IPv4, UDP, destination port = the server port, first (or only)
    /// fragment; `hash` is `dhcp_common::steer`'s hash of the client key
    /// (see [`client_hash`]).
    Dhcp { hash: u32 },
    /// A header this program must read is cut short or invalid: an Ethernet
    /// header or VLAN tag cut short, an IPv4 header with version ≠ 4 or
    /// IHL < 5 or cut short, or a UDP header cut short.
    Malformed,
    /// Anything else: other EtherTypes (ARP, IPv6), more than two VLAN
    /// tags, other IP protocols, other ports, non-first fragments.
    Other,
}

/// Options looked at, PADs included, before the search for option 61 gives
/// up and the client is steered by `chaddr`. Clients put option 61 among
/// their first few options (dhclient, udhcpc, dhcpcd, Windows: within the
/// first 6); a message whose option 61 comes later still reaches the right
/// worker, which forwards it (see ARCHITECTURE.md, "XDP datapath").
pub const MAX_OPTIONS: usize = 32;

/// No frame the program sees is longer: XDP frames fit in one page. Offsets
/// are checked against it so the verifier knows every offset's range.
pub const MAX_FRAME: usize = 4096;

const ETH_HLEN: usize = 14;
const ETH_TYPE_OFFSET: usize = 12;
const VLAN_HLEN: usize = 4;
const ETH_P_IP: [u8; 2] = [0x08, 0x00];
const ETH_P_8021Q: [u8; 2] = [0x81, 0x00];
const ETH_P_8021AD: [u8; 2] = [0x88, 0xa8];
const IPV4_MIN_HLEN: usize = 20;
const IPPROTO_UDP: u8 = 17;
const UDP_HLEN: usize = 8;

/// BOOTP fixed header: `hlen` and `chaddr` offsets, magic cookie, options.
const BOOTP_HLEN_OFFSET: usize = 2;
const BOOTP_CHADDR_OFFSET: usize = 28;
const BOOTP_CHADDR_LEN: usize = 16;
const BOOTP_COOKIE_OFFSET: usize = 236;
const BOOTP_OPTIONS_OFFSET: usize = 240;
const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];
const OPTION_PAD: u8 = 0;
const OPTION_END: u8 = 255;
const OPTION_CLIENT_ID: u8 = 61;
/// RFC 2132 §9.14: a type byte and at least one byte of identifier;
/// `dhcp_wire::Message::client_id` ignores anything shorter.
const CLIENT_ID_MIN_LEN: usize = 2;

#[inline(always)]
pub fn classify<P: Packet>(frame: &P, server_port: u16) -> Class {
    let (udp_at, udp) = match udp_header(frame) {
        Ok(found) => found,
        Err(class) => return class,
    };
    if server_port == 0 || u16::from_be_bytes([udp[2], udp[3]]) != server_port {
        return Class::Other;
    }
    let payload = udp_at + UDP_HLEN;
    // The payload ends at the UDP length, not at the frame's end: Ethernet
    // pads short frames, and the padding is not part of the message.
    let payload_end = udp_at + usize::from(u16::from_be_bytes([udp[4], udp[5]]));
    Class::Dhcp {
        hash: client_hash(frame, payload, payload_end),
    }
}

/// Whether the frame is IPv4 UDP to a DHCP port (67: requests and relayed
/// replies, 68: replies to clients), first or only fragment: what a load
/// generator's XDP program hands to its AF_XDP socket. Everything else
/// (ARP above all) stays with the kernel.
#[inline(always)]
pub fn is_to_dhcp_port<P: Packet>(frame: &P) -> bool {
    let Ok((_, udp)) = udp_header(frame) else {
        return false;
    };
    matches!(u16::from_be_bytes([udp[2], udp[3]]), 67 | 68)
}

/// The offset and bytes of the UDP header of an IPv4 frame (behind at most
/// two VLAN tags), or the class of a frame that has none: `Other` for
/// other EtherTypes and protocols and for non-first fragments, `Malformed`
/// for headers cut short or invalid.
#[inline(always)]
fn udp_header<P: Packet>(frame: &P) -> Result<(usize, [u8; UDP_HLEN]), Class> {
    let Some(mut eth_type) = frame.bytes::<2>(ETH_TYPE_OFFSET) else {
        return Err(Class::Malformed);
    };
    // Up to two tags (802.1ad outer + 802.1Q inner, or one of either), as
    // the userspace frame parser accepts; unrolled so every offset is a
    // constant.
    let mut l3 = ETH_HLEN;
    if is_vlan(eth_type) {
        let Some(inner) = frame.bytes::<2>(ETH_TYPE_OFFSET + VLAN_HLEN) else {
            return Err(Class::Malformed);
        };
        eth_type = inner;
        l3 = ETH_HLEN + VLAN_HLEN;
        if is_vlan(eth_type) {
            let Some(inner) = frame.bytes::<2>(ETH_TYPE_OFFSET + 2 * VLAN_HLEN) else {
                return Err(Class::Malformed);
            };
            eth_type = inner;
            l3 = ETH_HLEN + 2 * VLAN_HLEN;
        }
    }
    if eth_type != ETH_P_IP {
        return Err(Class::Other);
    }

    let Some(ip) = frame.bytes::<IPV4_MIN_HLEN>(l3) else {
        return Err(Class::Malformed);
    };
    let version = ip[0] >> 4;
    // In 32-bit words; the mask bounds the UDP offset below for the verifier.
    let ihl = usize::from(ip[0] & 0x0f);
    if version != 4 || ihl * 4 < IPV4_MIN_HLEN {
        return Err(Class::Malformed);
    }
    if ip[9] != IPPROTO_UDP {
        return Err(Class::Other);
    }
    // Only the first fragment carries the UDP header; later ones cannot be
    // told apart and are left to the kernel's reassembly.
    let fragment_offset = u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff;
    if fragment_offset != 0 {
        return Err(Class::Other);
    }

    let udp_at = l3 + ihl * 4;
    match frame.bytes::<UDP_HLEN>(udp_at) {
        Some(udp) => Ok((udp_at, udp)),
        None => Err(Class::Malformed),
    }
}

#[inline(always)]
fn is_vlan(eth_type: [u8; 2]) -> bool {
    eth_type == ETH_P_8021Q || eth_type == ETH_P_8021AD
}

/// `dhcp_common::steer`'s hash of the client key of the DHCP message at
/// `payload..payload_end`: option 61's value when the message has a magic
/// cookie and option 61 (at least 2 bytes) is among its first
/// [`MAX_OPTIONS`] options, else `chaddr[..min(hlen, 16)]` — the bytes
/// `dhcp_user::engine::steering_key` hashes in userspace.
///
/// Where the two can differ, userspace is right and the receiving worker
/// forwards the message to its owner: option 61 after the cap, split in
/// several instances (RFC 3396) or carried in the `file`/`sname` fields
/// (option overload). A message too short for the BOOTP header hashes as
/// an empty key; userspace rejects it anyway.
#[inline(always)]
pub fn client_hash<P: Packet>(frame: &P, payload: usize, payload_end: usize) -> u32 {
    let mut h = steer::start();
    if let Some((at, len)) = find_client_id(frame, payload, payload_end) {
        let mut id = [0u8; 255];
        // `len` is 2..=255 (one byte), so the slice is never empty.
        if frame.load(at, &mut id[..len]).is_some() {
            // The loop bound is a constant so the verifier sees it end.
            for (i, &byte) in id.iter().enumerate() {
                if i >= len {
                    break;
                }
                h = steer::fnv1a_step(h, byte);
            }
            return steer::finish(h);
        }
        // The value runs past the frame: userspace rejects the message,
        // so any worker will do; chaddr is as good as any.
    }
    let (Some(fixed), Some(chaddr)) = (
        frame.bytes::<4>(payload),
        frame.bytes::<BOOTP_CHADDR_LEN>(payload + BOOTP_CHADDR_OFFSET),
    ) else {
        return steer::finish(h);
    };
    let hlen = usize::from(fixed[BOOTP_HLEN_OFFSET]);
    for (i, byte) in chaddr.into_iter().enumerate() {
        if i >= hlen {
            break;
        }
        h = steer::fnv1a_step(h, byte);
    }
    steer::finish(h)
}

/// Where option 61's value is (frame offset, length), if the message has a
/// magic cookie and option 61 (of at least [`CLIENT_ID_MIN_LEN`] bytes) is
/// among its first [`MAX_OPTIONS`] options.
#[inline(always)]
fn find_client_id<P: Packet>(
    frame: &P,
    payload: usize,
    payload_end: usize,
) -> Option<(usize, usize)> {
    if frame.bytes::<4>(payload + BOOTP_COOKIE_OFFSET)? != MAGIC_COOKIE {
        return None;
    }
    let mut at = payload + BOOTP_OPTIONS_OFFSET;
    for _ in 0..MAX_OPTIONS {
        if at >= payload_end {
            return None;
        }
        // Code and length in one read. It fails only for a code in the
        // message's last byte, which ends the walk anyway: PAD and END have
        // nothing after them, and any other code without a length byte
        // makes the message invalid for userspace too.
        let [code, len] = pair_at(frame, at)?;
        match code {
            OPTION_PAD => at += 1,
            OPTION_END => return None,
            _ => {
                let len = usize::from(len);
                if code == OPTION_CLIENT_ID {
                    return (len >= CLIENT_ID_MIN_LEN).then_some((at + 2, len));
                }
                at += 2 + len;
            }
        }
    }
    None
}

/// The two bytes at `offset` (an option's code and length), for offsets
/// computed from packet data; `None` past [`MAX_FRAME`] or the frame.
#[inline(always)]
fn pair_at<P: Packet>(frame: &P, offset: usize) -> Option<[u8; 2]> {
    if offset >= MAX_FRAME {
        return None;
    }
    let mut pair = [0u8; 2];
    frame.load(offset, &mut pair)?;
    Some(pair)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Frame(Vec<u8>);

    impl Packet for Frame {
        fn bytes<const N: usize>(&self, offset: usize) -> Option<[u8; N]> {
            self.0.get(offset..offset + N)?.try_into().ok()
        }

        fn load(&self, offset: usize, buf: &mut [u8]) -> Option<()> {
            buf.copy_from_slice(self.0.get(offset..offset + buf.len())?);
            Some(())
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
        f.extend_from_slice(&(8u16 + 240).to_be_bytes());
        f.extend_from_slice(&[0; 2]);
        f.extend_from_slice(&[0; 240]); // BOOTP body
        f
    }

    fn class(bytes: Vec<u8>) -> Class {
        classify(&Frame(bytes), 67)
    }

    fn is_dhcp(c: Class) -> bool {
        matches!(c, Class::Dhcp { .. })
    }

    #[test]
    fn dhcp_with_and_without_ip_options() {
        assert!(is_dhcp(class(udp_frame(0, 67))));
        assert!(is_dhcp(class(udp_frame(1, 67))));
        assert!(is_dhcp(class(udp_frame(10, 67))));
    }

    #[test]
    fn the_server_port_is_configurable_and_0_matches_nothing() {
        assert!(is_dhcp(classify(&Frame(udp_frame(0, 1067)), 1067)));
        assert_eq!(classify(&Frame(udp_frame(0, 67)), 1067), Class::Other);
        assert_eq!(classify(&Frame(udp_frame(0, 0)), 0), Class::Other);
    }

    #[test]
    fn a_load_generator_takes_udp_to_67_and_68_only() {
        assert!(is_to_dhcp_port(&Frame(udp_frame(0, 67))));
        assert!(is_to_dhcp_port(&Frame(udp_frame(2, 68))));
        assert!(!is_to_dhcp_port(&Frame(udp_frame(0, 69))));
        let mut arp = udp_frame(0, 67);
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert!(!is_to_dhcp_port(&Frame(arp)));
        let mut later_fragment = udp_frame(0, 68);
        later_fragment[14 + 7] = 1;
        assert!(!is_to_dhcp_port(&Frame(later_fragment)));
        assert!(!is_to_dhcp_port(&Frame(udp_frame(0, 68)[..40].to_vec())));
    }

    #[test]
    fn vlan_tags_up_to_two() {
        let tagged = |tpids: &[[u8; 2]]| {
            let plain = udp_frame(0, 67);
            let mut f = plain[..12].to_vec();
            for tpid in tpids {
                f.extend_from_slice(tpid);
                f.extend_from_slice(&[0x00, 0x2a]);
            }
            f.extend_from_slice(&plain[12..]);
            f
        };
        assert!(is_dhcp(class(tagged(&[ETH_P_8021Q]))));
        assert!(is_dhcp(class(tagged(&[ETH_P_8021AD]))));
        assert!(is_dhcp(class(tagged(&[ETH_P_8021AD, ETH_P_8021Q]))));
        assert_eq!(
            class(tagged(&[ETH_P_8021AD, ETH_P_8021Q, ETH_P_8021Q])),
            Class::Other
        );
        // A tag whose inner EtherType is cut off.
        assert_eq!(
            class(tagged(&[ETH_P_8021Q])[..17].to_vec()),
            Class::Malformed
        );
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
        assert!(is_dhcp(class(first)));
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

    /// A frame around a BOOTP message with `chaddr` and `options` (after
    /// the magic cookie), and its payload's offsets.
    fn dhcp_frame(hlen: u8, options: &[u8]) -> (Frame, usize, usize) {
        let mut msg = vec![0u8; 236];
        msg[..4].copy_from_slice(&[1, 1, hlen, 0]);
        for (i, b) in msg[28..44].iter_mut().enumerate() {
            *b = 0xa0 + i as u8;
        }
        msg.extend_from_slice(&MAGIC_COOKIE);
        msg.extend_from_slice(options);
        let mut f = vec![0u8; 42];
        let end = 42 + msg.len();
        f.extend_from_slice(&msg);
        f.extend_from_slice(&[0xee; 20]); // Ethernet padding: not the message
        (Frame(f), 42, end)
    }

    fn chaddr(n: usize) -> Vec<u8> {
        (0..n).map(|i| 0xa0 + i as u8).collect()
    }

    #[test]
    fn hash_is_of_option_61_when_present() {
        let (f, p, end) = dhcp_frame(6, &[53, 1, 1, 61, 3, 1, 2, 3, 255]);
        assert_eq!(client_hash(&f, p, end), steer::client_hash(&[1, 2, 3]));
        // After PADs and other options.
        let (f, p, end) = dhcp_frame(6, &[0, 0, 53, 1, 1, 55, 2, 1, 3, 61, 2, 9, 9, 255]);
        assert_eq!(client_hash(&f, p, end), steer::client_hash(&[9, 9]));
    }

    #[test]
    fn hash_is_of_chaddr_without_a_usable_option_61() {
        let mac = steer::client_hash(&chaddr(6));
        for options in [
            &[53, 1, 1, 255][..],          // no option 61
            &[61, 1, 7, 255][..],          // too short for a client id
            &[53, 1, 1, 255, 61, 2, 1, 2], // after END
            &[53, 1, 1][..],               // no END, no 61
        ] {
            let (f, p, end) = dhcp_frame(6, options);
            assert_eq!(client_hash(&f, p, end), mac, "{options:?}");
        }
        // Option 61 past the end of the UDP payload (in the padding).
        let (f, p, end) = dhcp_frame(6, &[53, 1, 1]);
        let mut bytes = f.0;
        bytes[end..end + 5].copy_from_slice(&[61, 3, 1, 2, 3]);
        assert_eq!(client_hash(&Frame(bytes), p, end), mac);
    }

    #[test]
    fn chaddr_length_is_hlen_capped_at_16() {
        for (hlen, used) in [(0, 0), (1, 1), (6, 6), (16, 16), (17, 16), (255, 16)] {
            let (f, p, end) = dhcp_frame(hlen, &[255]);
            assert_eq!(
                client_hash(&f, p, end),
                steer::client_hash(&chaddr(used)),
                "hlen {hlen}"
            );
        }
    }

    #[test]
    fn option_walk_stops_at_the_cap() {
        let mut options = vec![0u8; MAX_OPTIONS - 1];
        options.extend_from_slice(&[61, 2, 5, 5, 255]);
        let (f, p, end) = dhcp_frame(6, &options);
        assert_eq!(client_hash(&f, p, end), steer::client_hash(&[5, 5]));
        let mut options = vec![0u8; MAX_OPTIONS];
        options.extend_from_slice(&[61, 2, 5, 5, 255]);
        let (f, p, end) = dhcp_frame(6, &options);
        assert_eq!(client_hash(&f, p, end), steer::client_hash(&chaddr(6)));
    }

    #[test]
    fn without_a_magic_cookie_or_a_header_it_falls_back() {
        let (f, p, end) = dhcp_frame(6, &[61, 2, 5, 5, 255]);
        let mut bytes = f.0;
        bytes[p + BOOTP_COOKIE_OFFSET] = 0;
        assert_eq!(
            client_hash(&Frame(bytes), p, end),
            steer::client_hash(&chaddr(6))
        );
        let short = Frame(vec![0; 42 + 30]);
        assert_eq!(client_hash(&short, 42, 72), steer::client_hash(&[]));
    }

    #[test]
    fn a_client_id_at_the_very_end_of_the_frame_is_hashed_whole() {
        for id in [&[1u8, 2][..], &[1, 2, 3], &[1, 2, 3, 4, 5, 6, 7]] {
            let mut options = vec![53, 1, 1, 61, id.len() as u8];
            options.extend_from_slice(id);
            let (f, p, end) = dhcp_frame(6, &options);
            let unpadded = Frame(f.0[..end].to_vec());
            assert_eq!(client_hash(&unpadded, p, end), steer::client_hash(id));
        }
        // A message whose last byte is END or PAD.
        let (f, p, end) = dhcp_frame(6, &[53, 1, 1, 255]);
        let unpadded = Frame(f.0[..end].to_vec());
        assert_eq!(
            client_hash(&unpadded, p, end),
            steer::client_hash(&chaddr(6))
        );
    }

    #[test]
    fn a_long_client_id_is_hashed_whole() {
        let id: Vec<u8> = (0..=254).collect();
        let mut options = vec![61, 255];
        options.extend_from_slice(&id);
        options.push(255);
        let (f, p, end) = dhcp_frame(6, &options);
        assert_eq!(client_hash(&f, p, end), steer::client_hash(&id));
    }
}
