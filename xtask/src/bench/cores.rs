//! The two cores the bench uses, on a machine others share: wait until
//! they are quiet before a step, and tell afterwards how much of the
//! step's CPU time went to other workloads (a "disturbed" step).

use std::{fs, time::Duration, time::Instant};

use anyhow::{Context, Result};
use nix::{
    sys::resource::{UsageWho, getrusage},
    unistd::{SysconfVar, sysconf},
};

use super::topology::{LOADGEN_CPU, SERVER_CPU};
use crate::process;

/// A core is quiet when other work keeps it busy at most this share of a
/// one-second sample.
const QUIET_BUSY: f64 = 0.10;

/// Busy and idle clock ticks of one core (`/proc/stat`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct CoreTicks {
    busy: u64,
    idle: u64,
}

/// `cpuN user nice system idle iowait irq softirq steal ...`: busy is
/// user + nice + system + irq + softirq, idle is idle + iowait (steal is
/// neither: the hypervisor's, not this machine's, work).
fn core_ticks(stat: &str, cpu: usize) -> Option<CoreTicks> {
    let line = stat
        .lines()
        .find(|l| l.starts_with(&format!("cpu{cpu} ")))?;
    let f: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    let at = |i: usize| f.get(i).copied().unwrap_or(0);
    Some(CoreTicks {
        busy: at(0) + at(1) + at(2) + at(5) + at(6),
        idle: at(3) + at(4),
    })
}

fn read_cores() -> Result<[CoreTicks; 2]> {
    let stat = fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
    let core = |cpu| core_ticks(&stat, cpu).with_context(|| format!("no cpu{cpu} in /proc/stat"));
    Ok([core(SERVER_CPU)?, core(LOADGEN_CPU)?])
}

fn busy_share(a: CoreTicks, b: CoreTicks) -> f64 {
    let busy = b.busy.saturating_sub(a.busy) as f64;
    let idle = b.idle.saturating_sub(a.idle) as f64;
    if busy + idle == 0.0 {
        0.0
    } else {
        busy / (busy + idle)
    }
}

/// Waits (at most `max`) for a second in which both cores were quiet;
/// returns how long it waited and whether they were quiet in the end.
pub fn wait_quiet(max: Duration) -> Result<(Duration, bool)> {
    let start = Instant::now();
    loop {
        let before = read_cores()?;
        process::sleep(Duration::from_secs(1))?;
        let after = read_cores()?;
        let quiet = before
            .iter()
            .zip(&after)
            .all(|(&a, &b)| busy_share(a, b) <= QUIET_BUSY);
        let waited = start.elapsed().saturating_sub(Duration::from_secs(1));
        if quiet || waited >= max {
            return Ok((waited, quiet));
        }
    }
}

/// CPU time at one instant: the bench's two cores, and what the bench's
/// own processes used (the server, its reaped children such as the load
/// generator, and the NAPI threads).
#[derive(Clone, Copy, Debug)]
pub struct Snapshot {
    at: Instant,
    cores_busy_ms: f64,
    ours_ms: f64,
}

fn ms_per_tick() -> f64 {
    let hz = sysconf(SysconfVar::CLK_TCK).ok().flatten().unwrap_or(100);
    1000.0 / hz as f64
}

/// utime + stime of a process or thread, in clock ticks (0 once gone).
fn process_ticks(pid: u32) -> u64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which may contain spaces: state is
    // field 3, utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0)
}

/// Snapshot with `pids` (running processes and threads) counted as ours.
pub fn snapshot(pids: &[u32]) -> Result<Snapshot> {
    let tick = ms_per_tick();
    let cores = read_cores()?;
    let children = getrusage(UsageWho::RUSAGE_CHILDREN).context("getrusage")?;
    let us = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 * 1e3 + t.tv_usec() as f64 / 1e3;
    let reaped_ms = us(children.user_time()) + us(children.system_time());
    let running_ms = pids.iter().map(|&p| process_ticks(p)).sum::<u64>() as f64 * tick;
    Ok(Snapshot {
        at: Instant::now(),
        cores_busy_ms: cores.iter().map(|c| c.busy).sum::<u64>() as f64 * tick,
        ours_ms: reaped_ms + running_ms,
    })
}

/// Percent of one core that other workloads used between two snapshots.
pub fn others_pct(a: &Snapshot, b: &Snapshot) -> f64 {
    let elapsed_ms = b.at.duration_since(a.at).as_secs_f64() * 1e3;
    others_pct_of(
        b.cores_busy_ms - a.cores_busy_ms,
        b.ours_ms - a.ours_ms,
        elapsed_ms,
    )
}

fn others_pct_of(busy_ms: f64, ours_ms: f64, elapsed_ms: f64) -> f64 {
    if elapsed_ms <= 0.0 {
        return 0.0;
    }
    ((busy_ms - ours_ms) / elapsed_ms * 100.0).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_stat_per_core() {
        let stat = "cpu  10 0 10 100 0 0 0 0 0 0\n\
                    cpu0 1 2 3 40 5 6 7 8 0 0\n\
                    cpu1 10 0 20 400 0 0 0 0 0 0\n";
        assert_eq!(
            core_ticks(stat, 0),
            Some(CoreTicks {
                busy: 1 + 2 + 3 + 6 + 7,
                idle: 45
            })
        );
        assert_eq!(core_ticks(stat, 1).map(|c| c.busy), Some(30));
        assert_eq!(core_ticks(stat, 2), None);
    }

    #[test]
    fn busy_share_of_a_sample() {
        let a = CoreTicks {
            busy: 100,
            idle: 100,
        };
        let b = CoreTicks {
            busy: 110,
            idle: 190,
        };
        assert!((busy_share(a, b) - 0.1).abs() < 1e-9);
        assert_eq!(busy_share(a, a), 0.0);
    }

    #[test]
    fn others_are_what_the_cores_did_beyond_ours() {
        // 2 s, the cores busy 2.3 s, the bench's processes 2.1 s: 10 %.
        assert!((others_pct_of(2300.0, 2100.0, 2000.0) - 10.0).abs() < 1e-9);
        // Tick rounding can make ours exceed the cores' count.
        assert_eq!(others_pct_of(1000.0, 1010.0, 2000.0), 0.0);
    }
}
