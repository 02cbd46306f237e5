//! `cargo xtask bench [--quick]`: the micro-benchmarks and the end-to-end
//! matrix, xdhcpd (each datapath) against Kea under one load generator.
//!
//! This module holds the two modes' plans and their order of work; the
//! parts live in its submodules: what is built and run (`binaries`,
//! `criterion`), the network (`topology`), the servers (`servers`), one
//! measurement (`step`, with `cores` for the shared machine), the search
//! for a maximum (`search`), the XDP_TX ceiling (`ceiling`), and the
//! output (`report`, `machine`).

mod binaries;
mod ceiling;
mod cores;
mod criterion;
mod machine;
mod report;
mod search;
mod servers;
mod step;
mod topology;

use std::{
    fs,
    path::PathBuf,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, Result, bail};
use nix::{
    fcntl::{Flock, FlockArg},
    unistd::geteuid,
};
use serde_json::{Value, json};

use self::{
    machine::Machine,
    report::{Checked, Searched},
    search::{Ladder, RateVerdict, Retries},
    servers::{Datapath, Server},
    step::{DISTURBED_PCT, MAX_LOST_PCT, Step, Stepper},
    topology::Topology,
};
use crate::{
    process::{catch_interrupts, on_path},
    workspace::{Workspace, say},
};

pub const HELP: &str = "\
Benchmarks xdhcpd: the criterion micro-benchmarks (codec, engine, store), \
then the end-to-end matrix. Full DORA exchanges from xdhcp-loadgen (clients \
on the link, a fresh client per DORA) against each server, in two network \
namespaces joined by a veth pair whose ends receive in NAPI threads pinned \
to their side's core; the server (one worker) on CPU 0, the loadgen on \
CPU 1; a fresh server with an empty lease store (tmpfs) for every step. \
Namespaces and processes are removed at the end, on error and on Ctrl-C.

Full mode (about 15-20 min): the criterion benches in full; then the \
highest clean rate of xdhcpd on each datapath (io_uring; native and \
generic XDP, both with AF_XDP), of Kea (kea-dhcp4 from Debian, \
memfile on tmpfs, single-threaded) and of xdhcp-reflector (a null server: \
its maximum is the loadgen's ceiling): 5 s steps up a ladder of rates \
(5,000 to 200,000 DORA/s) until a rate is not clean, then 3 bisection \
steps; then the XDP_TX ceiling of the veth (frames/s). Prints one table: \
max clean DORA/s, ratio to Kea, share of the XDP_TX ceiling (4 frames per \
DORA), REQUEST->ACK p50/p99 at the max. Fails only if xdhcpd crashes or \
gives one address to two clients.

Quick mode (CI, about 1-2 min after the build): the criterion benches once \
each (--test); Kea's highest clean rate from a short ramp (2 s steps); then \
xdhcpd on each datapath at that rate (at the lowest rate of the ramp if \
Kea held none). Fails if xdhcpd crashes, gives one address to two \
clients, or is not clean at that rate in 3 attempts (attempts the loadgen \
could not drive, or that other workloads disturbed, do not count): a \
noisy attempt is retried, never failed on.

Clean: fewer than 1 % of the DORAs started end without their ACK within \
1 s, and the loadgen started at least 97 % of the offered DORAs (else the \
step is loadgen-limited: it says nothing about the server). In full mode a \
rate that is not clean is tried once more before it counts as failed. A \
crash is a server that exits before it is stopped, or with an error on \
SIGTERM. Before each step the bench waits (up to 30 s, quick mode 10 s) \
for both cores to be quiet; each step's log line shows how much of a core \
other workloads took during it (DISTURBED above 10 %). A disturbed step \
with drops is run again without counting as a failure (at most 4 steps \
per rate in full mode, 6 in quick mode's check).

Results: the table on stdout, every step's files in a run directory under \
/tmp, and bench-results.json (in cargo's target directory, or --out).

Needs root, 2 CPUs, iproute2, ethtool, util-linux (taskset, chrt) and \
kea-dhcp4. Builds the release binaries and the bench executables first. \
On a machine where builds take a cargo lock, build under it and measure \
without holding it:
  flock /tmp/xdhcpd-cargo.lock cargo xtask bench --build-only
  sudo target/debug/xtask bench --no-build [--quick]";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Build {
    /// Build, then measure.
    Yes,
    /// Build, then stop.
    Only,
    /// Measure what an earlier build left.
    No,
}

pub struct Options {
    pub quick: bool,
    pub build: Build,
    pub skip_criterion: bool,
    pub out: Option<PathBuf>,
    /// Full mode's servers by key; empty: all of them.
    pub servers: Vec<String>,
    /// The loadgen's and the reflector's `--transport`.
    pub transport: String,
}

/// How a mode measures.
struct Plan {
    period: Duration,
    quiet_wait: Duration,
    /// The ladder of full mode's searches, or quick mode's Kea ramp.
    ladder: Ladder,
    retries: Retries,
}

fn plan(quick: bool) -> Plan {
    // A rate that is not clean gets one more try, and attempts disturbed
    // by other workloads do not count: the machine is shared.
    let retries = Retries {
        failures: 2,
        attempts: 4,
    };
    if quick {
        Plan {
            period: Duration::from_secs(2),
            quiet_wait: Duration::from_secs(10),
            // Fine at the bottom: Kea holds 5,000-10,000 DORA/s from
            // clients on the link here.
            ladder: Ladder {
                rates: vec![
                    2_500, 5_000, 7_500, 10_000, 12_500, 15_000, 20_000, 25_000, 30_000, 40_000,
                ],
                bisections: 1,
                granularity: 500,
            },
            retries,
        }
    } else {
        Plan {
            period: Duration::from_secs(5),
            quiet_wait: Duration::from_secs(30),
            ladder: Ladder {
                rates: vec![
                    5_000, 10_000, 20_000, 30_000, 40_000, 60_000, 80_000, 100_000, 120_000,
                    150_000, 200_000,
                ],
                bisections: 3,
                granularity: 1_000,
            },
            retries,
        }
    }
}

/// Quick mode's check of xdhcpd at Kea's rate: it fails only when 3
/// undisturbed attempts the loadgen could drive all lost too much.
const CHECK_RETRIES: Retries = Retries {
    failures: 3,
    attempts: 6,
};

/// Serialises benches on one machine: two at once would measure each
/// other, and share the namespaces' names.
const BENCH_LOCK: &str = "/tmp/xdhcpd-bench.lock";

const TOOLS: [&str; 5] = ["ip", "ethtool", "taskset", "chrt", "kea-dhcp4"];

pub fn run(ws: &Workspace, opts: &Options) -> Result<()> {
    let started = Instant::now();
    let started_unix_s = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    if opts.build != Build::Only {
        if !geteuid().is_root() {
            bail!("the bench creates network namespaces and pins kernel threads: run it as root");
        }
        let missing: Vec<&str> = TOOLS.into_iter().filter(|t| !on_path(t)).collect();
        if !missing.is_empty() {
            bail!(
                "missing tools: {} (Debian: iproute2 ethtool util-linux kea-dhcp4-server)",
                missing.join(" ")
            );
        }
    }
    let servers = matrix(&opts.servers)?;
    catch_interrupts()?;
    let bins = match opts.build {
        Build::No => binaries::existing(ws)?,
        Build::Yes | Build::Only => binaries::build(ws)?,
    };
    if opts.build == Build::Only {
        say("bench: built; measure with `target/debug/xtask bench --no-build`");
        return Ok(());
    }
    let machine = Machine::describe(ws);
    if machine.cpus < 2 {
        bail!("the bench needs 2 CPUs (server on one, loadgen on the other)");
    }
    say(format!("bench: {}", machine.summary()));
    let micro = if opts.skip_criterion {
        Vec::new()
    } else {
        criterion::run(ws, &bins.micro, opts.quick)?
    };

    let _lock = lock()?;
    let plan = plan(opts.quick);
    let run_dir = std::env::temp_dir().join(format!("xdhcpd-bench-{}", std::process::id()));
    fs::create_dir_all(&run_dir).with_context(|| format!("creating {}", run_dir.display()))?;
    let state = StateDir::create()?;
    say(format!(
        "bench: every step's files go to {}",
        run_dir.display()
    ));
    let topology = Topology::create().context("creating the namespaces")?;
    let mut stepper = Stepper {
        bins: &bins,
        topology: &topology,
        run_dir: run_dir.clone(),
        state_dir: state.0.clone(),
        period: plan.period,
        quiet_wait: plan.quiet_wait,
        transport: &opts.transport,
        steps: Vec::new(),
    };
    let results = if opts.quick {
        quick(&mut stepper, &plan)?
    } else {
        full(&mut stepper, &plan, &servers, &bins, &topology)?
    };
    let steps = stepper.steps;
    drop(topology);

    let out = opts
        .out
        .clone()
        .unwrap_or_else(|| ws.target_dir().join("bench-results.json"));
    let disturbed = steps.iter().filter(|s| s.disturbed).count();
    let json = json!({
        "tool": "cargo xtask bench",
        "mode": if opts.quick { "quick" } else { "full" },
        "started_unix_s": started_unix_s,
        "duration_s": started.elapsed().as_secs_f64(),
        "machine": machine,
        "method": {
            "period_s": plan.period.as_secs_f64(),
            "server_cpu": topology::SERVER_CPU,
            "loadgen_cpu": topology::LOADGEN_CPU,
            "clean": format!("< {MAX_LOST_PCT} % of the DORAs started without their ACK within 1 s, and ≥ {} % of the offered DORAs started", step::MIN_STARTED_SHARE * 100.0),
        },
        "results": results.json,
        "criterion_medians": micro,
        "failures": results.failures,
        "disturbed_steps": disturbed,
        "steps": steps,
        "run_dir": run_dir,
    });
    fs::write(&out, serde_json::to_string_pretty(&json)? + "\n")
        .with_context(|| format!("writing {}", out.display()))?;

    println!();
    println!("{}", results.title);
    println!("Machine: {}", machine.summary());
    println!();
    print!("{}", results.table);
    for note in &results.notes {
        println!("{note}");
    }
    if disturbed > 0 {
        println!(
            "{disturbed} of {} steps were DISTURBED by other workloads (> {DISTURBED_PCT} % of a core); see the step log",
            steps.len()
        );
    }
    println!();
    say(format!(
        "bench: results in {}, step files in {} ({:.0} s in all)",
        out.display(),
        run_dir.display(),
        started.elapsed().as_secs_f64()
    ));
    if !results.failures.is_empty() {
        bail!("the bench failed:\n  {}", results.failures.join("\n  "));
    }
    Ok(())
}

/// What a mode found, for the output.
struct Results {
    title: String,
    table: String,
    notes: Vec<String>,
    failures: Vec<String>,
    json: Value,
}

/// The servers `--servers` names, in the table's order; all by default.
fn matrix(keys: &[String]) -> Result<Vec<Server>> {
    if let Some(unknown) = keys
        .iter()
        .find(|k| !Server::ALL.iter().any(|s| s.key() == *k))
    {
        let known: Vec<&str> = Server::ALL.iter().map(|s| s.key()).collect();
        bail!(
            "unknown server {unknown:?}: the servers are {}",
            known.join(", ")
        );
    }
    Ok(Server::ALL
        .into_iter()
        .filter(|s| keys.is_empty() || keys.iter().any(|k| k == s.key()))
        .collect())
}

fn full(
    stepper: &mut Stepper,
    plan: &Plan,
    servers: &[Server],
    bins: &binaries::Binaries,
    topology: &Topology,
) -> Result<Results> {
    let mut searched = Vec::new();
    let mut failures = Vec::new();
    let mut notes = Vec::new();
    for &server in servers {
        say(format!("bench: {}: ramp up, then bisect", server.label()));
        let found = search::find_max(&plan.ladder, plan.retries, |rate| {
            stepper.measure(server, rate)
        })?;
        if found.fatal() {
            let why = fatal_reason(&stepper.steps, server);
            if matches!(server, Server::Xdhcpd(_)) {
                failures.push(why);
            } else {
                notes.push(format!("note: {why}"));
            }
        }
        searched.push(Searched { server, found });
    }
    say("bench: XDP_TX ceiling of the veth");
    let ceiling = ceiling::measure(bins, topology, plan.period, plan.quiet_wait)?;
    notes.extend(report::loadgen_headroom(&searched));
    notes.extend(report::loadgen_at_xdhcpd_limits(&searched, &stepper.steps));
    Ok(Results {
        title: format!(
            "cargo xtask bench: highest clean full-DORA rate on one server core ({} s steps)",
            plan.period.as_secs()
        ),
        table: report::full_table(&searched, &stepper.steps, Some(&ceiling)),
        notes,
        json: json!({
            "servers": report::servers_json(&searched, &stepper.steps, Some(&ceiling)),
            "xdp_tx_ceiling": ceiling,
        }),
        failures,
    })
}

fn quick(stepper: &mut Stepper, plan: &Plan) -> Result<Results> {
    say("bench: Kea: ramp up to its highest clean rate");
    let kea = search::find_max(&plan.ladder, plan.retries, |rate| {
        stepper.measure(Server::Kea, rate)
    })?;
    let mut notes = Vec::new();
    if kea.fatal() {
        notes.push(format!(
            "note: {}",
            fatal_reason(&stepper.steps, Server::Kea)
        ));
    }
    let rate = if kea.max_clean > 0 {
        kea.max_clean
    } else {
        let lowest = plan.ladder.rates[0];
        notes.push(format!(
            "note: Kea held no rate cleanly; xdhcpd was checked at the lowest rate, {lowest} DORA/s"
        ));
        lowest
    };
    let mut checks = Vec::new();
    let mut failures = Vec::new();
    for server in Datapath::ALL.map(Server::Xdhcpd) {
        say(format!("bench: {} at {rate} DORA/s", server.label()));
        let verdict = search::judge(CHECK_RETRIES, || stepper.measure(server, rate))?;
        match verdict {
            RateVerdict::Clean => {}
            RateVerdict::Failed => {
                let lost: Vec<String> = stepper
                    .steps
                    .iter()
                    .filter(|s| s.server == server.key() && s.rate == rate)
                    .map(|s| format!("{:.2} %", s.lost_pct))
                    .collect();
                failures.push(format!(
                    "{} lost ≥ {MAX_LOST_PCT} % of the DORAs at {rate}/s, a rate Kea holds cleanly, in every attempt (lost: {})",
                    server.label(),
                    lost.join(", ")
                ));
            }
            RateVerdict::LoadgenLimited | RateVerdict::Disturbed => notes.push(format!(
                "note: {} at {rate}/s: {}",
                server.label(),
                report::check_cell(verdict)
            )),
            RateVerdict::Fatal => failures.push(fatal_reason(&stepper.steps, server)),
        }
        checks.push(Checked {
            server,
            rate,
            verdict,
        });
    }
    Ok(Results {
        title: format!(
            "cargo xtask bench --quick: xdhcpd at Kea's highest clean full-DORA rate on one server core ({} s steps)",
            plan.period.as_secs()
        ),
        table: report::quick_table(&kea, &checks, &stepper.steps),
        notes,
        json: json!({
            "servers": report::servers_json(&[Searched { server: Server::Kea, found: kea }], &stepper.steps, None),
            "checks": report::checks_json(&checks),
        }),
        failures,
    })
}

/// Why the last step of `server` was fatal.
fn fatal_reason(steps: &[Step], server: Server) -> String {
    let step = steps.iter().rev().find(|s| s.server == server.key());
    match step {
        Some(s) if s.duplicate_addresses > 0 => format!(
            "{} gave {} addresses to two clients at {}/s (step {})",
            server.label(),
            s.duplicate_addresses,
            s.rate,
            s.tag
        ),
        Some(s) => format!(
            "{} crashed at {}/s (step {}): {}",
            server.label(),
            s.rate,
            s.tag,
            s.crash.as_deref().unwrap_or("no detail")
        ),
        None => format!("{}: no step recorded", server.label()),
    }
}

/// Takes the bench lock, waiting for another bench to finish.
fn lock() -> Result<Flock<fs::File>> {
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(BENCH_LOCK)
        .with_context(|| format!("opening {BENCH_LOCK}"))?;
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(lock) => Ok(lock),
        Err((file, _)) => {
            say(format!(
                "bench: another bench holds {BENCH_LOCK}; waiting for it"
            ));
            // Ctrl-C interrupts the wait (no SA_RESTART): EINTR.
            Flock::lock(file, FlockArg::LockExclusive)
                .map_err(|(_, errno)| anyhow::anyhow!("waiting for {BENCH_LOCK}: {errno}"))
        }
    }
}

/// The servers' lease stores on tmpfs; removed when dropped.
struct StateDir(PathBuf);

impl StateDir {
    fn create() -> Result<Self> {
        let dir = PathBuf::from(format!("/dev/shm/xdhcpd-bench-{}", std::process::id()));
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Self(dir))
    }
}

impl Drop for StateDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
