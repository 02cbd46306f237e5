//! Reloading the configuration (SIGHUP) keeps leases: a shard rebased onto
//! a new snapshot carries its bound leases into the new pools, and ends
//! only those the new configuration no longer allows.

mod common;

use common::*;
use dhcp_user::engine::LeaseChange;
use dhcproto::v4::MessageType;

const BEFORE: &str = r#"
[[scope]]
name = "lan"
subnet = "10.0.0.0/24"
ranges = ["10.0.0.10-10.0.0.19"]
lease_time = 600
"#;

/// The range shrinks to .10-.12 and .12 becomes a reservation for someone
/// else; a new scope appears.
const AFTER: &str = r#"
[[scope]]
name = "lan"
subnet = "10.0.0.0/24"
ranges = ["10.0.0.10-10.0.0.12"]
lease_time = 900
[[scope.reservation]]
mac = "02:00:00:00:99:99"
ip = "10.0.0.12"
[[scope]]
name = "new"
subnet = "10.1.0.0/24"
ranges = ["10.1.0.10-10.1.0.19"]
"#;

#[test]
fn leases_survive_a_reload_unless_the_new_config_forbids_them() {
    let mut s = shard(BEFORE);
    let addrs: Vec<_> = (0..4).map(|n| dora(&mut s, &client(n), 0)).collect();
    assert_eq!(
        addrs,
        [
            ip("10.0.0.10"),
            ip("10.0.0.11"),
            ip("10.0.0.12"),
            ip("10.0.0.13")
        ]
    );

    let mut ended = Vec::new();
    s.rebase(shared(AFTER, 1), &mut ended);
    let mut ended_addrs: Vec<_> = ended
        .iter()
        .map(|c| match c {
            LeaseChange::Expired { addr, .. } => *addr,
            other => panic!("{other:?}"),
        })
        .collect();
    ended_addrs.sort();
    assert_eq!(
        ended_addrs,
        [ip("10.0.0.12"), ip("10.0.0.13")],
        "reserved for another / outside the range now"
    );

    // Kept leases renew with the same address, under the new lease time.
    for (n, addr) in addrs[..2].iter().enumerate() {
        let ack = send(&mut s, &client(n as u32).renew(*addr), meta_direct(), 1000);
        assert_eq!(ack.kind(), Some(MessageType::Ack));
        assert_eq!(ack.option(51).unwrap(), 900u32.to_be_bytes());
    }
    // Ended ones are told to start over.
    assert_eq!(
        send(&mut s, &client(3).renew(addrs[3]), meta_direct(), 1000).kind(),
        Some(MessageType::Nak)
    );
    // A newcomer cannot get a carried-over address: the range is full.
    let full = send(&mut s, &client(50).discover(), meta_direct(), 1000);
    assert!(full.reply.is_none());
    // The reservation is honoured for its owner.
    let mut owner = client(99);
    owner.mac = [0x02, 0, 0, 0, 0x99, 0x99];
    assert_eq!(
        send(&mut s, &owner.discover(), meta_direct(), 1000).yiaddr(),
        ip("10.0.0.12")
    );
}

#[test]
fn quarantine_survives_a_reload() {
    let mut s = shard(BEFORE);
    let c = client(1);
    let addr = dora(&mut s, &c, 0);
    send(&mut s, &c.decline(addr, IFACE), meta_direct(), 0);
    s.rebase(shared(BEFORE, 1), &mut Vec::new());
    let offered: Vec<_> = (0..9)
        .map(|n| send(&mut s, &client(10 + n).discover(), meta_direct(), 1).yiaddr())
        .collect();
    assert!(
        !offered.contains(&addr),
        "the declined address stays out of service"
    );
    assert!(
        send(&mut s, &client(30).discover(), meta_direct(), 1)
            .reply
            .is_none()
    );
}
