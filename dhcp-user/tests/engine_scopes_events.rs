//! Scope selection across superscopes, deactivated scopes, and the events
//! the engine emits (1000, 1020, 1063), with their rate limits.

mod common;

use common::*;
use dhcp_user::engine::{RecvMeta, Silence};
use dhcproto::v4::MessageType;
use std::net::SocketAddrV4;

const SUPERSCOPE: &str = r#"
[server]
low_address_warning_percent = 75

[[scope]]
name = "floor-1a"
subnet = "10.0.0.0/24"
ranges = ["10.0.0.10-10.0.0.13"]

[[scope]]
name = "floor-1b"
subnet = "10.0.1.0/24"
ranges = ["10.0.1.10-10.0.1.13"]
options = { routers = ["10.0.1.1"] }

[[scope]]
name = "lab"
subnet = "10.5.0.0/24"
ranges = ["10.5.0.10-10.5.0.20"]
active = false

[[superscope]]
name = "building-1"
scopes = ["floor-1a", "floor-1b"]
"#;

#[test]
fn superscope_spills_into_the_next_scope_and_reports_full_once() {
    let mut s = shard(SUPERSCOPE);
    let addrs: Vec<_> = (0..8).map(|n| dora(&mut s, &client(n), 0)).collect();
    assert!(addrs[..4].iter().all(|a| a.octets()[2] == 0), "{addrs:?}");
    assert!(addrs[4..].iter().all(|a| a.octets()[2] == 1), "{addrs:?}");
    // The spilled client gets the options of the scope its address is in.
    let offer = send(&mut s, &client(4).discover(), meta_direct(), 0);
    assert_eq!(offer.option(3).unwrap(), [10, 0, 1, 1]);
    let first = send(&mut s, &client(100).discover(), meta_direct(), 0);
    assert_eq!(first.outcome.silence, Some(Silence::PoolExhausted));
    assert_eq!(first.event_ids(), [1063]);
    match &first.events[0] {
        dhcp_user::events::Event::ScopeFull { scope } => assert_eq!(&**scope, "building-1"),
        e => panic!("{e:?}"),
    }
    // No event storm while it stays full...
    assert!(
        send(&mut s, &client(101).discover(), meta_direct(), 0)
            .events
            .is_empty()
    );
    // ...and a new report once it filled up again after recovering.
    let freed = addrs[0];
    send(&mut s, &client(0).release(freed, IFACE), meta_direct(), 0);
    assert_eq!(
        send(&mut s, &client(102).discover(), meta_direct(), 0).yiaddr(),
        freed
    );
    assert_eq!(
        send(&mut s, &client(103).discover(), meta_direct(), 0).event_ids(),
        [1063]
    );
}

#[test]
fn a_request_for_a_sibling_scope_address_is_on_the_right_network() {
    let mut s = shard(SUPERSCOPE);
    // Fill floor-1a so the client lands in floor-1b.
    for n in 0..4 {
        dora(&mut s, &client(n), 0);
    }
    let c = client(50);
    let addr = dora(&mut s, &c, 0);
    assert_eq!(addr.octets()[2], 1);
    // INIT-REBOOT arriving on the 10.0.0.x interface: same superscope, ACK.
    assert_eq!(
        send(&mut s, &c.init_reboot(addr), meta_direct(), 10).kind(),
        Some(MessageType::Ack)
    );
}

#[test]
fn deactivated_scope_is_silent_and_never_naks() {
    let mut s = shard(SUPERSCOPE);
    let lab = RecvMeta {
        iface_addr: ip("10.5.0.1"),
        ..meta_direct()
    };
    let c = client(60);
    for frame in [
        c.discover(),
        c.init_reboot(ip("10.5.0.15")),
        c.init_reboot(ip("192.168.0.9")),
        c.select(ip("10.5.0.15"), ip("10.5.0.1")),
        c.inform(ip("10.5.0.33")),
    ] {
        let out = send(&mut s, &frame, lab, 0);
        assert!(out.reply.is_none(), "{:?}", out.outcome);
        assert_eq!(out.outcome.silence, Some(Silence::ScopeInactive));
        assert!(out.events.is_empty());
    }
    // A client renewing an address of the deactivated scope through a
    // router (unicast, arriving on another interface) is not NAKed either.
    let renew = send(
        &mut s,
        &c.renew(ip("10.5.0.15")),
        RecvMeta {
            dst: IFACE,
            ..meta_direct()
        },
        0,
    );
    assert!(renew.reply.is_none());
}

#[test]
fn low_address_warning_fires_once_per_crossing() {
    let mut s = shard(SUPERSCOPE);
    // floor-1a has 4 addresses; 75 % is the third.
    let mut events = Vec::new();
    for n in 0..4 {
        let out = send(&mut s, &client(n).discover(), meta_direct(), 0);
        events.push(out.event_ids());
    }
    assert_eq!(
        events,
        [vec![], vec![], vec![1020], vec![]],
        "one event at the crossing, none after"
    );
    // The next client spills into floor-1b, which is only 25 % used.
    assert!(
        send(&mut s, &client(9).discover(), meta_direct(), 0)
            .events
            .is_empty()
    );
    // Fall below, then cross again: a second event.
    s.poll_timers(3_600_000, &mut Vec::new()); // offers expire
    for n in 20..22 {
        assert!(
            send(&mut s, &client(n).discover(), meta_direct(), 3_600_000)
                .events
                .is_empty()
        );
    }
    assert_eq!(
        send(&mut s, &client(22).discover(), meta_direct(), 3_600_000).event_ids(),
        [1020]
    );
}

#[test]
fn unknown_option_is_reported_at_most_once_per_interval() {
    let mut s = shard(SUPERSCOPE);
    let mut c = client(70);
    c.extra = vec![(240, vec![1, 2, 3])];
    let first = send(&mut s, &c.discover(), meta_direct(), 0);
    match &first.events[..] {
        [
            dhcp_user::events::Event::UnknownOption {
                code: 240,
                len: 3,
                data,
                suppressed: 0,
            },
        ] => assert_eq!(&**data, [1, 2, 3]),
        other => panic!("{other:?}"),
    }
    for t in 1..10 {
        assert!(
            send(&mut s, &c.discover(), meta_direct(), t * 1000)
                .events
                .is_empty()
        );
    }
    match &send(&mut s, &c.discover(), meta_direct(), 61_000).events[..] {
        [dhcp_user::events::Event::UnknownOption { suppressed: 9, .. }] => {}
        other => panic!("{other:?}"),
    }
    // Assigned codes clients commonly send are not "unknown".
    let mut known = client(71);
    known.extra = vec![
        (12, b"host".to_vec()),
        (60, b"MSFT 5.0".to_vec()),
        (81, vec![0, 0, 0]),
    ];
    assert!(
        send(&mut s, &known.discover(), meta_direct(), 0)
            .events
            .is_empty()
    );
}

#[test]
fn relay_link_selection_and_subnet_selection_options_pick_the_scope() {
    let mut s = shard(SUPERSCOPE);
    let relay = RecvMeta {
        src: SocketAddrV4::new(ip("192.0.2.1"), 67),
        dst: IFACE,
        ..meta_direct()
    };
    // giaddr is the relay's own address on a transit network; 82.5 names the
    // client's link (RFC 3527).
    let mut c = client(80).with_giaddr(ip("192.0.2.1"));
    c.relay_info = Some(vec![5, 4, 10, 0, 1, 0]);
    let offer = send(&mut s, &c.discover(), relay, 0);
    assert_eq!(offer.kind(), Some(MessageType::Offer));
    // The superscope of 10.0.1.0/24 starts with its own scope.
    assert_eq!(offer.yiaddr().octets()[..3], [10, 0, 1]);
    // RFC 3011 subnet selection, no relay.
    let mut d = client(81);
    d.extra = vec![(118, vec![10, 5, 0, 0])];
    assert_eq!(
        send(&mut s, &d.discover(), meta_direct(), 0)
            .outcome
            .silence,
        Some(Silence::ScopeInactive)
    );
}

#[test]
fn mac_filter_deny_wins_and_allow_list_restricts() {
    let cfg = SUPERSCOPE.replacen(
        "[server]\n",
        "[server]\nmac_filter = { allow_enabled = true, allow = [\"02:00:00:00:*\"], deny_enabled = true, deny = [\"02-00-00-00-00-07\"] }\n",
        1,
    );
    let mut s = shard(&cfg);
    assert_eq!(
        send(&mut s, &client(1).discover(), meta_direct(), 0).kind(),
        Some(MessageType::Offer)
    );
    let denied = send(&mut s, &client(7).discover(), meta_direct(), 0);
    assert_eq!(
        denied.outcome.silence,
        Some(Silence::Filtered),
        "deny wins over allow"
    );
    let mut stranger = client(2);
    stranger.mac = [0x0a, 0, 0, 0, 0, 2];
    assert_eq!(
        send(&mut s, &stranger.discover(), meta_direct(), 0)
            .outcome
            .silence,
        Some(Silence::Filtered),
        "not on the allow list"
    );
    // Filtered clients get nothing at all, not even a NAK.
    assert!(
        send(
            &mut s,
            &client(7).init_reboot(ip("192.168.0.1")),
            meta_direct(),
            0
        )
        .reply
        .is_none()
    );
}

#[test]
fn superscope_low_address_warning_counts_every_member() {
    let mut s = shard(SUPERSCOPE);
    // building-1 holds 8 addresses; 75 % is the sixth.
    let ids: Vec<Vec<u16>> = (0..8)
        .map(|n| send(&mut s, &client(n).discover(), meta_direct(), 0).event_ids())
        .collect();
    let at: Vec<usize> = ids
        .iter()
        .enumerate()
        .filter(|(_, e)| e.contains(&1377))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(at, [5], "once, at the crossing: {ids:?}");
    match send(&mut s, &client(50).discover(), meta_direct(), 0)
        .events
        .as_slice()
    {
        [dhcp_user::events::Event::ScopeFull { .. }] => {}
        other => panic!("no second 1377 while above the threshold: {other:?}"),
    }
}
