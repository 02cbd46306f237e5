//! The engine's per-message cost, frame in → frame out with lease state:
//! decode, engine, encode. And the shared allocator's claim rate with one
//! and two threads.
//!
//! Run: `cargo bench -p benches --bench engine`.

use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dhcp_user::config::{self, RESIDUAL};
use dhcp_user::engine::{MAX_REPLY_LEN, RecvMeta, Shard};
use dhcp_user::state::Shared;
use dhcp_user::state::pool::Tag;
use dhcp_wire::Message;
use loadgen::{MESSAGE_BUF_LEN, SimClient};

const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// Distinct clients per measured batch: every DISCOVER in a batch is a new
/// client taking a new address, as in a storm.
const BATCH: usize = 50_000;

/// A /14 with ~260 k dynamic addresses: room for several batches.
const CONFIG: &str = r#"
[[scope]]
name = "bench"
subnet = "10.0.0.0/14"
ranges = ["10.0.0.10-10.3.255.250"]
lease_time = "1h"
options = { routers = ["10.0.0.1"], domain-name-servers = ["10.0.0.53", "10.0.0.54"], domain-name = "bench.example.net" }
"#;

fn meta() -> RecvMeta {
    RecvMeta {
        ifindex: 2,
        iface_addr: SERVER,
        src: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
        dst: Ipv4Addr::BROADCAST,
        arrival_ms: 0,
    }
}

fn fresh_shard() -> Shard {
    let cfg = Arc::new(config::from_toml(CONFIG).expect("bench config"));
    Shard::new(Arc::new(Shared::new(cfg, 1)), 0)
}

fn frames(build: impl Fn(&SimClient, &mut [u8]) -> usize) -> Vec<Vec<u8>> {
    (0..BATCH as u32)
        .map(|n| {
            let mut buf = [0u8; MESSAGE_BUF_LEN];
            let len = build(&SimClient::new(1, n), &mut buf);
            buf[..len].to_vec()
        })
        .collect()
}

/// Decode + engine + encode of one frame; returns the reply's yiaddr.
fn answer(
    shard: &mut Shard,
    frame: &[u8],
    out: &mut [u8],
    events: &mut Vec<dhcp_user::events::Event>,
) -> Ipv4Addr {
    let msg = Message::parse(frame).expect("bench frames decode");
    let outcome = shard.handle(&msg, &meta(), 1, out, events);
    events.clear();
    assert!(
        outcome.reply.is_some(),
        "bench messages are answered: {outcome:?}"
    );
    Ipv4Addr::from(<[u8; 4]>::try_from(&out[16..20]).expect("yiaddr"))
}

/// Runs `iters` messages in batches of fresh clients; `prepare` readies a
/// new shard for a batch (untimed) and returns the frames to time.
fn batched(iters: u64, prepare: impl Fn(&mut Shard, &mut [u8]) -> Vec<Vec<u8>>) -> Duration {
    let mut out = vec![0u8; MAX_REPLY_LEN];
    let mut events = Vec::new();
    let mut total = Duration::ZERO;
    let mut done = 0u64;
    while done < iters {
        let n = (iters - done).min(BATCH as u64) as usize;
        let mut shard = fresh_shard();
        let timed = prepare(&mut shard, &mut out);
        let start = Instant::now();
        for frame in &timed[..n] {
            black_box(answer(&mut shard, frame, &mut out, &mut events));
        }
        total += start.elapsed();
        done += n as u64;
    }
    total
}

fn messages(c: &mut Criterion) {
    let discovers = frames(|cl, buf| cl.discover(buf, 1));
    let mut g = c.benchmark_group("message");
    g.throughput(Throughput::Elements(1));

    g.bench_function("discover_to_offer", |b| {
        b.iter_custom(|iters| batched(iters, |_, _| discovers.clone()))
    });

    g.bench_function("request_to_ack", |b| {
        b.iter_custom(|iters| {
            batched(iters, |shard, out| {
                let mut events = Vec::new();
                discovers
                    .iter()
                    .enumerate()
                    .map(|(n, d)| {
                        let addr = answer(shard, d, out, &mut events);
                        let mut buf = [0u8; MESSAGE_BUF_LEN];
                        let len = SimClient::new(1, n as u32).request(&mut buf, 1, addr, SERVER);
                        buf[..len].to_vec()
                    })
                    .collect()
            })
        })
    });

    // Steady state: bound clients renewing, over and over.
    let mut shard = fresh_shard();
    let mut out = vec![0u8; MAX_REPLY_LEN];
    let mut events = Vec::new();
    let renewals: Vec<Vec<u8>> = discovers
        .iter()
        .enumerate()
        .map(|(n, d)| {
            let cl = SimClient::new(1, n as u32);
            let addr = answer(&mut shard, d, &mut out, &mut events);
            let mut buf = [0u8; MESSAGE_BUF_LEN];
            let len = cl.request(&mut buf, 1, addr, SERVER);
            answer(&mut shard, &buf[..len], &mut out, &mut events);
            let len = cl.renew(&mut buf, 2, addr);
            buf[..len].to_vec()
        })
        .collect();
    let mut i = 0;
    g.bench_function("renew_to_ack", |b| {
        b.iter(|| {
            i = (i + 1) % renewals.len();
            answer(&mut shard, &renewals[i], &mut out, &mut events)
        })
    });
    g.finish();
}

/// Claims and releases addresses on the shared pool from `threads` shards
/// at once; returns the time per claim+release pair.
fn allocator(c: &mut Criterion) {
    let mut g = c.benchmark_group("allocator");
    g.throughput(Throughput::Elements(1));
    for threads in [1usize, 2] {
        g.bench_function(format!("claim_release_{threads}_threads"), |b| {
            b.iter_custom(|iters| {
                let cfg = Arc::new(config::from_toml(CONFIG).expect("bench config"));
                let shared = Arc::new(Shared::new(Arc::clone(&cfg), threads));
                let per_thread = iters.div_ceil(threads as u64);
                let start = Instant::now();
                std::thread::scope(|s| {
                    for t in 0..threads {
                        let shared = Arc::clone(&shared);
                        let cfg = Arc::clone(&cfg);
                        s.spawn(move || {
                            let pool = shared.pool(cfg.scopes[0].id);
                            let tag = Tag::from_hash(t as u64 + 1);
                            let mut cursor = 0;
                            let mut held = Vec::with_capacity(1024);
                            let mut left = per_thread;
                            while left > 0 {
                                let n = left.min(1024);
                                for _ in 0..n {
                                    held.push(
                                        pool.claim_any(RESIDUAL, t, tag, &mut cursor)
                                            .expect("pool has room"),
                                    );
                                }
                                for slot in held.drain(..) {
                                    pool.release(slot, tag);
                                }
                                left -= n;
                            }
                        });
                    }
                });
                // Wall time for about `iters` pairs spread over the threads:
                // time per pair falls as threads are added if the pool scales.
                start.elapsed()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, messages, allocator);
criterion_main!(benches);
