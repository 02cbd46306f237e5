//! Bad input and exhaustion never stop service: after a flood of malformed
//! datagrams to port 67 the daemon still runs, still serves a normal
//! client, counts the garbage as dropped, and exits cleanly; a scope with
//! no address left stays silent for new clients and says so once (events
//! 1020 and 1063).

use std::{
    net::{Ipv4Addr, SocketAddrV4, UdpSocket},
    thread,
    time::Duration,
};

use dhcp_wire::{Message, MessageType};
use tests::{
    Daemon, Topology,
    addr::{RELAY, RELAYED_FIRST, RELAYED_LAST, SERVER_RELAY, SERVER_RELAY_IF, in_range},
    can_run,
    dhcp::{ClientMessage, Relay},
};

const FLOOD: u32 = 10_000;
/// Datagrams sent between two short pauses: a burst never fills the
/// daemon's socket buffer entirely, so most of the flood is really parsed.
const BURST: u32 = 250;

/// xorshift64: reproducible garbage without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// Datagram `i` of the flood: one of several kinds of damage to a DHCP
/// message, or plain noise.
fn malformed(rng: &mut Rng, i: u32) -> Vec<u8> {
    let valid = ClientMessage::discover(i, [0x02, 0xee, 0, 0, (i >> 8) as u8, i as u8]).encode();
    match i % 6 {
        // Noise of any length, empty included.
        0 => {
            let len = rng.below(600);
            rng.bytes(len)
        }
        // A DISCOVER cut short anywhere before its options end.
        1 => valid[..rng.below(244)].to_vec(),
        // Header and cookie intact, options replaced by noise (lengths
        // running past the end, no END, PAD soup).
        2 => {
            let mut m = valid[..240].to_vec();
            let len = rng.below(300);
            m.extend(rng.bytes(len));
            m
        }
        // One option whose length runs past the end of the datagram.
        3 => {
            let mut m = valid[..240].to_vec();
            m.extend_from_slice(&[53, 1, 1, 61, 200, 1, 2, 3]);
            m
        }
        // A server's message (BOOTREPLY) sent to the server.
        4 => {
            let mut m = valid.clone();
            m[0] = 2;
            m
        }
        // Nonsense header fields: hlen 255, op 0, no message type.
        _ => {
            let mut m = valid[..240].to_vec();
            m[0] = 0;
            m[2] = 255;
            m.push(255);
            m
        }
    }
}

#[test]
fn malformed_flood_does_not_stop_service() {
    if !can_run("malformed_flood_does_not_stop_service", &[]) {
        return;
    }
    let topo = Topology::new().expect("topology");
    let mut daemon =
        Daemon::start(&topo.server, topo.scratch.path(), &Topology::config("")).expect("daemon");

    let sock = topo
        .relay
        .run_in(|| UdpSocket::bind(SocketAddrV4::new(RELAY, 0)))
        .expect("relay namespace")
        .expect("flood socket");
    let server = SocketAddrV4::new(SERVER_RELAY, 67);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for i in 0..FLOOD {
        let payload = malformed(&mut rng, i);
        sock.send_to(&payload, server).expect("send");
        if i % BURST == BURST - 1 {
            thread::sleep(Duration::from_millis(2));
        }
    }

    assert!(
        daemon.is_running(),
        "the daemon died in the flood:\n{}",
        daemon.tail()
    );
    // Service goes on: a relayed client gets its OFFER.
    let relay = Relay::open(&topo.relay).expect("relay");
    let reply = relay
        .exchange(
            &ClientMessage::discover(0x7777_0001, [0x02, 0, 0, 0x79, 0, 7]),
            Duration::from_secs(5),
        )
        .unwrap()
        .expect("an OFFER after the flood");
    let m = Message::parse(&reply).unwrap();
    assert_eq!(m.message_type(), Some(MessageType::Offer));
    assert!(in_range(m.yiaddr(), RELAYED_FIRST, RELAYED_LAST), "{m:?}");

    let counters = daemon.stop().expect("clean stop after the flood");
    assert!(
        counters.get("dropped").unwrap() > 0,
        "garbage not counted: {counters:?}"
    );
    assert_eq!(counters.get("offers").unwrap(), 1, "{counters:?}");
    // Every datagram the daemon read is accounted for: answered, dropped
    // for a reason it counts, undecodable ("malformed"), or a DECLINE or
    // RELEASE, which are never answered.
    let get = |name: &str| counters.get(name).unwrap();
    assert_eq!(
        get("received"),
        get("sent") + get("dropped") + get("malformed") + get("declines") + get("releases"),
        "{counters:?}"
    );
}

#[test]
fn exhausted_scope_warns_and_stays_silent_for_the_extra_client() {
    if !can_run("exhausted_scope_warns_and_stays_silent", &[]) {
        return;
    }
    let topo = Topology::new().expect("topology");
    // Two addresses behind the relay; offers hold theirs for 10 s.
    let config = format!(
        r#"[server]
interfaces = ["{SERVER_RELAY_IF}"]
offer_timeout = "10s"
low_address_warning_percent = 50

[[scope]]
name = "tiny"
subnet = "10.79.0.0/24"
ranges = ["{RELAYED_FIRST}-10.79.0.101"]
"#
    );
    let daemon = Daemon::start(&topo.server, topo.scratch.path(), &config).expect("daemon");
    let relay = Relay::open(&topo.relay).expect("relay");
    let mut offered = Vec::new();
    for n in 1..=2u8 {
        let reply = relay
            .exchange(
                &ClientMessage::discover(0x6363_0000 + u32::from(n), [0x02, 0, 0, 0x63, 0, n]),
                Duration::from_secs(3),
            )
            .unwrap()
            .expect("an OFFER while addresses are left");
        offered.push(Message::parse(&reply).unwrap().yiaddr());
    }
    offered.sort();
    assert_eq!(offered, [RELAYED_FIRST, Ipv4Addr::new(10, 79, 0, 101)]);

    let extra = relay
        .exchange(
            &ClientMessage::discover(0x6363_0003, [0x02, 0, 0, 0x63, 0, 3]),
            Duration::from_secs(3),
        )
        .unwrap();
    assert!(extra.is_none(), "an OFFER from an exhausted scope");
    daemon
        .wait_event(1020, Duration::from_secs(5), |r| {
            r.to_string().contains("tiny")
        })
        .expect("event 1020 (low addresses) naming the scope");
    daemon
        .wait_event(1063, Duration::from_secs(5), |r| {
            r.to_string().contains("tiny")
        })
        .expect("event 1063 (scope full) naming the scope");
    assert_eq!(
        daemon.events(1063).len(),
        1,
        "1063 repeats: {}",
        daemon.tail()
    );
}
