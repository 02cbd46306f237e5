//! Shared helpers of the end-to-end tests: a network namespace guard with a
//! veth pair into it, and a raw Ethernet sender for hand-built frames.
//!
//! Tests that need root call [`is_root`] first and skip with a message when
//! it is false, so `cargo test` stays green for unprivileged developers;
//! CI runs as root and so runs them all.

mod netns;
mod raw;

pub use netns::NetNs;
pub use raw::RawSender;

/// Whether the tests may create namespaces and attach XDP programs.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}
