//! Helpers shared by the integration tests: dhcproto as the oracle, and
//! proptest strategies for messages it encodes byte-exactly.

// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

use std::net::Ipv4Addr;

use dhcproto::v4::{self, DhcpOption, OptionCode, UnknownOption};
use dhcproto::{Decodable, Encodable};
use proptest::collection::vec;
use proptest::prelude::*;

/// Decodes a hex string (whitespace ignored).
pub fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .map(|b| match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => panic!("not a hex digit: {}", b as char),
        })
        .collect();
    digits.chunks(2).map(|p| p[0] << 4 | p[1]).collect()
}

/// A message with a zeroed header, the magic cookie and `options` verbatim.
pub fn with_options(options: &[u8]) -> Vec<u8> {
    let mut b = vec![0; 240];
    b[0] = dhcp_wire::BOOTREQUEST;
    b[236..240].copy_from_slice(&dhcp_wire::MAGIC_COOKIE);
    b.extend_from_slice(options);
    b
}

/// The value bytes dhcproto puts on the wire for `opt`: it is encoded alone
/// and the values of its instances are concatenated (RFC 3396).
pub fn dhcproto_value(opt: &DhcpOption) -> Vec<u8> {
    let wire = opt.to_vec().expect("dhcproto encodes the option");
    let mut value = Vec::new();
    let mut rest = &wire[..];
    while let [_, len, tail @ ..] = rest {
        let (v, tail) = tail.split_at(usize::from(*len));
        value.extend_from_slice(v);
        rest = tail;
    }
    value
}

/// Decodes `bytes` with dhcproto.
pub fn dhcproto_decode(bytes: &[u8]) -> v4::Message {
    v4::Message::from_bytes(bytes).expect("dhcproto decodes the message")
}

/// Codes whose value dhcproto keeps as opaque bytes, so any value
/// round-trips byte-exactly: its `Vec<u8>` options and every code it does
/// not implement. Option 52 is left out: dhcproto ignores overload.
pub fn opaque_codes() -> Vec<u8> {
    let typed_opaque = [43, 60, 61, 63, 66, 67, 77, 97];
    (1..=254u8)
        .filter(|&c| {
            typed_opaque.contains(&c) || matches!(OptionCode::from(c), OptionCode::Unknown(_))
        })
        .collect()
}

fn ip() -> impl Strategy<Value = Ipv4Addr> {
    any::<[u8; 4]>().prop_map(Ipv4Addr::from)
}

/// One dhcproto option that encodes and decodes back to the same bytes.
pub fn dhcproto_option() -> impl Strategy<Value = DhcpOption> {
    let value = || vec(any::<u8>(), 0..300);
    prop_oneof![
        (0u8..=20).prop_map(|t| DhcpOption::MessageType(t.into())),
        ip().prop_map(DhcpOption::RequestedIpAddress),
        ip().prop_map(DhcpOption::ServerIdentifier),
        value().prop_map(DhcpOption::ClientIdentifier),
        value().prop_map(|v| {
            DhcpOption::ParameterRequestList(v.into_iter().map(OptionCode::from).collect())
        }),
        any::<u16>().prop_map(DhcpOption::MaxMessageSize),
        any::<u32>().prop_map(DhcpOption::AddressLeaseTime),
        (prop::sample::select(opaque_codes()), value())
            .prop_map(|(c, v)| { DhcpOption::Unknown(UnknownOption::new(OptionCode::from(c), v)) }),
    ]
}

prop_compose! {
    /// An arbitrary dhcproto message: any header, up to 12 options.
    pub fn dhcproto_message()(
        op in any::<u8>(),
        htype in any::<u8>(),
        hops in any::<u8>(),
        xid in any::<u32>(),
        secs in any::<u16>(),
        flags in any::<u16>(),
        addrs in any::<[[u8; 4]; 4]>(),
        chaddr in vec(any::<u8>(), 0..=16),
        sname in vec(any::<u8>(), 0..=64),
        file in vec(any::<u8>(), 0..=128),
        options in vec(dhcproto_option(), 0..12),
    ) -> v4::Message {
        let [ci, yi, si, gi] = addrs.map(Ipv4Addr::from);
        let mut m = v4::Message::new_with_id(xid, ci, yi, si, gi, &chaddr);
        m.set_opcode(op.into())
            .set_htype(htype.into())
            .set_hops(hops)
            .set_secs(secs)
            .set_flags(flags.into())
            .set_sname(&sname)
            .set_fname(&file);
        for o in options {
            m.opts_mut().insert(o);
        }
        m
    }
}
