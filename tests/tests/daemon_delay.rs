//! Delayed offers (the secondary of a split scope): a delayed scope's
//! OFFER leaves its delay after the DISCOVER; when more delayed OFFERs are
//! pending than the server-wide limit, further delayed DISCOVERs are
//! dropped (1338, then 1339 once drained) while an undelayed scope keeps
//! answering at once.

use std::time::{Duration, Instant};

use dhcp_wire::{Message, MessageType};
use tests::addr::{GIADDR, LAN_FIRST, LAN_LAST, SERVER_DIRECT, SERVER_DIRECT_IF, SERVER_RELAY_IF};
use tests::dhcp::{ClientMessage, Probe, Relay};
use tests::{Daemon, Topology, can_run};

const DELAY_MS: u64 = 1000;

fn config(limit: usize) -> String {
    format!(
        r#"[server]
interfaces = ["{SERVER_DIRECT_IF}", "{SERVER_RELAY_IF}"]
delayed_offer_limit = {limit}

[[scope]]
name = "secondary"
subnet = "10.79.0.0/24"
ranges = ["10.79.0.10-10.79.0.250"]
offer_delay_ms = {DELAY_MS}
options = {{ routers = ["{GIADDR}"] }}

[[scope]]
name = "lan"
subnet = "10.77.0.0/24"
ranges = ["{LAN_FIRST}-{LAN_LAST}"]
options = {{ routers = ["{SERVER_DIRECT}"] }}
"#
    )
}

fn mac(n: u32) -> [u8; 6] {
    let b = n.to_be_bytes();
    [0x02, 0xde, b[0], b[1], b[2], b[3]]
}

#[test]
fn delayed_scope_answers_after_its_delay() {
    if !can_run("delayed_scope_answers_after_its_delay", &[]) {
        return;
    }
    let topo = Topology::new().expect("topology");
    let _daemon = Daemon::start(&topo.server, topo.scratch.path(), &config(1000)).expect("daemon");
    let relay = Relay::open(&topo.relay).expect("relay");
    let sent = Instant::now();
    let offer = relay
        .exchange(&ClientMessage::discover(1, mac(1)), Duration::from_secs(3))
        .expect("relay I/O")
        .expect("an OFFER");
    let waited = sent.elapsed();
    assert_eq!(
        Message::parse(&offer).unwrap().message_type(),
        Some(MessageType::Offer)
    );
    // Only a lower bound: it cannot come before its delay.
    assert!(
        waited >= Duration::from_millis(DELAY_MS - 20),
        "OFFER after {waited:?}, delay {DELAY_MS} ms"
    );
}

#[test]
fn full_delay_queue_drops_delayed_discovers_but_not_undelayed_ones() {
    if !can_run("full_delay_queue_drops_delayed_discovers", &[]) {
        return;
    }
    let topo = Topology::new().expect("topology");
    let daemon = Daemon::start(&topo.server, topo.scratch.path(), &config(10)).expect("daemon");
    let relay = Relay::open(&topo.relay).expect("relay");
    let probe = Probe::open(&topo.client).expect("probe");
    for n in 0..100 {
        relay
            .send(&ClientMessage::discover(0x100 + n, mac(n)))
            .expect("storm");
    }
    // While the delayed queue is full, the undelayed scope answers at once.
    let direct = probe.exchange(
        &ClientMessage::discover(0x9999, [0x02, 0, 0, 0, 0x99, 0x99]),
        Duration::from_millis(DELAY_MS * 7 / 10),
    );
    let offer = direct
        .expect("probe I/O")
        .expect("an undelayed OFFER before the delayed ones are due");
    assert_eq!(
        Message::parse(&offer).unwrap().message_type(),
        Some(MessageType::Offer)
    );
    daemon
        .wait_event(1338, Duration::from_secs(2), |_| true)
        .expect("1338 when the queue filled");
    daemon
        .wait_event(1339, Duration::from_secs(3), |_| true)
        .expect("1339 once it drained");
    assert_eq!(
        daemon.events(1338).len(),
        1,
        "1338 once, not per dropped DISCOVER"
    );
    let counters = daemon.stop().expect("clean stop");
    assert_eq!(counters.get("delay_dropped").unwrap(), 90, "{counters:?}");
    assert_eq!(
        counters.get("offers").unwrap(),
        11,
        "10 delayed OFFERs and the undelayed one: {counters:?}"
    );
    assert_eq!(counters.get("sent").unwrap(), 11, "{counters:?}");
}
