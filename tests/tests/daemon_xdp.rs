//! What only the XDP datapath does, in native and in generic mode: a
//! QinQ-tagged client is answered with both tags; ARP and ping to the
//! server still reach the kernel while the program is attached; a second
//! server on the same interface is refused (event 20090); the program is
//! detached when the daemon exits, also when it is killed.
//!
//! (The rest of the daemon suite runs on the XDP datapaths too: `cargo
//! xtask test` runs it once per datapath, see `tests::datapath`.)

use std::{
    net::Ipv4Addr,
    process::Stdio,
    thread,
    time::{Duration, Instant},
};

use dhcp_user::datapath::frame::{self, FrameAddrs, TPID_8021AD, TPID_8021Q, VlanTag, VlanTags};
use dhcp_wire::{Message, MessageType};
use nix::sys::signal::{Signal, kill};
use serde_json::Value;
use tests::{
    Daemon, Namespace, RawReceiver, RawSender, Topology,
    addr::{CLIENT_IF, LAN_FIRST, LAN_LAST, SERVER_DIRECT, SERVER_DIRECT_IF, in_range},
    can_run,
    dhcp::ClientMessage,
    xdhcpd_bin,
};

const MODES: [&str; 2] = ["xdp-native", "xdp-generic"];
const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 0x77, 0x0a, 0x01];
/// QinQ: service tag (802.1ad) VLAN 100 outside, customer tag (802.1Q)
/// VLAN 200 with priority 5 inside.
const OUTER: VlanTag = VlanTag {
    tpid: TPID_8021AD,
    tci: 100,
};
const INNER: VlanTag = VlanTag {
    tpid: TPID_8021Q,
    tci: (5 << 13) | 200,
};
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// A DISCOVER from `CLIENT_MAC` as a broadcast frame with both tags.
fn qinq_discover(xid: u32) -> Vec<u8> {
    let payload = ClientMessage::discover(xid, CLIENT_MAC).encode();
    let vlans = VlanTags::new(&[OUTER, INNER]).expect("two standard tags");
    let header = frame::header_len(vlans.len());
    let mut buf = vec![0u8; header + payload.len()];
    buf[header..].copy_from_slice(&payload);
    let addrs = FrameAddrs {
        src_mac: CLIENT_MAC,
        dst_mac: [0xff; 6],
        src_ip: Ipv4Addr::UNSPECIFIED,
        dst_ip: Ipv4Addr::BROADCAST,
        src_port: 68,
        dst_port: 67,
        vlans,
    };
    let len = frame::write_headers(&mut buf, &addrs, payload.len()).expect("fits");
    buf.truncate(len);
    buf
}

/// The hardware address of `iface` in `ns`.
fn mac_of(ns: &Namespace, iface: &str) -> [u8; 6] {
    let out = ns
        .command("ip")
        .args(["-o", "link", "show", iface])
        .output()
        .expect("ip link show");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mac = text
        .split_whitespace()
        .skip_while(|w| *w != "link/ether")
        .nth(1)
        .unwrap_or_else(|| panic!("no MAC in {text:?}"));
    let bytes: Vec<u8> = mac
        .split(':')
        .map(|b| u8::from_str_radix(b, 16).expect("hex"))
        .collect();
    bytes.try_into().expect("6 bytes")
}

/// Whether `ip link show` lists an XDP program on `iface` in `ns`.
fn xdp_attached(ns: &Namespace, iface: &str) -> bool {
    let out = ns
        .command("ip")
        .args(["-d", "link", "show", iface])
        .output()
        .expect("ip link show");
    String::from_utf8_lossy(&out.stdout).contains("prog/xdp")
}

#[test]
fn qinq_client_is_answered_with_both_tags() {
    if !can_run("qinq_client_is_answered_with_both_tags", &[]) {
        return;
    }
    for mode in MODES {
        let topo = Topology::new().expect("topology");
        let _daemon = Daemon::start_on(
            &topo.server,
            topo.scratch.path(),
            &Topology::config(""),
            mode,
        )
        .expect("daemon");
        let server_mac = mac_of(&topo.server, SERVER_DIRECT_IF);
        let xid = 0x9191_0001;
        let reply = topo
            .client
            .run_in(|| {
                let rx = RawReceiver::open(CLIENT_IF)?;
                RawSender::open(CLIENT_IF)?.send(&qinq_discover(xid))?;
                let deadline = Instant::now() + REPLY_TIMEOUT;
                while let Some(bytes) =
                    rx.recv(deadline.saturating_duration_since(Instant::now()))?
                {
                    if let Some(parsed) = frame::parse(&bytes)
                        && parsed.dst_port == 68
                        && Message::parse(&bytes[parsed.payload.clone()])
                            .is_ok_and(|m| m.xid() == xid)
                    {
                        return Ok(Some(bytes));
                    }
                }
                anyhow::Ok(None)
            })
            .expect("client namespace")
            .expect("capture")
            .unwrap_or_else(|| panic!("{mode}: no OFFER to the QinQ DISCOVER"));

        let parsed = frame::parse(&reply).expect("the OFFER frame parses");
        assert_eq!(parsed.vlans.as_slice(), [OUTER, INNER], "{mode}: tags");
        assert_eq!(parsed.src_mac, server_mac, "{mode}");
        // No broadcast bit, no address yet: unicast to chaddr.
        assert_eq!(parsed.dst_mac, CLIENT_MAC, "{mode}");
        assert_eq!(parsed.src_ip, SERVER_DIRECT, "{mode}");
        assert_eq!((parsed.src_port, parsed.dst_port), (67, 68), "{mode}");
        let offer = Message::parse(&reply[parsed.payload.clone()]).expect("DHCP");
        assert_eq!(offer.message_type(), Some(MessageType::Offer), "{mode}");
        assert!(in_range(offer.yiaddr(), LAN_FIRST, LAN_LAST), "{mode}");
        assert_eq!(parsed.dst_ip, offer.yiaddr(), "{mode}");
    }
}

#[test]
fn arp_and_ping_reach_the_kernel_while_xdp_is_attached() {
    if !can_run(
        "arp_and_ping_reach_the_kernel_while_xdp_is_attached",
        &["ping"],
    ) {
        return;
    }
    for mode in MODES {
        let topo = Topology::new().expect("topology");
        let _daemon = Daemon::start_on(
            &topo.server,
            topo.scratch.path(),
            &Topology::config(""),
            mode,
        )
        .expect("daemon");
        assert!(xdp_attached(&topo.server, SERVER_DIRECT_IF), "{mode}");
        topo.client
            .ip(&["addr", "add", "10.77.0.50/24", "dev", CLIENT_IF])
            .expect("client address");
        // An empty neighbour table: the ping must resolve the server by ARP
        // first, and the ARP reply comes from the server's kernel.
        let status = topo
            .client
            .command("ping")
            .args(["-c", "3", "-i", "0.2", "-W", "2"])
            .arg(SERVER_DIRECT.to_string())
            .stdout(Stdio::null())
            .status()
            .expect("ping");
        assert!(status.success(), "{mode}: ping to the server failed");
        let neigh = topo
            .client
            .command("ip")
            .args(["neigh", "show", &SERVER_DIRECT.to_string()])
            .output()
            .expect("ip neigh");
        let server_mac = mac_of(&topo.server, SERVER_DIRECT_IF)
            .map(|b| format!("{b:02x}"))
            .join(":");
        assert!(
            String::from_utf8_lossy(&neigh.stdout).contains(&server_mac),
            "{mode}: no ARP entry for the server: {}",
            String::from_utf8_lossy(&neigh.stdout)
        );
    }
}

#[test]
fn a_second_server_on_the_interface_is_refused_with_20090() {
    if !can_run(
        "a_second_server_on_the_interface_is_refused_with_20090",
        &[],
    ) {
        return;
    }
    for mode in MODES {
        let topo = Topology::new().expect("topology");
        let first = Daemon::start_on(
            &topo.server,
            topo.scratch.path(),
            &Topology::config(""),
            mode,
        )
        .expect("first daemon");
        // Another port, so the UDP bind succeeds and only the XDP hook is
        // in the way; its own lease store.
        let dir = topo.scratch.path().join("second");
        std::fs::create_dir_all(&dir).expect("second dir");
        let config = dir.join("xdhcpd.toml");
        let text = Topology::config("").replacen(
            "[server]\n",
            &format!("[server]\nstate_dir = {:?}\n", dir.join("state")),
            1,
        );
        std::fs::write(&config, text).expect("second config");
        let out = topo
            .server
            .command(xdhcpd_bin().expect("binary"))
            .arg("run")
            .arg("--config")
            .arg(&config)
            .args(["--datapath", mode, "--port", "1067", "--log-format", "json"])
            .output()
            .expect("second daemon");
        assert!(!out.status.success(), "{mode}: a second server started");
        let log = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        let refused = log
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|r| r.get("event_id").and_then(Value::as_u64) == Some(20090))
            .unwrap_or_else(|| panic!("{mode}: no event 20090 in:\n{log}"));
        assert!(
            refused.to_string().contains("XDP"),
            "{mode}: 20090 does not say the XDP hook is taken: {refused}"
        );
        // The first one is unharmed and still attached.
        assert!(xdp_attached(&topo.server, SERVER_DIRECT_IF), "{mode}");
        first.stop().expect("the first server stops cleanly");
        assert!(!xdp_attached(&topo.server, SERVER_DIRECT_IF), "{mode}");
    }
}

#[test]
fn the_program_is_detached_when_the_daemon_is_killed() {
    if !can_run("the_program_is_detached_when_the_daemon_is_killed", &[]) {
        return;
    }
    for mode in MODES {
        let topo = Topology::new().expect("topology");
        let mut daemon = Daemon::start_on(
            &topo.server,
            topo.scratch.path(),
            &Topology::config(""),
            mode,
        )
        .expect("daemon");
        assert!(xdp_attached(&topo.server, SERVER_DIRECT_IF), "{mode}");
        kill(daemon.pid(), Signal::SIGKILL).expect("SIGKILL");
        let deadline = Instant::now() + Duration::from_secs(5);
        while daemon.is_running() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        // The kernel releases the bpf link when its last descriptor closes,
        // which may lag the process's exit a little.
        while xdp_attached(&topo.server, SERVER_DIRECT_IF) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(50));
        }
        assert!(
            !xdp_attached(&topo.server, SERVER_DIRECT_IF),
            "{mode}: the program outlived the daemon"
        );
        // Nothing is left to stop the next start.
        let again = Daemon::start_on(
            &topo.server,
            topo.scratch.path(),
            &Topology::config(""),
            mode,
        )
        .expect("restart after the kill");
        again.stop().expect("clean stop");
    }
}
