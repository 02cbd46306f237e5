//! `cargo xtask ci`: what `.ci/run` runs once the system packages are in.
//!
//! Cheap checks first so that a formatting slip fails in seconds, not after
//! the build: setup, rustfmt, clippy, then the tests (whose own setup is a
//! quick no-op by then).

use anyhow::Result;

use crate::{
    setup, test,
    workspace::{Workspace, exec},
};

pub fn run(ws: &Workspace) -> Result<()> {
    setup::run(ws)?;
    exec(
        "cargo fmt --all --check",
        ws.cargo().args(["fmt", "--all", "--check"]),
    )?;
    // Clippy covers dhcp-ebpf too: its program compiles for the host (see
    // dhcp-ebpf/src/main.rs), so the host lint sees all of its code.
    exec(
        "cargo clippy --workspace --all-targets -- -D warnings",
        ws.cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    test::run(ws, &[])
}
