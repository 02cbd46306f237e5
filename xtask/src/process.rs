//! Child processes of the root tasks (`demo`, `bench`): Ctrl-C handling,
//! bounded waits, and stopping what they started.
//!
//! SIGINT and SIGTERM only set a flag that every wait checks, so a task
//! unwinds through its teardown (namespaces, processes) instead of dying
//! with them left behind. The children it starts run in process groups of
//! their own (see `netns::in_ns`), so the terminal's Ctrl-C reaches only
//! the task, which then stops them.

use std::{
    env,
    path::PathBuf,
    process::{Child, Command},
    sync::atomic::{AtomicBool, Ordering},
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use nix::{
    sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, kill, sigaction},
    unistd::Pid,
};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_interrupt(_: nix::libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Turns SIGINT and SIGTERM into the flag that [`check_interrupted`] reads.
///
/// No `SA_RESTART`: a blocking system call (a lock wait) returns `EINTR`,
/// so it cannot outlive the interrupt either.
pub fn catch_interrupts() -> Result<()> {
    let action = SigAction::new(
        SigHandler::Handler(on_interrupt),
        SaFlags::empty(),
        SigSet::empty(),
    );
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is
        // async-signal-safe.
        unsafe { sigaction(signal, &action) }
            .with_context(|| format!("installing a {signal} handler"))?;
    }
    Ok(())
}

pub fn check_interrupted() -> Result<()> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        bail!("interrupted");
    }
    Ok(())
}

/// Polls `check` every 100 ms until it returns `Some`; fails after
/// `timeout`, or at once when interrupted.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        check_interrupted()?;
        if let Some(v) = check()? {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            bail!("timed out after {} s waiting for {what}", timeout.as_secs());
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// Sleeps `d`, or less when interrupted (then fails).
pub fn sleep(d: Duration) -> Result<()> {
    let deadline = Instant::now() + d;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        check_interrupted()?;
        thread::sleep(left.min(Duration::from_millis(100)));
    }
    check_interrupted()
}

pub fn on_path(tool: &str) -> bool {
    let path = env::var_os("PATH").unwrap_or_default();
    // Root's tools live in sbin, which a sudo'd PATH may lack.
    env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .any(|dir| dir.join(tool).is_file())
}

/// Runs `cmd` to completion; fails with its stderr.
pub fn run_cmd(cmd: &mut Command) -> Result<String> {
    let out = cmd.output().with_context(|| format!("starting {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// SIGTERM, up to 3 s to exit, then SIGKILL.
pub fn stop(child: &mut Child) {
    if !matches!(child.try_wait(), Ok(None)) {
        return;
    }
    let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(3);
    while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
    }
    // It may have exited since the last check.
    let _ = child.kill();
    let _ = child.wait();
}
