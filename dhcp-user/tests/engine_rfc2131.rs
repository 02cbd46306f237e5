//! The engine against RFC 2131, message by message: real frames in (built
//! by dhcproto, an independent encoder), real frames out (decoded by
//! dhcproto), lease state and events checked.

mod common;

use common::*;
use dhcp_user::engine::{Destination, LeaseChange, Silence};
use dhcp_user::events::NakReason;
use dhcproto::v4::MessageType;
use std::net::{Ipv4Addr, SocketAddrV4};

const CONFIG: &str = r#"
[server]
offer_timeout = 30
decline_quarantine = "1h"
options = { domain-name-servers = ["10.0.0.53"], domain-name = "example.net" }

[[scope]]
name = "lan"
subnet = "10.0.0.0/24"
ranges = ["10.0.0.10-10.0.0.19"]
exclusions = ["10.0.0.15"]
lease_time = 3600
options = { routers = ["10.0.0.1"], domain-name = "lan.example.net" }

[[scope.reservation]]
name = "printer"
mac = "02:00:00:00:0a:0a"
ip = "10.0.0.200"
options = { domain-name = "printers.example.net" }

[[scope]]
name = "relayed"
subnet = "10.9.0.0/24"
ranges = ["10.9.0.100-10.9.0.109"]
lease_time = 600
options = { routers = ["10.9.0.1"] }
"#;

const MINUTE: u64 = 60_000;

#[test]
fn dora_on_the_direct_link() {
    let mut s = shard(CONFIG);
    let c = client(1);
    let offer = send(&mut s, &c.discover(), meta_direct(), 0);
    assert_eq!(offer.kind(), Some(MessageType::Offer));
    let addr = offer.yiaddr();
    assert!((u32::from(ip("10.0.0.10"))..=u32::from(ip("10.0.0.19"))).contains(&u32::from(addr)));
    let r = offer.reply();
    assert_eq!(r.xid(), c.xid);
    assert_eq!(r.opcode(), dhcproto::v4::Opcode::BootReply);
    assert_eq!(r.chaddr(), c.mac);
    assert_eq!(offer.option(54).unwrap(), IFACE.octets());
    assert_eq!(offer.option(51).unwrap(), 3600u32.to_be_bytes());
    assert_eq!(
        offer.option(58).unwrap(),
        1800u32.to_be_bytes(),
        "T1 = lease / 2"
    );
    assert_eq!(
        offer.option(59).unwrap(),
        3150u32.to_be_bytes(),
        "T2 = lease * 7/8"
    );
    assert_eq!(offer.option(1).unwrap(), [255, 255, 255, 0]);
    assert_eq!(offer.option(3).unwrap(), [10, 0, 0, 1]);
    assert_eq!(
        offer.option(15).unwrap(),
        b"lan.example.net",
        "scope beats server"
    );
    assert_eq!(
        offer.option(6).unwrap(),
        [10, 0, 0, 53],
        "server options inherited"
    );
    assert!(
        offer.outcome.change.is_none(),
        "an offer is not durable state"
    );
    // Broadcast bit clear, no ciaddr: unicast to yiaddr at chaddr.
    match offer.outcome.reply.unwrap().dest {
        Destination::UnicastHw {
            addr: a,
            chaddr,
            hlen,
        } => {
            assert_eq!(a, addr);
            assert_eq!(&chaddr[..hlen as usize], &c.mac);
        }
        other => panic!("unexpected destination {other:?}"),
    }

    let ack = send(&mut s, &c.select(addr, IFACE), meta_direct(), 1000);
    assert_eq!(ack.kind(), Some(MessageType::Ack));
    assert_eq!(ack.yiaddr(), addr);
    match ack.outcome.change {
        Some(LeaseChange::Bound {
            addr: a,
            expires_ms,
            replaced: None,
            ..
        }) => {
            assert_eq!(a, addr);
            assert_eq!(expires_ms, 1000 + 3_600_000);
        }
        other => panic!("unexpected change {other:?}"),
    }
}

#[test]
fn broadcast_bit_makes_the_reply_broadcast() {
    let mut s = shard(CONFIG);
    let mut c = client(2);
    c.broadcast = true;
    let offer = send(&mut s, &c.discover(), meta_direct(), 0);
    assert_eq!(offer.outcome.reply.unwrap().dest, Destination::Broadcast);
    assert!(
        offer.reply().flags().broadcast(),
        "flags are copied from the request"
    );
}

#[test]
fn xid_change_between_discover_and_request_is_still_served() {
    let mut s = shard(CONFIG);
    let mut c = client(3);
    let addr = send(&mut s, &c.discover(), meta_direct(), 0).yiaddr();
    c.xid ^= 0xdead_beef;
    let ack = send(&mut s, &c.select(addr, IFACE), meta_direct(), 10);
    assert_eq!(ack.kind(), Some(MessageType::Ack));
    assert_eq!(
        ack.reply().xid(),
        c.xid,
        "the reply carries the REQUEST's xid"
    );
}

#[test]
fn offers_are_held_then_returned() {
    let mut s = shard(CONFIG);
    // 9 assignable addresses (10..19 minus the exclusion .15).
    let held: Vec<Ipv4Addr> = (0..9)
        .map(|n| send(&mut s, &client(100 + n).discover(), meta_direct(), 0).yiaddr())
        .collect();
    let mut unique = held.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 9, "each pending offer holds its own address");
    assert!(
        !held.contains(&ip("10.0.0.15")),
        "exclusions are never offered"
    );
    let full = send(&mut s, &client(200).discover(), meta_direct(), 1000);
    assert_eq!(full.outcome.silence, Some(Silence::PoolExhausted));
    assert_eq!(full.event_ids(), [1063]);
    // Still within the offer timeout: nothing has come back.
    s.poll_timers(29_000, &mut Vec::new());
    assert_eq!(
        send(&mut s, &client(201).discover(), meta_direct(), 29_000)
            .outcome
            .silence,
        Some(Silence::PoolExhausted)
    );
    // After it, the offers return to the pool.
    s.poll_timers(31_000, &mut Vec::new());
    let again = send(&mut s, &client(202).discover(), meta_direct(), 31_000);
    assert_eq!(again.kind(), Some(MessageType::Offer));
    assert!(held.contains(&again.yiaddr()));
}

#[test]
fn requested_address_is_offered_when_free() {
    let mut s = shard(CONFIG);
    let want = ip("10.0.0.17");
    let offer = send(&mut s, &client(4).discover_wanting(want), meta_direct(), 0);
    assert_eq!(offer.yiaddr(), want);
    // Someone else asking for the same address gets another one.
    let other = send(&mut s, &client(5).discover_wanting(want), meta_direct(), 0);
    assert_ne!(other.yiaddr(), want);
    // An address outside the ranges is not honoured.
    let outside = send(
        &mut s,
        &client(6).discover_wanting(ip("10.0.0.99")),
        meta_direct(),
        0,
    );
    assert_ne!(outside.yiaddr(), ip("10.0.0.99"));
}

#[test]
fn reservation_beats_binding_and_request_and_overrides_options() {
    let mut s = shard(CONFIG);
    let mut c = client(0);
    c.mac = [0x02, 0, 0, 0, 0x0a, 0x0a];
    let offer = send(
        &mut s,
        &c.discover_wanting(ip("10.0.0.11")),
        meta_direct(),
        0,
    );
    assert_eq!(offer.yiaddr(), ip("10.0.0.200"));
    assert_eq!(
        offer.option(15).unwrap(),
        b"printers.example.net",
        "reservation beats scope"
    );
    assert_eq!(
        offer.option(3).unwrap(),
        [10, 0, 0, 1],
        "scope options still apply"
    );
    let ack = send(&mut s, &c.select(ip("10.0.0.200"), IFACE), meta_direct(), 0);
    assert_eq!(ack.kind(), Some(MessageType::Ack));
    // Asking for anything else is refused: the client must move.
    let nak = send(&mut s, &c.init_reboot(ip("10.0.0.12")), meta_direct(), 0);
    assert_eq!(nak.kind(), Some(MessageType::Nak));
    assert!(matches!(
        nak.events[0],
        dhcp_user::events::Event::LeaseNack {
            reason: NakReason::ReservedElsewhere,
            ..
        }
    ));
    // Nobody else gets the reserved address, even asking for it.
    let other = send(
        &mut s,
        &client(7).init_reboot(ip("10.0.0.200")),
        meta_direct(),
        0,
    );
    assert_eq!(other.kind(), Some(MessageType::Nak));
}

#[test]
fn a_bound_client_gets_its_address_again() {
    let mut s = shard(CONFIG);
    let c = client(8);
    let addr = dora(&mut s, &c, 0);
    let again = send(
        &mut s,
        &c.discover_wanting(ip("10.0.0.19")),
        meta_direct(),
        5000,
    );
    assert_eq!(
        again.yiaddr(),
        addr,
        "current binding beats the requested address"
    );
}

#[test]
fn request_for_another_server_withdraws_our_offer_silently() {
    let mut s = shard(CONFIG);
    let c = client(9);
    let addr = send(
        &mut s,
        &c.discover_wanting(ip("10.0.0.10")),
        meta_direct(),
        0,
    )
    .yiaddr();
    assert_eq!(addr, ip("10.0.0.10"));
    let other = send(&mut s, &c.select(addr, ip("10.0.0.254")), meta_direct(), 10);
    assert!(other.reply.is_none());
    assert_eq!(other.outcome.silence, Some(Silence::OtherServerSelected));
    // The address is free at once, not only after the offer timeout.
    assert_eq!(
        send(
            &mut s,
            &client(10).discover_wanting(addr),
            meta_direct(),
            20
        )
        .yiaddr(),
        addr
    );
}

#[test]
fn request_after_the_offer_expired_is_acked_if_still_free() {
    let mut s = shard(CONFIG);
    let c = client(11);
    let addr = send(&mut s, &c.discover(), meta_direct(), 0).yiaddr();
    s.poll_timers(60_000, &mut Vec::new());
    let ack = send(&mut s, &c.select(addr, IFACE), meta_direct(), 60_000);
    assert_eq!(ack.kind(), Some(MessageType::Ack));
}

#[test]
fn selecting_an_address_someone_else_holds_is_naked() {
    let mut s = shard(CONFIG);
    let a = dora(&mut s, &client(12), 0);
    let nak = send(&mut s, &client(13).select(a, IFACE), meta_direct(), 0);
    assert_eq!(nak.kind(), Some(MessageType::Nak));
    assert_eq!(nak.event_ids(), [1011]);
}

#[test]
fn init_reboot_rules() {
    let mut s = shard(CONFIG);
    let c = client(14);
    let addr = dora(&mut s, &c, 0);
    // Known client, its own address: ACK.
    let ack = send(&mut s, &c.init_reboot(addr), meta_direct(), 1000);
    assert_eq!(ack.kind(), Some(MessageType::Ack));
    // Wrong network (client moved from elsewhere): NAK, broadcast.
    let nak = send(
        &mut s,
        &c.init_reboot(ip("192.168.1.20")),
        meta_direct(),
        1000,
    );
    assert_eq!(nak.kind(), Some(MessageType::Nak));
    assert_eq!(nak.outcome.reply.unwrap().dest, Destination::Broadcast);
    assert_eq!(nak.yiaddr(), Ipv4Addr::UNSPECIFIED);
    assert!(nak.option(51).is_none(), "a NAK carries no lease options");
    assert!(nak.option(56).is_some(), "a NAK says why");
    assert_eq!(nak.event_ids(), [1011]);
    // Unknown client, free address, authoritative scope: NAK.
    let unknown = send(
        &mut s,
        &client(15).init_reboot(ip("10.0.0.18")),
        meta_direct(),
        1000,
    );
    assert_eq!(unknown.kind(), Some(MessageType::Nak));
    assert!(matches!(
        unknown.events[0],
        dhcp_user::events::Event::LeaseNack {
            reason: NakReason::UnknownClient,
            ..
        }
    ));
}

#[test]
fn init_reboot_of_an_unknown_client_is_silent_when_not_authoritative() {
    let cfg = CONFIG.replacen(
        "lease_time = 3600",
        "lease_time = 3600\nauthoritative = false",
        1,
    );
    let mut s = shard(&cfg);
    let out = send(
        &mut s,
        &client(16).init_reboot(ip("10.0.0.18")),
        meta_direct(),
        0,
    );
    assert!(out.reply.is_none());
    assert_eq!(out.outcome.silence, Some(Silence::NotAuthoritative));
    // A known-wrong address is still NAKed: it would break the client.
    let a = dora(&mut s, &client(17), 0);
    assert_eq!(
        send(&mut s, &client(18).init_reboot(a), meta_direct(), 0).kind(),
        Some(MessageType::Nak)
    );
}

#[test]
fn renewing_and_rebinding() {
    let mut s = shard(CONFIG);
    let c = client(19);
    let addr = dora(&mut s, &c, 0);
    let unicast = dhcp_user::engine::RecvMeta {
        dst: IFACE,
        src: SocketAddrV4::new(addr, 68),
        ..meta_direct()
    };
    let renew = send(&mut s, &c.renew(addr), unicast, 30 * MINUTE);
    assert_eq!(renew.kind(), Some(MessageType::Ack));
    assert_eq!(renew.reply().ciaddr(), addr);
    assert_eq!(renew.yiaddr(), addr);
    assert_eq!(
        renew.outcome.reply.unwrap().dest,
        Destination::Unicast(SocketAddrV4::new(addr, 68))
    );
    match renew.outcome.change {
        Some(LeaseChange::Bound { expires_ms, .. }) => {
            assert_eq!(expires_ms, 30 * MINUTE + 3_600_000)
        }
        other => panic!("{other:?}"),
    }
    // REBINDING: same rules, broadcast to any server.
    let rebind = send(&mut s, &c.renew(addr), meta_direct(), 55 * MINUTE);
    assert_eq!(rebind.kind(), Some(MessageType::Ack));
    // The extended lease does not expire at the original time.
    let mut changes = Vec::new();
    s.poll_timers(61 * MINUTE, &mut changes);
    assert!(changes.is_empty(), "{changes:?}");
    // Renewing an address that belongs to someone else: NAK.
    let thief = send(&mut s, &client(20).renew(addr), unicast, 56 * MINUTE);
    assert_eq!(thief.kind(), Some(MessageType::Nak));
}

#[test]
fn renewal_of_a_lease_the_server_forgot_is_acked_if_free() {
    let mut s = shard(CONFIG);
    let c = client(21);
    let unicast = dhcp_user::engine::RecvMeta {
        dst: IFACE,
        ..meta_direct()
    };
    let ack = send(&mut s, &c.renew(ip("10.0.0.16")), unicast, 0);
    assert_eq!(ack.kind(), Some(MessageType::Ack));
    assert_eq!(ack.yiaddr(), ip("10.0.0.16"));
    // The address is now held: nobody else is offered it.
    for n in 0..8 {
        assert_ne!(
            send(&mut s, &client(300 + n).discover(), meta_direct(), 0).yiaddr(),
            ip("10.0.0.16")
        );
    }
}

#[test]
fn lease_expiry_frees_the_address_and_keeps_affinity() {
    let mut s = shard(CONFIG);
    let c = client(22);
    let addr = dora(&mut s, &c, 0);
    let mut changes = Vec::new();
    s.poll_timers(3_599_999, &mut changes);
    assert!(changes.is_empty());
    s.poll_timers(3_600_000, &mut changes);
    assert!(matches!(&changes[..], [LeaseChange::Expired { addr: a, .. }] if *a == addr));
    // The client comes back: it gets the same address.
    assert_eq!(
        send(&mut s, &c.discover(), meta_direct(), 3_700_000).yiaddr(),
        addr
    );
}

#[test]
fn expired_address_goes_to_others_when_the_pool_needs_it() {
    let mut s = shard(CONFIG);
    let first = dora(&mut s, &client(23), 0);
    s.poll_timers(3_600_000, &mut Vec::new());
    let taken: Vec<Ipv4Addr> = (0..9)
        .map(|n| {
            send(
                &mut s,
                &client(400 + n).discover(),
                meta_direct(),
                3_600_001,
            )
            .yiaddr()
        })
        .collect();
    assert!(taken.contains(&first));
}

#[test]
fn decline_quarantines_the_address() {
    let mut s = shard(CONFIG);
    let c = client(24);
    let addr = dora(&mut s, &c, 0);
    let d = send(&mut s, &c.decline(addr, IFACE), meta_direct(), 1000);
    assert!(d.reply.is_none());
    assert_eq!(d.event_ids(), [1012]);
    assert!(
        matches!(d.outcome.change, Some(LeaseChange::Declined { addr: a, until_ms, .. }) if a == addr && until_ms == 1000 + 3_600_000)
    );
    // Nobody is offered it while quarantined...
    for n in 0..8 {
        assert_ne!(
            send(&mut s, &client(500 + n).discover(), meta_direct(), 2000).yiaddr(),
            addr
        );
    }
    assert_eq!(
        send(&mut s, &client(600).discover(), meta_direct(), 2000)
            .outcome
            .silence,
        Some(Silence::PoolExhausted)
    );
    // ...and it comes back when the quarantine ends.
    s.poll_timers(1000 + 3_600_000, &mut Vec::new());
    assert_eq!(
        send(&mut s, &client(601).discover(), meta_direct(), 3_700_000).yiaddr(),
        addr
    );
}

#[test]
fn decline_or_release_by_a_non_holder_is_ignored() {
    let mut s = shard(CONFIG);
    let addr = dora(&mut s, &client(25), 0);
    let forged = send(&mut s, &client(26).decline(addr, IFACE), meta_direct(), 0);
    assert_eq!(forged.outcome.silence, Some(Silence::NotHeld));
    assert!(forged.events.is_empty());
    let forged = send(&mut s, &client(26).release(addr, IFACE), meta_direct(), 0);
    assert_eq!(forged.outcome.silence, Some(Silence::NotHeld));
    // The owner still renews fine.
    assert_eq!(
        send(&mut s, &client(25).renew(addr), meta_direct(), 0).kind(),
        Some(MessageType::Ack)
    );
}

#[test]
fn release_frees_the_address_and_the_client_gets_it_back() {
    let mut s = shard(CONFIG);
    let c = client(27);
    let addr = dora(&mut s, &c, 0);
    let r = send(&mut s, &c.release(addr, IFACE), meta_direct(), 1000);
    assert!(r.reply.is_none());
    assert_eq!(r.event_ids(), [1013]);
    assert!(matches!(r.outcome.change, Some(LeaseChange::Released { addr: a, .. }) if a == addr));
    // Released means free: a renewal is no longer a renewal of a lease.
    assert_eq!(
        send(&mut s, &c.discover(), meta_direct(), 2000).yiaddr(),
        addr,
        "affinity"
    );
}

#[test]
fn inform_gets_configuration_without_an_address() {
    let mut s = shard(CONFIG);
    let c = client(28);
    let unicast = dhcp_user::engine::RecvMeta {
        dst: IFACE,
        ..meta_direct()
    };
    let ack = send(&mut s, &c.inform(ip("10.0.0.77")), unicast, 0);
    assert_eq!(ack.kind(), Some(MessageType::Ack));
    assert_eq!(ack.yiaddr(), Ipv4Addr::UNSPECIFIED);
    assert_eq!(ack.reply().ciaddr(), ip("10.0.0.77"));
    assert!(ack.option(51).is_none() && ack.option(58).is_none() && ack.option(59).is_none());
    assert_eq!(ack.option(3).unwrap(), [10, 0, 0, 1]);
    assert_eq!(
        ack.outcome.reply.unwrap().dest,
        Destination::Unicast(SocketAddrV4::new(ip("10.0.0.77"), 68))
    );
    assert!(ack.outcome.change.is_none());
}

#[test]
fn client_identifier_is_the_identity_and_is_echoed() {
    let mut s = shard(CONFIG);
    let mut a = client(29);
    a.client_id = Some(b"\x00router-a".to_vec());
    let mut b = a.clone();
    b.client_id = Some(b"\x00router-b".to_vec());
    let addr_a = dora(&mut s, &a, 0);
    let offer_b = send(&mut s, &b.discover(), meta_direct(), 0);
    assert_ne!(
        offer_b.yiaddr(),
        addr_a,
        "same chaddr, different client-id: different clients"
    );
    assert_eq!(
        offer_b.option(61).unwrap(),
        b"\x00router-b",
        "RFC 6842 echo"
    );
    // Without a client-id, the hardware address is the identity.
    let mut by_mac = a.clone();
    by_mac.client_id = None;
    assert_ne!(
        send(&mut s, &by_mac.discover(), meta_direct(), 0).yiaddr(),
        addr_a
    );
}

#[test]
fn relayed_client_is_served_from_the_giaddr_subnet() {
    let mut s = shard(CONFIG);
    let mut c = client(30);
    c.giaddr = ip("10.9.0.1");
    let rai = vec![
        1, 6, b'e', b't', b'h', b'0', b'/', b'1', 2, 4, 0xde, 0xad, 0xbe, 0xef,
    ];
    c.relay_info = Some(rai.clone());
    let relay = dhcp_user::engine::RecvMeta {
        src: SocketAddrV4::new(ip("10.9.0.1"), 67),
        dst: IFACE,
        ..meta_direct()
    };
    let offer = send(&mut s, &c.discover(), relay, 0);
    let addr = offer.yiaddr();
    assert!(addr.octets()[..3] == [10, 9, 0], "{addr}");
    assert_eq!(
        offer.outcome.reply.unwrap().dest,
        Destination::Relay(SocketAddrV4::new(ip("10.9.0.1"), 67))
    );
    assert_eq!(offer.reply().giaddr(), ip("10.9.0.1"));
    assert_eq!(offer.option(82).unwrap(), rai, "option 82 echoed unchanged");
    assert_eq!(offer.option(51).unwrap(), 600u32.to_be_bytes());
    assert_eq!(offer.option(3).unwrap(), [10, 9, 0, 1]);
    // Option 82 is the last option of the reply (RFC 3046 §2.2).
    let raw = &offer.raw;
    let mut i = 240;
    let mut last = 0;
    while i < raw.len() && raw[i] != 255 {
        if raw[i] == 0 {
            i += 1;
            continue;
        }
        last = raw[i];
        i += 2 + raw[i + 1] as usize;
    }
    assert_eq!(last, 82);
    let ack = send(&mut s, &c.select(addr, IFACE), relay, 0);
    assert_eq!(ack.kind(), Some(MessageType::Ack));
    assert_eq!(ack.option(82).unwrap(), rai);
    // A relayed NAK goes to the relay with the broadcast bit set.
    let nak = send(
        &mut s,
        &client(31)
            .with_giaddr(ip("10.9.0.1"))
            .init_reboot(ip("10.0.0.12")),
        relay,
        0,
    );
    assert_eq!(nak.kind(), Some(MessageType::Nak));
    assert_eq!(
        nak.outcome.reply.unwrap().dest,
        Destination::Relay(SocketAddrV4::new(ip("10.9.0.1"), 67))
    );
    assert!(nak.reply().flags().broadcast());
}

#[test]
fn unknown_network_is_ignored() {
    let mut s = shard(CONFIG);
    let c = client(32).with_giaddr(ip("172.16.0.1"));
    assert_eq!(
        send(&mut s, &c.discover(), meta_direct(), 0)
            .outcome
            .silence,
        Some(Silence::NoScope)
    );
}

#[test]
fn parameter_request_list_order_and_size_limit() {
    let cfg = r#"
        [[scope]]
        name = "big"
        subnet = "10.0.0.0/24"
        ranges = ["10.0.0.10-10.0.0.20"]
        [scope.options]
        routers = ["10.0.0.1"]
        domain-name = "example.net"
        domain-name-servers = ["10.0.0.2"]
        224 = "a long site-specific value ........................................................................................................................................................................................................................"
        225 = "another long value .............................................................................................................................................................................................................................."
        226 = "a third long value .............................................................................................................................................................................................................................."
    "#;
    let mut s = shard(cfg);
    let mut c = client(33);
    c.prl = Some(vec![15, 3, 224, 225, 226]);
    let offer = send(&mut s, &c.discover(), meta_direct(), 0);
    assert!(
        offer.raw.len() <= 548,
        "no option 57: 576-byte datagrams, got {}",
        offer.raw.len()
    );
    assert!(offer.option(6).is_none(), "not requested, not sent");
    assert!(offer.option(15).is_some() && offer.option(3).is_some() && offer.option(224).is_some());
    assert!(offer.option(226).is_none(), "what does not fit is left out");
    c.max_size = Some(1500);
    let big = send(&mut s, &c.discover(), meta_direct(), 0);
    assert!(big.option(226).is_some(), "option 57 allows more");
    assert!(big.raw.len() <= 1500 - 28);
    // Requested order is kept.
    let order: Vec<u8> = options_in_order(&big.raw)
        .into_iter()
        .filter(|c| [15, 3, 224].contains(c))
        .collect();
    assert_eq!(order, [15, 3, 224]);
    // No parameter request list: everything configured.
    c.prl = None;
    c.max_size = Some(1500);
    let all = send(&mut s, &c.discover(), meta_direct(), 0);
    assert!(all.option(6).is_some());
}

fn options_in_order(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 240;
    while i < raw.len() && raw[i] != 255 {
        if raw[i] == 0 {
            i += 1;
            continue;
        }
        out.push(raw[i]);
        i += 2 + raw[i + 1] as usize;
    }
    out
}

#[test]
fn replies_are_at_least_bootp_minimum_and_well_formed() {
    let mut s = shard(CONFIG);
    let offer = send(&mut s, &client(34).discover(), meta_direct(), 0);
    assert!(offer.raw.len() >= 300);
    assert_eq!(&offer.raw[236..240], &[99, 130, 83, 99]);
    assert_eq!(offer.reply().hops(), 0);
}

#[test]
fn messages_a_server_must_not_answer() {
    let mut s = shard(CONFIG);
    // A BOOTREPLY (e.g. another server's OFFER seen on the link).
    let mut frame = client(35).discover();
    frame[0] = 2;
    assert_eq!(
        send(&mut s, &frame, meta_direct(), 0).outcome.silence,
        Some(Silence::NotRequest)
    );
    // No message type: plain BOOTP, which this scope does not serve.
    let mut m = dhcproto::v4::Message::default();
    m.set_chaddr(&[2, 0, 0, 0, 0, 1]);
    m.opts_mut().clear();
    assert_eq!(
        send(&mut s, &encode(&m), meta_direct(), 0).outcome.silence,
        Some(Silence::BootpNotServed)
    );
}

#[test]
fn delayed_scope_marks_its_offers_only() {
    let cfg = CONFIG.replacen(
        "lease_time = 3600\n",
        "lease_time = 3600\noffer_delay_ms = 250\n",
        1,
    );
    let mut s = shard(&cfg);
    let c = client(40);
    let offer = send(&mut s, &c.discover(), meta_direct(), 0);
    assert_eq!(offer.outcome.reply.unwrap().delay_ms, 250);
    let ack = send(&mut s, &c.select(offer.yiaddr(), IFACE), meta_direct(), 10);
    assert_eq!(ack.outcome.reply.unwrap().delay_ms, 0, "only OFFERs wait");
    // A relayed client of the undelayed scope is not delayed.
    let relayed = send(
        &mut s,
        &client(41).with_giaddr(ip("10.9.0.1")).discover(),
        meta_direct(),
        0,
    );
    assert_eq!(relayed.outcome.reply.unwrap().delay_ms, 0);
}
