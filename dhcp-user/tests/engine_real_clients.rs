//! The engine fed with frames that real clients sent (dhclient, udhcpc,
//! dhcpcd, perfdhcp as a relay; see `fixtures/README.md`), with the
//! configuration Kea had when they were captured, and compared with what
//! Kea answered where Kea's reply was captured too.

mod common;

use std::net::SocketAddrV4;

use common::*;
use dhcp_user::engine::{Destination, LeaseChange, RecvMeta, Shard, Silence};
use dhcproto::v4::MessageType;

macro_rules! fixture {
    ($name:literal) => {
        &include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/",
            $name
        ))[..]
    };
}

/// What Kea was configured with in `fixtures/capture.sh`.
const KEA_LIKE: &str = r#"
[server]
server_id = "10.77.0.1"
options = { domain-name-servers = ["10.77.0.1"], domain-name = "fx.test" }

[[scope]]
name = "direct"
subnet = "10.77.0.0/24"
ranges = ["10.77.0.100-10.77.0.199"]
lease_time = 20
renewal_time = 8
rebinding_time = 14
options = { routers = ["10.77.0.1"] }

[[scope.reservation]]
mac = "02:00:00:77:00:06"
ip = "10.77.0.200"

[[scope]]
name = "relayed"
subnet = "10.78.0.0/24"
ranges = ["10.78.0.100-10.78.0.199"]
lease_time = 20
renewal_time = 8
rebinding_time = 14
options = { routers = ["10.78.0.1"] }
"#;

const SERVER: &str = "10.77.0.1";

fn broadcast() -> RecvMeta {
    RecvMeta {
        iface_addr: ip(SERVER),
        ..meta_direct()
    }
}

fn unicast_from(src: &str) -> RecvMeta {
    RecvMeta {
        iface_addr: ip(SERVER),
        dst: ip(SERVER),
        src: SocketAddrV4::new(ip(src), 68),
        ..meta_direct()
    }
}

fn from_relay() -> RecvMeta {
    RecvMeta {
        iface_addr: ip(SERVER),
        dst: ip(SERVER),
        src: SocketAddrV4::new(ip("10.78.0.1"), 67),
        ..meta_direct()
    }
}

/// Our reply and Kea's agree on what a client acts on.
fn same_as_kea(ours: &Exchange, kea: &[u8]) {
    let kea = dhcp_wire::Message::parse(kea).unwrap();
    let r = ours.reply();
    assert_eq!(r.xid(), kea.xid());
    assert_eq!(r.yiaddr(), kea.yiaddr());
    assert_eq!(r.ciaddr(), kea.ciaddr());
    assert_eq!(r.giaddr(), kea.giaddr());
    assert_eq!(r.chaddr(), kea.chaddr());
    assert_eq!(r.flags().broadcast(), kea.broadcast());
    for code in [53, 54, 51, 58, 59, 1, 3, 61, 82] {
        assert_eq!(
            ours.option(code).as_deref(),
            kea.option(code),
            "option {code} differs from Kea's"
        );
    }
}

#[test]
fn dhclient_lifecycle_matches_kea() {
    let mut s = shard(KEA_LIKE);
    let offer = send(&mut s, fixture!("dhclient-01-discover.bin"), broadcast(), 0);
    same_as_kea(&offer, fixture!("kea-01-offer.bin"));
    assert!(
        matches!(
            offer.outcome.reply.unwrap().dest,
            Destination::UnicastHw { .. }
        ),
        "dhclient leaves the broadcast bit clear"
    );
    let ack = send(
        &mut s,
        fixture!("dhclient-02-request-selecting.bin"),
        broadcast(),
        100,
    );
    same_as_kea(&ack, fixture!("kea-02-ack-selecting.bin"));
    let renew = send(
        &mut s,
        fixture!("dhclient-03-request-renew.bin"),
        unicast_from("10.77.0.100"),
        8_000,
    );
    same_as_kea(&renew, fixture!("kea-03-ack-renew.bin"));
    assert_eq!(
        renew.outcome.reply.unwrap().dest,
        Destination::Unicast(SocketAddrV4::new(ip("10.77.0.100"), 68))
    );
    let reboot = send(
        &mut s,
        fixture!("dhclient-04-request-init-reboot.bin"),
        broadcast(),
        9_000,
    );
    same_as_kea(&reboot, fixture!("kea-04-ack-init-reboot.bin"));
    let release = send(
        &mut s,
        fixture!("dhclient-05-release.bin"),
        unicast_from("10.77.0.100"),
        10_000,
    );
    assert_eq!(release.event_ids(), [1013]);
    assert!(release.reply.is_none());
}

#[test]
fn dhclient_moved_from_another_network_is_naked_like_kea_does() {
    let mut s = shard(KEA_LIKE);
    let nak = send(
        &mut s,
        fixture!("dhclient-06-request-init-reboot.bin"),
        broadcast(),
        0,
    );
    assert_eq!(nak.kind(), Some(MessageType::Nak));
    assert_eq!(nak.outcome.reply.unwrap().dest, Destination::Broadcast);
    same_as_kea(&nak, fixture!("kea-05-nak-init-reboot.bin"));
    let offer = send(
        &mut s,
        fixture!("dhclient-07-discover.bin"),
        broadcast(),
        10,
    );
    same_as_kea(&offer, fixture!("kea-06-offer.bin"));
    let ack = send(
        &mut s,
        fixture!("dhclient-08-request-selecting.bin"),
        broadcast(),
        20,
    );
    same_as_kea(&ack, fixture!("kea-07-ack-selecting.bin"));
}

#[test]
fn dhclient_rebinding_by_broadcast_is_acked() {
    let mut s = shard(KEA_LIKE);
    same_as_kea(
        &send(&mut s, fixture!("dhclient-09-discover.bin"), broadcast(), 0),
        fixture!("kea-08-offer.bin"),
    );
    same_as_kea(
        &send(
            &mut s,
            fixture!("dhclient-10-request-selecting.bin"),
            broadcast(),
            10,
        ),
        fixture!("kea-09-ack-selecting.bin"),
    );
    let rebind = send(
        &mut s,
        fixture!("dhclient-11-request-rebind.bin"),
        broadcast(),
        15_000,
    );
    same_as_kea(&rebind, fixture!("kea-10-ack-rebind.bin"));
}

#[test]
fn udhcpc_lifecycle() {
    let mut s = shard(KEA_LIKE);
    let offer = send(&mut s, fixture!("udhcpc-01-discover.bin"), broadcast(), 0);
    assert_eq!(offer.kind(), Some(MessageType::Offer));
    assert_eq!(offer.yiaddr(), ip("10.77.0.100"));
    assert!(offer.option(61).is_some(), "udhcpc's client-id is echoed");
    let ack = send(
        &mut s,
        fixture!("udhcpc-02-request-selecting.bin"),
        broadcast(),
        10,
    );
    assert_eq!(ack.kind(), Some(MessageType::Ack));
    let renew = send(
        &mut s,
        fixture!("udhcpc-03-request-renew.bin"),
        unicast_from("10.77.0.100"),
        15_000,
    );
    assert_eq!(renew.kind(), Some(MessageType::Ack));
    let release = send(
        &mut s,
        fixture!("udhcpc-04-release.bin"),
        unicast_from("10.77.0.100"),
        16_000,
    );
    assert!(matches!(
        release.outcome.change,
        Some(LeaseChange::Released { .. })
    ));
}

#[test]
fn udhcpc_with_broadcast_flag_and_extra_options() {
    let mut s = shard(KEA_LIKE);
    let offer = send(&mut s, fixture!("udhcpc-05-discover.bin"), broadcast(), 0);
    assert_eq!(offer.outcome.reply.unwrap().dest, Destination::Broadcast);
    let ack = send(
        &mut s,
        fixture!("udhcpc-06-request-selecting.bin"),
        broadcast(),
        10,
    );
    assert_eq!(ack.kind(), Some(MessageType::Ack));
    assert_eq!(ack.outcome.reply.unwrap().dest, Destination::Broadcast);
}

#[test]
fn perfdhcp_relayed_with_option_82_matches_kea() {
    let mut s = shard(KEA_LIKE);
    let offer = send(
        &mut s,
        fixture!("perfdhcp-01-discover-relayed.bin"),
        from_relay(),
        0,
    );
    same_as_kea(&offer, fixture!("kea-11-offer-relayed.bin"));
    assert_eq!(
        offer.outcome.reply.unwrap().dest,
        Destination::Relay(SocketAddrV4::new(ip("10.78.0.1"), 67))
    );
    let ack = send(
        &mut s,
        fixture!("perfdhcp-02-request-selecting-relayed.bin"),
        from_relay(),
        10,
    );
    same_as_kea(&ack, fixture!("kea-12-ack-selecting-relayed.bin"));
}

#[test]
fn perfdhcp_relayed_renew_and_release() {
    let mut s = shard(KEA_LIKE);
    same_as_kea(
        &send(
            &mut s,
            fixture!("perfdhcp-03-discover-relayed.bin"),
            from_relay(),
            0,
        ),
        fixture!("kea-13-offer-relayed.bin"),
    );
    same_as_kea(
        &send(
            &mut s,
            fixture!("perfdhcp-04-request-selecting-relayed.bin"),
            from_relay(),
            10,
        ),
        fixture!("kea-14-ack-selecting-relayed.bin"),
    );
    // perfdhcp renews (ciaddr + giaddr) and then releases the same client.
    let renew = send(
        &mut s,
        fixture!("perfdhcp-05-request-renew-relayed.bin"),
        from_relay(),
        5_000,
    );
    assert_eq!(renew.kind(), Some(MessageType::Ack));
    assert_eq!(
        renew.outcome.reply.unwrap().dest,
        Destination::Relay(SocketAddrV4::new(ip("10.78.0.1"), 67))
    );
    let release = send(
        &mut s,
        fixture!("perfdhcp-06-release-relayed.bin"),
        from_relay(),
        6_000,
    );
    assert_eq!(release.event_ids(), [1013]);
}

#[test]
fn udhcpc_declines_its_reserved_address() {
    let mut s = shard(KEA_LIKE);
    let offer = send(&mut s, fixture!("udhcpc-07-discover.bin"), broadcast(), 0);
    assert_eq!(offer.yiaddr(), ip("10.77.0.200"), "reservation");
    assert_eq!(
        send(
            &mut s,
            fixture!("udhcpc-08-request-selecting.bin"),
            broadcast(),
            10
        )
        .kind(),
        Some(MessageType::Ack)
    );
    let decline = send(&mut s, fixture!("udhcpc-09-decline.bin"), broadcast(), 20);
    assert_eq!(decline.event_ids(), [1012]);
    assert!(matches!(
        decline.outcome.change,
        Some(LeaseChange::Declined { .. })
    ));
}

#[test]
fn dhcpcd_with_rfc4361_client_id_and_rapid_commit_option() {
    let mut s: Shard = shard(KEA_LIKE);
    let offer = send(&mut s, fixture!("dhcpcd-01-discover.bin"), broadcast(), 0);
    assert_eq!(
        offer.kind(),
        Some(MessageType::Offer),
        "rapid commit is not enabled: a normal OFFER"
    );
    assert!(
        offer.events.is_empty(),
        "options 80, 116, 145 are known: {:?}",
        offer.events
    );
    let ack = send(
        &mut s,
        fixture!("dhcpcd-02-request-selecting.bin"),
        broadcast(),
        10,
    );
    assert_eq!(
        ack.kind(),
        Some(MessageType::Ack),
        "option 50 before 53 is fine"
    );
    let renew = send(
        &mut s,
        fixture!("dhcpcd-03-request-renew.bin"),
        unicast_from("10.77.0.100"),
        8_000,
    );
    assert_eq!(renew.kind(), Some(MessageType::Ack));
    let release = send(
        &mut s,
        fixture!("dhcpcd-04-release.bin"),
        unicast_from("10.77.0.100"),
        9_000,
    );
    assert_eq!(release.event_ids(), [1013]);
}

#[test]
fn dhcpcd_inform_matches_kea() {
    let mut s = shard(KEA_LIKE);
    let ack = send(&mut s, fixture!("dhcpcd-05-inform.bin"), broadcast(), 0);
    let kea = dhcp_wire::Message::parse(fixture!("kea-16-ack-inform.bin")).unwrap();
    assert_eq!(ack.kind(), Some(MessageType::Ack));
    assert_eq!(ack.reply().ciaddr(), kea.ciaddr());
    assert_eq!(ack.yiaddr(), kea.yiaddr());
    assert!(ack.option(51).is_none());
    assert_eq!(
        ack.outcome.reply.unwrap().dest,
        Destination::Unicast(SocketAddrV4::new(ip("10.77.0.60"), 68))
    );
    assert_eq!(ack.option(3).unwrap(), [10, 77, 0, 1]);
}

#[test]
fn replies_to_other_servers_are_ignored() {
    let mut s = shard(KEA_LIKE);
    for kea in [
        fixture!("kea-01-offer.bin"),
        fixture!("kea-02-ack-selecting.bin"),
        fixture!("kea-05-nak-init-reboot.bin"),
    ] {
        assert_eq!(
            send(&mut s, kea, broadcast(), 0).outcome.silence,
            Some(Silence::NotRequest)
        );
    }
}
