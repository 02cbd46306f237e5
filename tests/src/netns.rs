//! [`NetNs`]: a network namespace joined to the caller's by a veth pair.
//!
//! ```text
//!   caller's namespace            namespace `name`
//!   host_if (no address)  <--->   ns_if 192.0.2.2/24
//! ```
//!
//! The host end gets no address: the caller's namespace is shared with the
//! rest of the machine, and an address there would add routes to it. Test
//! traffic starts inside the namespace (see [`NetNs::run_in`]) and stays
//! on the pair. IPv6 is off on both ends so that the kernel sends no
//! neighbour discovery or MLD frames of its own: tests count frames exactly.

use std::{net::Ipv4Addr, process::Command};

use anyhow::{Context, Result};

use crate::sys::{disable_ipv6, ip, on_path, run, run_in_namespace};

/// Address of the namespace end, from TEST-NET-1 (RFC 5737): reserved for
/// documentation, so it is never anybody's real address.
const NS_ADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const NS_PREFIX: u8 = 24;

/// A network namespace with a veth pair into it, removed on drop (also when
/// the test panics).
pub struct NetNs {
    name: String,
    host_if: String,
    ns_if: String,
}

impl NetNs {
    /// Creates the namespace and the pair, both ends up. Needs root.
    pub fn new() -> Result<Self> {
        let (pid, id) = crate::unique_id();
        // Interface names are at most 15 bytes: "xd" + pid (≤ 7 hex digits)
        // + end letter + id.
        let ns = Self {
            name: format!("xdhcpd-test-{pid}-{id}"),
            host_if: format!("xd{pid:x}h{id}"),
            ns_if: format!("xd{pid:x}n{id}"),
        };
        // From here on, `ns` drops whatever exists if a step fails.
        ns.create()
            .with_context(|| format!("setting up namespace {}", ns.name))?;
        Ok(ns)
    }

    fn create(&self) -> Result<()> {
        let (name, host_if, ns_if) = (&self.name, &self.host_if, &self.ns_if);
        ip(&["netns", "add", name])?;
        // One queue per end: with several, native XDP would spread frames
        // over queues by the sender's TX queue.
        ip(&[
            "link",
            "add",
            host_if,
            "numtxqueues",
            "1",
            "numrxqueues",
            "1",
            "type",
            "veth",
            "peer",
            "name",
            ns_if,
            "numtxqueues",
            "1",
            "numrxqueues",
            "1",
            "netns",
            name,
        ])?;
        disable_ipv6(host_if)?;
        self.run_in(|| disable_ipv6(ns_if))??;
        ip(&["link", "set", host_if, "up"])?;
        ip(&["-n", name, "link", "set", "lo", "up"])?;
        ip(&["-n", name, "link", "set", ns_if, "up"])?;
        let addr = format!("{NS_ADDR}/{NS_PREFIX}");
        ip(&["-n", name, "addr", "add", &addr, "dev", ns_if])?;
        // veth leaves UDP checksums partial (TX offload); a receiver that
        // checks them, as AF_XDP servers must, needs them complete.
        if on_path("ethtool") {
            run(Command::new("ip")
                .args(["netns", "exec", name, "ethtool", "-K", ns_if, "tx", "off"]))?;
        }
        Ok(())
    }

    /// The namespace's name (for `ip netns exec`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The veth end in the caller's namespace.
    pub fn host_if(&self) -> &str {
        &self.host_if
    }

    /// The veth end inside the namespace.
    pub fn ns_if(&self) -> &str {
        &self.ns_if
    }

    /// The address of [`Self::ns_if`].
    pub fn ns_addr(&self) -> Ipv4Addr {
        NS_ADDR
    }

    /// Runs `f` on a thread that has entered the namespace: sockets it
    /// opens and processes it spawns live there. Only that thread moves, so
    /// the rest of the test (and the other tests) stay where they were.
    pub fn run_in<T: Send>(&self, f: impl FnOnce() -> T + Send) -> Result<T> {
        run_in_namespace(&self.name, f)
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        // Deleting the host end removes the pair at once; deleting the
        // namespace alone would leave that to the kernel's deferred cleanup.
        // Errors are printed, not raised: this may run during a panic, and
        // a step that never happened has nothing to delete.
        for args in [
            ["link", "del", self.host_if.as_str()],
            ["netns", "del", self.name.as_str()],
        ] {
            if let Err(err) = ip(&args) {
                eprintln!("cleanup of {}: {err:#}", self.name);
            }
        }
    }
}
