//! `xdhcpd`: the DHCP server daemon.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use dhcp_user::config;
use dhcp_user::daemon::log::{self, LogFormat};
use dhcp_user::daemon::{self, DatapathChoice, RunOptions};

/// xdhcpd — a kernel-bypass DHCPv4 server.
#[derive(Parser)]
#[command(
    version,
    about = "xdhcpd: a kernel-bypass DHCPv4 server for ISP edges and large campus networks",
    long_about = "xdhcpd: a kernel-bypass DHCPv4 server for ISP edges and large campus networks.\n\n\
        `xdhcpd run --config FILE` serves DHCP until SIGTERM (SIGHUP reloads the configuration, \
        keeping leases); `xdhcpd check-config FILE` validates a configuration and lists every error \
        with the field it is in. See examples/xdhcpd.toml for a commented configuration."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve DHCP until SIGTERM (SIGHUP reloads the configuration).
    Run {
        /// The configuration file (TOML; see examples/xdhcpd.toml).
        #[arg(long, short)]
        config: PathBuf,
        /// Datapath: `auto` picks the fastest one that works here.
        #[arg(long, value_enum, default_value_t = DatapathChoice::Auto)]
        datapath: DatapathChoice,
        /// Worker threads, each pinned to a core (default: one per core).
        #[arg(long)]
        workers: Option<usize>,
        /// Log lines as text or as one JSON object per line.
        #[arg(long, value_enum, default_value_t = LogFormat::Text)]
        log_format: LogFormat,
        /// UDP port to serve instead of 67 (for tests).
        #[arg(long, default_value_t = 67, hide = true)]
        port: u16,
    },
    /// Replace the lease store with a backup (the server must be stopped).
    Restore {
        /// The server's configuration file (it names the state directory).
        #[arg(long, short)]
        config: PathBuf,
        /// The backup file to restore (written by the server into `backup_dir`).
        #[arg(long)]
        from: PathBuf,
        /// Partitions to spread the leases over: the server's worker count
        /// (default: one per core, as `run` uses).
        #[arg(long)]
        workers: Option<usize>,
    },
    /// Check a configuration file: exit 0 if valid, else list every error.
    CheckConfig {
        /// The configuration file to check.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::CheckConfig { file } => match config::load(&file) {
            Ok(cfg) => {
                let reservations: usize = cfg.scopes.iter().map(|s| s.reservations.len()).sum();
                let addresses: u64 = cfg
                    .scopes
                    .iter()
                    .flat_map(|s| &s.ranges)
                    .map(|r| u64::from(r.size()))
                    .sum();
                println!(
                    "{}: valid — {} scope(s), {} dynamic address(es), {} reservation(s)",
                    file.display(),
                    cfg.scopes.len(),
                    addresses,
                    reservations
                );
                ExitCode::SUCCESS
            }
            Err(errors) => {
                eprint!("{}: {errors}", file.display());
                ExitCode::FAILURE
            }
        },
        Command::Restore {
            config,
            from,
            workers,
        } => {
            log::init(LogFormat::Text);
            let workers = workers
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            match daemon::restore::run(&config, &from, workers) {
                Ok(_) => ExitCode::SUCCESS,
                Err(_) => ExitCode::FAILURE,
            }
        }
        Command::Run {
            config,
            datapath,
            workers,
            log_format,
            port,
        } => {
            log::init(log_format);
            match daemon::run(&RunOptions {
                config,
                datapath,
                workers,
                port,
            }) {
                Ok(()) => ExitCode::SUCCESS,
                Err(_) => ExitCode::FAILURE,
            }
        }
    }
}
