//! `cargo xtask test`: the project's test command.
//!
//! Runs `setup` first so that a fresh machine (as root, for the network
//! namespace tests) needs nothing else, then builds the daemon binary
//! (cargo builds a package's binaries only for that package's own tests,
//! and the end-to-end tests live in the `tests` package), then the whole
//! workspace's tests with `XDHCPD_BIN` naming that binary.

use std::{env, path::PathBuf};

use anyhow::Result;

use crate::{
    setup,
    workspace::{Workspace, exec},
};

pub fn run(ws: &Workspace, extra: &[String]) -> Result<()> {
    setup::run(ws)?;
    exec(
        "cargo build -p dhcp-user --bin xdhcpd",
        ws.cargo()
            .args(["build", "-p", "dhcp-user", "--bin", "xdhcpd"]),
    )?;
    exec(
        "cargo test --workspace",
        ws.cargo()
            .env("XDHCPD_BIN", target_dir(ws).join("debug/xdhcpd"))
            .args(["test", "--workspace"])
            .args(extra),
    )
}

/// Where cargo puts what it builds: `CARGO_TARGET_DIR` (relative to the
/// workspace when relative) or `<workspace>/target`.
pub fn target_dir(ws: &Workspace) -> PathBuf {
    env::var_os("CARGO_TARGET_DIR").map_or_else(|| ws.root.join("target"), |dir| ws.root.join(dir))
}
