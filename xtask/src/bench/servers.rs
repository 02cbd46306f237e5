//! The servers of the matrix: xdhcpd on each datapath, Kea, and the null
//! server xdhcp-reflector (whose maximum is the load generator's ceiling).
//! Each starts fresh for a step (empty lease store), pinned to the server
//! core, and is stopped after it; a crash is an exit before we stop it, or
//! a non-zero exit status on SIGTERM.
//!
//! Same subnet, pool and lease times for xdhcpd and Kea: a 1-day lease
//! (T1 12 h, T2 21 h), authoritative, one worker / Kea's single-threaded
//! default, lease store on tmpfs (xdhcpd with `durability = "sync"`, its
//! default; Kea's memfile with lease-file cleanup off).

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Child, ExitStatus},
    time::Duration,
};

use anyhow::{Context, Result, bail};
use nix::{
    sys::signal::{Signal, kill},
    unistd::Pid,
};

use super::{
    binaries::Binaries,
    topology::{POOL_FIRST, POOL_LAST, SERVER_CPU, SERVER_IF, SERVER_NS, SUBNET},
};
use crate::{
    daemon_log::{self, EVENT_READY, event_id},
    netns::{in_ns, udp_port_bound},
    process::{self, wait_for},
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Datapath {
    Uring,
    XdpNative,
    XdpGeneric,
}

impl Datapath {
    pub const ALL: [Datapath; 3] = [Datapath::Uring, Datapath::XdpNative, Datapath::XdpGeneric];

    /// xdhcpd's `--datapath` value.
    fn arg(self) -> &'static str {
        match self {
            Datapath::Uring => "uring",
            Datapath::XdpNative => "xdp-native",
            Datapath::XdpGeneric => "xdp-generic",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Server {
    Xdhcpd(Datapath),
    Kea,
    Reflector,
}

const READY_TIMEOUT: Duration = Duration::from_secs(20);
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

impl Server {
    /// Full mode's matrix, in the order of the table.
    pub const ALL: [Server; 5] = [
        Server::Xdhcpd(Datapath::Uring),
        Server::Xdhcpd(Datapath::XdpNative),
        Server::Xdhcpd(Datapath::XdpGeneric),
        Server::Kea,
        Server::Reflector,
    ];

    /// Short name: file names, the results file, `--servers`.
    pub fn key(self) -> &'static str {
        match self {
            Server::Xdhcpd(Datapath::Uring) => "xdhcpd-uring",
            Server::Xdhcpd(Datapath::XdpNative) => "xdhcpd-xdp-native",
            Server::Xdhcpd(Datapath::XdpGeneric) => "xdhcpd-xdp-generic",
            Server::Kea => "kea",
            Server::Reflector => "reflector",
        }
    }

    /// Name in the table.
    pub fn label(self) -> &'static str {
        match self {
            Server::Xdhcpd(Datapath::Uring) => "xdhcpd, io_uring",
            Server::Xdhcpd(Datapath::XdpNative) => "xdhcpd, XDP native + AF_XDP",
            Server::Xdhcpd(Datapath::XdpGeneric) => "xdhcpd, XDP generic + AF_XDP",
            Server::Kea => "Kea (memfile, 1 thread)",
            Server::Reflector => "xdhcp-reflector (loadgen ceiling)",
        }
    }

    /// Starts the server for step `tag`: its files go to `run_dir`, its
    /// lease store to `state_dir` (tmpfs); the reflector uses `transport`
    /// (its `--transport`). Returns once it serves.
    pub fn start(
        self,
        bins: &Binaries,
        run_dir: &Path,
        state_dir: &Path,
        tag: &str,
        transport: &str,
    ) -> Result<Running> {
        let log = run_dir.join(format!("{tag}.server.log"));
        let state = state_dir.join(tag);
        let mut cmd = in_ns(SERVER_NS, "taskset");
        cmd.args(["-c", &SERVER_CPU.to_string()]);
        let ready: Box<dyn Fn() -> bool> = match self {
            Server::Xdhcpd(datapath) => {
                let config = run_dir.join(format!("{tag}.xdhcpd.toml"));
                fs::write(&config, xdhcpd_config(&state))?;
                cmd.arg(&bins.xdhcpd)
                    .args(["run", "--config"])
                    .arg(&config)
                    .args(["--datapath", datapath.arg(), "--workers", "1"])
                    .args(["--log-format", "json"]);
                let log = log.clone();
                Box::new(move || {
                    daemon_log::records(&log)
                        .iter()
                        .any(|r| event_id(r) == Some(EVENT_READY))
                })
            }
            Server::Kea => {
                let config = run_dir.join(format!("{tag}.kea.json"));
                let kea_log = run_dir.join(format!("{tag}.kea.log"));
                fs::create_dir_all(&state)?;
                fs::write(&config, kea_config(&state.join("leases4.csv"), &kea_log))?;
                cmd.env("KEA_PIDFILE_DIR", &state)
                    .env("KEA_LOCKFILE_DIR", &state)
                    .arg("kea-dhcp4")
                    .arg("-c")
                    .arg(&config);
                // Kea binds port 67 before it is done starting (requests
                // arriving then are lost): DHCP4_STARTED says it is done.
                Box::new(move || {
                    udp_port_bound(SERVER_NS, 67)
                        && fs::read_to_string(&kea_log).is_ok_and(|t| t.contains("DHCP4_STARTED"))
                })
            }
            Server::Reflector => {
                cmd.arg(&bins.reflector)
                    .args(["-i", SERVER_IF, "--pool-start", POOL_FIRST])
                    .args(["--transport", transport]);
                // It binds port 67 once its packet socket is open.
                Box::new(|| udp_port_bound(SERVER_NS, 67))
            }
        };
        let out = fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let child = cmd
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("starting {}", self.label()))?;
        let mut running = Running { child, log, state };
        wait_for(&format!("{} to serve", self.label()), READY_TIMEOUT, || {
            if let Some(status) = running.child.try_wait()? {
                bail!(
                    "it exited at start ({status}); its log ends:\n{}",
                    running.log_tail()
                );
            }
            Ok(ready().then_some(()))
        })?;
        Ok(running)
    }
}

fn xdhcpd_config(state: &Path) -> String {
    format!(
        r#"# Written by `cargo xtask bench`.
[server]
interfaces = ["{SERVER_IF}"]
state_dir = "{}"
authoritative = true
lease_time = "1d"
offer_timeout = "10s"

[[scope]]
name = "bench"
subnet = "{SUBNET}"
ranges = ["{POOL_FIRST}-{POOL_LAST}"]
"#,
        state.display()
    )
}

/// Raw sockets: with UDP sockets Kea answers relayed clients only, and
/// the load generator's clients are on the link without addresses.
fn kea_config(leases: &Path, log: &Path) -> String {
    serde_json::json!({
        "Dhcp4": {
            "interfaces-config": { "interfaces": [SERVER_IF], "dhcp-socket-type": "raw" },
            "lease-database": {
                "type": "memfile",
                "persist": true,
                "name": leases,
                "lfc-interval": 0
            },
            "authoritative": true,
            "valid-lifetime": 86400,
            "renew-timer": 43200,
            "rebind-timer": 75600,
            "subnet4": [{
                "id": 1,
                "subnet": SUBNET,
                "pools": [{ "pool": format!("{POOL_FIRST} - {POOL_LAST}") }]
            }],
            // Warnings only, except the server's own start and stop
            // messages (DHCP4_STARTED): a log line per lease would cost
            // Kea more than the lease itself.
            "loggers": [
                { "name": "kea-dhcp4", "severity": "WARN", "output_options": [{ "output": log }] },
                { "name": "kea-dhcp4.dhcp4", "severity": "INFO", "output_options": [{ "output": log }] }
            ]
        }
    })
    .to_string()
}

/// A started server; dropping it kills it.
pub struct Running {
    child: Child,
    log: PathBuf,
    state: PathBuf,
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log_tail(&self) -> String {
        daemon_log::tail(&self.log, 5)
    }

    /// SIGTERM and a bounded wait; `Some(why)` when it crashed: it had
    /// exited already, it exited with an error, or it would not stop.
    pub fn stop(mut self) -> Result<Option<String>> {
        let describe = |what: String, tail: String| Some(format!("{what}; its log ends:\n{tail}"));
        if let Some(status) = self.child.try_wait()? {
            return Ok(describe(
                format!("exited during the step ({status})"),
                self.log_tail(),
            ));
        }
        kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM).context("SIGTERM")?;
        let child = &mut self.child;
        let status: Result<ExitStatus> =
            wait_for("the server to exit", STOP_TIMEOUT, || Ok(child.try_wait()?));
        Ok(match status {
            Ok(status) if status.success() => None,
            Ok(status) => describe(format!("exited with {status} on SIGTERM"), self.log_tail()),
            Err(err) => {
                process::check_interrupted()?;
                describe(format!("{err:#} (SIGTERM)"), self.log_tail())
            }
        })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        process::stop(&mut self.child);
        let _ = fs::remove_dir_all(&self.state);
    }
}
