//! Policies (Windows policy-based assignment): criteria, AND/OR, ranges,
//! processing order, options and lease time by precedence, PXE boot file
//! selection, and the events of policy and residual ranges (1341, 1342,
//! 1343, 1376).

mod common;

use common::*;
use dhcp_user::config;
use dhcp_user::engine::Silence;
use dhcp_user::events::Event;
use dhcproto::v4::MessageType;

const VENDOR: &str = r#"
[server]
low_address_warning_percent = 50
options = { domain-name = "server.example", domain-name-servers = ["192.0.2.53"] }

[[scope]]
name = "campus"
subnet = "10.0.0.0/24"
ranges = ["10.0.0.10-10.0.0.29"]
options = { domain-name-servers = ["10.0.0.53"] }

[[scope.policy]]
name = "phones"
order = 2
vendor_class = ["Cisco Systems, Inc. IP Phone*"]
ranges = ["10.0.0.20-10.0.0.23"]
lease_time = "1h"
options = { tftp-server-address = ["10.0.0.150"], domain-name-servers = ["10.0.0.54"] }

[[scope.policy]]
name = "phones-overflow"
order = 3
vendor_class = ["Cisco*"]
ranges = ["10.0.0.24-10.0.0.25"]
"#;

fn phone(n: u32) -> Client {
    let mut c = client(n);
    c.extra
        .push((60, b"Cisco Systems, Inc. IP Phone CP-8841".to_vec()));
    c.prl = Some(vec![1, 3, 6, 15, 51, 150]);
    c
}

fn in_range(a: std::net::Ipv4Addr, first: u8, last: u8) -> bool {
    a.octets()[..3] == [10, 0, 0] && (first..=last).contains(&a.octets()[3])
}

#[test]
fn a_vendor_class_policy_hands_out_its_range_options_and_lease_time() {
    let mut s = shard(VENDOR);
    let offer = send(&mut s, &phone(1).discover(), meta_direct(), 0);
    assert!(in_range(offer.yiaddr(), 20, 23), "{}", offer.yiaddr());
    assert_eq!(offer.option(150).unwrap(), [10, 0, 0, 150]);
    assert_eq!(
        offer.option(6).unwrap(),
        [10, 0, 0, 54],
        "policy over scope"
    );
    assert_eq!(offer.option(51).unwrap(), 3600u32.to_be_bytes());
    assert_eq!(offer.option(58).unwrap(), 1800u32.to_be_bytes());
    let ack = send(
        &mut s,
        &phone(1).select(offer.yiaddr(), IFACE),
        meta_direct(),
        0,
    );
    assert_eq!(ack.kind(), Some(MessageType::Ack));
    assert_eq!(ack.option(150).unwrap(), [10, 0, 0, 150]);
    assert_eq!(ack.option(51).unwrap(), 3600u32.to_be_bytes());

    // Everyone else: the residual ranges, the scope's options.
    let plain = send(&mut s, &client(100).discover(), meta_direct(), 0);
    assert_eq!(plain.option(6).unwrap(), [10, 0, 0, 53]);
    assert_eq!(plain.option(150), None);
    for n in 100..114 {
        let a = dora(&mut s, &client(n), 0);
        assert!(!in_range(a, 20, 25), "{a} is a policy address");
    }
}

#[test]
fn full_policy_ranges_spill_in_processing_order_and_report_once() {
    let mut s = shard(VENDOR);
    let mut events = Vec::new();
    let mut addrs = Vec::new();
    for n in 0..6 {
        let offer = send(&mut s, &phone(n).discover(), meta_direct(), 0);
        events.extend(offer.event_ids());
        let a = offer.yiaddr();
        send(&mut s, &phone(n).select(a, IFACE), meta_direct(), 0);
        addrs.push(a);
    }
    assert!(addrs[..4].iter().all(|a| in_range(*a, 20, 23)), "{addrs:?}");
    assert!(addrs[4..].iter().all(|a| in_range(*a, 24, 25)), "{addrs:?}");
    // "phones" filled: 1343 at half, 1341 when the fifth phone came.
    assert_eq!(events.iter().filter(|id| **id == 1343).count(), 2);
    assert_eq!(events.iter().filter(|id| **id == 1341).count(), 1);
    // Both policies full: the phone is not served from the residual.
    let none = send(&mut s, &phone(6).discover(), meta_direct(), 0);
    assert_eq!(none.outcome.silence, Some(Silence::PoolExhausted));
    let ids = none.event_ids();
    assert_eq!(ids, [1341], "only the overflow policy is newly full");
    match &none.events[0] {
        Event::PolicyRangesFull { scope, policy } => {
            assert_eq!((&**scope, &**policy), ("campus", "phones-overflow"));
        }
        e => panic!("{e:?}"),
    }
    assert!(
        send(&mut s, &phone(7).discover(), meta_direct(), 0)
            .events
            .is_empty(),
        "no event storm"
    );
    // Residual clients are unaffected.
    dora(&mut s, &client(300), 0);
}

#[test]
fn residual_ranges_warn_and_fill_with_their_own_events() {
    let mut s = shard(VENDOR);
    let mut ids = Vec::new();
    for n in 0..14 {
        let offer = send(&mut s, &client(n).discover(), meta_direct(), 0);
        ids.extend(offer.event_ids());
        send(
            &mut s,
            &client(n).select(offer.yiaddr(), IFACE),
            meta_direct(),
            0,
        );
    }
    assert!(ids.contains(&1376), "{ids:?}");
    let full = send(&mut s, &client(99).discover(), meta_direct(), 0);
    assert_eq!(full.outcome.silence, Some(Silence::PoolExhausted));
    // The residual is full (1342); the scope is not (the policies' ranges
    // are free), so no 1063.
    assert_eq!(full.event_ids(), [1342]);
    // A phone still gets its policy address.
    assert!(in_range(dora(&mut s, &phone(500), 0), 20, 23));
}

#[test]
fn a_client_cannot_request_an_address_of_a_range_it_does_not_belong_to() {
    let mut s = shard(VENDOR);
    let r = send(
        &mut s,
        &client(1).select(ip("10.0.0.21"), IFACE),
        meta_direct(),
        0,
    );
    assert_eq!(r.kind(), Some(MessageType::Nak));
    let wanted = send(
        &mut s,
        &client(1).discover_wanting(ip("10.0.0.21")),
        meta_direct(),
        0,
    );
    assert!(!in_range(wanted.yiaddr(), 20, 25), "{}", wanted.yiaddr());
    let phone_wants_residual = send(
        &mut s,
        &phone(2).select(ip("10.0.0.12"), IFACE),
        meta_direct(),
        0,
    );
    assert_eq!(phone_wants_residual.kind(), Some(MessageType::Nak));
    // Its own range is fine.
    let ok = send(
        &mut s,
        &phone(2).select(ip("10.0.0.22"), IFACE),
        meta_direct(),
        0,
    );
    assert_eq!(ok.kind(), Some(MessageType::Ack));
}

const CRITERIA: &str = r#"
[[scope]]
name = "relayed"
subnet = "10.1.0.0/24"
ranges = ["10.1.0.10-10.1.0.200"]

[[scope.policy]]
name = "vm-and-relay"
mac = ["00-15-5D-*"]
circuit_id = ["65:74:68:30"]
options = { 252 = "and" }

[[scope.policy]]
name = "fqdn-or-user-class"
condition = "or"
fqdn = ["*.lab.example"]
user_class = ["iPXE"]
options = { 253 = "or" }

[[scope.policy]]
name = "not-windows"
not_vendor_class = ["MSFT*"]
client_id = ["01:02:00:*"]
options = { 254 = "not" }
"#;

fn relayed(n: u32) -> Client {
    client(n).with_giaddr(ip("10.1.0.1"))
}

fn matched(s: &mut dhcp_user::engine::Shard, c: &Client) -> Vec<u8> {
    let offer = send(s, &c.discover(), meta_direct(), 0);
    [252, 253, 254]
        .into_iter()
        .filter(|code| offer.option(*code).is_some())
        .collect()
}

#[test]
fn criteria_combine_with_and_or_and_not() {
    let mut s = shard(CRITERIA);
    let mut c = relayed(1);
    c.prl = None; // all configured options
    assert_eq!(matched(&mut s, &c), Vec::<u8>::new());

    c.mac = [0x00, 0x15, 0x5d, 1, 2, 3];
    assert_eq!(matched(&mut s, &c), Vec::<u8>::new(), "AND needs both");
    c.relay_info = Some(b"\x01\x04eth0\x02\x03abc".to_vec());
    assert_eq!(matched(&mut s, &c), [252]);

    // FQDN in DNS wire form (E flag), or an RFC 3004 user class: either.
    let mut f = relayed(2);
    f.prl = None;
    f.extra
        .push((81, b"\x05\x00\x00\x02pc\x03lab\x07example\x00".to_vec()));
    assert_eq!(matched(&mut s, &f), [253]);
    let mut u = relayed(3);
    u.prl = None;
    u.extra.push((77, b"\x04iPXE".to_vec()));
    assert_eq!(matched(&mut s, &u), [253]);
    let mut other = relayed(4);
    other.prl = None;
    other
        .extra
        .push((81, b"\x00\x00\x00pc.lab.example.org".to_vec()));
    assert_eq!(matched(&mut s, &other), Vec::<u8>::new());

    // NOT: a client id that matches, without a Windows vendor class.
    let mut w = relayed(5);
    w.prl = None;
    w.client_id = Some(vec![1, 2, 0, 0, 0, 5]);
    assert_eq!(matched(&mut s, &w), [254]);
    w.extra.push((60, b"MSFT 5.0".to_vec()));
    assert_eq!(matched(&mut s, &w), Vec::<u8>::new());
}

const PRECEDENCE: &str = r#"
[server]
options = { domain-name = "server", ntp-servers = ["192.0.2.1"], time-offset = 1 }

[[policy]]
name = "everyone"
options = { domain-name = "server-policy", ntp-servers = ["192.0.2.2"], 253 = "server-policy" }

[[scope]]
name = "s"
subnet = "10.0.0.0/24"
ranges = ["10.0.0.10-10.0.0.99"]
options = { ntp-servers = ["10.0.0.1"] }

[[scope.policy]]
name = "lab"
mac = ["02-00-00-00-00-0*"]
options = { 253 = "scope-policy", 254 = "scope-policy" }

[[scope.reservation]]
mac = "02:00:00:00:00:01"
ip = "10.0.0.200"
options = { 254 = "reservation" }
"#;

#[test]
fn options_follow_windows_precedence() {
    let mut s = shard(PRECEDENCE);
    let mut c = client(1);
    c.prl = Some(vec![2, 15, 42, 253, 254]);
    let offer = send(&mut s, &c.discover(), meta_direct(), 0);
    assert_eq!(offer.yiaddr(), ip("10.0.0.200"));
    assert_eq!(offer.option(254).unwrap(), b"reservation");
    assert_eq!(offer.option(253).unwrap(), b"scope-policy");
    assert_eq!(
        offer.option(42).unwrap(),
        [10, 0, 0, 1],
        "scope over server policy"
    );
    assert_eq!(
        offer.option(15).unwrap(),
        b"server-policy",
        "server policy over server"
    );
    assert_eq!(offer.option(2).unwrap(), 1u32.to_be_bytes(), "server, last");

    let mut d = client(0x100);
    d.prl = Some(vec![15, 253, 254]);
    let plain = send(&mut s, &d.discover(), meta_direct(), 0);
    assert_eq!(plain.option(253).unwrap(), b"server-policy");
    assert_eq!(plain.option(254), None);
}

/// The header's boot file name, without its NUL padding.
fn file(r: &dhcproto::v4::Message) -> &[u8] {
    let f = r.fname().unwrap_or_default();
    &f[..f.iter().position(|b| *b == 0).unwrap_or(f.len())]
}

const PXE: &str = r#"
[[scope]]
name = "pxe"
subnet = "10.0.0.0/24"
ranges = ["10.0.0.10-10.0.0.99"]
next_server = "10.0.0.5"
boot_file = "default.0"

[[policy]]
name = "uefi"
order = 1
client_arch = [7, 9]
boot_file = "ipxe.efi"
options = { tftp-server-name = "tftp.example", boot-file-name = "ipxe.efi" }

[[policy]]
name = "bios"
order = 2
vendor_class = ["PXEClient:Arch:00000*"]
boot_file = "undionly.kpxe"
options = { boot-file-name = "undionly.kpxe" }
"#;

#[test]
fn pxe_boot_files_are_chosen_by_architecture_and_vendor_class() {
    let mut s = shard(PXE);
    let mut uefi = client(1);
    uefi.extra.push((93, vec![0, 7]));
    uefi.extra
        .push((60, b"PXEClient:Arch:00007:UNDI:003016".to_vec()));
    uefi.prl = Some(vec![1, 3, 66, 67]);
    let offer = send(&mut s, &uefi.discover(), meta_direct(), 0);
    let r = offer.reply();
    assert_eq!(r.siaddr(), ip("10.0.0.5"));
    assert_eq!(file(r), b"ipxe.efi");
    assert_eq!(offer.option(67).unwrap(), b"ipxe.efi");
    assert_eq!(offer.option(66).unwrap(), b"tftp.example");

    let mut bios = client(2);
    bios.extra
        .push((60, b"PXEClient:Arch:00000:UNDI:002001".to_vec()));
    bios.prl = Some(vec![1, 3, 66, 67]);
    let offer = send(&mut s, &bios.discover(), meta_direct(), 0);
    assert_eq!(file(offer.reply()), b"undionly.kpxe");
    assert_eq!(offer.option(67).unwrap(), b"undionly.kpxe");

    let plain = send(&mut s, &client(3).discover(), meta_direct(), 0);
    assert_eq!(file(plain.reply()), b"default.0");
    assert_eq!(plain.option(67), None);
}

#[test]
fn bad_policies_are_refused_with_the_field_named() {
    let errors = |toml: &str| config::from_toml(toml).unwrap_err().to_string();
    let base =
        "[[scope]]\nname = \"s\"\nsubnet = \"10.0.0.0/24\"\nranges = [\"10.0.0.10-10.0.0.50\"]\n";
    let e = errors(&format!(
        "{base}[[scope.policy]]\nname = \"p\"\nranges = [\"10.0.0.60-10.0.0.70\"]\n"
    ));
    assert!(
        e.contains("policy \"p\".ranges[0]") && e.contains("not inside"),
        "{e}"
    );
    let e = errors(&format!(
        "{base}[[scope.policy]]\nname = \"a\"\nranges = [\"10.0.0.10-10.0.0.20\"]\n\
         [[scope.policy]]\nname = \"b\"\nranges = [\"10.0.0.20-10.0.0.30\"]\n"
    ));
    assert!(
        e.contains("policy \"b\".ranges") && e.contains("overlaps"),
        "{e}"
    );
    let e = errors(&format!(
        "{base}[[policy]]\nname = \"srv\"\nranges = [\"10.0.0.10-10.0.0.20\"]\n"
    ));
    assert!(e.contains("only scope policies"), "{e}");
    let e = errors(&format!(
        "{base}[[scope.policy]]\nname = \"p\"\ncondition = \"xor\"\nmac = [\"zz\"]\n"
    ));
    assert!(e.contains("condition") && e.contains("mac[0]"), "{e}");
}
