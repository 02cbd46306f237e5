//! Conflict detection: with `conflict_detection_attempts` set, the server
//! pings an address before offering it; a host on the client link that
//! answers for the first pool address makes the server quarantine it
//! (audit: conflict, `BAD_ADDRESS`) and offer the next one. Without it,
//! the busy address is offered, which is what the first test guards
//! against.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use dhcp_wire::{Message, MessageType};
use tests::addr::{LAN_FIRST, LAN_LAST, SERVER_DIRECT, SERVER_DIRECT_IF, in_range};
use tests::dhcp::{ClientMessage, Probe};
use tests::{Daemon, Topology, can_run};

const TIMEOUT_MS: u64 = 400;

fn config(conflict_detection: &str) -> String {
    format!(
        r#"[server]
interfaces = ["{SERVER_DIRECT_IF}"]
offer_timeout = "30s"
{conflict_detection}

[[scope]]
name = "lan"
subnet = "10.77.0.0/24"
ranges = ["{LAN_FIRST}-{LAN_LAST}"]
options = {{ routers = ["{SERVER_DIRECT}"] }}
"#
    )
}

fn mac(n: u8) -> [u8; 6] {
    [0x02, 0xcf, 0, 0, 0, n]
}

/// A DISCOVER from client `n` asking for the busy address (option 50), so
/// that it is the first address the server considers whichever worker the
/// client lands on.
fn discover_busy(n: u8) -> ClientMessage {
    ClientMessage {
        requested_ip: Some(LAN_FIRST),
        ..ClientMessage::discover(0xc0f1_0000 + u32::from(n), mac(n))
    }
}

/// The OFFER's address, failing on anything but an OFFER.
fn offered(reply: Option<Vec<u8>>) -> Ipv4Addr {
    let reply = reply.expect("an OFFER");
    let msg = Message::parse(&reply).expect("a DHCP reply");
    assert_eq!(msg.message_type(), Some(MessageType::Offer));
    msg.yiaddr()
}

#[test]
fn a_pinged_busy_address_is_skipped() {
    if !can_run("a_pinged_busy_address_is_skipped", &[]) {
        return;
    }
    let topo = Topology::new().expect("topology");
    let _busy = topo.add_link_host(LAN_FIRST).expect("busy host");
    let daemon = Daemon::start(
        &topo.server,
        topo.scratch.path(),
        &config(&format!(
            "conflict_detection_attempts = 2\nconflict_detection_timeout = \"{TIMEOUT_MS}ms\""
        )),
    )
    .expect("daemon");
    let probe = Probe::open(&topo.client).expect("client socket");
    let wait = Duration::from_secs(5);

    // The busy address answers its first ping: the next one is offered,
    // after its own two unanswered pings.
    let first = discover_busy(1);
    let sent = Instant::now();
    let addr = offered(probe.exchange(&first, wait).expect("client I/O"));
    let waited = sent.elapsed();
    assert_ne!(addr, LAN_FIRST, "the busy address was offered");
    assert!(in_range(addr, LAN_FIRST, LAN_LAST), "{addr}");
    assert!(
        waited >= Duration::from_millis(2 * TIMEOUT_MS - 20),
        "OFFER after {waited:?}: before its pings were over"
    );
    // A retransmission gets the same OFFER at once, without a new ping.
    let again = offered(probe.exchange(&first, wait).expect("client I/O"));
    assert_eq!(again, addr);
    // The client takes it.
    let request = ClientMessage {
        kind: MessageType::Request,
        requested_ip: Some(addr),
        server_id: Some(SERVER_DIRECT),
        ..first.clone()
    };
    let ack = probe
        .exchange(&request, wait)
        .expect("client I/O")
        .expect("an ACK");
    let ack = Message::parse(&ack).expect("a DHCP reply");
    assert_eq!(ack.message_type(), Some(MessageType::Ack));
    assert_eq!(ack.yiaddr(), addr);

    // The busy address is quarantined: asking for it gets another one,
    // without pinging it again.
    let second = offered(probe.exchange(&discover_busy(2), wait).expect("client I/O"));
    assert_ne!(second, LAN_FIRST);
    assert_ne!(second, addr);

    assert!(daemon.events(1029).is_empty(), "every ping could be sent");
    let counters = daemon.stop().expect("clean stop");
    assert_eq!(counters.get("conflicts").unwrap(), 1, "{counters:?}");
    assert_eq!(
        counters.get("pings").unwrap(),
        1 + 2 + 2,
        "the busy address once, the two offered ones twice each: {counters:?}"
    );
    assert_eq!(counters.get("offers").unwrap(), 3, "{counters:?}");

    // The audit log has the conflict, as Windows writes it.
    let dir = topo.scratch.path().join("state/audit");
    let text: String = std::fs::read_dir(&dir)
        .expect("audit directory")
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    let conflicts: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|r| r[0] == "13")
        .collect();
    assert_eq!(conflicts.len(), 1, "{text}");
    let row = &conflicts[0];
    assert_eq!(row[3], "Conflict", "{row:?}");
    assert_eq!(row[4], LAN_FIRST.to_string(), "{row:?}");
    assert_eq!(row[5], "BAD_ADDRESS", "{row:?}");
    assert_eq!(row[6], "02CF00000001", "{row:?}");
}

#[test]
fn without_conflict_detection_the_busy_address_is_offered() {
    if !can_run(
        "without_conflict_detection_the_busy_address_is_offered",
        &[],
    ) {
        return;
    }
    let topo = Topology::new().expect("topology");
    let _busy = topo.add_link_host(LAN_FIRST).expect("busy host");
    let daemon = Daemon::start(&topo.server, topo.scratch.path(), &config("")).expect("daemon");
    let probe = Probe::open(&topo.client).expect("client socket");
    let addr = offered(
        probe
            .exchange(&discover_busy(1), Duration::from_secs(3))
            .expect("client I/O"),
    );
    assert_eq!(addr, LAN_FIRST, "nothing checks it");
    let counters = daemon.stop().expect("clean stop");
    assert_eq!(counters.get("pings").unwrap(), 0, "{counters:?}");
}
