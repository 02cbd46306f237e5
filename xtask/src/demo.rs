//! `cargo xtask demo`: xdhcpd serving real DHCP clients in network
//! namespaces, end to end, in about a minute.
//!
//! ```text
//!   netns xd-cli                 netns xd-srv                     netns xd-rly
//!   xd-c0 (no address) <---> xd-s0 10.77.0.1/24
//!   dhclient, then udhcpc        xdhcpd (io_uring, 2 workers)
//!                              xd-s1 10.78.0.1/24  <--->  xd-r0 10.78.0.2/24
//!                                                         perfdhcp (a relay)
//! ```
//!
//! This module owns the demo from the packages it needs to the summary it
//! prints: it installs the clients when they are missing, builds the
//! daemon, wires the namespaces, writes a configuration with a short lease
//! (so that a renewal happens while you watch) and a reservation, runs
//! dhclient and udhcpc through lease, renewal and release and perfdhcp
//! through a short relayed run, then stops the daemon and prints its final
//! counters. It exits 0 only if every client got its lease, renewed and
//! released it, and every perfdhcp exchange completed.
//!
//! Everything it starts is torn down by [`Demo`]'s drop (namespaces,
//! processes) on success, failure, panic and Ctrl-C (SIGINT only sets a
//! flag that every wait checks; the children run in their own process
//! groups, so the terminal's SIGINT reaches only this process). Every wait
//! is bounded. Traffic stays inside the namespaces it creates; the clients
//! run scripts of ours, never their stock hooks (those rewrite the host's
//! /etc/resolv.conf even from a namespace).

use std::{
    collections::BTreeMap,
    fmt, fs,
    net::Ipv4Addr,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    time::Duration,
};

use anyhow::{Context, Result, bail};
use nix::{
    sys::signal::{Signal, kill},
    unistd::{Pid, geteuid},
};
use serde_json::Value;

use crate::{
    daemon_log::{self, EVENT_READY, event_id},
    netns::{self, in_ns, ip},
    process::{catch_interrupts, check_interrupted, on_path, run_cmd, stop, wait_for},
    setup,
    workspace::{Workspace, exec, say},
};

const SERVER_NS: &str = "xd-srv";
const CLIENT_NS: &str = "xd-cli";
const RELAY_NS: &str = "xd-rly";
const SERVER_DIRECT_IF: &str = "xd-s0";
const CLIENT_IF: &str = "xd-c0";
const SERVER_RELAY_IF: &str = "xd-s1";
const RELAY_IF: &str = "xd-r0";
const SERVER_DIRECT: &str = "10.77.0.1";
const SERVER_RELAY: &str = "10.78.0.1";
const RELAY: &str = "10.78.0.2";

const DHCLIENT_MAC: &str = "02:00:00:77:00:01";
/// udhcpc's MAC has a reservation in the demo configuration.
const UDHCPC_MAC: &str = "02:00:00:77:00:02";
const RESERVED_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 50);

/// perfdhcp: `PERF_EXCHANGES` DORAs at `PERF_RATE`/s from `PERF_CLIENTS`
/// simulated clients.
const PERF_RATE: &str = "50";
const PERF_EXCHANGES: u64 = 200;
const PERF_CLIENTS: &str = "100";

const READY_TIMEOUT: Duration = Duration::from_secs(20);
const LEASE_TIMEOUT: Duration = Duration::from_secs(20);
/// T1 is 6 s; dhclient adds up to a few seconds of its own.
const RENEW_TIMEOUT: Duration = Duration::from_secs(15);
const EVENT_TIMEOUT: Duration = Duration::from_secs(5);
const EXIT_TIMEOUT: Duration = Duration::from_secs(15);
const PERFDHCP_TIMEOUT: Duration = Duration::from_secs(30);

/// Windows event id of a release, which the demo waits for.
const EVENT_RELEASE: u64 = 1013;

/// Programs the demo runs, and the Debian packages that ship them.
const TOOLS: [(&str, &str); 4] = [
    ("dhclient", "isc-dhcp-client"),
    ("busybox", "busybox"),
    ("perfdhcp", "kea-admin"),
    ("ip", "iproute2"),
];

pub fn run(ws: &Workspace) -> Result<()> {
    if !geteuid().is_root() {
        bail!("the demo creates network namespaces: run it as root");
    }
    catch_interrupts()?;
    install_tools()?;
    setup::run(ws)?;
    exec(
        "cargo build --release -p dhcp-user --bin xdhcpd",
        ws.cargo()
            .args(["build", "--release", "-p", "dhcp-user", "--bin", "xdhcpd"]),
    )?;
    let bin = ws.target_dir().join("release/xdhcpd");

    let mut demo = Demo::new()?;
    let outcome = demo.run(&bin);
    if outcome.is_ok() {
        demo.keep_files = false;
    } else {
        say(format!("demo files kept in {}", demo.dir.display()));
    }
    outcome
}

/// Installs the packages of the missing tools; a prepared machine never
/// touches apt.
fn install_tools() -> Result<()> {
    let missing: Vec<&str> = TOOLS
        .iter()
        .filter(|(tool, _)| !on_path(tool))
        .map(|(_, package)| *package)
        .collect();
    if missing.is_empty() {
        say("clients and tools: present");
        return Ok(());
    }
    if !on_path("apt-get") {
        bail!(
            "missing packages {} and no apt-get to install them",
            missing.join(" ")
        );
    }
    let install = || {
        let mut cmd = Command::new("apt-get");
        cmd.env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(&missing)
            .stdin(Stdio::null());
        cmd
    };
    let what = format!("apt-get install {}", missing.join(" "));
    // A fresh machine may have no package lists yet: update once and retry.
    if exec(&what, &mut install()).is_err() {
        exec(
            "apt-get update",
            Command::new("apt-get")
                .args(["update", "-q"])
                .stdin(Stdio::null()),
        )?;
        exec(&what, &mut install())?;
    }
    Ok(())
}

/// `<event> <address>` lines that a client script appends to a file.
struct Events(PathBuf);

impl Events {
    fn lines(&self) -> Vec<(String, Option<Ipv4Addr>)> {
        fs::read_to_string(&self.0)
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let mut w = l.split_whitespace();
                let event = w.next().unwrap_or_default().to_owned();
                (event, w.next().and_then(|a| a.parse().ok()))
            })
            .collect()
    }

    fn count(&self, events: &[&str]) -> usize {
        self.lines()
            .iter()
            .filter(|(e, _)| events.contains(&e.as_str()))
            .count()
    }

    /// Waits for one of `events` beyond the first `seen`; its address.
    fn wait(&self, events: &[&str], seen: usize, timeout: Duration) -> Result<Ipv4Addr> {
        let what = format!("the client's {}", events.join("/"));
        wait_for(&what, timeout, || {
            Ok(self
                .lines()
                .into_iter()
                .filter(|(e, _)| events.contains(&e.as_str()))
                .nth(seen)
                .map(|(_, a)| a))
        })?
        .with_context(|| format!("{what} without an address"))
    }
}

/// What one client achieved, for the summary table.
struct ClientRow {
    client: &'static str,
    mac: String,
    address: Option<Ipv4Addr>,
    leased: bool,
    renewed: bool,
    released: bool,
    /// Why a step failed.
    error: Option<String>,
}

impl ClientRow {
    fn new(client: &'static str, mac: &str) -> Self {
        Self {
            client,
            mac: mac.to_owned(),
            address: None,
            leased: false,
            renewed: false,
            released: false,
            error: None,
        }
    }

    fn ok(&self) -> bool {
        self.leased && self.renewed && self.released
    }
}

/// perfdhcp's counts: DISCOVERs sent and OFFERs received, REQUESTs sent
/// and ACKs received.
struct PerfRow {
    sent: [u64; 2],
    received: [u64; 2],
    status: ExitStatus,
}

/// The demo's processes, namespaces and files; drop tears them down.
struct Demo {
    dir: PathBuf,
    keep_files: bool,
    daemon: Option<Child>,
    clients: Vec<Child>,
}

impl Demo {
    fn new() -> Result<Self> {
        let dir = std::env::temp_dir().join(format!("xdhcpd-demo-{}", std::process::id()));
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Self {
            dir,
            keep_files: true,
            daemon: None,
            clients: Vec::new(),
        })
    }

    fn run(&mut self, bin: &Path) -> Result<()> {
        self.topology().context("creating the namespaces")?;
        let config = self.write_files()?;
        self.start_daemon(bin, &config)?;

        let dhclient = self.dhclient()?;
        let udhcpc = self.udhcpc()?;
        let perf = self.perfdhcp()?;
        let counters = self.stop_daemon();

        print_summary(&[&dhclient, &udhcpc], &perf, &counters);
        let mut failures: Vec<String> = [&dhclient, &udhcpc]
            .iter()
            .filter(|r| !r.ok())
            .map(|r| {
                format!(
                    "{}: {}",
                    r.client,
                    r.error.as_deref().unwrap_or("incomplete")
                )
            })
            .collect();
        if let Some(other) = udhcpc.address.filter(|a| *a != RESERVED_IP) {
            failures.push(format!(
                "udhcpc got {other} instead of its reserved {RESERVED_IP}"
            ));
        }
        if perf.received != [PERF_EXCHANGES; 2] {
            failures.push(format!(
                "perfdhcp: {} of {PERF_EXCHANGES} exchanges completed ({})",
                perf.received[1], perf.status
            ));
        }
        if let Err(err) = &counters {
            failures.push(format!("daemon: {err:#}"));
        }
        if !failures.is_empty() {
            bail!("the demo failed:\n  {}", failures.join("\n  "));
        }
        say("demo: every client got, renewed and released its lease");
        Ok(())
    }

    fn topology(&self) -> Result<()> {
        say("creating namespaces xd-srv, xd-cli, xd-rly");
        for ns in [SERVER_NS, CLIENT_NS, RELAY_NS] {
            // A demo killed before its teardown leaves its namespaces.
            if netns::exists(ns) {
                netns::remove(ns);
            }
            ip(&["netns", "add", ns])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        for (server_if, peer_if, peer_ns) in [
            (SERVER_DIRECT_IF, CLIENT_IF, CLIENT_NS),
            (SERVER_RELAY_IF, RELAY_IF, RELAY_NS),
        ] {
            ip(&[
                "-n", SERVER_NS, "link", "add", server_if, "type", "veth", "peer", "name", peer_if,
                "netns", peer_ns,
            ])?;
        }
        for (ns, iface, addr) in [
            (SERVER_NS, SERVER_DIRECT_IF, Some(SERVER_DIRECT)),
            (SERVER_NS, SERVER_RELAY_IF, Some(SERVER_RELAY)),
            (CLIENT_NS, CLIENT_IF, None),
            (RELAY_NS, RELAY_IF, Some(RELAY)),
        ] {
            if let Some(addr) = addr {
                ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", iface])?;
            }
            ip(&["-n", ns, "link", "set", iface, "up"])?;
            // veth leaves the checksums of kernel-sent UDP partial (TX
            // offload); the clients' raw sockets would drop such replies.
            if on_path("ethtool") {
                run_cmd(in_ns(ns, "ethtool").args(["-K", iface, "tx", "off"]))?;
            }
        }
        Ok(())
    }

    /// The daemon's configuration and the clients' scripts.
    fn write_files(&self) -> Result<PathBuf> {
        let config = self.dir.join("xdhcpd.toml");
        let state_dir = self.dir.join("state");
        let state_dir = state_dir.display();
        fs::write(
            &config,
            format!(
                r#"# Written by `cargo xtask demo`.
[server]
interfaces = ["{SERVER_DIRECT_IF}", "{SERVER_RELAY_IF}"]
offer_timeout = "10s"
state_dir = "{state_dir}"

[server.options]
domain-name = "demo.xdhcpd.test"

# The direct link: a 20 s lease renewed after 6 s, so a renewal happens
# while the demo runs.
[[scope]]
name = "demo-lan"
description = "direct clients on {CLIENT_IF}"
subnet = "10.77.0.0/24"
ranges = ["10.77.0.100-10.77.0.199"]
lease_time = "20s"
renewal_time = "6s"
rebinding_time = "15s"
options = {{ routers = ["{SERVER_DIRECT}"] }}

[[scope.reservation]]
name = "demo-udhcpc"
mac = "{UDHCPC_MAC}"
ip = "{RESERVED_IP}"

# perfdhcp's subnet: it relays from {RELAY} (giaddr).
[[scope]]
name = "demo-relayed"
subnet = "10.78.0.0/24"
ranges = ["10.78.0.10-10.78.0.250"]
lease_time = "1h"
"#
            ),
        )?;
        let scripts = [
            (
                "dhclient-script.sh",
                // dhclient runs its script with a scrubbed environment:
                // the event file's path is written into it.
                format!(
                    r#"#!/bin/sh
echo "$reason ${{new_ip_address:-${{old_ip_address:-}}}}" >>"{}"
case "$reason" in
  PREINIT) ip link set "$interface" up ;;
  BOUND|RENEW|REBIND|REBOOT)
    ip addr replace "$new_ip_address/${{new_subnet_mask:-24}}" dev "$interface" ;;
  RELEASE|EXPIRE|FAIL|STOP)
    [ -n "${{old_ip_address:-}}" ] && ip addr del "$old_ip_address/${{old_subnet_mask:-24}}" dev "$interface" ;;
esac
exit 0
"#,
                    self.dir.join("dhclient-events.log").display()
                ),
            ),
            (
                "udhcpc-script.sh",
                // busybox sends RENEW and RELEASE from the leased address,
                // so the script must really put it on the interface.
                format!(
                    r#"#!/bin/sh
echo "$1 ${{ip:-}}" >>"{}"
case "$1" in
  deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew) ip addr replace "$ip/${{mask:-24}}" dev "$interface" ;;
esac
exit 0
"#,
                    self.dir.join("udhcpc-events.log").display()
                ),
            ),
        ];
        for (name, text) in scripts {
            let path = self.dir.join(name);
            fs::write(&path, text)?;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755))?;
        }
        // dhclient's defaults; no host name of this machine on the wire.
        fs::write(self.dir.join("dhclient.conf"), "")?;
        Ok(config)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("xdhcpd.log")
    }

    /// The daemon's JSON log records.
    fn records(&self) -> Vec<Value> {
        daemon_log::records(&self.log_path())
    }

    fn log_tail(&self) -> String {
        daemon_log::tail(&self.log_path(), 20)
    }

    fn start_daemon(&mut self, bin: &Path, config: &Path) -> Result<()> {
        say(format!(
            "starting xdhcpd in {SERVER_NS} (log: {})",
            self.log_path().display()
        ));
        let log = fs::File::create(self.log_path())?;
        let child = in_ns(SERVER_NS, bin)
            .arg("run")
            .arg("--config")
            .arg(config)
            .args([
                "--datapath",
                "uring",
                "--workers",
                "2",
                "--log-format",
                "json",
            ])
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting xdhcpd")?;
        let log_path = self.log_path();
        let daemon = self.daemon.insert(child);
        let ready = wait_for("event 1024 (ready)", READY_TIMEOUT, || {
            if let Some(status) = daemon.try_wait()? {
                bail!("xdhcpd exited ({status})");
            }
            Ok(daemon_log::records(&log_path)
                .into_iter()
                .find(|r| event_id(r) == Some(EVENT_READY)))
        });
        let ready = ready.with_context(|| {
            format!(
                "xdhcpd did not become ready; its last log lines:\n{}",
                self.log_tail()
            )
        })?;
        say(format!(
            "xdhcpd ready: {}",
            ready
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
        ));
        Ok(())
    }

    /// Waits for event 1013 naming `ip`.
    fn wait_released(&self, ip: Ipv4Addr) -> Result<()> {
        wait_for(
            "event 1013 (release) in the daemon log",
            EVENT_TIMEOUT,
            || {
                Ok(self
                    .records()
                    .iter()
                    .find(|r| event_id(r) == Some(EVENT_RELEASE) && mentions(r, ip))
                    .map(drop))
            },
        )
    }

    fn set_client_mac(&self, mac: &str) -> Result<()> {
        ip(&["-n", CLIENT_NS, "addr", "flush", "dev", CLIENT_IF])?;
        ip(&["-n", CLIENT_NS, "link", "set", CLIENT_IF, "down"])?;
        ip(&["-n", CLIENT_NS, "link", "set", CLIENT_IF, "address", mac])?;
        ip(&["-n", CLIENT_NS, "link", "set", CLIENT_IF, "up"])
    }

    fn dhclient(&mut self) -> Result<ClientRow> {
        say(format!(
            "dhclient on {CLIENT_IF} ({DHCLIENT_MAC}): lease, renewal at T1 (6 s), release"
        ));
        let mut row = ClientRow::new("dhclient", DHCLIENT_MAC);
        self.set_client_mac(DHCLIENT_MAC)?;
        let files: Vec<PathBuf> = [
            "dhclient.conf",
            "dhclient-script.sh",
            "dhclient.leases",
            "dhclient.pid",
        ]
        .iter()
        .map(|f| self.dir.join(f))
        .collect();
        let dhclient = |mode: &str| {
            let mut cmd = in_ns(CLIENT_NS, "dhclient");
            cmd.args(["-4", mode, "-v"]);
            for (flag, path) in ["-cf", "-sf", "-lf", "-pf"].iter().zip(&files) {
                cmd.arg(flag).arg(path);
            }
            cmd.arg(CLIENT_IF);
            cmd
        };
        let log = fs::File::create(self.dir.join("dhclient.log"))?;
        let child = dhclient("-d")
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting dhclient")?;
        self.clients.push(child);
        let events = Events(self.dir.join("dhclient-events.log"));
        let mut steps = || -> Result<()> {
            let ip = events.wait(&["BOUND", "REBOOT"], 0, LEASE_TIMEOUT)?;
            row.address = Some(ip);
            row.leased = true;
            say(format!("dhclient: bound to {ip}"));
            let renewed = events.wait(&["RENEW"], 0, RENEW_TIMEOUT)?;
            row.renewed = renewed == ip;
            if !row.renewed {
                bail!("the renewal moved it from {ip} to {renewed}");
            }
            say(format!("dhclient: renewed {ip}"));
            // `-r` stops the running client (pid file) and releases.
            let log = fs::File::create(self.dir.join("dhclient-release.log"))?;
            let mut release = dhclient("-r")
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()
                .context("starting dhclient -r")?;
            let status = wait_for("dhclient -r", EXIT_TIMEOUT, || Ok(release.try_wait()?));
            if status.is_err() {
                // Bounded: it gets killed, and the failure is reported.
                let _ = release.kill();
                let _ = release.wait();
            }
            let status = status?;
            if !status.success() {
                bail!("dhclient -r failed ({status})");
            }
            self.wait_released(ip)?;
            row.released = true;
            say(format!("dhclient: released {ip} (event 1013)"));
            Ok(())
        };
        if let Err(err) = steps() {
            check_interrupted()?;
            row.error = Some(format!("{err:#}"));
        }
        self.stop_clients();
        Ok(row)
    }

    fn udhcpc(&mut self) -> Result<ClientRow> {
        say(format!(
            "udhcpc on {CLIENT_IF} ({UDHCPC_MAC}, reserved {RESERVED_IP}): lease, renewal (SIGUSR1), release (SIGTERM)"
        ));
        let mut row = ClientRow::new("udhcpc", UDHCPC_MAC);
        self.set_client_mac(UDHCPC_MAC)?;
        let log = fs::File::create(self.dir.join("udhcpc.log"))?;
        let child = in_ns(CLIENT_NS, "busybox")
            // -R: release on SIGTERM; five DISCOVERs 2 s apart, pause 5 s.
            .args([
                "udhcpc", "-f", "-R", "-t", "5", "-T", "2", "-A", "5", "-i", CLIENT_IF,
            ])
            .arg("-s")
            .arg(self.dir.join("udhcpc-script.sh"))
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting busybox udhcpc")?;
        let pid = Pid::from_raw(child.id() as i32);
        self.clients.push(child);
        let events = Events(self.dir.join("udhcpc-events.log"));
        let mut steps = || -> Result<()> {
            let ip = events.wait(&["bound"], 0, LEASE_TIMEOUT)?;
            row.address = Some(ip);
            row.leased = true;
            say(format!("udhcpc: bound to {ip}"));
            let seen = events.count(&["renew"]);
            kill(pid, Signal::SIGUSR1).context("SIGUSR1 to udhcpc")?;
            let renewed = events.wait(&["renew"], seen, RENEW_TIMEOUT)?;
            row.renewed = renewed == ip;
            if !row.renewed {
                bail!("the renewal moved it from {ip} to {renewed}");
            }
            say(format!("udhcpc: renewed {ip} (unicast REQUEST)"));
            kill(pid, Signal::SIGTERM).context("SIGTERM to udhcpc")?;
            self.wait_released(ip)?;
            row.released = true;
            say(format!("udhcpc: released {ip} (event 1013)"));
            Ok(())
        };
        if let Err(err) = steps() {
            check_interrupted()?;
            row.error = Some(format!("{err:#}"));
        }
        self.stop_clients();
        Ok(row)
    }

    fn perfdhcp(&mut self) -> Result<PerfRow> {
        say(format!(
            "perfdhcp in {RELAY_NS} as relay {RELAY}: {PERF_EXCHANGES} DORAs at {PERF_RATE}/s from {PERF_CLIENTS} clients"
        ));
        let out_path = self.dir.join("perfdhcp.log");
        let out = fs::File::create(&out_path)?;
        let child = in_ns(RELAY_NS, "perfdhcp")
            // -g single: one thread (the default threaded mode is slower);
            // -W: wait 1 s for the last replies, else they count as lost.
            .args(["-4", "-g", "single", "-r", PERF_RATE, "-R", PERF_CLIENTS])
            .args([
                "-n",
                &PERF_EXCHANGES.to_string(),
                "-W",
                "1000000",
                "-l",
                RELAY,
            ])
            .arg(SERVER_RELAY)
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .context("starting perfdhcp")?;
        self.clients.push(child);
        let child = self.clients.last_mut().context("perfdhcp is running")?;
        let status = wait_for("perfdhcp to finish", PERFDHCP_TIMEOUT, || {
            Ok(child.try_wait()?)
        })?;
        self.clients.clear();
        let text = fs::read_to_string(&out_path)?;
        // Two exchange blocks, DISCOVER-OFFER then REQUEST-ACK, each with
        // "sent packets: N" and "received packets: N".
        let counts = |label: &str| -> [u64; 2] {
            let v: Vec<u64> = text
                .lines()
                .filter_map(|l| l.trim().strip_prefix(label)?.trim().parse().ok())
                .collect();
            [
                v.first().copied().unwrap_or(0),
                v.get(1).copied().unwrap_or(0),
            ]
        };
        let row = PerfRow {
            sent: counts("sent packets:"),
            received: counts("received packets:"),
            status,
        };
        say(format!("perfdhcp: {status} (3 = some exchange failed)"));
        Ok(row)
    }

    /// SIGTERM; the daemon drains and logs its final counters.
    fn stop_daemon(&mut self) -> Result<BTreeMap<String, u64>> {
        let mut daemon = self.daemon.take().context("the daemon is not running")?;
        kill(Pid::from_raw(daemon.id() as i32), Signal::SIGTERM).context("SIGTERM to xdhcpd")?;
        let status = wait_for("xdhcpd to exit", EXIT_TIMEOUT, || Ok(daemon.try_wait()?));
        let status = match status {
            Ok(status) => status,
            Err(err) => {
                // Give it back to the teardown, which kills it.
                self.daemon = Some(daemon);
                return Err(err);
            }
        };
        if !status.success() {
            bail!("xdhcpd exited with {status}:\n{}", self.log_tail());
        }
        let record = self
            .records()
            .into_iter()
            .rev()
            .find(|r| r.get("message").and_then(Value::as_str) == Some("final counters"))
            .with_context(|| format!("no \"final counters\" line:\n{}", self.log_tail()))?;
        Ok(record
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.clone(), v.as_u64()?)))
            .collect())
    }

    /// Stops the clients still running: SIGTERM, then SIGKILL (bounded).
    fn stop_clients(&mut self) {
        for mut child in self.clients.drain(..) {
            stop(&mut child);
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        self.stop_clients();
        if let Some(mut daemon) = self.daemon.take() {
            stop(&mut daemon);
        }
        for ns in [CLIENT_NS, RELAY_NS, SERVER_NS] {
            if netns::exists(ns) {
                netns::remove(ns);
            }
        }
        if !self.keep_files {
            let _ = fs::remove_dir_all(&self.dir);
        }
        say("demo: namespaces and processes removed");
    }
}

/// Whether a log record mentions `ip` anywhere (`10.77.0.10` does not
/// match `10.77.0.100`).
fn mentions(record: &Value, ip: Ipv4Addr) -> bool {
    let text = record.to_string();
    let ip = ip.to_string();
    text.match_indices(&ip).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + ip.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit() || c == '.')
            && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

struct YesNo(bool);

impl fmt::Display for YesNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(if self.0 { "yes" } else { "NO" })
    }
}

fn print_summary(rows: &[&ClientRow], perf: &PerfRow, counters: &Result<BTreeMap<String, u64>>) {
    println!();
    println!(
        "{:<9} | {:<17} | {:<15} | {:<9} | {:<7} | released",
        "client", "MAC", "address", "got lease", "renewed"
    );
    println!("{}", "-".repeat(80));
    for r in rows {
        let address = r
            .address
            .map(|a| a.to_string())
            .unwrap_or_else(|| "-".into());
        println!(
            "{:<9} | {:<17} | {:<15} | {:<9} | {:<7} | {}",
            r.client,
            r.mac,
            address,
            YesNo(r.leased),
            YesNo(r.renewed),
            YesNo(r.released)
        );
    }
    println!(
        "{:<9} | {:<17} | {:<15} | {:<9} | {:<7} | -",
        "perfdhcp",
        format!("{PERF_CLIENTS} simulated"),
        "10.78.0.0/24",
        format!("{}/{}", perf.received[1], PERF_EXCHANGES),
        "-"
    );
    println!(
        "perfdhcp: DISCOVER sent {} / OFFER received {}; REQUEST sent {} / ACK received {}",
        perf.sent[0], perf.received[0], perf.sent[1], perf.received[1]
    );
    for r in rows {
        if let Some(err) = &r.error {
            println!("{}: {err}", r.client);
        }
    }
    println!();
    match counters {
        Ok(counters) => {
            // The contract's counters first, then whatever else it logs.
            const FIRST: [&str; 9] = [
                "received", "sent", "offers", "acks", "naks", "releases", "declines", "informs",
                "dropped",
            ];
            let line: Vec<String> = FIRST
                .iter()
                .filter_map(|k| Some(format!("{k}={}", counters.get(*k)?)))
                .chain(
                    counters
                        .iter()
                        .filter(|(k, _)| !FIRST.contains(&k.as_str()))
                        .map(|(k, v)| format!("{k}={v}")),
                )
                .collect();
            println!("xdhcpd final counters: {}", line.join(" "));
        }
        Err(err) => println!("xdhcpd final counters: unavailable ({err:#})"),
    }
    println!();
}
