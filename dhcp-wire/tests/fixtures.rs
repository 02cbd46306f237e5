//! Real and hand-built messages read field by field.

mod common;

use std::net::Ipv4Addr;

use common::{dhcproto_decode, hex, with_options};
use dhcp_wire::{BOOTREQUEST, DecodeError, Message, MessageType, code};

/// Frame 1 of Wireshark's sample capture `dhcp.pcap` (SampleCaptures wiki):
/// the DHCPDISCOVER of client 00:0b:82:01:fc:42, 314 bytes on the wire, so a
/// 272-byte UDP payload. Reconstructed from the published hex dump; the long
/// zero runs (chaddr padding, sname, file) are spelled out by length.
fn dhcp_pcap_discover() -> Vec<u8> {
    let mut b = hex("01 01 06 00  00 00 3d 1d  00 00 00 00
         00 00 00 00  00 00 00 00  00 00 00 00  00 00 00 00
         00 0b 82 01 fc 42");
    b.resize(b.len() + 10 + 64 + 128, 0);
    b.extend(hex("63 82 53 63
         35 01 01
         3d 07 01 00 0b 82 01 fc 42
         32 04 00 00 00 00
         37 04 01 03 06 2a
         ff
         00 00 00 00 00 00 00"));
    assert_eq!(b.len(), 272);
    b
}

#[test]
fn wireshark_dhcp_pcap_discover() {
    let bytes = dhcp_pcap_discover();
    let m = Message::parse(&bytes).unwrap();

    assert_eq!(m.op(), BOOTREQUEST);
    assert_eq!(m.htype(), 1);
    assert_eq!(m.hlen(), 6);
    assert_eq!(m.hops(), 0);
    assert_eq!(m.xid(), 0x0000_3d1d);
    assert_eq!(m.secs(), 0);
    assert_eq!(m.flags(), 0);
    assert!(!m.broadcast());
    for addr in [m.ciaddr(), m.yiaddr(), m.siaddr(), m.giaddr()] {
        assert_eq!(addr, Ipv4Addr::UNSPECIFIED);
    }
    assert_eq!(m.chaddr(), &[0x00, 0x0b, 0x82, 0x01, 0xfc, 0x42]);
    assert_eq!(&m.chaddr_raw()[6..], &[0; 10]);
    assert!(m.sname().iter().all(|&b| b == 0));
    assert!(m.file().iter().all(|&b| b == 0));
    assert!(m.has_magic_cookie());

    let options: Vec<(u8, &[u8])> = m.options().collect();
    assert_eq!(
        options,
        [
            (code::MESSAGE_TYPE, &[1][..]),
            (
                code::CLIENT_ID,
                &[1, 0x00, 0x0b, 0x82, 0x01, 0xfc, 0x42][..]
            ),
            (code::REQUESTED_IP, &[0, 0, 0, 0][..]),
            (code::PARAMETER_REQUEST_LIST, &[1, 3, 6, 42][..]),
        ]
    );
    assert_eq!(m.message_type(), Some(MessageType::Discover));
    assert_eq!(
        m.client_id(),
        Some(&[1, 0x00, 0x0b, 0x82, 0x01, 0xfc, 0x42][..])
    );
    assert_eq!(m.requested_ip(), Some(Ipv4Addr::UNSPECIFIED));
    assert_eq!(m.parameter_request_list(), Some(&[1, 3, 6, 42][..]));
    assert_eq!(m.server_id(), None);
    assert_eq!(m.max_message_size(), None);
    assert_eq!(m.lease_time(), None);
    assert_eq!(m.relay_agent_info(), None);

    // The oracle reads the same capture the same way.
    let dh = dhcproto_decode(&bytes);
    assert_eq!(dh.xid(), m.xid());
    assert_eq!(dh.chaddr(), m.chaddr());
    assert_eq!(dh.opts().len(), options.len());
}

fn header_with(hlen: u8, len: usize) -> Vec<u8> {
    let mut b = vec![0; len];
    b[2] = hlen;
    for (i, x) in b[28..44].iter_mut().enumerate() {
        *x = i as u8 + 1;
    }
    b
}

#[test]
fn length_limits() {
    assert_eq!(
        Message::parse(&[0; 235]).unwrap_err(),
        DecodeError::TooShort { len: 235 }
    );
    assert_eq!(
        Message::parse(&[]).unwrap_err(),
        DecodeError::TooShort { len: 0 }
    );
    // The bare BOOTP header is a message, with no options.
    let m = Message::parse(&[0; 236]).unwrap();
    assert!(!m.has_magic_cookie());
    assert_eq!(m.options().count(), 0);
    // A truncated cookie is no cookie.
    let mut b = vec![0; 239];
    b[236..239].copy_from_slice(&[99, 130, 83]);
    assert!(!Message::parse(&b).unwrap().has_magic_cookie());
}

#[test]
fn bootp_without_cookie_has_no_options() {
    let mut b = header_with(6, 300);
    // Would be a malformed option if it were read.
    b[240..243].copy_from_slice(&[53, 200, 1]);
    let m = Message::parse(&b).unwrap();
    assert!(!m.has_magic_cookie());
    assert_eq!(m.option(code::MESSAGE_TYPE), None);
    assert_eq!(m.message_type(), None);
    assert_eq!(m.chaddr(), &[1, 2, 3, 4, 5, 6]);
}

#[test]
fn hlen_is_clamped_not_rejected() {
    let m_bytes = header_with(200, 236);
    let m = Message::parse(&m_bytes).unwrap();
    assert_eq!(m.hlen(), 200);
    assert_eq!(m.chaddr().len(), 16);
    assert_eq!(m.chaddr(), m.chaddr_raw());
    let zero = header_with(0, 236);
    assert_eq!(Message::parse(&zero).unwrap().chaddr(), &[] as &[u8]);
}

#[test]
fn missing_end_and_trailing_bytes_are_tolerated() {
    let no_end = with_options(&[53, 1, 3, 0, 0]);
    let m = Message::parse(&no_end).unwrap();
    assert_eq!(m.message_type(), Some(MessageType::Request));

    // After END anything goes, even an option that would overrun.
    let trailing = with_options(&[53, 1, 3, 255, 61, 250, 1]);
    let m = Message::parse(&trailing).unwrap();
    assert_eq!(m.options().count(), 1);
    assert_eq!(m.option(code::CLIENT_ID), None);
}

#[test]
fn overrun_is_an_error_with_its_offset() {
    let b = with_options(&[53, 1, 1, 61, 7, 1, 2]);
    assert_eq!(
        Message::parse(&b).unwrap_err(),
        DecodeError::OptionOverrun {
            code: 61,
            offset: 243
        }
    );
    let b = with_options(&[53, 1, 1, 61]);
    assert_eq!(
        Message::parse(&b).unwrap_err(),
        DecodeError::OptionOverrun {
            code: 61,
            offset: 243
        }
    );
}

#[test]
fn pad_and_zero_length_options() {
    let b = with_options(&[0, 0, 80, 0, 0, 53, 1, 2, 255]);
    let m = Message::parse(&b).unwrap();
    let options: Vec<(u8, &[u8])> = m.options().collect();
    assert_eq!(options, [(80, &[][..]), (53, &[2][..])]);
    assert_eq!(m.option(code::PAD), None);
    assert_eq!(m.option(code::END), None);
}

#[test]
fn typed_helpers_reject_wrong_lengths() {
    let b = with_options(&[
        53, 2, 1, 1, // message type: two bytes
        50, 3, 10, 0, 0, // requested ip: three bytes
        54, 5, 10, 0, 0, 1, 1, // server id: five bytes
        61, 1, 1, // client id: type byte only
        55, 0, // empty PRL
        57, 3, 5, 220, 0, // max size: three bytes
        51, 2, 0, 1, // lease: two bytes
        82, 0, // empty relay info
        255,
    ]);
    let m = Message::parse(&b).unwrap();
    assert_eq!(m.options().count(), 8);
    assert_eq!(m.message_type(), None);
    assert_eq!(m.requested_ip(), None);
    assert_eq!(m.server_id(), None);
    assert_eq!(m.client_id(), None);
    assert_eq!(m.parameter_request_list(), None);
    assert_eq!(m.max_message_size(), None);
    assert_eq!(m.lease_time(), None);
    assert_eq!(m.relay_agent_info(), None);
}

#[test]
fn typed_helpers_read_well_formed_values() {
    let b = with_options(&[
        53, 1, 8, //
        50, 4, 10, 0, 0, 9, //
        54, 4, 10, 0, 0, 1, //
        61, 2, 0, 7, //
        55, 1, 3, //
        57, 2, 5, 220, //
        51, 4, 0, 1, 81, 128, //
        82, 4, 1, 2, 0, 1, //
        255,
    ]);
    let m = Message::parse(&b).unwrap();
    assert_eq!(m.message_type(), Some(MessageType::Inform));
    assert_eq!(m.requested_ip(), Some(Ipv4Addr::new(10, 0, 0, 9)));
    assert_eq!(m.server_id(), Some(Ipv4Addr::new(10, 0, 0, 1)));
    assert_eq!(m.client_id(), Some(&[0, 7][..]));
    assert_eq!(m.parameter_request_list(), Some(&[3][..]));
    assert_eq!(m.max_message_size(), Some(1500));
    assert_eq!(m.lease_time(), Some(86_400));
    assert_eq!(m.relay_agent_info(), Some(&[1, 2, 0, 1][..]));
}

#[test]
fn unknown_message_types_are_none() {
    for t in [0u8, 9, 18, 255] {
        let b = with_options(&[53, 1, t, 255]);
        let m = Message::parse(&b).unwrap();
        assert_eq!(m.message_type(), None);
        assert_eq!(m.option(code::MESSAGE_TYPE), Some(&[t][..]));
    }
}
