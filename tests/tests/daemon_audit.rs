//! The audit log on disk: a day's file in the Windows layout that CSV
//! parsers read, with one row per lease event.

use std::time::Duration;

use tests::addr::{GIADDR, SERVER_DIRECT_IF, SERVER_RELAY, SERVER_RELAY_IF};
use tests::dhcp::{ClientMessage, Relay};
use tests::{Daemon, Topology, can_run};

const COLUMNS: &str = "ID,Date,Time,Description,IP Address,Host Name,MAC Address,User Name, TransactionID, QResult,Probationtime, CorrelationID,Dhcid,VendorClass(Hex),VendorClass(ASCII),UserClass(Hex),UserClass(ASCII),RelayAgentInformation,DnsRegError.";

#[test]
fn lease_events_are_written_as_windows_audit_rows() {
    if !can_run("lease_events_are_written_as_windows_audit_rows", &[]) {
        return;
    }
    let topo = Topology::new().expect("topology");
    let config = format!(
        r#"[server]
interfaces = ["{SERVER_DIRECT_IF}", "{SERVER_RELAY_IF}"]

[[scope]]
name = "relayed"
subnet = "10.79.0.0/24"
ranges = ["10.79.0.100-10.79.0.101"]
options = {{ routers = ["{GIADDR}"] }}
"#
    );
    let daemon = Daemon::start(&topo.server, topo.scratch.path(), &config).expect("daemon");
    let relay = Relay::open(&topo.relay).expect("relay");
    let mac = [0x02, 0, 0, 0xaa, 0xbb, 0x01];
    let timeout = Duration::from_secs(2);
    let addr = relay.dora(0x4242, mac, timeout).expect("lease");
    assert_eq!(
        relay.renew(0x4243, mac, addr, timeout).map(|r| r.1),
        Some(addr)
    );
    let release = ClientMessage {
        kind: dhcp_wire::MessageType::Release,
        ciaddr: addr,
        server_id: Some(SERVER_RELAY),
        ..ClientMessage::discover(0x4244, mac)
    };
    relay.send(&release).expect("release");
    // A NAK: someone asking for an address on another network.
    let nak = ClientMessage {
        kind: dhcp_wire::MessageType::Request,
        requested_ip: Some("192.168.99.9".parse().unwrap()),
        ..ClientMessage::discover(0x4245, [0x02, 0, 0, 0xaa, 0xbb, 0x02])
    };
    assert!(relay.exchange(&nak, timeout).expect("relay I/O").is_some());
    std::thread::sleep(Duration::from_millis(300));
    daemon.stop().expect("clean stop");

    let dir = topo.scratch.path().join("state/audit");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .expect("audit directory")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(files.len(), 1, "one file for today: {files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("DhcpSrvLog-") && name.ends_with(".log"),
        "{name}"
    );
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip_while(|l| *l != COLUMNS)
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert!(
        rows.iter().all(|r| r.len() == 19),
        "every row has the 19 columns: {text}"
    );
    let ids: Vec<&str> = rows.iter().map(|r| r[0]).collect();
    assert_eq!(ids, ["00", "10", "11", "12", "15", "01"], "{text}");
    let (assign, release) = (&rows[1], &rows[3]);
    assert_eq!(assign[4], addr.to_string());
    assert_eq!(assign[6], "020000AABB01");
    assert_eq!(assign[8], "16962", "transaction id 0x4242 in decimal");
    assert_eq!(release[4], addr.to_string());
    assert!(
        assign[1].len() == 8 && assign[2].len() == 8,
        "MM/DD/YY and HH:MM:SS: {assign:?}"
    );
}
