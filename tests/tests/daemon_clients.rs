//! Real clients on the direct link get, renew and release leases from the
//! real daemon: ISC dhclient and busybox udhcpc, each in its own client
//! namespace, the daemon serving the link from the server namespace.

use std::time::Duration;

use tests::{
    Daemon, Dhclient, Topology, Udhcpc,
    addr::{CLIENT_IF, LAN_FIRST, LAN_LAST, in_range},
    can_run, mentions,
};

/// Event ids the tests look for in the daemon's log.
const EVENT_RELEASE: u64 = 1013;
/// A client's first lease: DISCOVER, OFFER, REQUEST, ACK with retries.
const LEASE_TIMEOUT: Duration = Duration::from_secs(20);
/// A renewal asked for (SIGUSR1) or due within the short lease used here.
const RENEW_TIMEOUT: Duration = Duration::from_secs(15);
const EVENT_TIMEOUT: Duration = Duration::from_secs(5);

#[test]
fn dhclient_gets_renews_and_releases_a_lease() {
    if !can_run("dhclient_gets_renews_and_releases_a_lease", &["dhclient"]) {
        return;
    }
    let topo = Topology::new().expect("topology");
    // T1 of 3 s: dhclient renews on its own within the test.
    let config = Topology::config("lease_time = 20\nrenewal_time = 3\nrebinding_time = 15");
    let daemon = Daemon::start(&topo.server, topo.scratch.path(), &config).expect("daemon");

    let client = Dhclient::start(&topo.client, CLIENT_IF, topo.scratch.path()).expect("dhclient");
    let ip = client.wait_bound(LEASE_TIMEOUT).expect("a lease");
    assert!(
        in_range(ip, LAN_FIRST, LAN_LAST),
        "{ip} is not in the lan range"
    );
    assert_eq!(topo.client_addrs().expect("addresses"), [ip]);

    let renewed = client.wait_renewed(0, RENEW_TIMEOUT).expect("a renewal");
    assert_eq!(renewed, ip, "the renewal changed the address");

    client.release().expect("dhclient -r");
    daemon
        .wait_event(EVENT_RELEASE, EVENT_TIMEOUT, |r| mentions(r, ip))
        .expect("event 1013 for the released address");

    let counters = daemon.stop().expect("clean stop");
    assert!(counters.get("offers").unwrap() >= 1, "{counters:?}");
    // The first ACK and the renewal's.
    assert!(counters.get("acks").unwrap() >= 2, "{counters:?}");
    assert!(counters.get("releases").unwrap() >= 1, "{counters:?}");
    assert_eq!(counters.get("naks").unwrap(), 0, "{counters:?}");
}

#[test]
fn udhcpc_renews_by_unicast_and_releases() {
    if !can_run("udhcpc_renews_by_unicast_and_releases", &["busybox"]) {
        return;
    }
    let topo = Topology::new().expect("topology");
    // A long lease: the only renewal is the one the test asks for.
    let config = Topology::config("lease_time = \"1h\"");
    let daemon = Daemon::start(&topo.server, topo.scratch.path(), &config).expect("daemon");

    let client = Udhcpc::start(&topo.client, CLIENT_IF, topo.scratch.path()).expect("udhcpc");
    let ip = client.wait_bound(LEASE_TIMEOUT).expect("a lease");
    assert!(
        in_range(ip, LAN_FIRST, LAN_LAST),
        "{ip} is not in the lan range"
    );
    assert_eq!(topo.client_addrs().expect("addresses"), [ip]);

    // busybox renews by a REQUEST unicast from the leased address to the
    // server; a NAK or no answer would make it start over instead.
    let renewed = client.renew(RENEW_TIMEOUT).expect("an ACKed renewal");
    assert_eq!(renewed, ip, "the renewal changed the address");

    client.release().expect("udhcpc exits on SIGTERM");
    daemon
        .wait_event(EVENT_RELEASE, EVENT_TIMEOUT, |r| mentions(r, ip))
        .expect("event 1013 for the released address");

    let counters = daemon.stop().expect("clean stop");
    assert!(counters.get("acks").unwrap() >= 2, "{counters:?}");
    assert!(counters.get("releases").unwrap() >= 1, "{counters:?}");
    assert_eq!(counters.get("naks").unwrap(), 0, "{counters:?}");
}

#[test]
fn reservation_is_honoured() {
    if !can_run("reservation_is_honoured", &["busybox"]) {
        return;
    }
    const MAC: &str = "02:00:00:77:00:50";
    // Outside the dynamic range: only the reservation can hand it out.
    const RESERVED: std::net::Ipv4Addr = std::net::Ipv4Addr::new(10, 77, 0, 50);
    let topo = Topology::new().expect("topology");
    topo.set_client_mac(MAC).expect("client MAC");
    let config = Topology::config(&format!(
        "\n[[scope.reservation]]\nname = \"demo-host\"\nmac = \"{MAC}\"\nip = \"{RESERVED}\""
    ));
    let _daemon = Daemon::start(&topo.server, topo.scratch.path(), &config).expect("daemon");

    let client = Udhcpc::start(&topo.client, CLIENT_IF, topo.scratch.path()).expect("udhcpc");
    assert_eq!(client.wait_bound(LEASE_TIMEOUT).expect("a lease"), RESERVED);
    assert_eq!(topo.client_addrs().expect("addresses"), [RESERVED]);
}
