//! [`run`]: the load generator's one loop — receive, fire timers, send,
//! report once a second — on one thread, on one interface.
//!
//! Owns the loop: the order of its steps, the clock, batching sends and
//! telling the scenario what left and when, the hard time cap, resolving
//! the server's MAC, and the progress line. It keeps no client state (the
//! scenario does), decides no address (`wire` does) and computes no
//! statistic (stats and report do).
//!
//! Time is `CLOCK_REALTIME` in nanoseconds (`transport::now_ns`), the clock
//! of the packet ring's receive timestamps; a send's time is taken just
//! before the flush that hands it to the kernel. When relays are used, a
//! drop-everything UDP socket on port 67 keeps the kernel from answering
//! each relayed reply with an ICMP error in case the giaddrs are assigned
//! to the interface.

use std::{io::Write as _, net::Ipv4Addr, time::Duration};

use anyhow::{Context, Result, bail};

use crate::{
    frame::{self, Arp, BROADCAST_MAC},
    population::Population,
    report::{self, Outcome, Report, RunInfo, progress_line},
    scenario::{Engine, Send, Settings},
    stats::Gauges,
    transport::{BATCH, Choice, Io, Tx, UdpSink, now_ns},
    wire::{Received, Wire},
};

/// Where relays receive their replies (and the server listens).
const SERVER_PORT: u16 = 67;
/// How long a packet socket's flush may wait for room before frames fail:
/// a veth peer in NAPI mode refuses frames while its 256-slot ring is full,
/// until its NAPI thread has run. (AF_XDP never waits: see `transport`.)
const FLUSH_WAIT: Duration = Duration::from_millis(20);
/// Batches sent per loop turn before the ring is read again: 64 frames, a
/// quarter of a veth peer's ring.
const SEND_BATCHES_PER_TURN: usize = 2;
/// Frames read per loop turn before sending again.
const RX_FRAMES_PER_TURN: usize = 256;
/// Shortest idle gap worth a sleep; below it the loop spins.
const MIN_SLEEP_NS: u64 = 200_000;
/// Longest sleep, so the hard cap and the progress line stay on time.
const MAX_SLEEP: Duration = Duration::from_millis(5);

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct Options {
    pub interface: String,
    pub settings: Settings,
    pub population: Population,
    /// The server's address: the destination of relayed messages, and the
    /// address whose MAC is resolved first.
    pub server: Option<Ipv4Addr>,
    /// The server's (or next hop's) MAC, when ARP should not be used.
    pub server_mac: Option<[u8; 6]>,
    /// Hard cap on the whole run.
    pub max_time: Duration,
    /// Print the progress line on stderr once a second.
    pub progress: bool,
    /// Ask for promiscuous mode (direct replies go to the clients' MACs).
    pub promiscuous: bool,
    /// Pin the loop to this CPU.
    pub cpu: Option<usize>,
    /// AF_XDP, AF_PACKET, or the first that can be set up.
    pub transport: Choice,
}

/// The loop's state besides the engine.
struct Driver {
    wire: Wire,
    if_mac: [u8; 6],
    /// Source of ARP requests: the interface's address, else the first
    /// relay's, else 0.0.0.0 (an ARP probe).
    arp_ip: Ipv4Addr,
    server: Option<Ipv4Addr>,
    /// The scenario messages queued in the send slots, in slot order;
    /// `None` for frames of the loop's own (ARP).
    queued: Vec<Option<Send>>,
    frames_received: u64,
    arp_replies: u64,
}

impl Driver {
    /// Sends everything queued and tells the engine what left.
    fn flush(&mut self, tx: &mut Tx, engine: &mut Engine) {
        if tx.queued() == 0 {
            // Frames an earlier flush left with the kernel still need it.
            tx.flush(FLUSH_WAIT);
            return;
        }
        let at = now_ns();
        let done = tx.flush(FLUSH_WAIT);
        for (i, s) in self.queued.drain(..).enumerate() {
            if let Some(s) = s {
                if i < done {
                    engine.sent(&s, at);
                } else {
                    engine.send_failed(&s);
                }
            }
        }
    }

    /// Writes `s` as a frame into the next send slot.
    fn queue(&mut self, s: Send, tx: &mut Tx, engine: &mut Engine) {
        if tx.slot().is_none() {
            self.flush(tx, engine);
        }
        // A flush frees every packet slot; with AF_XDP every send frame
        // can still be in flight, and then the message cannot leave.
        let Some(slot) = tx.slot() else {
            tx.failed += 1;
            engine.send_failed(&s);
            return;
        };
        let len = self.wire.write(&s, slot);
        tx.commit(len);
        self.queued.push(Some(s));
    }

    fn queue_arp(&mut self, arp: &Arp, eth_dst: [u8; 6], tx: &mut Tx, engine: &mut Engine) {
        if tx.slot().is_none() {
            self.flush(tx, engine);
        }
        if let Some(slot) = tx.slot() {
            let len = frame::write_arp(slot, arp, eth_dst);
            tx.commit(len);
            self.queued.push(None);
        }
    }

    /// One received frame.
    fn on_frame(&mut self, f: &[u8], at: u64, tx: &mut Tx, engine: &mut Engine) {
        self.frames_received += 1;
        match self.wire.classify(f) {
            Received::Reply { reply, src_mac } => {
                // The first reply shows where the server (or the router
                // toward it) is, if ARP did not.
                self.wire.server_mac.get_or_insert(src_mac);
                engine.on_reply(&reply, at);
            }
            Received::Foreign => engine.stats_mut().foreign += 1,
            Received::Arp(arp) if !arp.is_request => {
                if Some(arp.sender_ip) == self.server {
                    self.wire.server_mac.get_or_insert(arp.sender_mac);
                }
            }
            Received::Arp(arp) => {
                if let Some((reply, to)) = self.wire.answer_arp(&arp, |ip| engine.holder_of(ip)) {
                    self.queue_arp(&reply, to, tx, engine);
                    self.arp_replies += 1;
                }
            }
            Received::Other => {}
        }
    }
}

fn gauges(engine: &Engine, now: u64) -> Gauges {
    Gauges {
        target_rate: engine.target_rate(now),
        in_flight: engine.in_flight(),
        behind: engine.behind(now),
        bound: engine.bound(),
    }
}

/// Resolves `server`'s MAC by ARP (3 tries, 300 ms each).
fn resolve(io: &mut Io, driver: &mut Driver, engine: &mut Engine, server: Ipv4Addr) {
    for _ in 0..3 {
        let req = Arp {
            is_request: true,
            sender_mac: driver.if_mac,
            sender_ip: driver.arp_ip,
            target_mac: [0; 6],
            target_ip: server,
        };
        driver.queue_arp(&req, BROADCAST_MAC, &mut io.tx, engine);
        driver.flush(&mut io.tx, engine);
        let until = now_ns() + 300_000_000;
        while driver.wire.server_mac.is_none() && now_ns() < until {
            io.wait(Duration::from_millis(5));
            let Io { rx, tx, .. } = &mut *io;
            rx.drain(RX_FRAMES_PER_TURN, |f, at| {
                driver.on_frame(f, at, tx, engine)
            });
            driver.flush(tx, engine);
        }
        if driver.wire.server_mac.is_some() {
            return;
        }
    }
}

/// Runs the scenario to its end and returns the report.
pub fn run(opts: &Options, info: RunInfo) -> Result<Report> {
    if let Some(cpu) = opts.cpu {
        let ok = core_affinity::get_core_ids()
            .and_then(|ids| ids.into_iter().find(|c| c.id == cpu))
            .is_some_and(core_affinity::set_for_current);
        if !ok {
            bail!("cannot pin to CPU {cpu}");
        }
    }
    if opts.population.is_relayed() && opts.server.is_none() {
        bail!("relayed clients need --server: relays unicast to the server");
    }
    let (mut io, fallback) = Io::open(&opts.interface, opts.promiscuous, opts.transport)
        .with_context(|| format!("opening {}", opts.interface))?;
    if let Some(why) = fallback {
        eprintln!("note: {why}; using a packet socket");
    }
    let _sink = if opts.population.is_relayed() {
        match UdpSink::bind(SERVER_PORT) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!(
                    "note: {e}; if the giaddrs are assigned here, the kernel may answer replies with ICMP"
                );
                None
            }
        }
    } else {
        None
    };

    let arp_ip = io
        .interface
        .ipv4
        .or_else(|| opts.population.relays().first().copied())
        .unwrap_or(Ipv4Addr::UNSPECIFIED);
    let mut driver = Driver {
        wire: Wire::new(
            opts.population.clone(),
            io.interface.mac,
            opts.server,
            opts.server_mac,
        ),
        if_mac: io.interface.mac,
        arp_ip,
        server: opts.server,
        queued: Vec::with_capacity(BATCH),
        frames_received: 0,
        arp_replies: 0,
    };

    let started_unix_s = now_ns() as f64 / 1e9;
    let mut engine = Engine::new(opts.settings.clone(), now_ns());
    if let (Some(server), None) = (opts.server, opts.server_mac) {
        resolve(&mut io, &mut driver, &mut engine, server);
        if driver.wire.server_mac.is_none() && opts.population.is_relayed() {
            bail!(
                "{server} does not answer ARP on {}: is the server up, and on this link?",
                opts.interface
            );
        }
    }
    // The run's clock starts after the set-up.
    let start = now_ns();
    engine = Engine::new(opts.settings.clone(), start);
    let hard_stop = start + opts.max_time.as_nanos() as u64;
    let mut sends = Vec::with_capacity(BATCH);
    let mut stderr = std::io::stderr();

    loop {
        let now = now_ns();
        if now >= hard_stop {
            engine.stop();
            break;
        }
        let Io { rx, tx, .. } = &mut io;
        let received = rx.drain(RX_FRAMES_PER_TURN, |f, at| {
            driver.on_frame(f, at, tx, &mut engine)
        });
        engine.expire(now);
        let mut sent = 0;
        for _ in 0..SEND_BATCHES_PER_TURN {
            sends.clear();
            engine.poll(now, &mut sends, BATCH - tx.queued());
            if sends.is_empty() {
                break;
            }
            sent += sends.len();
            for s in sends.drain(..) {
                driver.queue(s, tx, &mut engine);
            }
            driver.flush(tx, &mut engine);
        }
        driver.flush(tx, &mut engine);

        let gauges = gauges(&engine, now);
        let closed = engine.stats_mut().tick(now, gauges);
        if opts.progress && closed > 0 {
            let st = engine.stats();
            if let Some(second) = st.series.last() {
                let line = progress_line(
                    second,
                    st.offered,
                    engine.bound(),
                    (now - start) as f64 / 1e9,
                );
                let _ = writeln!(stderr, "{line}");
            }
        }
        if engine.is_finished() {
            break;
        }
        if received == 0 && sent == 0 {
            let wake = engine
                .next_wakeup(now)
                .unwrap_or(now + MAX_SLEEP.as_nanos() as u64);
            let gap = wake.saturating_sub(now_ns());
            if gap >= MIN_SLEEP_NS {
                io.wait(Duration::from_nanos(gap).min(MAX_SLEEP));
            }
        }
    }

    let end = now_ns();
    // Close the last, partial second too, so the series adds up to the
    // totals.
    let last = start + (end - start).div_ceil(1_000_000_000) * 1_000_000_000;
    let gauges = gauges(&engine, end);
    engine.stats_mut().tick(last, gauges);
    let rx_ring_drops = io.rx_drops();
    let outcome = Outcome {
        started_unix_s,
        elapsed_s: (end - start) as f64 / 1e9,
        clients_bound: engine.bound(),
        unfinished: engine.unfinished(),
        io: report::Io {
            transport: io.kind.to_string(),
            frames_sent: io.tx.sent,
            frames_received: driver.frames_received,
            rx_ring_drops,
            tx_failed: io.tx.failed,
            arp_replies: driver.arp_replies,
        },
    };
    Ok(Report::new(info, engine.stats(), outcome))
}
