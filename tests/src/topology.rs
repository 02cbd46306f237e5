//! [`Namespace`] and [`Topology`]: the networks the daemon tests run in.
//!
//! ```text
//!   namespace client          namespace server                namespace relay
//!   c0 (no address)  <--->  s0 10.77.0.1/24
//!                           s1 10.78.0.1/24        <--->  r0 10.78.0.2/24
//!                           route 10.79.0.0/24 via            10.79.0.1/24 (giaddr)
//!                             10.78.0.2
//! ```
//!
//! `c0` is a client's link: direct clients broadcast there. The relay
//! namespace plays a relay agent whose client-facing address (giaddr) is
//! 10.79.0.1, a subnet the server has no interface in, so the server can
//! only pick that scope from giaddr. Nothing is created in the caller's
//! namespace: each veth pair is created inside the server namespace with
//! its peer moved out at once, so interface names only need to be unique
//! within a namespace, and the addresses are private (RFC 1918) ones that
//! exist only in these namespaces.

use std::{
    net::Ipv4Addr,
    path::Path,
    process::{Command, Stdio},
};

use anyhow::{Context, Result};
use nix::{
    sys::signal::{Signal, kill},
    unistd::Pid,
};

use crate::{
    Scratch,
    sys::{disable_ipv6, ip, on_path, run, run_in_namespace},
};

/// Names and addresses of the topology.
pub mod addr {
    use std::net::Ipv4Addr;

    /// Server end of the direct clients' link.
    pub const SERVER_DIRECT_IF: &str = "s0";
    /// Server end of the link to the relay.
    pub const SERVER_RELAY_IF: &str = "s1";
    /// The direct clients' interface.
    pub const CLIENT_IF: &str = "c0";
    /// The relay's interface.
    pub const RELAY_IF: &str = "r0";

    /// Server address on the direct link (10.77.0.0/24).
    pub const SERVER_DIRECT: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
    /// Server address on the relay link (10.78.0.0/24).
    pub const SERVER_RELAY: Ipv4Addr = Ipv4Addr::new(10, 78, 0, 1);
    /// The relay's address on its link to the server.
    pub const RELAY: Ipv4Addr = Ipv4Addr::new(10, 78, 0, 2);
    /// The relay's address on its clients' subnet (10.79.0.0/24): giaddr.
    pub const GIADDR: Ipv4Addr = Ipv4Addr::new(10, 79, 0, 1);

    /// Dynamic range of scope "lan" (the direct link).
    pub const LAN_FIRST: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 100);
    pub const LAN_LAST: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 199);
    /// Dynamic range of scope "relayed" (behind the relay).
    pub const RELAYED_FIRST: Ipv4Addr = Ipv4Addr::new(10, 79, 0, 100);
    pub const RELAYED_LAST: Ipv4Addr = Ipv4Addr::new(10, 79, 0, 199);

    /// Whether `ip` lies in `first..=last`.
    pub fn in_range(ip: Ipv4Addr, first: Ipv4Addr, last: Ipv4Addr) -> bool {
        (first..=last).contains(&ip)
    }
}

/// A network namespace with its loopback up; on drop, every process still
/// in it is killed and the namespace deleted (also when the test panics).
pub struct Namespace {
    name: String,
}

impl Namespace {
    /// Creates namespace `name`. Needs root.
    pub fn create(name: String) -> Result<Self> {
        // An earlier run killed before its cleanup leaves the name behind.
        if Path::new("/run/netns").join(&name).exists() {
            ip(&["netns", "del", &name])?;
        }
        ip(&["netns", "add", &name])?;
        let ns = Self { name };
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `ip -n <name> args...`.
    pub fn ip(&self, args: &[&str]) -> Result<()> {
        let mut cmd = Command::new("ip");
        cmd.args(["-n", &self.name]).args(args);
        run(&mut cmd)
    }

    /// A command that runs `program` inside the namespace
    /// (`ip netns exec`, which execs it: the child's pid is the program's).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name])
            .arg(program)
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `f` on a thread that has entered the namespace: sockets it
    /// opens live there (and stay there when handed back to the caller).
    pub fn run_in<T: Send>(&self, f: impl FnOnce() -> T + Send) -> Result<T> {
        run_in_namespace(&self.name, f)
    }

    /// Ids of the processes whose network namespace this is.
    fn pids(&self) -> Vec<i32> {
        Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
            .map(|out| {
                String::from_utf8_lossy(&out.stdout)
                    .split_whitespace()
                    .filter_map(|p| p.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        // The guards of the processes a test starts stop them first; this
        // catches whatever they missed (e.g. a client's own children), so
        // that no process outlives the namespace it serves.
        for pid in self.pids() {
            // The process may have exited since it was listed.
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        // Errors are printed, not raised: this may run during a panic.
        if let Err(err) = ip(&["netns", "del", &self.name]) {
            eprintln!("cleanup of namespace {}: {err:#}", self.name);
        }
    }
}

/// The three namespaces of the module docs, wired and addressed, with a
/// scratch directory for the test's files.
pub struct Topology {
    pub server: Namespace,
    pub client: Namespace,
    pub relay: Namespace,
    /// Dropped last, after every process that writes into it is gone.
    pub scratch: Scratch,
}

impl Topology {
    /// Creates and wires the namespaces. Needs root.
    pub fn new() -> Result<Self> {
        let (pid, id) = crate::unique_id();
        let prefix = format!("xdt{pid}-{id}");
        let topo = Self {
            server: Namespace::create(format!("{prefix}-srv"))?,
            client: Namespace::create(format!("{prefix}-cli"))?,
            relay: Namespace::create(format!("{prefix}-rly"))?,
            scratch: Scratch::new()?,
        };
        // From here on, a failed step drops `topo`, which removes it all.
        topo.wire()
            .with_context(|| format!("wiring the namespaces {prefix}-*"))?;
        Ok(topo)
    }

    fn wire(&self) -> Result<()> {
        use addr::*;
        let links = [
            (SERVER_DIRECT_IF, CLIENT_IF, &self.client),
            (SERVER_RELAY_IF, RELAY_IF, &self.relay),
        ];
        for (server_if, peer_if, peer) in links {
            self.server.ip(&[
                "link", "add", server_if, "type", "veth", "peer", "name", peer_if, "netns",
                &peer.name,
            ])?;
            self.server.run_in(|| disable_ipv6(server_if))??;
            peer.run_in(|| disable_ipv6(peer_if))??;
        }
        self.server.ip(&[
            "addr",
            "add",
            &format!("{SERVER_DIRECT}/24"),
            "dev",
            SERVER_DIRECT_IF,
        ])?;
        self.server.ip(&[
            "addr",
            "add",
            &format!("{SERVER_RELAY}/24"),
            "dev",
            SERVER_RELAY_IF,
        ])?;
        self.relay
            .ip(&["addr", "add", &format!("{RELAY}/24"), "dev", RELAY_IF])?;
        self.relay
            .ip(&["addr", "add", &format!("{GIADDR}/24"), "dev", RELAY_IF])?;
        for (ns, iface) in self.ends() {
            ns.ip(&["link", "set", iface, "up"])?;
            // veth leaves the checksums of kernel-sent UDP partial (TX
            // offload); raw-socket receivers (the clients, AF_XDP) see
            // them as they are and drop them.
            if on_path("ethtool") {
                run(ns
                    .command("ethtool")
                    .args(["-K", iface, "tx", "off"])
                    .stdout(Stdio::null()))?;
            }
        }
        // Replies to giaddr go back through the relay.
        self.server.ip(&[
            "route",
            "add",
            "10.79.0.0/24",
            "via",
            &RELAY.to_string(),
            "dev",
            SERVER_RELAY_IF,
        ])
    }

    fn ends(&self) -> [(&Namespace, &'static str); 4] {
        use addr::*;
        [
            (&self.server, SERVER_DIRECT_IF),
            (&self.server, SERVER_RELAY_IF),
            (&self.client, CLIENT_IF),
            (&self.relay, RELAY_IF),
        ]
    }

    /// A daemon configuration for this topology: scope "relayed" behind
    /// the relay (10.79.0.0/24) and scope "lan" on the direct link
    /// (10.77.0.0/24), with `lan_extra` (TOML keys, then any
    /// `[[scope.reservation]]` tables) appended to the lan scope.
    pub fn config(lan_extra: &str) -> String {
        use addr::*;
        format!(
            r#"[server]
interfaces = ["{SERVER_DIRECT_IF}", "{SERVER_RELAY_IF}"]
offer_timeout = "10s"

[[scope]]
name = "relayed"
subnet = "10.79.0.0/24"
ranges = ["{RELAYED_FIRST}-{RELAYED_LAST}"]
options = {{ routers = ["{GIADDR}"] }}

[[scope]]
name = "lan"
subnet = "10.77.0.0/24"
ranges = ["{LAN_FIRST}-{LAN_LAST}"]
options = {{ routers = ["{SERVER_DIRECT}"] }}
{lan_extra}
"#
        )
    }

    /// Another machine on the direct clients' link, holding `ip` (/24): a
    /// macvlan of the client's interface, moved into a namespace of its
    /// own, so it answers ARP and ping there as any host would while the
    /// client namespace stays a machine without an address. The returned
    /// namespace, and the host with it, goes away on drop.
    pub fn add_link_host(&self, ip: Ipv4Addr) -> Result<Namespace> {
        const HOST_IF: &str = "h0";
        let (_, id) = crate::unique_id();
        let prefix = self.client.name().trim_end_matches("-cli");
        let host = Namespace::create(format!("{prefix}-host{id}"))?;
        self.client.ip(&[
            "link",
            "add",
            HOST_IF,
            "link",
            addr::CLIENT_IF,
            "type",
            "macvlan",
            "mode",
            "bridge",
        ])?;
        self.client
            .ip(&["link", "set", HOST_IF, "netns", host.name()])?;
        host.run_in(|| disable_ipv6(HOST_IF))??;
        host.ip(&["addr", "add", &format!("{ip}/24"), "dev", HOST_IF])?;
        host.ip(&["link", "set", HOST_IF, "up"])?;
        Ok(host)
    }

    /// Gives the client's interface the hardware address `mac`
    /// (`"02:00:00:00:00:01"`) and no IPv4 address, as a fresh machine.
    pub fn set_client_mac(&self, mac: &str) -> Result<()> {
        let c = addr::CLIENT_IF;
        self.client.ip(&["addr", "flush", "dev", c])?;
        self.client.ip(&["link", "set", c, "down"])?;
        self.client.ip(&["link", "set", c, "address", mac])?;
        self.client.ip(&["link", "set", c, "up"])
    }

    /// The IPv4 addresses on the client's interface now.
    pub fn client_addrs(&self) -> Result<Vec<Ipv4Addr>> {
        let out = self
            .client
            .command("ip")
            .args(["-4", "-o", "addr", "show", "dev", addr::CLIENT_IF])
            .output()
            .context("ip addr show")?;
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let mut words = l.split_whitespace();
                words.find(|w| *w == "inet")?;
                words.next()?.split('/').next()?.parse().ok()
            })
            .collect())
    }
}
