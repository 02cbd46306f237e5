//! `xdhcp-loadgen`: the command line over `loadgen::run`.

use std::{fs, net::Ipv4Addr, path::PathBuf, process::ExitCode, time::Duration};

use anyhow::{Context, Result, bail};
use clap::Parser;
use loadgen::{
    html,
    population::Population,
    report::RunInfo,
    run::{Options, run},
    scenario::{Scenario, Settings},
    transport::Choice,
};

const LONG_ABOUT: &str = "\
Simulates up to millions of DHCPv4 clients against a server on one \
interface and reports, per exchange (DO = DISCOVER→OFFER, RA = \
REQUEST→ACK, renew, release), what was sent, answered, dropped (no answer \
within --timeout), answered wrongly (NAKs, late or duplicate replies, \
replies to unknown xids, an address ACKed to two clients), and latency \
percentiles (p50/p90/p99/p99.9/max, µs). A progress line is printed on \
stderr every second; --json and --html write the full report.

Transport (--transport): by default AF_XDP, where it can be set up: an \
XDP program on the interface hands IPv4 UDP frames to ports 67/68 to an \
AF_XDP socket on receive queue 0 (needs CAP_BPF and CAP_NET_ADMIN, an \
interface with one receive queue and no XDP program of its own; \
latencies then end when the loadgen reads the reply, as AF_XDP has no \
receive timestamp), and ARP goes through a packet socket. Otherwise, with \
a note why: one AF_PACKET socket with a TPACKET_V2 receive ring (latencies \
end at the kernel's receive timestamp) and sendmmsg batches (needs \
CAP_NET_RAW). Run it in a network namespace of its own. Clients on the link (no --relays) broadcast from their own MACs \
(02:SEED:n:n:n:n) and the interface goes promiscuous to see replies \
unicast to those MACs. With --relays K, clients sit behind K relays \
(giaddr = --relay-base + k, option 82 circuit-id/remote-id) that unicast \
to --server port 67; replies come back to giaddr:67 and the loadgen \
answers ARP for the giaddrs itself (they need not be assigned). Renewals \
and releases are unicast from the client's address to the server, and \
the loadgen answers ARP for every address its clients hold.

The run always stops by itself: after --count sequences (default one per \
client) or --duration, in-flight exchanges get --drain to finish, and \
--max-time cuts everything.

Exit status: 0 done, 1 error, 4 an address was ACKed to two clients.";

const AFTER_HELP: &str = "\
Examples:
  # 50,000 relayed DORAs at 20,000/s after a 2 s ramp, pinned to CPU 1
  xdhcp-loadgen -i lg0 --scenario relay --relays 16 --server 198.18.0.1 \\
      --clients 50000 --rate 20000 --ramp 2 --cpu 1 --json r.json --html r.html
  # a power-cut storm: 100,000 clients booting at once, RFC 2131 back-off
  xdhcp-loadgen -i lg0 --scenario storm --clients 100000 --retries 3
  # the loadgen's own ceiling: against xdhcp-reflector on the other end";

#[derive(Debug, Parser)]
#[command(name = "xdhcp-loadgen", version, about = "DHCPv4 load generator: rate, drops, wrong answers and latency percentiles", long_about = LONG_ABOUT, after_help = AFTER_HELP)]
struct Cli {
    /// Interface to send and receive on (in this network namespace).
    #[arg(short, long)]
    interface: String,
    /// What the clients do.
    #[arg(short, long, value_enum, default_value = "dora")]
    scenario: Scenario,
    /// Simulated clients (distinct MACs; with --client-id, distinct option 61).
    #[arg(short, long, default_value_t = 1000)]
    clients: u32,
    /// Second byte of every client MAC, and the seed of the random choices
    /// (jitter, mix): two loadgens with different seeds never share a MAC.
    #[arg(long, default_value_t = 1)]
    seed: u8,
    /// Sequences (DORAs, renewals, releases…) started per second; 0 = as
    /// fast as possible. Default: 1000, and 0 for storm.
    #[arg(short, long)]
    rate: Option<f64>,
    /// Seconds to ramp linearly from 0 to --rate.
    #[arg(long, default_value_t = 0.0)]
    ramp: f64,
    /// Sequences to start (default: one per client; clients are reused
    /// round-robin beyond that).
    #[arg(short = 'n', long)]
    count: Option<u64>,
    /// Longest time to keep starting sequences, seconds.
    #[arg(short, long)]
    duration: Option<f64>,
    /// How long an exchange waits for its answer, ms (not in a storm,
    /// whose clients follow the RFC 2131 back-off).
    #[arg(long, default_value_t = 1000.0)]
    timeout: f64,
    /// Storm: retransmissions of a message before the client gives up.
    #[arg(long, default_value_t = 4)]
    retries: u32,
    /// Relays the clients sit behind (giaddr + option 82); 0 = on the link.
    /// The relay scenario uses 1 unless told more.
    #[arg(long, default_value_t = 0)]
    relays: u32,
    /// giaddr of relay 0; relay k uses this address + k.
    #[arg(long, default_value = "198.19.0.1")]
    relay_base: Ipv4Addr,
    /// The server's address (needed with relays; its MAC is found by ARP).
    #[arg(long)]
    server: Option<Ipv4Addr>,
    /// The server's (or next hop's) MAC, instead of ARP: aa:bb:cc:dd:ee:ff.
    #[arg(long, value_parser = parse_mac)]
    server_mac: Option<[u8; 6]>,
    /// Clients send option 61 (01 + MAC).
    #[arg(long)]
    client_id: bool,
    /// Clients set the broadcast flag, so direct replies are broadcast.
    #[arg(long)]
    broadcast: bool,
    /// Mix: share of a bound client's turns that renew (the rest release).
    #[arg(long, default_value_t = 0.8)]
    renew_share: f64,
    /// Seconds in-flight exchanges get to finish after the last start
    /// (default: 2 × --timeout, or the whole back-off schedule in a storm).
    #[arg(long)]
    drain: Option<f64>,
    /// Hard cap on the whole run, seconds.
    #[arg(long, default_value_t = 600.0)]
    max_time: f64,
    /// Write the full report (with a per-second series) as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write the report as a self-contained HTML page with charts.
    #[arg(long)]
    html: Option<PathBuf>,
    /// No progress line.
    #[arg(short, long)]
    quiet: bool,
    /// Pin the loadgen to this CPU.
    #[arg(long)]
    cpu: Option<usize>,
    /// Do not put the interface in promiscuous mode (enough with relays,
    /// --broadcast, or on a veth).
    #[arg(long)]
    no_promisc: bool,
    /// How frames reach the wire: AF_XDP (xdp), a packet socket (packet),
    /// or AF_XDP where it can be set up and else a packet socket (auto).
    #[arg(long, value_enum, default_value_t = Choice::Auto)]
    transport: Choice,
}

fn parse_mac(s: &str) -> Result<[u8; 6], String> {
    let parts: Vec<&str> = s.split([':', '-']).collect();
    if parts.len() != 6 {
        return Err(format!("{s:?} is not a MAC (aa:bb:cc:dd:ee:ff)"));
    }
    let mut mac = [0u8; 6];
    for (m, p) in mac.iter_mut().zip(parts) {
        *m = u8::from_str_radix(p, 16)
            .map_err(|_| format!("{s:?} is not a MAC (aa:bb:cc:dd:ee:ff)"))?;
    }
    Ok(mac)
}

fn seconds(s: f64, what: &str) -> Result<u64> {
    if !(s.is_finite() && s >= 0.0) {
        bail!("{what} must be a number of seconds ≥ 0, not {s}");
    }
    Ok((s * 1e9) as u64)
}

fn main() -> ExitCode {
    match main_inner() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xdhcp-loadgen: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn main_inner() -> Result<ExitCode> {
    let cli = Cli::parse();
    let relays = if cli.scenario == Scenario::Relay {
        cli.relays.max(1)
    } else {
        cli.relays
    };
    let relay_addrs: Vec<Ipv4Addr> = (0..relays)
        .map(|k| Ipv4Addr::from(u32::from(cli.relay_base).wrapping_add(k)))
        .collect();
    let population = Population::new(cli.seed, cli.clients, relay_addrs)
        .with_client_id(cli.client_id)
        .with_broadcast(cli.broadcast);

    let mut settings = Settings::new(cli.scenario, cli.clients);
    if let Some(r) = cli.rate {
        if !(r.is_finite() && r >= 0.0) {
            bail!("--rate must be ≥ 0");
        }
        settings.rate = r;
    }
    settings.ramp_ns = seconds(cli.ramp, "--ramp")?;
    settings.count = cli.count;
    settings.duration_ns = cli.duration.map(|d| seconds(d, "--duration")).transpose()?;
    settings.timeout_ns = seconds(cli.timeout / 1e3, "--timeout")?.max(1);
    settings.retries = cli.retries;
    settings.renew_share = cli.renew_share.clamp(0.0, 1.0);
    settings.seed = u64::from(cli.seed);
    settings.drain_ns = match cli.drain {
        Some(d) => seconds(d, "--drain")?,
        None => settings.default_drain_ns(),
    };

    let info = RunInfo {
        scenario: cli.scenario,
        interface: cli.interface.clone(),
        clients: cli.clients,
        rate: settings.rate,
        ramp_s: cli.ramp,
        count: cli.count,
        duration_s: cli.duration,
        timeout_ms: cli.timeout,
        retries: cli.retries,
        relays: relays as usize,
        seed: cli.seed,
    };
    let opts = Options {
        interface: cli.interface,
        settings,
        population,
        server: cli.server,
        server_mac: cli.server_mac,
        max_time: Duration::from_nanos(seconds(cli.max_time, "--max-time")?),
        progress: !cli.quiet,
        promiscuous: !cli.no_promisc,
        cpu: cli.cpu,
        transport: cli.transport,
    };
    let report = run(&opts, info)?;
    print!("{}", report.to_text());
    if let Some(path) = &cli.json {
        let json = serde_json::to_string_pretty(&report).context("encoding the report")?;
        fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &cli.html {
        fs::write(path, html::render(&report))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(if report.duplicate_addresses > 0 {
        ExitCode::from(4)
    } else {
        ExitCode::SUCCESS
    })
}
