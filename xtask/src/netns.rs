//! Network namespaces for the root tasks: commands inside them, their
//! removal, and what their sockets show.

use std::{ffi::OsStr, os::unix::process::CommandExt, path::Path, process::Command};

use nix::{
    sys::signal::{Signal, kill},
    unistd::Pid,
};

use crate::process::run_cmd;

pub fn ip(args: &[&str]) -> anyhow::Result<()> {
    run_cmd(Command::new("ip").args(args)).map(drop)
}

/// A command run inside namespace `ns`, in a process group of its own so
/// that the terminal's Ctrl-C reaches only the task, which then stops it.
/// `ip netns exec` execs the program: the child's pid is the program's.
pub fn in_ns(ns: &str, program: impl AsRef<OsStr>) -> Command {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns])
        .arg(program)
        .stdin(std::process::Stdio::null())
        .process_group(0);
    cmd
}

pub fn exists(ns: &str) -> bool {
    Path::new("/run/netns").join(ns).exists()
}

/// Kills whatever still runs in namespace `ns`, then deletes it.
pub fn remove(ns: &str) {
    if let Ok(pids) = run_cmd(Command::new("ip").args(["netns", "pids", ns])) {
        for pid in pids.split_whitespace().filter_map(|p| p.parse().ok()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
    if let Err(err) = ip(&["netns", "del", ns]) {
        eprintln!("teardown of namespace {ns}: {err:#}");
    }
}

/// Whether a UDP socket in `ns` is bound to `port` (from the namespace's
/// `/proc/net/udp`, whose local port column is `ADDR:PORT` in hex).
pub fn udp_port_bound(ns: &str, port: u16) -> bool {
    let Ok(table) = run_cmd(in_ns(ns, "cat").arg("/proc/net/udp")) else {
        return false;
    };
    let wanted = format!(":{port:04X}");
    table
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(1))
        .any(|local| local.ends_with(&wanted))
}
