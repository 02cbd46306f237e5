//! Policies and BOOTP over the wire: a vendor-class policy hands its range
//! and options to the clients that send its class (a real udhcpc among
//! them) and to nobody else; a BOOTP client is answered where the scope
//! enables BOOTP and nowhere else.

use std::net::Ipv4Addr;
use std::time::Duration;

use dhcp_wire::{Message, MessageType, code};
use tests::addr::{
    CLIENT_IF, GIADDR, LAN_FIRST, LAN_LAST, RELAYED_FIRST, RELAYED_LAST, SERVER_DIRECT,
    SERVER_DIRECT_IF, SERVER_RELAY_IF,
};
use tests::dhcp::{ClientMessage, Probe, Relay};
use tests::{Daemon, Topology, Udhcpc, can_run};

/// The phones' policy range, inside each scope's dynamic range.
const LAN_PHONES: (Ipv4Addr, Ipv4Addr) =
    (Ipv4Addr::new(10, 77, 0, 180), Ipv4Addr::new(10, 77, 0, 189));
const RELAYED_PHONES: (Ipv4Addr, Ipv4Addr) =
    (Ipv4Addr::new(10, 79, 0, 180), Ipv4Addr::new(10, 79, 0, 189));
const RELAYED_BOOTP: (Ipv4Addr, Ipv4Addr) =
    (Ipv4Addr::new(10, 79, 0, 190), Ipv4Addr::new(10, 79, 0, 199));
const VENDOR: &str = "xdhcpd-test-phone";
const TIMEOUT: Duration = Duration::from_secs(2);

fn config() -> String {
    let (lp1, lp2) = LAN_PHONES;
    let (rp1, rp2) = RELAYED_PHONES;
    let (rb1, rb2) = RELAYED_BOOTP;
    format!(
        r#"[server]
interfaces = ["{SERVER_DIRECT_IF}", "{SERVER_RELAY_IF}"]

[[policy]]
name = "phones-ntp"
vendor_class = ["{VENDOR}*"]
options = {{ ntp-servers = ["192.0.2.123"] }}

[[scope]]
name = "lan"
subnet = "10.77.0.0/24"
ranges = ["{LAN_FIRST}-{LAN_LAST}"]
options = {{ routers = ["{SERVER_DIRECT}"] }}

[[scope.policy]]
name = "phones"
vendor_class = ["{VENDOR}*"]
ranges = ["{lp1}-{lp2}"]

[[scope]]
name = "relayed"
subnet = "10.79.0.0/24"
ranges = ["{RELAYED_FIRST}-{RELAYED_LAST}"]
options = {{ routers = ["{GIADDR}"] }}
next_server = "10.79.0.5"
boot_file = "pxelinux.0"

[[scope.policy]]
name = "phones"
vendor_class = ["{VENDOR}*"]
ranges = ["{rp1}-{rp2}"]

[scope.bootp]
enabled = true
ranges = ["{rb1}-{rb2}"]
"#
    )
}

fn mac(n: u32) -> [u8; 6] {
    let b = n.to_be_bytes();
    [0x02, 0xbc, b[0], b[1], b[2], b[3]]
}

fn within(a: Ipv4Addr, (first, last): (Ipv4Addr, Ipv4Addr)) -> bool {
    (u32::from(first)..=u32::from(last)).contains(&u32::from(a))
}

fn phone(xid: u32, mac: [u8; 6]) -> ClientMessage {
    ClientMessage {
        extra: vec![(code::VENDOR_CLASS, format!("{VENDOR} v1").into_bytes())],
        ..ClientMessage::discover(xid, mac)
    }
}

#[test]
fn a_vendor_class_policy_hands_out_its_range_and_options() {
    if !can_run(
        "a_vendor_class_policy_hands_out_its_range_and_options",
        &["busybox"],
    ) {
        return;
    }
    let topo = Topology::new().expect("topology");
    let _daemon = Daemon::start(&topo.server, topo.scratch.path(), &config()).expect("daemon");
    let relay = Relay::open(&topo.relay).expect("relay");

    for n in 0..4 {
        let offer = relay
            .exchange(&phone(0x500 + n, mac(n)), TIMEOUT)
            .expect("relay I/O")
            .expect("an OFFER for a phone");
        let offer = Message::parse(&offer).unwrap();
        assert_eq!(offer.message_type(), Some(MessageType::Offer));
        assert!(within(offer.yiaddr(), RELAYED_PHONES), "{}", offer.yiaddr());
        assert_eq!(offer.option(code::NTP), Some(&[192, 0, 2, 123][..]));
    }
    for n in 10..14 {
        let offer = relay
            .exchange(&ClientMessage::discover(0x600 + n, mac(n)), TIMEOUT)
            .expect("relay I/O")
            .expect("an OFFER");
        let offer = Message::parse(&offer).unwrap();
        assert!(
            !within(offer.yiaddr(), RELAYED_PHONES),
            "{}",
            offer.yiaddr()
        );
        assert!(!within(offer.yiaddr(), RELAYED_BOOTP), "{}", offer.yiaddr());
        assert_eq!(offer.option(code::NTP), None);
    }

    // A real client sending the class (udhcpc -V) is bound in the range.
    let phone = Udhcpc::start_with(
        &topo.client,
        CLIENT_IF,
        topo.scratch.path(),
        &["-V", VENDOR],
    )
    .expect("udhcpc");
    let addr = phone.wait_bound(Duration::from_secs(15)).expect("bound");
    assert!(within(addr, LAN_PHONES), "udhcpc got {addr}");
}

#[test]
fn a_bootp_client_is_served_only_where_bootp_is_enabled() {
    if !can_run("a_bootp_client_is_served_only_where_bootp_is_enabled", &[]) {
        return;
    }
    let topo = Topology::new().expect("topology");
    let _daemon = Daemon::start(&topo.server, topo.scratch.path(), &config()).expect("daemon");

    // The direct link's scope does not serve BOOTP: no answer at all.
    let probe = Probe::open(&topo.client).expect("probe");
    probe
        .send(&ClientMessage::bootp(0x700, mac(0x70)))
        .expect("send");
    let heard = probe.collect(Duration::from_millis(1500)).expect("listen");
    assert!(heard.is_empty(), "BOOTP answered on a scope without it");

    // The relayed scope does, from its BOOTP range, with its boot file.
    let relay = Relay::open(&topo.relay).expect("relay");
    let reply = relay
        .exchange(&ClientMessage::bootp(0x701, mac(0x71)), TIMEOUT)
        .expect("relay I/O")
        .expect("a BOOTREPLY");
    let reply = Message::parse(&reply).unwrap();
    assert_eq!(reply.message_type(), None);
    assert!(within(reply.yiaddr(), RELAYED_BOOTP), "{}", reply.yiaddr());
    assert_eq!(reply.siaddr(), Ipv4Addr::new(10, 79, 0, 5));
    assert!(reply.file().starts_with(b"pxelinux.0\0"));
    assert_eq!(reply.option(code::ROUTER), Some(&GIADDR.octets()[..]));
    // The lease is for ever: the same client gets the same address back.
    let again = relay
        .exchange(&ClientMessage::bootp(0x702, mac(0x71)), TIMEOUT)
        .expect("relay I/O")
        .expect("a BOOTREPLY");
    assert_eq!(Message::parse(&again).unwrap().yiaddr(), reply.yiaddr());
}
