//! The lease store seen from outside: a full disk withholds ACKs instead of
//! promising leases the server could forget, and service resumes when
//! space returns; a backup restored into an empty store brings every lease
//! back.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use dhcp_wire::MessageType;
use tests::addr::{GIADDR, SERVER_DIRECT_IF, SERVER_RELAY_IF};
use tests::dhcp::Relay;
use tests::{Daemon, Topology, can_run, wait_for, xdhcpd_bin};

const TIMEOUT: Duration = Duration::from_millis(700);

fn config(state_dir: &Path, extra: &str) -> String {
    format!(
        r#"[server]
interfaces = ["{SERVER_DIRECT_IF}", "{SERVER_RELAY_IF}"]
state_dir = "{}"
{extra}

[[scope]]
name = "relayed"
subnet = "10.79.0.0/16"
ranges = ["10.79.1.0-10.79.255.250"]
lease_time = "1h"
options = {{ routers = ["{GIADDR}"] }}
"#,
        state_dir.display()
    )
}

fn mac_of(client: u32) -> [u8; 6] {
    let b = client.to_be_bytes();
    [0x02, 0xdd, b[0], b[1], b[2], b[3]]
}

/// A small tmpfs, unmounted on drop (also when the test fails).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: PathBuf, size: &str) -> Tmpfs {
        std::fs::create_dir_all(&at).expect("mount point");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&at)
            .status()
            .expect("mount")
            .success();
        assert!(ok, "mounting a tmpfs at {}", at.display());
        Tmpfs(at)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the filesystem of `dir` with one file; returns its path.
fn fill(dir: &Path) -> PathBuf {
    let ballast = dir.join("ballast");
    // dd stops with "No space left on device": that is the point.
    let _ = Command::new("dd")
        .args(["if=/dev/zero", "bs=64k"])
        .arg(format!("of={}", ballast.display()))
        .output();
    ballast
}

#[test]
fn full_disk_withholds_acks_and_service_resumes() {
    if !can_run("full_disk_withholds_acks", &["mount", "dd"]) {
        return;
    }
    let topo = Topology::new().expect("topology");
    let disk = Tmpfs::mount(topo.scratch.path().join("disk"), "8M");
    let state = disk.0.join("state");
    let daemon =
        Daemon::start(&topo.server, topo.scratch.path(), &config(&state, "")).expect("daemon");
    let relay = Relay::open(&topo.relay).expect("relay");
    let before = relay
        .dora(1, mac_of(1), TIMEOUT)
        .expect("a lease while the disk has room");

    let ballast = fill(&disk.0);
    // The fjall journal writes into free blocks: with none left, commits
    // fail and the ACKs that waited for them are withheld.
    let mut refused = 0;
    for client in 2..40 {
        if relay.dora(client, mac_of(client), TIMEOUT).is_none() {
            refused += 1;
        }
    }
    assert!(refused > 0, "every ACK went out although the disk was full");
    std::fs::remove_file(&ballast).expect("freeing the disk");
    let after = wait_for(
        "an ACK once the disk has room again",
        Duration::from_secs(10),
        || Ok(relay.dora(100, mac_of(100), TIMEOUT)),
    )
    .expect("service resumes");
    assert_ne!(
        after, before,
        "the first client's address must stay its own"
    );
    let counters = daemon.stop().expect("clean stop");
    assert!(counters.get("store_errors").unwrap() > 0, "{counters:?}");
    assert!(counters.get("withheld").unwrap() > 0, "{counters:?}");
}

#[test]
fn backup_and_restore_bring_every_lease_back() {
    if !can_run("backup_and_restore", &[]) {
        return;
    }
    let topo = Topology::new().expect("topology");
    let state = topo.scratch.path().join("state");
    let backups = topo.scratch.path().join("backups");
    let extra = format!(
        "backup_dir = \"{}\"\nbackup_interval = \"1m\"",
        backups.display()
    );
    let cfg = config(&state, &extra);
    let daemon = Daemon::start(&topo.server, topo.scratch.path(), &cfg).expect("daemon");
    let relay = Relay::open(&topo.relay).expect("relay");
    let leases: Vec<(u32, Ipv4Addr)> = (0..50)
        .map(|c| (c, relay.dora(c, mac_of(c), TIMEOUT).expect("lease")))
        .collect();
    // The first backup is taken a second after start; wait for one that
    // holds all 50 leases (written after them).
    let file = wait_for("a backup with every lease", Duration::from_secs(80), || {
        let newest = std::fs::read_dir(&backups).ok().and_then(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
                .max()
        });
        Ok(newest
            .filter(|p| std::fs::read_to_string(p).is_ok_and(|t| t.lines().count() > leases.len())))
    })
    .expect("backup");
    daemon.stop().expect("clean stop");

    std::fs::remove_dir_all(&state).expect("losing the lease store");
    let config_path = topo.scratch.path().join("restore.toml");
    std::fs::write(&config_path, &cfg).unwrap();
    let out = Command::new(xdhcpd_bin().unwrap())
        .args(["restore", "--workers", "2", "--config"])
        .arg(&config_path)
        .arg("--from")
        .arg(&file)
        .output()
        .expect("xdhcpd restore");
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "restore failed: {text}");
    assert!(text.contains("1040"), "no event 1040: {text}");

    let daemon =
        Daemon::start(&topo.server, topo.scratch.path(), &cfg).expect("daemon after restore");
    // A newcomer must not get a restored address; every client renews its own.
    let newcomer = relay
        .dora(999, mac_of(999), TIMEOUT)
        .expect("newcomer lease");
    assert!(
        leases.iter().all(|(_, a)| *a != newcomer),
        "{newcomer} was restored for someone else"
    );
    for (c, addr) in &leases {
        assert_eq!(
            relay.renew(0x7000 + c, mac_of(*c), *addr, TIMEOUT),
            Some((MessageType::Ack, *addr))
        );
    }
    daemon.stop().expect("clean stop");
}
