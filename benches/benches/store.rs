//! Which embedded store can make lease changes durable fast enough?
//!
//! Each "change" is one lease record (4-byte address key, 32-byte value:
//! client key hash, expiry, state). A batch is what one worker collects
//! from one receive batch and makes durable with one sync before its ACKs
//! leave (group commit). Layouts: one database shared by the workers, or
//! one database per worker (independent files, independent syncs).
//! Target from the persistence issue: 200,000 durable changes/s.
//!
//! Run: `cargo bench -p benches --bench store`.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

type Change = (u32, [u8; 32]);

trait Store: Send + Sync {
    /// Writes `batch` in one transaction and waits until it is on disk.
    fn commit(&self, batch: &[Change]);
}

const LEASES: redb::TableDefinition<u32, &[u8]> = redb::TableDefinition::new("leases");

struct Redb(redb::Database);

impl Redb {
    fn open(dir: &Path) -> Redb {
        Redb(redb::Database::create(dir.join("leases.redb")).expect("redb opens"))
    }
}

impl Store for Redb {
    fn commit(&self, batch: &[Change]) {
        // Durability::Immediate is redb's default: commit returns after fsync.
        let txn = self.0.begin_write().expect("write txn");
        {
            let mut table = txn.open_table(LEASES).expect("table");
            for (addr, value) in batch {
                table.insert(addr, value.as_slice()).expect("insert");
            }
        }
        txn.commit().expect("commit");
    }
}

struct Fjall {
    db: fjall::Database,
    leases: fjall::Keyspace,
}

impl Fjall {
    fn open(dir: &Path) -> Fjall {
        let db = fjall::Database::builder(dir.join("fjall"))
            .open()
            .expect("fjall opens");
        let leases = db
            .keyspace("leases", fjall::KeyspaceCreateOptions::default)
            .expect("keyspace");
        Fjall { db, leases }
    }
}

impl Store for Fjall {
    fn commit(&self, batch: &[Change]) {
        let mut b = self
            .db
            .batch()
            .durability(Some(fjall::PersistMode::SyncAll));
        for (addr, value) in batch {
            b.insert(&self.leases, addr.to_be_bytes(), value.as_slice());
        }
        b.commit().expect("commit");
    }
}

#[derive(Clone, Copy, Debug)]
enum Engine {
    Redb,
    Fjall,
}

fn open(engine: Engine, dir: &Path) -> Arc<dyn Store> {
    std::fs::create_dir_all(dir).expect("bench dir");
    match engine {
        Engine::Redb => Arc::new(Redb::open(dir)),
        Engine::Fjall => Arc::new(Fjall::open(dir)),
    }
}

/// Wall time for `iters` changes written by `threads` workers in batches.
fn run(engine: Engine, per_worker: bool, threads: usize, batch: usize, iters: u64) -> Duration {
    let root = tempdir();
    let stores: Vec<Arc<dyn Store>> = if per_worker {
        (0..threads)
            .map(|t| open(engine, &root.join(format!("w{t}"))))
            .collect()
    } else {
        let one = open(engine, &root.join("shared"));
        (0..threads).map(|_| Arc::clone(&one)).collect()
    };
    let batches_per_thread = iters.div_ceil((threads * batch) as u64).max(1);
    let start = Instant::now();
    std::thread::scope(|s| {
        for (t, store) in stores.iter().enumerate() {
            s.spawn(move || {
                let mut changes: Vec<Change> = Vec::with_capacity(batch);
                for b in 0..batches_per_thread {
                    changes.clear();
                    for i in 0..batch {
                        let addr =
                            ((t as u32) << 24) | ((b as u32 * batch as u32 + i as u32) & 0xff_ffff);
                        let mut value = [0u8; 32];
                        value[..4].copy_from_slice(&addr.to_le_bytes());
                        changes.push((addr, value));
                    }
                    store.commit(&changes);
                }
            });
        }
    });
    let elapsed = start.elapsed();
    drop(stores);
    let _ = std::fs::remove_dir_all(&root);
    // Scale to exactly `iters` changes (the last round may write a few more).
    let written = batches_per_thread * (threads * batch) as u64;
    elapsed.mul_f64(iters as f64 / written as f64)
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "xdhcpd-store-bench-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

fn stores(c: &mut Criterion) {
    let mut g = c.benchmark_group("durable_changes");
    g.throughput(Throughput::Elements(1));
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(3));
    for engine in [Engine::Redb, Engine::Fjall] {
        for (layout, per_worker, threads) in [
            ("one_db_1_worker", false, 1),
            ("one_db_2_workers", false, 2),
            ("db_per_worker_2_workers", true, 2),
        ] {
            for batch in [1usize, 64, 512] {
                let id = BenchmarkId::new(format!("{engine:?}/{layout}"), format!("batch_{batch}"));
                g.bench_function(id, |b| {
                    b.iter_custom(|iters| run(engine, per_worker, threads, batch, iters))
                });
            }
        }
    }
    g.finish();
}

criterion_group!(benches, stores);
criterion_main!(benches);
