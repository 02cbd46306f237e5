//! The bench's network: two namespaces joined by one veth pair, each end
//! receiving in a NAPI thread pinned to its own side's core; removed when
//! dropped (also on error and Ctrl-C).
//!
//! ```text
//!   netns xbn-srv                          netns xbn-cli
//!   xbns0 10.80.0.1/12  <---- veth ---->   xbnc0 (no address)
//!   the server, CPU 0                      xdhcp-loadgen, CPU 1
//!   NAPI thread of xbns0: CPU 0            NAPI thread of xbnc0: CPU 1, FIFO
//! ```
//!
//! Why threaded NAPI: on a plain veth pair a frame's whole receive path
//! (XDP program, IP, UDP, socket) runs on the core that *sent* it, so the
//! load generator's core would pay for the server's receive work and the
//! other way round. With GRO on, each veth end receives in NAPI; threaded,
//! that NAPI is a kernel thread, pinned here to the core of the side that
//! receives, as a NIC queue's interrupt would be: the server core pays for
//! everything the server needs.
//!
//! The load generator's NAPI thread also runs SCHED_FIFO: the loadgen
//! busy-polls its ring, and under the normal scheduler it would starve its
//! own receive path (the 256-frame veth ring overflows while the thread
//! waits for its time slice), which would cap the loadgen, not measure the
//! server. The server's NAPI thread keeps the normal policy and shares its
//! core with the server (as in the earlier datapath measurements): made
//! SCHED_FIFO it preempted the servers and lowered every one of them (2026-11-22, quiet
//! machine: io_uring 38,000 → 27,000 DORA/s, XDP native 52,000 → 42,000,
//! xdhcp-reflector 102,000 → 87,000). One queue per end; TX checksum
//! offload off, or the packet sockets on the other end would see partial
//! checksums.

use std::{fs, process::Command};

use anyhow::{Context, Result};

use crate::{
    netns::{self, in_ns, ip},
    process::run_cmd,
};

pub const SERVER_NS: &str = "xbn-srv";
pub const CLIENT_NS: &str = "xbn-cli";
pub const SERVER_IF: &str = "xbns0";
pub const CLIENT_IF: &str = "xbnc0";
pub const SERVER_CPU: usize = 0;
pub const LOADGEN_CPU: usize = 1;

/// The link's subnet and the servers' address on it.
pub const SUBNET: &str = "10.80.0.0/12";
pub const SERVER_ADDR: &str = "10.80.0.1";
/// The pool every server hands out: the /12 less its first /24. Each step
/// starts a fresh server and uses `rate × period` fresh clients, which at
/// the top of the ladder (200,000/s for 5 s) stays below its 1,048,319
/// addresses: no step fails because the pool ran dry.
pub const POOL_FIRST: &str = "10.80.1.0";
pub const POOL_LAST: &str = "10.95.255.254";

/// The loadgen's NAPI thread's real-time priority (`chrt -f`).
const NAPI_PRIORITY: &str = "50";

pub struct Topology(());

impl Topology {
    pub fn create() -> Result<Self> {
        for ns in [SERVER_NS, CLIENT_NS] {
            // Left by a bench that was killed before its teardown (the
            // bench lock says no other bench is running).
            if netns::exists(ns) {
                netns::remove(ns);
            }
        }
        ip(&["netns", "add", SERVER_NS])?;
        // From here on, dropping it removes what exists.
        let topology = Self(());
        ip(&["netns", "add", CLIENT_NS])?;
        ip(&[
            "-n",
            SERVER_NS,
            "link",
            "add",
            SERVER_IF,
            "numtxqueues",
            "1",
            "numrxqueues",
            "1",
            "type",
            "veth",
            "peer",
            "name",
            CLIENT_IF,
            "numtxqueues",
            "1",
            "numrxqueues",
            "1",
            "netns",
            CLIENT_NS,
        ])?;
        ip(&[
            "-n",
            SERVER_NS,
            "addr",
            "add",
            &format!("{SERVER_ADDR}/12"),
            "dev",
            SERVER_IF,
        ])?;
        for (ns, dev) in [(SERVER_NS, SERVER_IF), (CLIENT_NS, CLIENT_IF)] {
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
            // No IPv6 chatter (router solicitations, MLD) on the link;
            // absent when the kernel has no IPv6, which is as good.
            let _ = write_in(ns, &format!("/proc/sys/net/ipv6/conf/{dev}/disable_ipv6"));
            run_cmd(in_ns(ns, "ethtool").args(["-K", dev, "tx", "off", "gro", "on"]))?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
            // Only once GRO gave the veth end a NAPI instance (EIO before).
            write_in(ns, &format!("/sys/class/net/{dev}/threaded"))?;
        }
        Ok(topology)
    }

    /// Pins each end's NAPI thread to its side's core (the loadgen's
    /// SCHED_FIFO) and returns their pids. The threads come and go with
    /// XDP attachments, so this runs after every server start.
    pub fn pin_napi(&self) -> Result<Vec<u32>> {
        let mut pids = Vec::new();
        for entry in fs::read_dir("/proc").context("reading /proc")? {
            let Ok(pid) = entry?.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            // `napi/<dev>-<napi id>`, cut to 15 characters.
            let cpu = if comm.starts_with(&format!("napi/{SERVER_IF}-")) {
                SERVER_CPU
            } else if comm.starts_with(&format!("napi/{CLIENT_IF}-")) {
                LOADGEN_CPU
            } else {
                continue;
            };
            let pid_arg = pid.to_string();
            run_cmd(Command::new("taskset").args(["-pc", &cpu.to_string(), &pid_arg]))?;
            if cpu == LOADGEN_CPU {
                run_cmd(Command::new("chrt").args(["-f", "-p", NAPI_PRIORITY, &pid_arg]))?;
            }
            pids.push(pid);
        }
        Ok(pids)
    }

    /// The server end's MAC address.
    pub fn server_mac(&self) -> Result<String> {
        let path = format!("/sys/class/net/{SERVER_IF}/address");
        Ok(run_cmd(in_ns(SERVER_NS, "cat").arg(path))?
            .trim()
            .to_owned())
    }
}

/// Writes "1" to a sysfs or procfs file as seen from namespace `ns`.
fn write_in(ns: &str, path: &str) -> Result<()> {
    run_cmd(in_ns(ns, "sh").args(["-c", &format!("echo 1 > {path}")]))
        .map(drop)
        .with_context(|| format!("writing 1 to {path} in {ns}"))
}

impl Drop for Topology {
    fn drop(&mut self) {
        for ns in [CLIENT_NS, SERVER_NS] {
            if netns::exists(ns) {
                netns::remove(ns);
            }
        }
    }
}
