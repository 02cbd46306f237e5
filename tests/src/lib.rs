//! Shared helpers of the end-to-end tests.
//!
//! * [`NetNs`]: one namespace joined to the caller's by a veth pair, and
//!   [`RawSender`] for hand-built frames (the XDP program's tests).
//! * [`Topology`]: server, client and relay namespaces joined by veth
//!   pairs, where a real [`Daemon`] serves real clients ([`Dhclient`],
//!   [`Udhcpc`]) and hand-built relayed messages.
//! * [`dhcp`]: hand-built messages for a relay agent and a link probe.
//! * [`Scratch`]: a per-test directory for configs, scripts and logs.
//!
//! Every helper is a guard that tears down on drop, also when the test
//! panics. Tests that need root or a client binary call [`can_run`] first
//! and skip with a printed line when it is false, so `cargo test` stays
//! green for unprivileged developers; CI runs as root with the clients
//! installed and so runs them all.

mod clients;
mod daemon;
pub mod dhcp;
mod netns;
mod raw;
mod scratch;
mod sys;
mod topology;

use std::sync::atomic::{AtomicU32, Ordering};

pub use clients::{Dhclient, Udhcpc};
pub use daemon::{Counters, Daemon, check_config, datapath, mentions, xdhcpd_bin};
pub use netns::NetNs;
pub use raw::{RawReceiver, RawSender};
pub use scratch::Scratch;
pub use sys::{on_path, wait_for};
pub use topology::{Namespace, Topology, addr};

/// Whether the tests may create namespaces and attach XDP programs.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Whether `test` can run here: root, and every program of `tools` on
/// `PATH`. When not, prints why (the test then returns early: skipped).
pub fn can_run(test: &str, tools: &[&str]) -> bool {
    if !is_root() {
        eprintln!("skipped: {test} needs root (network namespaces)");
        return false;
    }
    let missing: Vec<&str> = tools.iter().copied().filter(|t| !on_path(t)).collect();
    if !missing.is_empty() {
        eprintln!(
            "skipped: {test} needs {} (installed by .ci/run)",
            missing.join(", ")
        );
        return false;
    }
    true
}

/// This process's id and a number never returned before in it: together
/// they make names (namespaces, directories) that parallel tests in this
/// and other test binaries never share.
pub(crate) fn unique_id() -> (u32, u32) {
    static NEXT_ID: AtomicU32 = AtomicU32::new(0);
    (std::process::id(), NEXT_ID.fetch_add(1, Ordering::Relaxed))
}
