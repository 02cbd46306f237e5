//! `cargo xtask test`: the project's test command.
//!
//! Runs `setup` first so that a fresh machine (as root, for the network
//! namespace tests) needs nothing else, then the whole workspace's tests.

use anyhow::Result;

use crate::{
    setup,
    workspace::{Workspace, exec},
};

pub fn run(ws: &Workspace, extra: &[String]) -> Result<()> {
    setup::run(ws)?;
    exec(
        "cargo test --workspace",
        ws.cargo().args(["test", "--workspace"]).args(extra),
    )
}
