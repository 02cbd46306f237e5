//! Crash safety of the lease store: under a sustained stream of relayed
//! DORAs the daemon is killed with SIGKILL at random moments, five times,
//! and restarted on the same state directory. Checked against every ACK a
//! client received: no ACKed lease is missing after a restart (its renewal
//! is ACKed with the same address), and no address is ever ACKed to two
//! clients.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use dhcp_wire::MessageType;
use nix::sys::signal::{Signal, kill};
use tests::addr::{GIADDR, SERVER_DIRECT_IF, SERVER_RELAY_IF};
use tests::dhcp::Relay;
use tests::{Daemon, Topology, can_run};

const ROUNDS: usize = 5;
/// Upper bound of the load before each kill (the kill comes earlier).
const MAX_ROUND: Duration = Duration::from_secs(3);
const REPLY_TIMEOUT: Duration = Duration::from_millis(500);
/// New clients served after each restart, before anything else.
const PROBES: u32 = 300;

/// A relayed /16 so thousands of clients fit, with hour-long leases.
fn config() -> String {
    format!(
        r#"[server]
interfaces = ["{SERVER_DIRECT_IF}", "{SERVER_RELAY_IF}"]
durability = "sync"

[[scope]]
name = "relayed"
subnet = "10.79.0.0/16"
ranges = ["10.79.1.0-10.79.255.250"]
lease_time = "1h"
options = {{ routers = ["{GIADDR}"] }}
"#
    )
}

/// A small deterministic generator (seed printed so a failure can be
/// replayed).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

fn mac_of(client: u32) -> [u8; 6] {
    let b = client.to_be_bytes();
    [0x02, 0xcc, b[0], b[1], b[2], b[3]]
}

fn dora(relay: &Relay, client: u32) -> Option<Ipv4Addr> {
    relay.dora(0x5000_0000 | client, mac_of(client), REPLY_TIMEOUT)
}

fn renew(relay: &Relay, client: u32, addr: Ipv4Addr) -> Option<(MessageType, Ipv4Addr)> {
    relay.renew(
        0x6000_0000 | client,
        mac_of(client),
        addr,
        Duration::from_secs(2),
    )
}

#[test]
fn acked_leases_survive_kill_9() {
    if !can_run("acked_leases_survive_kill_9", &[]) {
        return;
    }
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    eprintln!("crash test seed {seed}");
    let mut rng = Lcg(seed);
    let topo = Topology::new().expect("topology");
    let relay = Relay::open(&topo.relay).expect("relay socket");
    // Every ACK any client received: client → address, and the reverse.
    let mut acked: HashMap<u32, Ipv4Addr> = HashMap::new();
    let mut holder: HashMap<Ipv4Addr, u32> = HashMap::new();
    let mut next_client = 0u32;

    for round in 0..ROUNDS {
        let daemon =
            Daemon::start(&topo.server, topo.scratch.path(), &config()).expect("daemon (re)start");
        // New clients first: a server that forgot a lease would hand its
        // address to one of them (allocation starts over at the bottom of
        // the range after a restart).
        for _ in 0..PROBES {
            let client = next_client;
            next_client += 1;
            let addr = relay
                .dora(0x5000_0000 | client, mac_of(client), Duration::from_secs(3))
                .unwrap_or_else(|| {
                    panic!(
                        "round {round}: no lease for a new client\n{}",
                        daemon.tail()
                    )
                });
            if let Some(other) = holder.insert(addr, client) {
                panic!(
                    "round {round}: {addr} given to new client {client} while client {other} holds it (a lease was lost)"
                );
            }
            acked.insert(client, addr);
        }
        // Everything ACKed before the crashes is still there.
        for (&client, &addr) in &acked {
            match renew(&relay, client, addr) {
                Some((MessageType::Ack, got)) if got == addr => {}
                other => panic!(
                    "round {round}: client {client} lost its ACKed lease {addr}: {other:?}\n{}",
                    daemon.tail()
                ),
            }
        }
        // Load, and a SIGKILL at a random moment while it runs.
        let kill_after = Duration::from_millis(200 + rng.next(800));
        let pid = daemon.pid();
        let started = Instant::now();
        let mut killed = false;
        while started.elapsed() < MAX_ROUND {
            if !killed && started.elapsed() >= kill_after {
                kill(pid, Signal::SIGKILL).expect("SIGKILL");
                killed = true;
            }
            let client = next_client;
            next_client += 1;
            match dora(&relay, client) {
                Some(addr) => {
                    if let Some(other) = holder.insert(addr, client) {
                        assert_eq!(
                            other, client,
                            "{addr} ACKed to client {client} while client {other} holds it"
                        );
                    }
                    acked.insert(client, addr);
                }
                None if killed => break,
                None => {}
            }
        }
        assert!(killed, "round {round}: the load ended before the kill");
        drop(daemon);
        eprintln!(
            "round {round}: {} leases ACKed so far, {next_client} clients tried",
            acked.len()
        );
    }
    assert!(
        acked.len() >= 1000,
        "too little load to mean anything: {} ACKs",
        acked.len()
    );

    // A last restart: every lease is there, and nobody else can take one.
    let daemon = Daemon::start(&topo.server, topo.scratch.path(), &config()).expect("final start");
    for (&client, &addr) in &acked {
        assert_eq!(
            renew(&relay, client, addr),
            Some((MessageType::Ack, addr)),
            "client {client} after the last restart"
        );
    }
    let stranger = next_client + 1;
    if let Some(addr) = dora(&relay, stranger) {
        assert!(
            !holder.contains_key(&addr),
            "{addr} given to a new client while leased"
        );
    }
    daemon.stop().expect("clean stop");
}
