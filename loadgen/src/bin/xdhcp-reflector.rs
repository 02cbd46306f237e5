//! `xdhcp-reflector`: a null DHCP server that answers at once, to measure
//! xdhcp-loadgen's own ceiling and to test it. Its loop: read the receive
//! ring, answer each request into a send slot (`loadgen::responder`),
//! flush; when a read finds nothing, it sleeps until a frame comes (1 ms
//! polls). It never spins on an empty ring: it shares its core with the
//! receive path (the interface's NAPI thread), and a spinning loop would
//! take the time that path needs to bring it frames.

use std::{
    fs,
    net::Ipv4Addr,
    path::PathBuf,
    process::ExitCode,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use clap::Parser;
use loadgen::{
    responder::{Faults, OUT_LEN, Responder},
    transport::{Choice, Io, UdpSink},
};

#[derive(Debug, Parser)]
#[command(
    name = "xdhcp-reflector",
    version,
    about = "Null DHCPv4 server: answers every DISCOVER/REQUEST at once (OFFER/ACK), for measuring xdhcp-loadgen",
    long_about = "Null DHCPv4 server: answers every DISCOVER with an OFFER and every REQUEST \
with an ACK at once, one address per client handed out in order from --pool-start, no lease \
logic. Replies follow RFC 2131 §4.1 (relay → giaddr:67, ciaddr → unicast, broadcast bit → \
broadcast, else unicast to chaddr) and echo option 82. Faults can be injected to test the \
loadgen's bookkeeping. Uses AF_XDP where it can be set up (an XDP program hands UDP frames to \
ports 67/68 to an AF_XDP socket; CAP_BPF and CAP_NET_ADMIN), else an AF_PACKET socket with a \
TPACKET_V2 ring (CAP_NET_RAW); --transport chooses. Stops on \
SIGINT/SIGTERM, after --idle-exit seconds without a request, or at --max-time; prints its \
counters (and writes them with --json)."
)]
struct Cli {
    /// Interface to serve on.
    #[arg(short, long)]
    interface: String,
    /// Server identifier (option 54) and source address; default: the
    /// interface's address.
    #[arg(long)]
    server_ip: Option<Ipv4Addr>,
    /// First address handed out.
    #[arg(long, default_value = "100.64.0.0")]
    pool_start: Ipv4Addr,
    /// Withhold every Nth reply (0: never).
    #[arg(long, default_value_t = 0)]
    drop_every: u64,
    /// Every Nth ACK carries the previous client's address (0: never).
    #[arg(long, default_value_t = 0)]
    duplicate_every: u64,
    /// NAK every Nth REQUEST (0: never).
    #[arg(long, default_value_t = 0)]
    nak_every: u64,
    /// Exit after this many seconds without a frame (0: never).
    #[arg(long, default_value_t = 0.0)]
    idle_exit: f64,
    /// Hard cap on the run, seconds.
    #[arg(long, default_value_t = 3600.0)]
    max_time: f64,
    /// Pin to this CPU.
    #[arg(long)]
    cpu: Option<usize>,
    /// How frames reach the wire: AF_XDP (xdp), a packet socket (packet),
    /// or AF_XDP where it can be set up and else a packet socket (auto).
    #[arg(long, value_enum, default_value_t = Choice::Auto)]
    transport: Choice,
    /// Write the counters as JSON on exit.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn main() -> ExitCode {
    match serve() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xdhcp-reflector: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn serve() -> Result<()> {
    let cli = Cli::parse();
    if let Some(cpu) = cli.cpu {
        let ok = core_affinity::get_core_ids()
            .and_then(|ids| ids.into_iter().find(|c| c.id == cpu))
            .is_some_and(core_affinity::set_for_current);
        if !ok {
            bail!("cannot pin to CPU {cpu}");
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .context("installing signal handlers")?;
    }
    let (mut io, fallback) = Io::open(&cli.interface, false, cli.transport)
        .with_context(|| format!("opening {}", cli.interface))?;
    if let Some(why) = fallback {
        eprintln!("note: {why}; using a packet socket");
    }
    let Some(server_ip) = cli.server_ip.or(io.interface.ipv4) else {
        bail!("{} has no IPv4 address: give --server-ip", cli.interface);
    };
    let faults = Faults {
        drop_every: cli.drop_every,
        duplicate_every: cli.duplicate_every,
        nak_every: cli.nak_every,
    };
    let mut responder = Responder::new(server_ip, io.interface.mac, cli.pool_start, faults);
    // Requests reach this namespace's kernel too; without a socket on
    // port 67 it would answer each unicast one with an ICMP error.
    let _sink = UdpSink::bind(67)
        .map_err(|e| eprintln!("note: {e}; the kernel may answer requests with ICMP errors"))
        .ok();
    let started = Instant::now();
    let max_time = Duration::from_secs_f64(cli.max_time.max(0.0));
    let idle_exit = (cli.idle_exit > 0.0).then(|| Duration::from_secs_f64(cli.idle_exit));
    let mut last_frame = Instant::now();
    let mut out = [0u8; OUT_LEN];

    while !stop.load(Ordering::Relaxed) && started.elapsed() < max_time {
        let Io { rx, tx, .. } = &mut io;
        let frames = rx.drain(256, |frame, _| {
            if let Some(len) = responder.handle(frame, &mut out) {
                if tx.slot().is_none() {
                    tx.flush(Duration::from_millis(2));
                }
                if let Some(slot) = tx.slot() {
                    slot[..len].copy_from_slice(&out[..len]);
                    tx.commit(len);
                }
            }
        });
        // Also with nothing queued: AF_XDP may hold frames for the kernel.
        tx.flush(Duration::from_millis(2));
        if frames > 0 {
            last_frame = Instant::now();
        } else if idle_exit.is_some_and(|d| last_frame.elapsed() >= d) {
            break;
        } else {
            io.wait(Duration::from_millis(1));
        }
    }

    let c = responder.counters();
    let ring_drops = io.rx_drops();
    eprintln!(
        "xdhcp-reflector: {} DISCOVERs, {} REQUESTs, {} RELEASEs; sent {} OFFERs, {} ACKs, {} NAKs; \
         withheld {}, duplicates {}, ignored {}; {} frames sent, {} send failures, {} ring drops ({})",
        c.discovers,
        c.requests,
        c.releases,
        c.offers,
        c.acks,
        c.naks,
        c.dropped,
        c.duplicates,
        c.ignored,
        io.tx.sent,
        io.tx.failed,
        ring_drops,
        io.kind
    );
    if let Some(path) = &cli.json {
        let mut v = serde_json::to_value(c)?;
        v["frames_sent"] = io.tx.sent.into();
        v["send_failures"] = io.tx.failed.into();
        v["ring_drops"] = ring_drops.into();
        v["transport"] = io.kind.to_string().into();
        fs::write(path, serde_json::to_string_pretty(&v)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
