//! `cargo xtask test`: the project's test command.
//!
//! Runs `setup` first so that a fresh machine (as root, for the network
//! namespace tests) needs nothing else, then builds the daemon binary
//! (cargo builds a package's binaries only for that package's own tests,
//! and the end-to-end tests live in the `tests` package), then the whole
//! workspace's tests with `XDHCPD_BIN` naming that binary, then the
//! end-to-end tests again on each XDP datapath.

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
    let bin = ws.target_dir().join("debug/xdhcpd");
    exec(
        "cargo test --workspace",
        ws.cargo()
            .env("XDHCPD_BIN", &bin)
            .args(["test", "--workspace"])
            .args(extra),
    )?;
    // The end-to-end suite once more on each XDP datapath (the run above
    // used io_uring): same tests, same clients, another datapath under them.
    for datapath in XDP_DATAPATHS {
        exec(
            &format!("cargo test -p tests (XDHCPD_TEST_DATAPATH={datapath})"),
            ws.cargo()
                .env("XDHCPD_BIN", &bin)
                .env("XDHCPD_TEST_DATAPATH", datapath)
                .args(["test", "-p", "tests"])
                .args(extra),
        )?;
    }
    Ok(())
}

/// The `--datapath` values the end-to-end suite runs on besides io_uring.
const XDP_DATAPATHS: [&str; 2] = ["xdp-native", "xdp-generic"];
