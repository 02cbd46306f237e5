//! Relayed clients: the daemon picks the scope from giaddr, answers the
//! relay at giaddr:67 and echoes the relay agent information (option 82)
//! unchanged (RFC 3046). The relay agent is this test, on a UDP socket in
//! the relay namespace; perfdhcp (a relay too) runs a short bounded load.

use std::{net::Ipv4Addr, process::Stdio, time::Duration};

use dhcp_wire::{Message, MessageType, code};
use tests::{
    Daemon, Topology,
    addr::{GIADDR, RELAYED_FIRST, RELAYED_LAST, SERVER_RELAY, in_range},
    can_run,
    dhcp::{ClientMessage, Relay},
    wait_for,
};

const REPLY_TIMEOUT: Duration = Duration::from_secs(3);

/// Circuit-id "eth0/1" and remote-id "xdt-relay" (RFC 3046 sub-options 1
/// and 2).
const OPTION_82: &[u8] = b"\x01\x06eth0/1\x02\x09xdt-relay";

fn check_reply(bytes: &[u8], kind: MessageType, xid: u32) -> Ipv4Addr {
    let m = Message::parse(bytes).expect("a well-formed reply");
    assert_eq!(m.message_type(), Some(kind), "{m:?}");
    assert_eq!(m.xid(), xid);
    assert_eq!(m.giaddr(), GIADDR, "giaddr not echoed: {m:?}");
    assert_eq!(
        m.option(code::RELAY_AGENT_INFO),
        Some(OPTION_82),
        "option 82 not echoed unchanged: {m:?}"
    );
    let yiaddr = m.yiaddr();
    assert!(
        in_range(yiaddr, RELAYED_FIRST, RELAYED_LAST),
        "{yiaddr} is not in the relayed scope"
    );
    yiaddr
}

#[test]
fn relayed_client_is_served_from_the_giaddr_scope_with_option_82_echoed() {
    if !can_run("relayed_client_is_served_from_the_giaddr_scope", &[]) {
        return;
    }
    let topo = Topology::new().expect("topology");
    let daemon =
        Daemon::start(&topo.server, topo.scratch.path(), &Topology::config("")).expect("daemon");
    let relay = Relay::open(&topo.relay).expect("relay socket");
    let mac = [0x02, 0, 0, 0x79, 0, 1];

    let mut discover = ClientMessage::discover(0x1234_0001, mac);
    discover.relay_info = Some(OPTION_82.to_vec());
    let offer = relay
        .exchange(&discover, REPLY_TIMEOUT)
        .expect("relay I/O")
        .expect("an OFFER at giaddr:67");
    let offered = check_reply(&offer, MessageType::Offer, discover.xid);
    let server_id = Message::parse(&offer).unwrap().server_id();
    assert!(server_id.is_some(), "OFFER without a server identifier");

    let request = ClientMessage {
        kind: MessageType::Request,
        xid: 0x1234_0002,
        requested_ip: Some(offered),
        server_id,
        ..discover
    };
    let ack = relay
        .exchange(&request, REPLY_TIMEOUT)
        .expect("relay I/O")
        .expect("an ACK at giaddr:67");
    assert_eq!(check_reply(&ack, MessageType::Ack, request.xid), offered);

    let counters = daemon.stop().expect("clean stop");
    assert_eq!(counters.get("offers").unwrap(), 1, "{counters:?}");
    assert_eq!(counters.get("acks").unwrap(), 1, "{counters:?}");
}

#[test]
fn declined_address_is_quarantined() {
    if !can_run("declined_address_is_quarantined", &[]) {
        return;
    }
    let topo = Topology::new().expect("topology");
    let daemon =
        Daemon::start(&topo.server, topo.scratch.path(), &Topology::config("")).expect("daemon");
    let relay = Relay::open(&topo.relay).expect("relay socket");
    let mac = [0x02, 0, 0, 0x79, 0, 2];
    let discover = ClientMessage::discover(0x2222_0001, mac);
    let lease = |xid: u32| {
        let offer = relay
            .exchange(
                &ClientMessage {
                    xid,
                    ..discover.clone()
                },
                REPLY_TIMEOUT,
            )
            .expect("relay I/O")
            .expect("an OFFER");
        let offer = Message::parse(&offer).unwrap();
        let request = ClientMessage {
            kind: MessageType::Request,
            xid: xid + 1,
            requested_ip: Some(offer.yiaddr()),
            server_id: offer.server_id(),
            ..discover.clone()
        };
        let ack = relay
            .exchange(&request, REPLY_TIMEOUT)
            .expect("relay I/O")
            .expect("an ACK");
        let ack = Message::parse(&ack).unwrap();
        assert_eq!(ack.message_type(), Some(MessageType::Ack), "{ack:?}");
        (ack.yiaddr(), ack.server_id())
    };
    let (declined, server_id) = lease(0x2222_0010);

    // The client found the address in use (RFC 2131 DHCPDECLINE); the
    // server answers nothing, logs 1012 and keeps the address out of use.
    relay
        .send(&ClientMessage {
            kind: MessageType::Decline,
            xid: 0x2222_0020,
            requested_ip: Some(declined),
            server_id,
            ..discover.clone()
        })
        .unwrap();
    daemon
        .wait_event(1012, REPLY_TIMEOUT, |r| tests::mentions(r, declined))
        .expect("event 1012 for the declined address");
    let (again, _) = lease(0x2222_0030);
    assert_ne!(again, declined, "the declined address was handed out again");
    assert!(in_range(again, RELAYED_FIRST, RELAYED_LAST), "{again}");

    let counters = daemon.stop().expect("clean stop");
    assert_eq!(counters.get("declines").unwrap(), 1, "{counters:?}");
}

/// perfdhcp's summary line `<label>: <n>` of its first (DISCOVER-OFFER) or
/// second (REQUEST-ACK) exchange block.
fn perfdhcp_counts(out: &str, label: &str) -> Vec<u64> {
    out.lines()
        .filter_map(|l| l.trim().strip_prefix(label)?.trim().parse().ok())
        .collect()
}

#[test]
fn perfdhcp_relayed_run_completes_every_exchange() {
    if !can_run(
        "perfdhcp_relayed_run_completes_every_exchange",
        &["perfdhcp"],
    ) {
        return;
    }
    let topo = Topology::new().expect("topology");
    let daemon =
        Daemon::start(&topo.server, topo.scratch.path(), &Topology::config("")).expect("daemon");
    // 40 DORAs of 40 clients at 20/s, as the relay at giaddr; -W waits for
    // the last replies (else they count as lost).
    let out_path = topo.scratch.path().join("perfdhcp.out");
    let out = std::fs::File::create(&out_path).unwrap();
    let mut perfdhcp = topo
        .relay
        .command("perfdhcp")
        .args(["-4", "-g", "single", "-r", "20", "-n", "40", "-R", "40"])
        .args(["-W", "1000000", "-l", &GIADDR.to_string()])
        .arg(SERVER_RELAY.to_string())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .stdin(Stdio::null())
        .spawn()
        .expect("perfdhcp");
    let status = wait_for("perfdhcp to finish", Duration::from_secs(30), || {
        Ok(perfdhcp.try_wait()?)
    });
    if status.is_err() {
        let _ = perfdhcp.kill();
        let _ = perfdhcp.wait();
    }
    let status = status.expect("perfdhcp finished");
    let text = std::fs::read_to_string(&out_path).unwrap();
    // Exit status 3: some exchange got no answer.
    assert!(status.success(), "perfdhcp: {status}\n{text}");
    assert_eq!(perfdhcp_counts(&text, "sent packets:"), [40, 40], "{text}");
    assert_eq!(
        perfdhcp_counts(&text, "received packets:"),
        [40, 40],
        "{text}"
    );

    let counters = daemon.stop().expect("clean stop");
    assert!(counters.get("acks").unwrap() >= 40, "{counters:?}");
}
