//! Several workers at once on one shared pool: each owns its shard, all
//! claim from the same atomic slots, and a shard whose slice runs dry
//! borrows from the others. No address may end up with two clients, and
//! every address must end up used.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Barrier};

use common::*;
use dhcp_user::engine::Shard;

const POOL: &str = r#"
[[scope]]
name = "contended"
subnet = "10.0.0.0/22"
ranges = ["10.0.0.10-10.0.3.241"]
"#;

#[test]
fn two_workers_fill_one_pool_without_conflict() {
    const CAPACITY: usize = 1000;
    const PER_WORKER: u32 = 700;
    let shared = shared(POOL, 2);
    let barrier = Arc::new(Barrier::new(2));
    let handles: Vec<_> = (0..2u32)
        .map(|w| {
            let shared = Arc::clone(&shared);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let mut shard = Shard::new(shared, w as usize);
                barrier.wait();
                let mut got = Vec::new();
                for n in 0..PER_WORKER {
                    let c = client(w * 100_000 + n);
                    let offer = send(&mut shard, &c.discover(), meta_direct(), 0);
                    if offer.reply.is_none() {
                        continue;
                    }
                    let ack = send(
                        &mut shard,
                        &c.select(offer.yiaddr(), IFACE),
                        meta_direct(),
                        0,
                    );
                    got.push(ack.yiaddr());
                }
                (got, shard)
            })
        })
        .collect();
    let results: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().expect("worker panicked"))
        .collect();
    let all: Vec<_> = results
        .iter()
        .flat_map(|(got, _)| got.iter().copied())
        .collect();
    let unique: HashSet<_> = all.iter().copied().collect();
    assert_eq!(
        unique.len(),
        all.len(),
        "an address was ACKed to two clients"
    );
    assert_eq!(all.len(), CAPACITY, "every address is used, none lost");
    // (Whether a worker borrowed from the other's slice depends on how the
    // threads interleave — both may stop at exactly their own 500 — so it
    // is not asserted here; `state::pool` tests borrowing deterministically.)
    let held: usize = results
        .iter()
        .map(|(_, shard)| shard.holdings().filter(|h| h.bound).count())
        .sum();
    assert_eq!(held, CAPACITY);
    assert_eq!(shared.pool(shared.config.scopes[0].id).free(), 0);
}
