//! The daemon: loads the configuration, opens the datapath, runs one pinned
//! worker per core, and turns signals into a reload or a clean shutdown.
//!
//! It owns process-level concerns only; what happens to a message is the
//! worker's (`worker`) and the engine's business, how bytes move is the
//! datapath's.

pub mod counters;
pub mod log;
pub mod offer_queue;
pub mod recovery;
pub mod restore;
pub mod select;
pub mod worker;

use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, bail};
use crossbeam_utils::CachePadded;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use crate::audit::{AuditId, AuditLog, AuditRecord};
use crate::catalogued;
use crate::config::{self, Config};
use crate::datapath::Datapath;
use crate::datapath::iface::{self, Interface};
use crate::datapath::packet::PacketSocket;
use crate::datapath::udp;
use crate::datapath::uring::Link;
use crate::engine::Shard;
use crate::events::EventId;
use crate::state::Shared;
use crate::store::{Durability, Partition, backup};
use config::ServerParams;
use counters::{Counters, Totals};
use offer_queue::OfferQueue;
use std::sync::Mutex;
use worker::{Common, Worker};

/// Which datapath to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DatapathChoice {
    /// The fastest datapath that works here.
    Auto,
    /// io_uring over ordinary UDP and packet sockets.
    Uring,
    /// XDP steering and AF_XDP sockets: native XDP, else generic; never
    /// io_uring.
    Xdp,
    /// XDP in native (driver) mode only.
    XdpNative,
    /// XDP in generic (skb) mode only.
    XdpGeneric,
}

/// What `xdhcpd run` was asked to do.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub config: PathBuf,
    pub datapath: DatapathChoice,
    pub workers: Option<usize>,
    /// The UDP port to serve (67; tests may use another).
    pub port: u16,
}

/// Runs the server until SIGTERM/SIGINT. Errors are fatal start-up or
/// runtime failures, already logged as events.
pub fn run(opts: &RunOptions) -> anyhow::Result<()> {
    let config = config::load(&opts.config).inspect_err(|e| {
        catalogued!(EventId::InitConfigFailed, path = tracing::field::display(opts.config.display()); "cannot start: {e}");
    })?;
    warn_about(&config);
    let links = open_links(&config)?;
    let workers = opts
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let udp = udp::bind_server(opts.port).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            catalogued!(EventId::PortUnavailable, port = opts.port; "UDP port {} is already taken by another process (another DHCP server?)", opts.port);
        }
        fatal(&format!("cannot open UDP port {}: {e}", opts.port));
        anyhow::Error::new(e)
    })?;
    let names: Vec<String> = links.iter().map(|l| l.iface.name.clone()).collect();
    let scopes = config.scopes.len();
    let server = config.server.clone();
    let shared = Arc::new(Shared::new(Arc::new(config), workers));
    let mut shards: Vec<Shard> = (0..workers)
        .map(|i| Shard::new(Arc::clone(&shared), i))
        .collect();
    let (partitions, _) = recovery::recover(
        &server.state_dir,
        server.durability,
        &mut shards,
        worker::now_ms(),
    )
    .inspect_err(|e| fatal(&format!("{e:#}")))?;
    tracing::info!(
        state_dir = tracing::field::display(server.state_dir.display()),
        durability = tracing::field::display(server.durability),
        "lease store open; durability {}{}",
        server.durability,
        if server.durability == Durability::Async {
            " (an ACK may leave before its lease is on disk)"
        } else {
            ""
        }
    );
    let partitions: Vec<Arc<Mutex<Partition>>> = partitions
        .into_iter()
        .map(|p| Arc::new(Mutex::new(p)))
        .collect();
    let audit = server
        .audit
        .clone()
        .map(|settings| AuditLog::start(settings, worker::now_ms()));
    let counters: Arc<[CachePadded<Counters>]> = (0..workers)
        .map(|_| CachePadded::new(Counters::default()))
        .collect();
    let select::Chosen { path, note } =
        select::open(opts.datapath, udp, links, workers, opts.port)?;
    let common = Common {
        counters: Arc::clone(&counters),
        audit: audit.clone(),
        offers: Arc::new(OfferQueue::new(server.delayed_offer_limit)),
    };
    let handles = spawn_workers(shards, partitions.clone(), &common, &path)?;

    catalogued!(
        EventId::InitAndReady,
        datapath = path.name(),
        workers = workers,
        interfaces = tracing::field::display(names.join(",")),
        scopes = scopes;
        "serving DHCP on {} with {workers} worker(s), {} datapath{note}",
        names.join(", "),
        path.name()
    );
    let mut housekeeping = Housekeeping::new(
        &server,
        partitions.clone(),
        Arc::clone(&counters),
        audit.clone(),
    );
    let outcome = supervise(opts, &path, &handles, workers, &mut housekeeping);
    path.control().request_shutdown();
    path.wake_all();
    let mut failed = outcome.err();
    for h in handles {
        match h.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failed = failed.or(Some(e.into())),
            Err(_) => failed = failed.or(Some(anyhow::anyhow!("a worker panicked"))),
        }
    }
    log_totals(&Totals::of(&counters));
    if let Datapath::Xdp(xdp) = &path {
        for (iface, counters) in xdp.counters() {
            match counters {
                Ok(c) => tracing::info!(
                    iface,
                    frames = c.frames,
                    dhcp = c.dhcp,
                    redirected = c.redirected,
                    redirect_failed = c.redirect_failed,
                    passed = c.passed,
                    malformed = c.malformed,
                    "final XDP counters"
                ),
                Err(e) => tracing::warn!(iface, "cannot read the XDP counters: {e}"),
            }
        }
    }
    if let Some(audit) = &audit {
        audit.stop();
        if audit.dropped() > 0 {
            tracing::warn!(
                dropped = audit.dropped(),
                "audit records dropped because the writer could not keep up"
            );
        }
    }
    match failed {
        None => Ok(()),
        Some(e) => {
            fatal(&format!("{e:#}"));
            Err(e)
        }
    }
}

/// Events about a configuration that is valid but will not serve as the
/// operator probably expects.
fn warn_about(config: &Config) {
    if config.server.mac_filter.serves_nobody() {
        catalogued!(EventId::FilterEmptyAllowList, ; "the MAC allow list is enabled and empty: no client will be served");
    }
}

/// Logs event 1008: the service stops because of `why`.
fn fatal(why: &str) {
    catalogued!(EventId::Shutdown, ; "shutting down: {why}");
}

/// The interfaces to serve, each with its packet socket.
fn open_links(config: &Config) -> anyhow::Result<Vec<Link>> {
    let ifaces: Vec<Interface> = if config.server.interfaces.is_empty() {
        iface::all_ipv4().context("cannot list network interfaces")?
    } else {
        config
            .server
            .interfaces
            .iter()
            .map(|n| iface::lookup(n))
            .collect::<Result<_, _>>()
            .inspect_err(|e| fatal(&e.to_string()))?
    };
    if ifaces.is_empty() {
        catalogued!(EventId::RogueNoNetwork, ; "no interface with an IPv4 address to serve on");
        bail!("no interface to serve");
    }
    ifaces
        .into_iter()
        .map(|iface| {
            let packet = PacketSocket::open(iface.index)
                .with_context(|| format!("cannot open a packet socket on {}", iface.name))?;
            Ok(Link { iface, packet })
        })
        .collect()
}

type WorkerHandle = JoinHandle<std::io::Result<()>>;

fn spawn_workers(
    shards: Vec<Shard>,
    partitions: Vec<Arc<Mutex<Partition>>>,
    common: &Common,
    path: &Datapath,
) -> anyhow::Result<Vec<WorkerHandle>> {
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    shards
        .into_iter()
        .zip(partitions)
        .enumerate()
        .map(|(i, (shard, partition))| {
            let worker = Worker::new(shard, partition, common.clone());
            let path = path.clone();
            let core = (!cores.is_empty()).then(|| cores[i % cores.len()]);
            std::thread::Builder::new()
                .name(format!("xdhcpd-w{i}"))
                .spawn(move || {
                    if let Some(core) = core {
                        core_affinity::set_for_current(core);
                    }
                    path.run(worker)
                })
                .context("cannot start a worker thread")
        })
        .collect()
}

/// Waits for a stop signal, reloading on SIGHUP; returns early with an
/// error if a worker stops on its own.
fn supervise(
    opts: &RunOptions,
    path: &Datapath,
    handles: &[WorkerHandle],
    workers: usize,
    housekeeping: &mut Housekeeping,
) -> anyhow::Result<()> {
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP])
        .context("cannot install signal handlers")?;
    loop {
        for signal in signals.pending() {
            match signal {
                SIGHUP => reload(opts, path, workers),
                _ => {
                    tracing::info!(signal, "stopping: draining the workers");
                    return Ok(());
                }
            }
        }
        if handles.iter().any(JoinHandle::is_finished) {
            bail!("a worker stopped unexpectedly");
        }
        housekeeping.run(worker::now_ms());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// SIGHUP: a valid new configuration replaces the running one, leases
/// carried over; an invalid one is refused and the old one keeps running.
fn reload(opts: &RunOptions, path: &Datapath, workers: usize) {
    match config::load(&opts.config) {
        Ok(config) => {
            warn_about(&config);
            let scopes = config.scopes.len();
            path.control()
                .publish_reload(Arc::new(Shared::new(Arc::new(config), workers)));
            path.wake_all();
            tracing::info!(scopes, "configuration reloaded");
        }
        Err(e) => {
            catalogued!(EventId::InitConfigFailed, path = tracing::field::display(opts.config.display()); "reload refused, the running configuration stays: {e}");
        }
    }
}

fn log_totals(t: &Totals) {
    tracing::info!(
        received = t.received,
        sent = t.sent,
        send_errors = t.send_errors,
        discovers = t.discovers,
        requests = t.requests,
        declines = t.declines,
        releases = t.releases,
        informs = t.informs,
        offers = t.offers,
        acks = t.acks,
        naks = t.naks,
        bootp_replies = t.bootp_replies,
        dropped = t.dropped,
        malformed = t.malformed,
        forwarded = t.forwarded,
        inbox_full = t.inbox_full,
        foreign_interface = t.foreign_interface,
        expired = t.expired,
        stale = t.stale,
        delay_dropped = t.delay_dropped,
        xsk_rx_ring_full = t.xsk_rx_ring_full,
        xsk_fill_ring_empty = t.xsk_fill_ring_empty,
        xsk_rx_dropped = t.xsk_rx_dropped,
        pings = t.pings,
        conflicts = t.conflicts,
        ping_errors = t.ping_errors,
        ping_dropped = t.ping_dropped,
        stored = t.stored,
        store_errors = t.store_errors,
        withheld = t.withheld,
        "final counters"
    );
}

/// Periodic work of the supervising thread: lease-store backups and the
/// expired-lease cleanup report.
struct Housekeeping {
    partitions: Vec<Arc<Mutex<Partition>>>,
    counters: Arc<[CachePadded<Counters>]>,
    backup_dir: Option<std::path::PathBuf>,
    backup_interval_ms: u64,
    cleanup_interval_ms: u64,
    next_backup_ms: u64,
    next_cleanup_ms: u64,
    expired_reported: u64,
    audit: Option<AuditLog>,
}

impl Housekeeping {
    fn new(
        server: &ServerParams,
        partitions: Vec<Arc<Mutex<Partition>>>,
        counters: Arc<[CachePadded<Counters>]>,
        audit: Option<AuditLog>,
    ) -> Housekeeping {
        let now = worker::now_ms();
        Housekeeping {
            partitions,
            counters,
            backup_dir: server.backup_dir.clone(),
            backup_interval_ms: server.backup_interval_ms,
            cleanup_interval_ms: server.cleanup_interval_ms,
            // A first backup soon after start, then one per interval.
            next_backup_ms: now + 1000,
            next_cleanup_ms: now + server.cleanup_interval_ms,
            expired_reported: 0,
            audit,
        }
    }

    fn run(&mut self, now: u64) {
        if now >= self.next_cleanup_ms {
            self.next_cleanup_ms = now + self.cleanup_interval_ms;
            // Expired leases are freed by the workers' timers as they end;
            // this reports them the way Windows reports its cleanup runs.
            let expired = Totals::of(&self.counters).expired;
            catalogued!(EventId::CleanupStarted, ; "lease cleanup");
            catalogued!(EventId::IpCleanupFinished, removed = expired - self.expired_reported; "lease cleanup: {} leases expired and were removed since the last report", expired - self.expired_reported);
            if let Some(audit) = &self.audit {
                audit.record(AuditRecord::new(AuditId::CleanupBegin, now));
                let mut stats = AuditRecord::new(AuditId::CleanupStats, now);
                stats.detail = Some(format!(
                    "{} leases expired",
                    expired - self.expired_reported
                ));
                audit.record(stats);
            }
            self.expired_reported = expired;
        }
        if let Some(dir) = &self.backup_dir
            && now >= self.next_backup_ms
        {
            self.next_backup_ms = now + self.backup_interval_ms;
            match backup::write(&self.partitions, dir, now) {
                Ok(file) => tracing::info!(
                    file = tracing::field::display(file.display()),
                    "lease store backed up"
                ),
                Err(backup::BackupError::Io { path, source }) => {
                    catalogued!(EventId::BackupPathNotAccessible, path = tracing::field::display(path.display()); "cannot write the backup: {source}");
                }
                Err(e) => catalogued!(EventId::DatabaseBackup, ; "backup failed: {e}"),
            }
        }
    }
}
