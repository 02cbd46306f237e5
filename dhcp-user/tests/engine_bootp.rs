//! BOOTP clients (RFC 951/1542): served only where a scope enables BOOTP,
//! from BOOTP ranges or a reservation, bound at once with infinite leases,
//! boot fields in the header; 1064 when the BOOTP ranges are full.

mod common;

use std::net::Ipv4Addr;

use common::*;
use dhcp_user::engine::{Destination, LeaseChange, Silence};
use dhcproto::v4::MessageType;

const BOOTP: &str = r#"
[[scope]]
name = "hosts"
subnet = "10.0.0.0/24"
ranges = ["10.0.0.10-10.0.0.50"]
next_server = "10.0.0.5"
server_name = "boot1"
boot_file = "pxelinux.0"
options = { routers = ["10.0.0.1"] }

[scope.bootp]
enabled = true
ranges = ["10.0.0.40-10.0.0.41"]

[[scope.reservation]]
mac = "02:00:00:00:0a:01"
ip = "10.0.0.100"

[[scope]]
name = "dhcp-only"
subnet = "10.9.0.0/24"
ranges = ["10.9.0.10-10.9.0.50"]
"#;

/// A plain BOOTREQUEST: 300 bytes, no magic cookie, no options.
fn bootrequest(mac: [u8; 6], giaddr: Ipv4Addr) -> Vec<u8> {
    let mut b = vec![0u8; 300];
    b[0] = 1;
    b[1] = 1;
    b[2] = 6;
    b[4..8].copy_from_slice(&0xb007_0001u32.to_be_bytes());
    b[24..28].copy_from_slice(&giaddr.octets());
    b[28..34].copy_from_slice(&mac);
    b
}

fn mac(n: u8) -> [u8; 6] {
    [0x02, 0, 0, 0, 0x0b, n]
}

#[test]
fn bootp_clients_get_a_bootp_address_for_ever_with_boot_fields() {
    let mut s = shard(BOOTP);
    let r = send(
        &mut s,
        &bootrequest(mac(1), Ipv4Addr::UNSPECIFIED),
        meta_direct(),
        0,
    );
    assert_eq!(r.outcome.reply.unwrap().kind, None, "a BOOTREPLY");
    assert_eq!(r.kind(), None, "no DHCP message type");
    assert_eq!(r.option(54), None);
    assert_eq!(r.option(51), None);
    let addr = r.yiaddr();
    assert!([ip("10.0.0.40"), ip("10.0.0.41")].contains(&addr), "{addr}");
    let m = r.reply();
    assert_eq!(m.siaddr(), ip("10.0.0.5"));
    assert!(m.fname().unwrap().starts_with(b"pxelinux.0\0"));
    assert!(m.sname().unwrap().starts_with(b"boot1\0"));
    assert_eq!(r.option(3).unwrap(), [10, 0, 0, 1]);
    assert_eq!(r.option(1).unwrap(), [255, 255, 255, 0]);
    match r.outcome.change {
        Some(LeaseChange::Bound { expires_ms, .. }) => assert_eq!(expires_ms, u64::MAX),
        ref c => panic!("BOOTP binds at once: {c:?}"),
    }
    assert!(matches!(
        r.outcome.reply.unwrap().dest,
        Destination::UnicastHw { .. }
    ));

    // Asking again gives the same address; a relayed request goes back to
    // the relay.
    let again = send(
        &mut s,
        &bootrequest(mac(1), Ipv4Addr::UNSPECIFIED),
        meta_direct(),
        0,
    );
    assert_eq!(again.yiaddr(), addr);
    let relayed = send(&mut s, &bootrequest(mac(1), IFACE), meta_direct(), 0);
    assert!(matches!(
        relayed.outcome.reply.unwrap().dest,
        Destination::Relay(_)
    ));

    // DHCP clients never get the BOOTP ranges.
    for n in 0..39 {
        let a = dora(&mut s, &client(n), 0);
        assert!(a != ip("10.0.0.40") && a != ip("10.0.0.41"), "{a}");
    }
}

#[test]
fn full_bootp_ranges_report_1064_once_and_reservations_still_work() {
    let mut s = shard(BOOTP);
    for n in 1..=2 {
        let r = send(
            &mut s,
            &bootrequest(mac(n), Ipv4Addr::UNSPECIFIED),
            meta_direct(),
            0,
        );
        assert!(r.reply.is_some());
    }
    let full = send(
        &mut s,
        &bootrequest(mac(3), Ipv4Addr::UNSPECIFIED),
        meta_direct(),
        0,
    );
    assert_eq!(full.outcome.silence, Some(Silence::PoolExhausted));
    assert_eq!(full.event_ids(), [1064]);
    let again = send(
        &mut s,
        &bootrequest(mac(4), Ipv4Addr::UNSPECIFIED),
        meta_direct(),
        0,
    );
    assert!(again.events.is_empty(), "no event storm");
    let reserved = send(
        &mut s,
        &bootrequest([0x02, 0, 0, 0, 0x0a, 0x01], Ipv4Addr::UNSPECIFIED),
        meta_direct(),
        0,
    );
    assert_eq!(reserved.yiaddr(), ip("10.0.0.100"));
}

#[test]
fn bootp_is_not_answered_where_it_is_not_enabled() {
    let mut s = shard(BOOTP);
    let r = send(
        &mut s,
        &bootrequest(mac(1), ip("10.9.0.1")),
        meta_direct(),
        0,
    );
    assert_eq!(r.outcome.silence, Some(Silence::BootpNotServed));
    assert!(r.outcome.change.is_none());
    // DHCP on the same scope is served.
    let offer = send(
        &mut s,
        &client(1).with_giaddr(ip("10.9.0.1")).discover(),
        meta_direct(),
        0,
    );
    assert_eq!(offer.kind(), Some(MessageType::Offer));
}
