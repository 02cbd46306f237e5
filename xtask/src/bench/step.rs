//! One step: a fresh server, `period` seconds of full DORA exchanges from
//! xdhcp-loadgen at one rate, the server stopped, the loadgen's JSON report
//! read, and a verdict.
//!
//! The loadgen plays clients on the link (broadcast DISCOVER and REQUEST
//! from their own MACs), each DORA from a fresh client: `rate × period`
//! clients plus a margin, so no client ever renews. A DORA counts as
//! answered when its ACK came back within the loadgen's timeout (1 s).

use std::{
    fs,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::{
    binaries::Binaries,
    cores,
    search::Outcome,
    servers::Server,
    topology::{CLIENT_IF, CLIENT_NS, LOADGEN_CPU, Topology},
};
use crate::{
    daemon_log,
    netns::in_ns,
    process::{self, wait_for},
    workspace::say,
};

/// A step is clean below this share of DORAs without their ACK, percent.
pub const MAX_LOST_PCT: f64 = 1.0;
/// Below this share of the offered DORAs started, the load generator, not
/// the server, set the pace: the step is loadgen-limited.
pub const MIN_STARTED_SHARE: f64 = 0.97;
/// Other workloads above this share of one core (percent) during a step
/// mark it as disturbed in the log.
pub const DISTURBED_PCT: f64 = 10.0;
/// The loadgen's exit status when an address was ACKed to two clients.
const LOADGEN_DUPLICATES: i32 = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Clean,
    Drops,
    LoadgenLimited,
    Crashed,
    DuplicateAddresses,
}

impl Verdict {
    /// What the search makes of a step: drops while other workloads took
    /// the cores are noise to retry, not the server's failure.
    pub fn outcome(self, disturbed: bool) -> Outcome {
        match self {
            Verdict::Clean => Outcome::Clean,
            Verdict::Drops if disturbed => Outcome::Disturbed,
            Verdict::Drops => Outcome::Drops,
            Verdict::LoadgenLimited => Outcome::LoadgenLimited,
            Verdict::Crashed | Verdict::DuplicateAddresses => Outcome::Fatal,
        }
    }
}

/// Share of started DORAs that did not end with an ACK, percent.
pub fn lost_pct(started: u64, acked: u64) -> f64 {
    if started == 0 {
        return 0.0;
    }
    started.saturating_sub(acked) as f64 * 100.0 / started as f64
}

/// The verdict on a step's counts; worst first: a crash or a duplicate
/// address outweighs anything, and drops only count when the loadgen
/// really offered the rate.
pub fn verdict(
    rate: u32,
    period_s: f64,
    started: u64,
    acked: u64,
    duplicates: u64,
    crashed: bool,
) -> Verdict {
    if crashed {
        Verdict::Crashed
    } else if duplicates > 0 {
        Verdict::DuplicateAddresses
    } else if (started as f64) < MIN_STARTED_SHARE * f64::from(rate) * period_s {
        Verdict::LoadgenLimited
    } else if lost_pct(started, acked) >= MAX_LOST_PCT {
        Verdict::Drops
    } else {
        Verdict::Clean
    }
}

/// A step as the log, the table and the results file see it.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    pub tag: String,
    pub server: &'static str,
    /// Offered DORA/s.
    pub rate: u32,
    pub period_s: f64,
    /// DORAs the loadgen started, and those that ended with an ACK.
    pub started: u64,
    pub acked: u64,
    pub lost_pct: f64,
    pub acks_per_s: f64,
    /// REQUEST→ACK latency, µs.
    pub ra_p50_us: f64,
    pub ra_p99_us: f64,
    pub duplicate_addresses: u64,
    /// Frames the loadgen's own socket lost (receive ring full, refused
    /// sends): context for a failing step.
    pub loadgen_lost_frames: u64,
    /// How long the step waited for quiet cores, and how much of one core
    /// other workloads used during it.
    pub waited_for_quiet_s: f64,
    pub others_cpu_pct: f64,
    pub disturbed: bool,
    pub crash: Option<String>,
    pub verdict: Verdict,
}

/// The parts of xdhcp-loadgen's `--json` report a step reads.
#[derive(Deserialize)]
struct LoadgenReport {
    /// DORAs started.
    offered: u64,
    exchanges: Vec<Exchange>,
    duplicate_addresses: u64,
    io: LoadgenIo,
}

#[derive(Deserialize)]
struct Exchange {
    name: String,
    answered: u64,
    naks: u64,
    latency_us: Latency,
}

#[derive(Deserialize)]
struct Latency {
    p50: f64,
    p99: f64,
}

#[derive(Deserialize)]
struct LoadgenIo {
    rx_ring_drops: u64,
    tx_failed: u64,
}

/// Runs steps and keeps every one of them.
pub struct Stepper<'a> {
    pub bins: &'a Binaries,
    pub topology: &'a Topology,
    pub run_dir: PathBuf,
    pub state_dir: PathBuf,
    pub period: Duration,
    pub quiet_wait: Duration,
    /// The loadgen's and the reflector's `--transport`.
    pub transport: &'a str,
    pub steps: Vec<Step>,
}

impl Stepper<'_> {
    /// One step of `server` at `rate` DORA/s; the search's view of it.
    pub fn measure(&mut self, server: Server, rate: u32) -> Result<Outcome> {
        let tag = format!("{:03}-{}-{rate}", self.steps.len() + 1, server.key());
        let (waited, _) = cores::wait_quiet(self.quiet_wait)?;
        let period_s = self.period.as_secs_f64();
        let started = match server.start(
            self.bins,
            &self.run_dir,
            &self.state_dir,
            &tag,
            self.transport,
        ) {
            Ok(running) => running,
            Err(err) => {
                process::check_interrupted()?;
                let crash = format!("{} did not start: {err:#}", server.label());
                return Ok(self.record(Step {
                    crash: Some(crash),
                    verdict: Verdict::Crashed,
                    ..Step::empty(tag, server, rate, period_s, waited)
                }));
            }
        };
        let napi = self.topology.pin_napi()?;
        let pids: Vec<u32> = napi.iter().copied().chain([started.pid()]).collect();
        let before = cores::snapshot(&pids)?;
        let json = self.run_dir.join(format!("{tag}.loadgen.json"));
        let status = self.loadgen(rate, &json, &tag)?;
        let after = cores::snapshot(&pids)?;
        let crash = started.stop()?;
        if status != 0 && status != LOADGEN_DUPLICATES {
            bail!(
                "xdhcp-loadgen failed (exit status {status}); its output ends:\n{}",
                daemon_log::tail(&self.run_dir.join(format!("{tag}.loadgen.log")), 10)
            );
        }
        let report: LoadgenReport = serde_json::from_str(
            &fs::read_to_string(&json).with_context(|| format!("reading {}", json.display()))?,
        )
        .with_context(|| format!("parsing {}", json.display()))?;
        let exchange = |name: &str| report.exchanges.iter().find(|e| e.name == name);
        let ra = exchange("RA");
        let acked = ra.map_or(0, |e| e.answered - e.naks);
        let others = cores::others_pct(&before, &after);
        Ok(self.record(Step {
            started: report.offered,
            acked,
            lost_pct: lost_pct(report.offered, acked),
            acks_per_s: acked as f64 / period_s,
            ra_p50_us: ra.map_or(0.0, |e| e.latency_us.p50),
            ra_p99_us: ra.map_or(0.0, |e| e.latency_us.p99),
            duplicate_addresses: report.duplicate_addresses,
            loadgen_lost_frames: report.io.rx_ring_drops + report.io.tx_failed,
            others_cpu_pct: others,
            disturbed: others > DISTURBED_PCT,
            verdict: verdict(
                rate,
                period_s,
                report.offered,
                acked,
                report.duplicate_addresses,
                crash.is_some(),
            ),
            crash,
            ..Step::empty(tag, server, rate, period_s, waited)
        }))
    }

    /// Runs the loadgen to its end; its exit status.
    fn loadgen(&self, rate: u32, json: &Path, tag: &str) -> Result<i32> {
        let log_path = self.run_dir.join(format!("{tag}.loadgen.log"));
        let log = fs::File::create(&log_path)?;
        let period_s = self.period.as_secs_f64();
        let clients = (f64::from(rate) * period_s) as u64 + 1000;
        let mut child = in_ns(CLIENT_NS, &self.bins.loadgen)
            .args(["-i", CLIENT_IF, "--scenario", "dora", "--quiet"])
            .args([
                "--clients",
                &clients.to_string(),
                "--rate",
                &rate.to_string(),
            ])
            .args(["--duration", &period_s.to_string()])
            .args(["--cpu", &LOADGEN_CPU.to_string()])
            .args(["--transport", self.transport])
            .arg("--json")
            .arg(json)
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting xdhcp-loadgen")?;
        // Its own bound: period, drain (2 s), start-up; then some slack.
        let limit = self.period + Duration::from_secs(30);
        let status = wait_for("xdhcp-loadgen to finish", limit, || Ok(child.try_wait()?));
        let status = match status {
            Ok(status) => status,
            Err(err) => {
                process::stop(&mut child);
                return Err(err);
            }
        };
        status
            .code()
            .with_context(|| format!("xdhcp-loadgen ended by a signal ({status})"))
    }

    fn record(&mut self, step: Step) -> Outcome {
        say(step.line());
        let outcome = step.verdict.outcome(step.disturbed);
        self.steps.push(step);
        outcome
    }
}

impl Step {
    /// A step with no measurement yet (one whose server did not start).
    fn empty(tag: String, server: Server, rate: u32, period_s: f64, waited: Duration) -> Self {
        Step {
            tag,
            server: server.key(),
            rate,
            period_s,
            started: 0,
            acked: 0,
            lost_pct: 0.0,
            acks_per_s: 0.0,
            ra_p50_us: 0.0,
            ra_p99_us: 0.0,
            duplicate_addresses: 0,
            loadgen_lost_frames: 0,
            waited_for_quiet_s: waited.as_secs_f64(),
            others_cpu_pct: 0.0,
            disturbed: false,
            crash: None,
            verdict: Verdict::Crashed,
        }
    }

    /// The step's line in the log.
    pub fn line(&self) -> String {
        let mut line = format!(
            "step {} {:>7}/s: started {:>8}, ACKed {:>8} ({:>7.0}/s), lost {:>6.2} %, RA p50 {:>6.0} µs p99 {:>7.0} µs, others {:>4.1} % of a core{} -> {:?}",
            self.tag,
            self.rate,
            self.started,
            self.acked,
            self.acks_per_s,
            self.lost_pct,
            self.ra_p50_us,
            self.ra_p99_us,
            self.others_cpu_pct,
            if self.disturbed { " (DISTURBED)" } else { "" },
            self.verdict,
        );
        if self.loadgen_lost_frames > 0 {
            line += &format!(" [loadgen lost {} frames]", self.loadgen_lost_frames);
        }
        if self.duplicate_addresses > 0 {
            line += &format!(" [{} duplicate addresses]", self.duplicate_addresses);
        }
        if let Some(crash) = &self.crash {
            line += &format!("\n  crash: {crash}");
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_share() {
        assert_eq!(lost_pct(1000, 990), 1.0);
        assert_eq!(lost_pct(1000, 1000), 0.0);
        assert_eq!(lost_pct(0, 0), 0.0);
        // More ACKs than started cannot make it negative.
        assert_eq!(lost_pct(10, 11), 0.0);
    }

    #[test]
    fn clean_below_one_percent() {
        // 10,000/s for 2 s: 20,000 offered.
        assert_eq!(
            verdict(10_000, 2.0, 20_000, 19_801, 0, false),
            Verdict::Clean
        );
        assert_eq!(
            verdict(10_000, 2.0, 20_000, 19_800, 0, false),
            Verdict::Drops
        );
    }

    #[test]
    fn started_below_97_percent_is_the_loadgens_limit() {
        assert_eq!(
            verdict(10_000, 2.0, 19_400, 19_400, 0, false),
            Verdict::Clean
        );
        assert_eq!(
            verdict(10_000, 2.0, 19_399, 19_399, 0, false),
            Verdict::LoadgenLimited
        );
        // Even with drops: they may be the loadgen's too.
        assert_eq!(
            verdict(10_000, 2.0, 10_000, 5_000, 0, false),
            Verdict::LoadgenLimited
        );
    }

    #[test]
    fn crash_and_duplicates_outweigh_everything() {
        assert_eq!(
            verdict(10_000, 2.0, 20_000, 20_000, 0, true),
            Verdict::Crashed
        );
        assert_eq!(
            verdict(10_000, 2.0, 20_000, 20_000, 1, false),
            Verdict::DuplicateAddresses
        );
        assert_eq!(verdict(10_000, 2.0, 0, 0, 3, true), Verdict::Crashed);
        assert_eq!(Verdict::DuplicateAddresses.outcome(true), Outcome::Fatal);
        assert_eq!(
            Verdict::LoadgenLimited.outcome(false),
            Outcome::LoadgenLimited
        );
    }

    #[test]
    fn drops_while_disturbed_are_noise() {
        assert_eq!(Verdict::Drops.outcome(true), Outcome::Disturbed);
        assert_eq!(Verdict::Drops.outcome(false), Outcome::Drops);
        assert_eq!(Verdict::Clean.outcome(true), Outcome::Clean);
    }
}
