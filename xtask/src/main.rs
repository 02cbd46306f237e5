//! `cargo xtask <command>`: the project's build and CI entry points.
//!
//! Every command is plain Rust over `cargo`, `rustup` and `rustc`, so a
//! fresh machine needs nothing but the toolchain to run them. The commands
//! never take the cargo lock themselves: callers wrap `cargo xtask` in
//! `flock` when builds on the machine must be serialised, and the nested
//! cargo runs inherit that lock.

mod bench;
mod ci;
mod daemon_log;
mod demo;
mod netns;
mod process;
mod setup;
mod test;
mod workspace;

use std::path::PathBuf;

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
    /// What CI runs: setup, rustfmt, clippy, the tests, then `bench --quick`.
    Ci,
    /// As root: build xdhcpd and serve real DHCP clients (dhclient,
    /// udhcpc, perfdhcp) in network namespaces; installs them if missing.
    Demo,
    /// As root: criterion benches and the end-to-end matrix, xdhcpd (each
    /// datapath) vs Kea under xdhcp-loadgen; `--quick` is CI's check.
    #[command(long_about = bench::HELP)]
    Bench {
        /// CI mode: criterion once each, Kea's max clean rate by a short
        /// ramp, then xdhcpd on each datapath at that rate.
        #[arg(long)]
        quick: bool,
        /// Use the binaries of an earlier build (run without the cargo lock).
        #[arg(long, conflicts_with = "build_only")]
        no_build: bool,
        /// Build what the bench runs, then stop (run under the cargo lock).
        #[arg(long)]
        build_only: bool,
        /// Leave out the criterion micro-benchmarks.
        #[arg(long)]
        skip_criterion: bool,
        /// Where to write the results (default: target/bench-results.json).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Full mode: measure only these servers (xdhcpd-uring,
        /// xdhcpd-xdp-native, xdhcpd-xdp-generic, kea, reflector).
        #[arg(long, value_delimiter = ',', conflicts_with = "quick")]
        servers: Vec<String>,
        /// How xdhcp-loadgen and xdhcp-reflector put frames on the veth:
        /// AF_XDP where it can be set up (auto), AF_XDP only (xdp), or
        /// packet sockets (packet, the transport before AF_XDP).
        #[arg(long, default_value = "auto", value_parser = ["auto", "xdp", "packet"])]
        transport: String,
    },
}

fn main() -> anyhow::Result<()> {
    let ws = workspace::Workspace::locate()?;
    match Cli::parse().command {
        Command::Setup => setup::run(&ws),
        Command::Test { args } => test::run(&ws, &args),
        Command::Ci => ci::run(&ws),
        Command::Demo => demo::run(&ws),
        Command::Bench {
            quick,
            no_build,
            build_only,
            skip_criterion,
            out,
            servers,
            transport,
        } => {
            let build = match (no_build, build_only) {
                (true, _) => bench::Build::No,
                (_, true) => bench::Build::Only,
                _ => bench::Build::Yes,
            };
            bench::run(
                &ws,
                &bench::Options {
                    quick,
                    build,
                    skip_criterion,
                    out,
                    servers,
                    transport,
                },
            )
        }
    }
}
