//! Small wrappers over the system tools the tests drive (`ip`, `ethtool`,
//! sysctl files) and over waiting: every command's failure names the
//! command and its stderr, and every wait has a deadline.

use std::{
    env, fs,
    path::Path,
    process::Command,
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use nix::sched::{CloneFlags, setns};

/// Runs `ip` with `args`; fails with its stderr.
pub(crate) fn ip(args: &[&str]) -> Result<()> {
    run(Command::new("ip").args(args))
}

/// Runs `cmd` to completion; fails with its stderr when it fails.
pub(crate) fn run(cmd: &mut Command) -> Result<()> {
    let out = cmd.output().with_context(|| format!("starting {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Runs `f` on a thread that has entered the named network namespace
/// (`/run/netns/<name>`): sockets it opens and processes it spawns live
/// there. Only that thread moves, so the rest of the test (and the other
/// tests) stay where they were.
pub(crate) fn run_in_namespace<T: Send>(name: &str, f: impl FnOnce() -> T + Send) -> Result<T> {
    let path = Path::new("/run/netns").join(name);
    let ns = fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
    thread::scope(|s| {
        s.spawn(|| {
            setns(&ns, CloneFlags::CLONE_NEWNET)
                .with_context(|| format!("entering namespace {name}"))?;
            Ok(f())
        })
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Whether `tool` is an executable file in a directory of `PATH`.
pub fn on_path(tool: &str) -> bool {
    env::var_os("PATH")
        .is_some_and(|paths| env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
}

/// Turns IPv6 off on `iface` (in the calling thread's namespace), so the
/// kernel sends no neighbour discovery or MLD frames of its own.
pub(crate) fn disable_ipv6(iface: &str) -> Result<()> {
    let path = format!("/proc/sys/net/ipv6/conf/{iface}/disable_ipv6");
    // A kernel without IPv6 has no such file and sends no IPv6 either.
    if Path::new(&path).exists() {
        fs::write(&path, "1").with_context(|| format!("writing {path}"))?;
    }
    Ok(())
}

/// Polls `check` every 50 ms until it returns `Some`, or fails after
/// `timeout` with `what` in the message.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check()? {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        thread::sleep(Duration::from_millis(50));
    }
}
