//! [`Daemon`]: the real xdhcpd binary running in a namespace, and
//! [`check_config`] for its configuration checker.
//!
//! The daemon logs JSON (`--log-format json`) to a file in the test's
//! scratch directory; the guard reads that file to wait for events (1024,
//! "ready", before any client starts) and to find the final counters that
//! a SIGTERM makes it log. On drop it kills a daemon that is still running
//! and, when the test failed, prints the end of its log.

use std::{
    collections::BTreeMap,
    env, fs,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Output, Stdio},
    thread,
    time::Duration,
};

use anyhow::{Context, Result, bail};
use nix::{
    sys::signal::{Signal, kill},
    unistd::Pid,
};
use serde_json::Value;

use crate::{Namespace, sys::wait_for};

/// Event id of `EVENT_SERVER_INIT_AND_READY`: the daemon serves.
pub const EVENT_READY: u64 = 1024;
/// How long the daemon may take to start serving.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the daemon may take to drain and exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// Log lines shown when a test fails.
const TAIL_LINES: usize = 40;

/// The xdhcpd binary under test: `XDHCPD_BIN` (set by `cargo xtask test`),
/// else the workspace's debug build.
pub fn xdhcpd_bin() -> Result<PathBuf> {
    if let Some(bin) = env::var_os("XDHCPD_BIN") {
        let bin = PathBuf::from(bin);
        if bin.is_file() {
            return Ok(bin);
        }
        bail!(
            "XDHCPD_BIN={} does not exist; run `cargo xtask test`",
            bin.display()
        );
    }
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/xdhcpd");
    if bin.is_file() {
        return Ok(bin);
    }
    bail!(
        "no xdhcpd binary (XDHCPD_BIN is unset and {} does not exist): \
         run `cargo xtask test`, which builds it first",
        bin.display()
    )
}

/// Runs `xdhcpd check-config <path>` and returns its exit status and output.
pub fn check_config(path: &Path) -> Result<Output> {
    Command::new(xdhcpd_bin()?)
        .arg("check-config")
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .context("running xdhcpd check-config")
}

/// `config` with its lease store in `dir/state`, so every test's daemon has
/// its own (a `state_dir` the test sets itself wins).
fn with_state_dir(config: &str, dir: &Path) -> String {
    if config
        .lines()
        .any(|l| l.trim_start().starts_with("state_dir"))
    {
        return config.to_string();
    }
    let line = format!(
        "state_dir = {:?}\n",
        dir.join("state").display().to_string()
    );
    match config.find("[server]\n") {
        Some(at) => {
            let after = at + "[server]\n".len();
            format!("{}{line}{}", &config[..after], &config[after..])
        }
        None => format!("[server]\n{line}{config}"),
    }
}

/// The datapath the daemons of this test run use: `XDHCPD_TEST_DATAPATH`
/// (`uring`, `xdp-native`, `xdp-generic`, …: any `--datapath` value), else
/// `uring`. `cargo xtask test` runs the daemon suite once per datapath.
pub fn datapath() -> String {
    env::var("XDHCPD_TEST_DATAPATH").unwrap_or_else(|_| "uring".to_owned())
}

/// A running daemon (`run --datapath <datapath()> --workers 2 --log-format
/// json`).
pub struct Daemon {
    child: Child,
    config: PathBuf,
    log: PathBuf,
}

impl Daemon {
    /// Writes `config` to `dir`, starts the daemon in `ns` on the datapath
    /// [`datapath`] names and waits for it to log event 1024.
    pub fn start(ns: &Namespace, dir: &Path, config: &str) -> Result<Self> {
        Self::start_on(ns, dir, config, &datapath())
    }

    /// [`Self::start`] on the datapath `datapath` (a `--datapath` value),
    /// for tests of one datapath in particular.
    pub fn start_on(ns: &Namespace, dir: &Path, config: &str, datapath: &str) -> Result<Self> {
        let config_path = dir.join("xdhcpd.toml");
        fs::write(&config_path, with_state_dir(config, dir))
            .context("writing the daemon's config")?;
        let log = dir.join("xdhcpd.log");
        let stderr = fs::File::create(&log).context("creating the daemon's log")?;
        let stdout = stderr.try_clone()?;
        let child = ns
            .command(xdhcpd_bin()?)
            .arg("run")
            .arg("--config")
            .arg(&config_path)
            .args([
                "--datapath",
                datapath,
                "--workers",
                "2",
                "--log-format",
                "json",
            ])
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .context("starting xdhcpd")?;
        let mut daemon = Self {
            child,
            config: config_path,
            log,
        };
        daemon
            .wait_ready(datapath)
            .with_context(|| format!("xdhcpd did not start; its log:\n{}", daemon.tail()))?;
        Ok(daemon)
    }

    fn wait_ready(&mut self, datapath: &str) -> Result<()> {
        let ready = wait_for("event 1024 (ready)", READY_TIMEOUT, || {
            if let Some(status) = self.child.try_wait()? {
                bail!("xdhcpd exited ({status}) before it was ready");
            }
            Ok(self.events(EVENT_READY).into_iter().next())
        })?;
        // A datapath that fell back would let the suite pass without
        // testing what it was asked to test.
        let running = ready.get("datapath").and_then(Value::as_str);
        let expected = match datapath {
            "uring" => Some("io_uring"),
            forced @ ("xdp-native" | "xdp-generic") => Some(forced),
            _ => None,
        }
        .map(str::to_owned);
        if expected.is_some() && running.map(str::to_owned) != expected {
            bail!("xdhcpd runs the {running:?} datapath, not {expected:?}");
        }
        Ok(())
    }

    /// The daemon's pid (for signals).
    pub fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Every log line as written (JSON objects, or whatever else the
    /// process printed, such as a panic message).
    pub fn lines(&self) -> Vec<String> {
        fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The JSON log records; lines that are not JSON objects are skipped.
    pub fn records(&self) -> Vec<Value> {
        self.lines()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(Value::is_object)
            .collect()
    }

    /// The records of Windows event `id`.
    pub fn events(&self, id: u64) -> Vec<Value> {
        self.records()
            .into_iter()
            .filter(|r| r.get("event_id").and_then(Value::as_u64) == Some(id))
            .collect()
    }

    /// Waits for a record of event `id` for which `pred` holds.
    pub fn wait_event(
        &self,
        id: u64,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Result<Value> {
        wait_for(&format!("event {id} in the daemon log"), timeout, || {
            Ok(self.events(id).into_iter().find(|r| pred(r)))
        })
        .with_context(|| format!("daemon log:\n{}", self.tail()))
    }

    /// Replaces the configuration file with `config` and sends SIGHUP.
    pub fn reload(&self, config: &str) -> Result<()> {
        let dir = self
            .config
            .parent()
            .context("config path has a directory")?;
        fs::write(&self.config, with_state_dir(config, dir))
            .context("rewriting the daemon's config")?;
        kill(self.pid(), Signal::SIGHUP).context("SIGHUP to xdhcpd")
    }

    /// SIGTERM, then waits for the exit; fails unless the daemon exits 0
    /// and logs its final counters.
    pub fn stop(mut self) -> Result<Counters> {
        kill(self.pid(), Signal::SIGTERM).context("SIGTERM to xdhcpd")?;
        let status = self.wait_exit()?;
        if !status.success() {
            bail!(
                "xdhcpd exited with {status} after SIGTERM; its log:\n{}",
                self.tail()
            );
        }
        Counters::from_log(&self.records())
            .with_context(|| format!("after SIGTERM; the daemon log:\n{}", self.tail()))
    }

    fn wait_exit(&mut self) -> Result<ExitStatus> {
        wait_for("xdhcpd to exit", STOP_TIMEOUT, || {
            Ok(self.child.try_wait()?)
        })
        .with_context(|| format!("its log:\n{}", self.tail()))
    }

    /// The last lines of the log, for failure messages.
    pub fn tail(&self) -> String {
        let lines = self.lines();
        lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.is_running() {
            // The process may exit between the check and the signal.
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if thread::panicking() {
            eprintln!("--- xdhcpd log (last lines) ---\n{}", self.tail());
        }
    }
}

/// The numbers of the daemon's `"final counters"` log record.
#[derive(Debug, Clone)]
pub struct Counters(pub BTreeMap<String, u64>);

impl Counters {
    /// Finds the `"final counters"` record in `records`.
    pub fn from_log(records: &[Value]) -> Result<Self> {
        let record = records
            .iter()
            .rev()
            .find(|r| r.get("message").and_then(Value::as_str) == Some("final counters"))
            .context("no log record with message \"final counters\"")?;
        let fields = record.as_object().context("the record is not an object")?;
        Ok(Self(
            fields
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_u64()?)))
                .collect(),
        ))
    }

    /// Counter `name`; fails naming the counters there are when absent.
    pub fn get(&self, name: &str) -> Result<u64> {
        self.0.get(name).copied().with_context(|| {
            format!(
                "no numeric counter {name:?} in the final counters {:?}",
                self.0
            )
        })
    }
}

/// Whether a log record mentions `ip` in any field or in its message,
/// whatever the field is called (`10.77.0.10` does not match `10.77.0.100`).
pub fn mentions(record: &Value, ip: std::net::Ipv4Addr) -> bool {
    let text = record.to_string();
    let ip = ip.to_string();
    text.match_indices(&ip).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + ip.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit() || c == '.')
            && !after.is_some_and(|c| c.is_ascii_digit())
    })
}
