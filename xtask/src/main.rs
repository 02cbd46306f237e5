//! `cargo xtask <command>`: the project's build and CI entry points.
//!
//! Every command is plain Rust over `cargo`, `rustup` and `rustc`, so a
//! fresh machine needs nothing but the toolchain to run them. The commands
//! never take the cargo lock themselves: callers wrap `cargo xtask` in
//! `flock` when builds on the machine must be serialised, and the nested
//! cargo runs inherit that lock.

mod ci;
mod demo;
mod setup;
mod test;
mod workspace;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "xdhcpd build and CI tasks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install the rustup components and build bpf-linker into `.tools/`.
    Setup,
    /// Run `setup`, then `cargo test --workspace` with any extra arguments.
    Test {
        /// Passed to `cargo test` as they are (e.g. `-- --nocapture`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// What CI runs: setup, rustfmt, clippy, then the tests.
    Ci,
    /// As root: build xdhcpd and serve real DHCP clients (dhclient,
    /// udhcpc, perfdhcp) in network namespaces; installs them if missing.
    Demo,
}

fn main() -> anyhow::Result<()> {
    let ws = workspace::Workspace::locate()?;
    match Cli::parse().command {
        Command::Setup => setup::run(&ws),
        Command::Test { args } => test::run(&ws, &args),
        Command::Ci => ci::run(&ws),
        Command::Demo => demo::run(&ws),
    }
}
