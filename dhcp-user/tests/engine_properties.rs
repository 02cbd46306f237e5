//! Properties of the engine over arbitrary inputs:
//! * no address is ever bound (or offered) to two clients, whatever the
//!   sequence of messages from many clients spread over several shards;
//! * no byte string panics the decoder or the engine.

mod common;

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use common::*;
use dhcp_user::engine::{LeaseChange, MAX_REPLY_LEN, Shard, steering_key};
use dhcp_wire::Message;
use dhcproto::v4::MessageType;
use proptest::prelude::*;

/// A small pool so clients fight over addresses: two scopes in one
/// superscope, 12 dynamic addresses, one reservation inside a range.
const CONTESTED: &str = r#"
[server]
offer_timeout = 5
decline_quarantine = 20
[[scope]]
name = "a"
subnet = "10.0.0.0/24"
ranges = ["10.0.0.10-10.0.0.16"]
exclusions = ["10.0.0.12"]
lease_time = 40
[[scope.reservation]]
mac = "02:00:00:00:00:03"
ip = "10.0.0.14"
[[scope]]
name = "b"
subnet = "10.0.1.0/24"
ranges = ["10.0.1.10-10.0.1.16"]
lease_time = 60
[[superscope]]
name = "s"
scopes = ["a", "b"]
"#;

#[derive(Debug, Clone)]
enum Step {
    Discover { c: u32, want: Option<u8> },
    Select { c: u32, pick: u8, ours: bool },
    InitReboot { c: u32, pick: u8 },
    Renew { c: u32, pick: u8 },
    Release { c: u32, pick: u8 },
    Decline { c: u32, pick: u8 },
    Wait { secs: u8 },
}

/// Addresses the steps aim at: both subnets' ranges and a few outside.
fn pick_addr(pick: u8) -> Ipv4Addr {
    let subnet = pick % 3;
    let host = 8 + (pick / 3) % 12;
    match subnet {
        0 => Ipv4Addr::new(10, 0, 0, host),
        1 => Ipv4Addr::new(10, 0, 1, host),
        _ => Ipv4Addr::new(10, 7, 0, host),
    }
}

fn step() -> impl Strategy<Value = Step> {
    let c = 0u32..24;
    prop_oneof![
        4 => (c.clone(), proptest::option::of(any::<u8>())).prop_map(|(c, want)| Step::Discover { c, want }),
        4 => (c.clone(), any::<u8>(), proptest::bool::weighted(0.9)).prop_map(|(c, pick, ours)| Step::Select { c, pick, ours }),
        2 => (c.clone(), any::<u8>()).prop_map(|(c, pick)| Step::InitReboot { c, pick }),
        2 => (c.clone(), any::<u8>()).prop_map(|(c, pick)| Step::Renew { c, pick }),
        1 => (c.clone(), any::<u8>()).prop_map(|(c, pick)| Step::Release { c, pick }),
        1 => (c.clone(), any::<u8>()).prop_map(|(c, pick)| Step::Decline { c, pick }),
        1 => (1u8..30).prop_map(|secs| Step::Wait { secs }),
    ]
}

/// The test client behind a number: some identify by client-id.
fn test_client(n: u32) -> Client {
    let mut c = client(n);
    if n % 4 == 1 {
        c.client_id = Some(format!("\x00cid-{n}").into_bytes());
    }
    c
}

struct World {
    shards: Vec<Shard>,
    now: u64,
    /// Last OFFERed address per client (what a real client would REQUEST).
    offered: HashMap<u32, Ipv4Addr>,
    /// The model: which client each ACKed address belongs to, until when.
    owner: HashMap<Ipv4Addr, (u32, u64)>,
}

impl World {
    fn new(shards: usize) -> World {
        let shared = shared(CONTESTED, shards);
        World {
            shards: (0..shards)
                .map(|i| Shard::new(Arc::clone(&shared), i))
                .collect(),
            now: 0,
            offered: HashMap::new(),
            owner: HashMap::new(),
        }
    }

    fn shard_of(&self, frame: &[u8]) -> usize {
        let msg = Message::parse(frame).unwrap();
        dhcp_common::steer::worker_for(steering_key(&msg), self.shards.len() as u32) as usize
    }

    fn run(&mut self, c: u32, frame: Vec<u8>) -> Exchange {
        let i = self.shard_of(&frame);
        let out = send(&mut self.shards[i], &frame, meta_direct(), self.now);
        match &out.outcome.change {
            Some(LeaseChange::Bound {
                addr,
                expires_ms,
                replaced,
                ..
            }) => {
                if let Some((other, until)) = self.owner.get(addr)
                    && *other != c
                {
                    panic!(
                        "{addr} ACKed to client {c} while client {other} holds it until {until} (now {})",
                        self.now
                    );
                }
                if let Some(old) = replaced {
                    self.owner.remove(old);
                }
                self.owner.insert(*addr, (c, *expires_ms));
            }
            Some(LeaseChange::Released { addr, .. }) => {
                assert_eq!(
                    self.owner.remove(addr).map(|o| o.0),
                    Some(c),
                    "{addr} released by a non-owner"
                );
            }
            Some(LeaseChange::Declined { addr, .. }) => {
                // A client may also decline an address it was only offered.
                if let Some((owner, _)) = self.owner.remove(addr) {
                    assert_eq!(owner, c, "{addr} declined by a non-owner");
                }
            }
            _ => {}
        }
        if out.kind() == Some(MessageType::Offer) {
            self.offered.insert(c, out.yiaddr());
        }
        out
    }

    fn step(&mut self, s: &Step) {
        match *s {
            Step::Discover { c, want } => {
                let cl = test_client(c);
                let frame = match want {
                    Some(p) => cl.discover_wanting(pick_addr(p)),
                    None => cl.discover(),
                };
                self.run(c, frame);
            }
            Step::Select { c, pick, ours } => {
                let addr = self.offered.get(&c).copied().unwrap_or(pick_addr(pick));
                let server = if ours { IFACE } else { ip("10.0.0.254") };
                self.run(c, test_client(c).select(addr, server));
            }
            Step::InitReboot { c, pick } => {
                let addr = self.held_by(c).unwrap_or(pick_addr(pick));
                self.run(c, test_client(c).init_reboot(addr));
            }
            Step::Renew { c, pick } => {
                let addr = self.held_by(c).unwrap_or(pick_addr(pick));
                self.run(c, test_client(c).renew(addr));
            }
            Step::Release { c, pick } => {
                let addr = self.held_by(c).unwrap_or(pick_addr(pick));
                self.run(c, test_client(c).release(addr, IFACE));
            }
            Step::Decline { c, pick } => {
                let addr = self.held_by(c).unwrap_or(pick_addr(pick));
                self.run(c, test_client(c).decline(addr, IFACE));
            }
            Step::Wait { secs } => {
                self.now += u64::from(secs) * 1000;
                for shard in &mut self.shards {
                    let mut changes = Vec::new();
                    shard.poll_timers(self.now, &mut changes);
                    for change in changes {
                        if let LeaseChange::Expired { addr, .. } = change {
                            self.owner.remove(&addr);
                        }
                    }
                }
            }
        }
        self.check_holdings();
    }

    fn held_by(&self, c: u32) -> Option<Ipv4Addr> {
        self.owner
            .iter()
            .find(|(_, (o, _))| *o == c)
            .map(|(a, _)| *a)
    }

    /// Across all shards, every held address has exactly one holder.
    fn check_holdings(&self) {
        let mut seen: HashMap<Ipv4Addr, &[u8]> = HashMap::new();
        for shard in &self.shards {
            for h in shard.holdings() {
                if let Some(other) = seen.insert(h.addr, h.client) {
                    assert_eq!(other, h.client, "{} held by two clients", h.addr);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn no_address_is_ever_bound_to_two_clients(shards in 1usize..4, steps in proptest::collection::vec(step(), 1..300)) {
        let mut world = World::new(shards);
        for s in &steps {
            world.step(s);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_decoder_or_engine(bytes in proptest::collection::vec(any::<u8>(), 0..1500)) {
        let mut s = shard(CONTESTED);
        if let Ok(msg) = Message::parse(&bytes) {
            let mut out = vec![0u8; MAX_REPLY_LEN];
            let mut events = Vec::new();
            let outcome = s.handle(&msg, &meta_direct(), 0, &mut out, &mut events);
            if let Some(r) = outcome.reply {
                prop_assert!(r.len <= MAX_REPLY_LEN);
            }
        }
    }

    #[test]
    fn mutated_client_messages_never_panic_the_engine(
        n in 0u32..8,
        kind in 0usize..6,
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..12),
        cut in proptest::option::of(any::<usize>()),
    ) {
        let c = test_client(n);
        let mut frame = match kind {
            0 => c.discover(),
            1 => c.select(pick_addr(n as u8), IFACE),
            2 => c.init_reboot(pick_addr(n as u8)),
            3 => c.renew(pick_addr(n as u8)),
            4 => c.decline(pick_addr(n as u8), IFACE),
            _ => c.inform(pick_addr(n as u8)),
        };
        for (at, value) in flips {
            let i = at % frame.len();
            frame[i] = value;
        }
        if let Some(cut) = cut {
            frame.truncate(cut % (frame.len() + 1));
        }
        let mut s = shard(CONTESTED);
        if let Ok(msg) = Message::parse(&frame) {
            let mut out = vec![0u8; MAX_REPLY_LEN];
            s.handle(&msg, &meta_direct(), 0, &mut out, &mut Vec::new());
            s.poll_timers(1_000_000, &mut Vec::new());
        }
    }
}
