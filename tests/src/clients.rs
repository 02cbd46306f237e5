//! Real DHCP clients in a namespace: ISC [`Dhclient`] and busybox
//! [`Udhcpc`].
//!
//! Neither runs its stock hook script: those rewrite the host's
//! `/etc/resolv.conf` even from inside a network namespace. Each gets a
//! script of ours that appends `<event> <address>` to an event file and
//! sets the address on the interface (busybox sends its RENEW and RELEASE
//! from the leased address, so the address must really be there). The
//! event file's path is written into the script, because dhclient runs
//! its script with a scrubbed environment. The guards stop their client on
//! drop; the namespace's own guard catches anything left.

use std::{
    fs,
    net::Ipv4Addr,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::Child,
    time::Duration,
};

use anyhow::{Context, Result, bail};
use nix::{
    sys::signal::{Signal, kill},
    unistd::Pid,
};

use crate::{Namespace, sys::wait_for};

/// How long a client may take to exit once told to.
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);

/// `@EVENTS@` is replaced by the event file's path.
const DHCLIENT_SCRIPT: &str = r#"#!/bin/sh
# dhclient -sf script of the tests: log, and set the address in this
# namespace only (never the stock script: it rewrites /etc/resolv.conf).
echo "$reason ${new_ip_address:-${old_ip_address:-}}" >>"@EVENTS@"
case "$reason" in
  PREINIT) ip link set "$interface" up ;;
  BOUND|RENEW|REBIND|REBOOT)
    ip addr replace "$new_ip_address/${new_subnet_mask:-24}" dev "$interface" ;;
  RELEASE|EXPIRE|FAIL|STOP)
    [ -n "${old_ip_address:-}" ] && ip addr del "$old_ip_address/${old_subnet_mask:-24}" dev "$interface" ;;
esac
exit 0
"#;

const UDHCPC_SCRIPT: &str = r#"#!/bin/sh
# udhcpc -s script of the tests: log, and set the address in this
# namespace only; busybox sends RENEW and RELEASE from the leased address.
echo "$1 ${ip:-}" >>"@EVENTS@"
case "$1" in
  deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew) ip addr replace "$ip/${mask:-24}" dev "$interface" ;;
esac
exit 0
"#;

/// The event file a client script appends to: `<event> <address>` lines.
struct Events {
    path: PathBuf,
}

impl Events {
    fn lines(&self) -> Vec<(String, Option<Ipv4Addr>)> {
        fs::read_to_string(&self.path)
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let mut w = l.split_whitespace();
                let event = w.next().unwrap_or_default().to_owned();
                (event, w.next().and_then(|a| a.parse().ok()))
            })
            .collect()
    }

    fn count(&self, event: &str) -> usize {
        self.lines().iter().filter(|(e, _)| e == event).count()
    }

    /// Waits for the (`seen` + 1)-th line of any of `events` and returns
    /// its address.
    fn wait(&self, events: &[&str], seen: usize, timeout: Duration) -> Result<Ipv4Addr> {
        let what = format!("client event {}", events.join("/"));
        wait_for(&what, timeout, || {
            Ok(self
                .lines()
                .into_iter()
                .filter(|(e, _)| events.contains(&e.as_str()))
                .nth(seen)
                .map(|(_, a)| a))
        })
        .with_context(|| format!("events so far: {:?}", self.lines()))?
        .with_context(|| format!("{what} without an address"))
    }
}

/// Writes a client script that logs to `events`.
fn write_script(dir: &Path, name: &str, text: &str, events: &Events) -> Result<PathBuf> {
    let path = dir.join(name);
    let events = events.path.to_str().context("non-UTF-8 scratch path")?;
    fs::write(&path, text.replace("@EVENTS@", events))
        .with_context(|| format!("writing {}", path.display()))?;
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755))?;
    Ok(path)
}

fn stop(child: &mut Child, signal: Signal) -> Result<()> {
    if child.try_wait()?.is_none() {
        kill(Pid::from_raw(child.id() as i32), signal)?;
    }
    wait_for("the client to exit", EXIT_TIMEOUT, || Ok(child.try_wait()?)).map(drop)
}

fn kill_on_drop(child: &mut Child) {
    if matches!(child.try_wait(), Ok(None)) {
        // The process may exit between the check and the signal.
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// ISC dhclient in the foreground (`-d`) on one interface.
pub struct Dhclient<'n> {
    ns: &'n Namespace,
    iface: String,
    files: [PathBuf; 4],
    events: Events,
    child: Child,
}

impl<'n> Dhclient<'n> {
    /// Starts dhclient on `iface` of `ns`, keeping its files in `dir`.
    pub fn start(ns: &'n Namespace, iface: &str, dir: &Path) -> Result<Self> {
        // An empty configuration: dhclient's defaults, no host name.
        let conf = dir.join("dhclient.conf");
        fs::write(&conf, "")?;
        let events = Events {
            path: dir.join("dhclient-events.log"),
        };
        let script = write_script(dir, "dhclient-script.sh", DHCLIENT_SCRIPT, &events)?;
        let files = [
            conf,
            script,
            dir.join("dhclient.leases"),
            dir.join("dhclient.pid"),
        ];
        let log = fs::File::create(dir.join("dhclient.out"))?;
        let mut cmd = ns.command("dhclient");
        cmd.args(["-4", "-d", "-v"])
            .args(Self::file_args(&files))
            .arg(iface)
            .stdout(log.try_clone()?)
            .stderr(log);
        let child = cmd.spawn().context("starting dhclient")?;
        Ok(Self {
            ns,
            iface: iface.to_owned(),
            files,
            events,
            child,
        })
    }

    fn file_args(files: &[PathBuf; 4]) -> Vec<&std::ffi::OsStr> {
        let [conf, script, leases, pid] = files;
        let mut args = Vec::new();
        for (flag, path) in [
            ("-cf", conf),
            ("-sf", script),
            ("-lf", leases),
            ("-pf", pid),
        ] {
            args.push(flag.as_ref());
            args.push(path.as_os_str());
        }
        args
    }

    /// Waits for the first lease (BOUND) and returns its address.
    pub fn wait_bound(&self, timeout: Duration) -> Result<Ipv4Addr> {
        self.events.wait(&["BOUND", "REBOOT"], 0, timeout)
    }

    /// Waits for the `n`-th renewal (0 is the first) and returns its address.
    pub fn wait_renewed(&self, n: usize, timeout: Duration) -> Result<Ipv4Addr> {
        self.events.wait(&["RENEW"], n, timeout)
    }

    /// `dhclient -r`: the running client is stopped and the lease released.
    pub fn release(mut self) -> Result<()> {
        let out = self
            .ns
            .command("dhclient")
            .args(["-4", "-r", "-v"])
            .args(Self::file_args(&self.files))
            .arg(&self.iface)
            .output()
            .context("running dhclient -r")?;
        if !out.status.success() {
            bail!(
                "dhclient -r failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        stop(&mut self.child, Signal::SIGTERM)?;
        if self.events.count("RELEASE") == 0 {
            bail!("dhclient -r ran no RELEASE: {:?}", self.events.lines());
        }
        Ok(())
    }
}

impl Drop for Dhclient<'_> {
    fn drop(&mut self) {
        kill_on_drop(&mut self.child);
    }
}

/// busybox udhcpc in the foreground (`-f`), releasing on exit (`-R`).
pub struct Udhcpc {
    events: Events,
    child: Child,
}

impl Udhcpc {
    /// Starts udhcpc on `iface` of `ns`, keeping its files in `dir`.
    pub fn start(ns: &Namespace, iface: &str, dir: &Path) -> Result<Self> {
        Self::start_with(ns, iface, dir, &[])
    }

    /// The same with more udhcpc arguments (`-V VENDOR`, `-x OPT:VALUE`).
    pub fn start_with(ns: &Namespace, iface: &str, dir: &Path, extra: &[&str]) -> Result<Self> {
        let events = Events {
            path: dir.join("udhcpc-events.log"),
        };
        let script = write_script(dir, "udhcpc-script.sh", UDHCPC_SCRIPT, &events)?;
        let log = fs::File::create(dir.join("udhcpc.out"))?;
        let child = ns
            .command("busybox")
            // Five DISCOVERs two seconds apart, then a pause of five.
            .args([
                "udhcpc", "-f", "-R", "-t", "5", "-T", "2", "-A", "5", "-i", iface,
            ])
            .args(extra)
            .arg("-s")
            .arg(&script)
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting busybox udhcpc")?;
        Ok(Self { events, child })
    }

    /// Waits for the first lease and returns its address.
    pub fn wait_bound(&self, timeout: Duration) -> Result<Ipv4Addr> {
        self.events.wait(&["bound"], 0, timeout)
    }

    /// Asks for a renewal now (SIGUSR1: a REQUEST unicast to the server)
    /// and waits for its ACK; returns the address.
    pub fn renew(&self, timeout: Duration) -> Result<Ipv4Addr> {
        let seen = self.events.count("renew");
        kill(Pid::from_raw(self.child.id() as i32), Signal::SIGUSR1)?;
        self.events.wait(&["renew"], seen, timeout)
    }

    /// SIGTERM: with `-R`, udhcpc releases its lease and exits.
    pub fn release(mut self) -> Result<()> {
        stop(&mut self.child, Signal::SIGTERM)
    }
}

impl Drop for Udhcpc {
    fn drop(&mut self) {
        kill_on_drop(&mut self.child);
    }
}
