//! The XDP program counts exactly what reaches its interface, attached in
//! generic and in native mode. No AF_XDP socket is in its map here, so
//! every DHCP frame is a failed redirect and goes to the kernel: the
//! datapath's own tests cover the redirects.
//!
//! The program sits on the host end of a veth pair; from inside the
//! namespace, a UDP socket sends DHCP-looking broadcasts and other
//! datagrams (frames as the kernel builds them), and a raw socket sends
//! frames no socket would build: IP options, truncated or invalid headers,
//! fragments, another EtherType. Then the counters must match the traffic
//! exactly, which also proves that nothing else crossed the pair.

use std::{
    net::{Ipv4Addr, SocketAddrV4, UdpSocket},
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use dhcp_user::xdp::{Steering, XdpCounters, XdpMode, XdpProgram};
use nix::sys::socket::{setsockopt, sockopt::BindToDevice};
use tests::{NetNs, RawSender, is_root};

const DHCP_DATAGRAMS: u64 = 48;
const OTHER_DATAGRAMS: u64 = 16;
/// Port of the non-DHCP datagrams (discard).
const OTHER_PORT: u16 = 9;
/// How long the counters may take to catch up with the frames sent: the
/// receiving side runs in softirq context, after `send` returns.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(5);

#[test]
fn counts_frames_in_generic_mode() {
    counts_frames(XdpMode::Generic);
}

#[test]
fn counts_frames_in_native_mode() {
    counts_frames(XdpMode::Native);
}

fn counts_frames(mode: XdpMode) {
    if !is_root() {
        eprintln!("skipped: XDP counter test ({mode}) needs root for namespaces and XDP");
        return;
    }
    let ns = NetNs::new().expect("network namespace");
    let steering = Steering {
        workers: 2,
        queues: 1,
        port: 67,
    };
    let xdp = XdpProgram::attach(ns.host_if(), mode, steering).expect("attach XDP");
    assert_eq!(
        xdp.counters().expect("read counters"),
        XdpCounters::default()
    );

    let raw = RawFrames::new();
    ns.run_in(|| send_traffic(&ns, &raw))
        .expect("enter namespace")
        .expect("send traffic");

    let frames = DHCP_DATAGRAMS + OTHER_DATAGRAMS + raw.total();
    let dhcp = DHCP_DATAGRAMS + raw.dhcp.len() as u64;
    let expected = XdpCounters {
        frames,
        dhcp,
        passed: frames,
        malformed: raw.malformed.len() as u64,
        redirected: 0,
        redirect_failed: dhcp,
    };
    assert_eq!(settled_counters(&xdp, frames), expected, "{mode}");
}

fn send_traffic(ns: &NetNs, raw: &RawFrames) -> Result<()> {
    let udp = UdpSocket::bind(SocketAddrV4::new(ns.ns_addr(), 68)).context("binding UDP :68")?;
    udp.set_broadcast(true)?;
    // A limited broadcast needs an interface: the namespace has no routes
    // beyond its /24.
    setsockopt(&udp, BindToDevice, &ns.ns_if().into()).context("SO_BINDTODEVICE")?;
    let payload = discover_payload();
    for _ in 0..DHCP_DATAGRAMS {
        udp.send_to(&payload, (Ipv4Addr::BROADCAST, 67))?;
    }
    for _ in 0..OTHER_DATAGRAMS {
        udp.send_to(b"not dhcp", (Ipv4Addr::BROADCAST, OTHER_PORT))?;
    }

    let sender = RawSender::open(ns.ns_if())?;
    for frame in raw.dhcp.iter().chain(&raw.malformed).chain(&raw.other) {
        sender.send(frame)?;
    }
    Ok(())
}

/// Reads the counters once `frames` have been seen (or the timeout is up),
/// then once more after a pause, so that a stray extra frame shows too.
fn settled_counters(xdp: &XdpProgram, frames: u64) -> XdpCounters {
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    while xdp.counters().expect("read counters").frames < frames && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    thread::sleep(Duration::from_millis(200));
    xdp.counters().expect("read counters")
}

/// A BOOTREQUEST with a DHCPDISCOVER option, 300 bytes like most clients'.
fn discover_payload() -> Vec<u8> {
    let mut p = vec![0u8; 300];
    p[..4].copy_from_slice(&[1, 1, 6, 0]); // op, htype, hlen, hops
    p[4..8].copy_from_slice(&0x1234_5678u32.to_be_bytes()); // xid
    p[28..34].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x01]); // chaddr
    p[236..240].copy_from_slice(&[99, 130, 83, 99]); // magic cookie
    p[240..244].copy_from_slice(&[53, 1, 1, 255]); // DHCPDISCOVER, end
    p
}

/// Hand-built frames, grouped by how the program must count them.
struct RawFrames {
    dhcp: Vec<Vec<u8>>,
    malformed: Vec<Vec<u8>>,
    other: Vec<Vec<u8>>,
}

impl RawFrames {
    fn new() -> Self {
        let ipv4 = |ihl: u8, frag: u16, proto: u8, dport: u16| {
            let mut f = ethernet(ETH_P_IP);
            let options = usize::from(ihl.saturating_sub(5)) * 4;
            f.push(0x40 | ihl);
            f.push(0);
            f.extend_from_slice(&((ihl as u16 * 4 + 8 + 300).to_be_bytes()));
            f.extend_from_slice(&[0, 0]);
            f.extend_from_slice(&frag.to_be_bytes());
            f.extend_from_slice(&[64, proto, 0, 0]);
            f.extend_from_slice(&[192, 0, 2, 2, 255, 255, 255, 255]);
            f.extend(std::iter::repeat_n(1, options)); // NOP options
            f.extend_from_slice(&68u16.to_be_bytes());
            f.extend_from_slice(&dport.to_be_bytes());
            f.extend_from_slice(&[0; 4]);
            f.extend_from_slice(&discover_payload());
            f
        };
        let truncated = |frame: Vec<u8>, len: usize| frame[..len].to_vec();
        let mut bad_version = ipv4(5, 0, 17, 67);
        bad_version[14] = 0x65;
        Self {
            dhcp: vec![
                ipv4(6, 0, 17, 67),      // one word of IP options
                ipv4(15, 0, 17, 67),     // the longest IPv4 header
                ipv4(5, 0x2000, 17, 67), // first fragment (more fragments)
            ],
            malformed: vec![
                ipv4(4, 0, 17, 67),                      // IHL below 5
                bad_version,                             // version 6 in an IPv4 frame
                truncated(ipv4(5, 0, 17, 67), 14 + 19),  // IPv4 header cut short
                truncated(ipv4(5, 0, 17, 67), 14 + 24),  // UDP header cut short
                truncated(ipv4(15, 0, 17, 67), 14 + 40), // options past the end
            ],
            other: vec![
                ipv4(5, 0x0010, 17, 67), // a later fragment: no UDP header
                ipv4(5, 0, 6, 67),       // TCP to port 67
                ipv4(5, 0, 17, 68),      // UDP to the client port
                {
                    let mut arp = ethernet(ETH_P_ARP);
                    arp.extend_from_slice(&[0; 28]);
                    arp
                },
            ],
        }
    }

    fn total(&self) -> u64 {
        (self.dhcp.len() + self.malformed.len() + self.other.len()) as u64
    }
}

const ETH_P_IP: u16 = 0x0800;
const ETH_P_ARP: u16 = 0x0806;

/// A broadcast Ethernet header from a locally administered address.
fn ethernet(ethertype: u16) -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x01]);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f
}
