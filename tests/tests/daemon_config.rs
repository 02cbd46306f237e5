//! The configuration as the daemon applies it: `check-config` accepts a
//! good file and names every bad field, `run` refuses a bad file, a
//! deactivated scope stays silent (no OFFER, and no NAK either: Windows KB
//! Q228597), and SIGHUP applies an edited file without a restart.

use std::{
    net::Ipv4Addr,
    path::Path,
    time::{Duration, Instant},
};

use dhcp_wire::{Message, MessageType};
use tests::{
    Daemon, Scratch, Topology,
    addr::{LAN_FIRST, LAN_LAST, in_range},
    can_run, check_config,
    dhcp::{ClientMessage, Probe, Relay},
    mentions, wait_for, xdhcpd_bin,
};

/// How long a silent server is listened to.
const SILENCE: Duration = Duration::from_secs(4);
const REPLY_TIMEOUT: Duration = Duration::from_secs(3);

/// Two errors in scope "lan": a range outside the subnet and a reservation
/// outside the subnet.
const BAD_CONFIG: &str = r#"
[[scope]]
name = "lan"
subnet = "10.77.0.0/24"
ranges = ["10.77.1.10-10.77.1.20"]

[[scope.reservation]]
mac = "02:00:00:00:00:01"
ip = "10.88.0.5"
"#;

fn output_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn check_config_accepts_the_example_and_the_test_config() {
    let scratch = Scratch::new().unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/xdhcpd.toml");
    let ours = scratch.write("good.toml", &Topology::config("")).unwrap();
    for path in [example.as_path(), ours.as_path()] {
        let out = check_config(path).expect("xdhcpd check-config");
        let text = output_text(&out);
        assert!(
            out.status.success(),
            "{}: {}\n{text}",
            path.display(),
            out.status
        );
        assert_eq!(
            text.trim().lines().count(),
            1,
            "not a one-line summary:\n{text}"
        );
    }
}

#[test]
fn check_config_names_every_bad_field() {
    let scratch = Scratch::new().unwrap();
    let path = scratch.write("bad.toml", BAD_CONFIG).unwrap();
    let out = check_config(&path).expect("xdhcpd check-config");
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    for field in [
        r#"scope "lan".ranges[0]:"#,
        r#"scope "lan".reservation[0].ip:"#,
    ] {
        assert!(
            text.lines().any(|l| l.trim_start().starts_with(field)),
            "no line starting with {field}:\n{text}"
        );
    }
}

#[test]
fn check_config_reports_a_syntax_error() {
    let scratch = Scratch::new().unwrap();
    let path = scratch
        .write("syntax.toml", "[[scope]\nname = \"lan\"\n")
        .unwrap();
    let out = check_config(&path).expect("xdhcpd check-config");
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    assert!(!output_text(&out).trim().is_empty(), "no error message");
}

#[test]
fn run_refuses_a_bad_config() {
    // Inside a namespace all the same: were the file accepted, the daemon
    // would serve the interfaces it finds.
    if !can_run("run_refuses_a_bad_config", &[]) {
        return;
    }
    let topo = Topology::new().expect("topology");
    let path = topo.scratch.write("bad.toml", BAD_CONFIG).unwrap();
    let mut child = topo
        .server
        .command(xdhcpd_bin().unwrap())
        .arg("run")
        .arg("--config")
        .arg(&path)
        .args(["--datapath", "uring", "--log-format", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("xdhcpd run");
    let exited = wait_for("xdhcpd run to exit", Duration::from_secs(10), || {
        Ok(child.try_wait()?)
    });
    if exited.is_err() {
        let _ = child.kill();
    }
    let out = child.wait_with_output().unwrap();
    let text = output_text(&out);
    let status = exited.expect("a bad config stops the daemon at once");
    assert!(!status.success(), "{text}");
    assert!(
        text.contains(r#"scope \"lan\".ranges[0]"#) || text.contains(r#"scope "lan".ranges[0]"#),
        "{text}"
    );
}

/// An INIT-REBOOT REQUEST for an address of the lan scope from a client the
/// server has no record of: an active authoritative scope NAKs it.
fn init_reboot(xid: u32, mac: [u8; 6]) -> ClientMessage {
    ClientMessage {
        kind: MessageType::Request,
        requested_ip: Some(Ipv4Addr::new(10, 77, 0, 150)),
        ..ClientMessage::discover(xid, mac)
    }
}

fn kinds(replies: &[Vec<u8>]) -> Vec<Option<MessageType>> {
    replies
        .iter()
        .map(|r| Message::parse(r).ok().and_then(|m| m.message_type()))
        .collect()
}

#[test]
fn deactivated_scope_stays_silent() {
    if !can_run("deactivated_scope_stays_silent", &[]) {
        return;
    }
    let topo = Topology::new().expect("topology");
    let daemon = Daemon::start(
        &topo.server,
        topo.scratch.path(),
        &Topology::config("active = false"),
    )
    .expect("daemon");
    let probe = Probe::open(&topo.client).expect("probe");
    let mac = [0x02, 0, 0, 0x77, 0, 9];
    probe
        .send(&ClientMessage::discover(0x5151_0001, mac))
        .unwrap();
    probe.send(&init_reboot(0x5151_0002, mac)).unwrap();
    let replies = probe.collect(SILENCE).unwrap();
    assert!(
        replies.is_empty(),
        "a deactivated scope answered: {:?}",
        kinds(&replies)
    );

    // The silence is the scope's, not a dead server's: the active scope
    // behind the relay is answered by the same daemon.
    let relay = Relay::open(&topo.relay).expect("relay");
    let offer = relay
        .exchange(&ClientMessage::discover(0x5151_0003, mac), REPLY_TIMEOUT)
        .unwrap();
    assert!(offer.is_some(), "no OFFER for the active relayed scope");

    let counters = daemon.stop().expect("clean stop");
    assert_eq!(counters.get("naks").unwrap(), 0, "{counters:?}");
    assert_eq!(counters.get("offers").unwrap(), 1, "{counters:?}");
}

#[test]
fn sighup_applies_an_edited_config() {
    if !can_run("sighup_applies_an_edited_config", &[]) {
        return;
    }
    let topo = Topology::new().expect("topology");
    let mut daemon = Daemon::start(
        &topo.server,
        topo.scratch.path(),
        &Topology::config("active = false"),
    )
    .expect("daemon");
    let probe = Probe::open(&topo.client).expect("probe");
    let mac = [0x02, 0, 0, 0x77, 0, 10];
    let replies = probe
        .exchange(&ClientMessage::discover(0x4848_0001, mac), REPLY_TIMEOUT)
        .unwrap();
    assert!(replies.is_none(), "the deactivated scope answered");

    daemon.reload(&Topology::config("")).expect("SIGHUP");
    // The reload is asynchronous: ask again until answered (bounded).
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut xid = 0x4848_0002;
    let offer = loop {
        let reply = probe
            .exchange(&ClientMessage::discover(xid, mac), Duration::from_secs(1))
            .unwrap();
        if let Some(reply) = reply {
            break reply;
        }
        assert!(
            Instant::now() < deadline,
            "no OFFER after the reload:\n{}",
            daemon.tail()
        );
        xid += 1;
    };
    let m = Message::parse(&offer).unwrap();
    assert_eq!(m.message_type(), Some(MessageType::Offer));
    assert!(in_range(m.yiaddr(), LAN_FIRST, LAN_LAST), "{m:?}");
    // And the now active, authoritative scope NAKs a wrong INIT-REBOOT,
    // which is what the deactivated one must never do.
    let nak = probe
        .exchange(
            &init_reboot(0x4848_1000, [0x02, 0, 0, 0x77, 0, 11]),
            REPLY_TIMEOUT,
        )
        .unwrap()
        .expect("a NAK");
    assert_eq!(
        Message::parse(&nak).unwrap().message_type(),
        Some(MessageType::Nak)
    );
    // Event 1011 names the NAKed address.
    daemon
        .wait_event(1011, Duration::from_secs(5), |r| {
            mentions(r, Ipv4Addr::new(10, 77, 0, 150))
        })
        .expect("event 1011 for the NAK");
    assert!(daemon.is_running(), "the daemon exited on SIGHUP");
}
