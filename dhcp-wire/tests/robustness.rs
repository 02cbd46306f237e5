//! No input panics `Message::parse` or any accessor, and whatever parses is
//! self-consistent.

mod common;

use common::{dhcproto_message, with_options};
use dhcp_wire::{DecodeError, FIXED_HEADER_LEN, MAGIC_COOKIE, Message, code};
use dhcproto::Encodable;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

/// Parses `bytes` and calls every accessor, checking the invariants that
/// hold for any input.
fn exercise(bytes: &[u8]) {
    let m = match Message::parse(bytes) {
        Ok(m) => m,
        Err(DecodeError::TooShort { len }) => {
            assert_eq!(len, bytes.len());
            assert!(len < FIXED_HEADER_LEN);
            return;
        }
        Err(DecodeError::OptionOverrun { offset, code }) => {
            assert!(offset < bytes.len());
            assert_eq!(bytes[offset], code);
            return;
        }
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    assert!(bytes.len() >= FIXED_HEADER_LEN);
    assert_eq!(m.bytes(), bytes);
    let _ = (m.op(), m.htype(), m.hops(), m.xid(), m.secs(), m.flags());
    let _ = (
        m.broadcast(),
        m.ciaddr(),
        m.yiaddr(),
        m.siaddr(),
        m.giaddr(),
    );
    assert_eq!(m.chaddr().len(), usize::from(m.hlen()).min(16));
    assert_eq!(m.chaddr(), &m.chaddr_raw()[..m.chaddr().len()]);
    assert_eq!((m.sname().len(), m.file().len()), (64, 128));
    assert_eq!(
        m.has_magic_cookie(),
        bytes.get(236..240) == Some(&MAGIC_COOKIE[..])
    );

    let mut codes = Vec::new();
    for (c, v) in m.options() {
        assert!(c != code::PAD && c != code::END);
        assert!(!codes.contains(&c), "option {c} listed twice");
        assert_eq!(m.option(c), Some(v));
        codes.push(c);
    }
    if !m.has_magic_cookie() {
        assert!(codes.is_empty());
    }
    for c in 0..=u8::MAX {
        if !codes.contains(&c) {
            assert_eq!(m.option(c), None);
        }
    }
    let _ = (
        m.message_type(),
        m.requested_ip(),
        m.server_id(),
        m.client_id(),
    );
    let _ = (
        m.parameter_request_list(),
        m.max_message_size(),
        m.lease_time(),
    );
    let _ = (m.relay_agent_info(), format!("{m:?}"), m.clone());
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..1500)) {
        exercise(&bytes);
    }

    /// Random bytes rarely carry the cookie: this puts arbitrary data in the
    /// options field, with an overload option up front half the time, and
    /// random sname/file, so the option walker sees it.
    #[test]
    fn arbitrary_options_never_panic(
        overload in prop::option::of(any::<u8>()),
        sname_file in vec(any::<u8>(), 192),
        options in vec(any::<u8>(), 0..1260),
    ) {
        let mut opts = Vec::new();
        if let Some(v) = overload {
            opts.extend_from_slice(&[code::OVERLOAD, 1, v]);
        }
        opts.extend_from_slice(&options);
        let mut bytes = with_options(&opts);
        bytes[44..236].copy_from_slice(&sname_file);
        exercise(&bytes);
    }

    #[test]
    fn mutated_messages_never_panic(
        msg in dhcproto_message(),
        flips in vec((any::<Index>(), any::<u8>()), 0..8),
        cut in any::<Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = msg.to_vec().unwrap();
        for (at, v) in flips {
            let i = at.index(bytes.len());
            bytes[i] = v;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        exercise(&bytes);
    }
}
