//! Frames built by `datapath::frame` and sent through a
//! `datapath::packet::PacketSocket` reach a client through the kernel's own
//! IPv4 and UDP input, which drops a frame whose IPv4 header checksum or UDP
//! checksum is wrong: so arriving intact proves both checksums on a real
//! stack, and arriving at all proves the socket needs no ARP entry.
//!
//! Needs root (network namespaces, CAP_NET_RAW); without it each test prints
//! a skip line and passes. Each test makes two namespaces of its own and a
//! veth pair between them, so its traffic never touches the machine's
//! interfaces:
//!
//! ```text
//!   xdlf-<pid>-<n>-srv                      xdlf-<pid>-<n>-cli
//!   xdlf-<pid:x><n>s 192.0.2.1/24  <--->  xdlf-<pid:x><n>c 192.0.2.2/24
//! ```

use std::{
    fs::{self, File},
    io::ErrorKind,
    net::{Ipv4Addr, SocketAddrV4, UdpSocket},
    os::fd::{AsRawFd, OwnedFd},
    path::Path,
    process::Command,
    sync::atomic::{AtomicU32, Ordering},
    thread,
    time::{Duration, Instant},
};

use dhcp_user::datapath::{
    frame::{self, FrameAddrs, VlanTags},
    iface::{self, Interface},
    packet::PacketSocket,
};
use nix::{
    errno::Errno,
    sched::{CloneFlags, setns},
    sys::socket::{AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType, recv, socket},
    unistd::geteuid,
};

/// Addresses from TEST-NET-1 (RFC 5737), never anybody's real ones.
const SERVER_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
/// How long a frame that must not arrive is waited for.
const ABSENCE_WAIT: Duration = Duration::from_millis(500);

/// Tells apart the topologies of the tests of this process (they run on
/// parallel threads); the pid tells apart processes.
static NEXT_ID: AtomicU32 = AtomicU32::new(0);

fn skip_unless_root(test: &str) -> bool {
    if geteuid().is_root() {
        return false;
    }
    eprintln!("skipping {test}: needs root (network namespaces, CAP_NET_RAW)");
    true
}

/// Two namespaces joined by a veth pair, deleted on drop, also when the
/// test panics.
struct Topology {
    srv_ns: String,
    cli_ns: String,
    srv_if: String,
    cli_if: String,
}

impl Topology {
    fn new() -> Self {
        let pid = std::process::id();
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        // Interface names have at most 15 bytes: "xdlf-" + pid (at most 7
        // hex digits, pid_max being 2^22) + one digit + one letter.
        assert!(id < 10, "more topologies than names for them");
        let topo = Self {
            srv_ns: format!("xdlf-{pid}-{id}-srv"),
            cli_ns: format!("xdlf-{pid}-{id}-cli"),
            srv_if: format!("xdlf-{pid:x}{id}s"),
            cli_if: format!("xdlf-{pid:x}{id}c"),
        };
        // From here on, dropping `topo` removes whatever was created.
        topo.create();
        topo
    }

    fn create(&self) {
        let (srv_ns, cli_ns, srv_if, cli_if) =
            (&self.srv_ns, &self.cli_ns, &self.srv_if, &self.cli_if);
        ip(&["netns", "add", srv_ns]);
        ip(&["netns", "add", cli_ns]);
        // Made inside the server namespace with its peer in the client's:
        // neither end ever exists in the machine's namespace.
        ip(&[
            "-n", srv_ns, "link", "add", srv_if, "type", "veth", "peer", "name", cli_if, "netns",
            cli_ns,
        ]);
        for (ns, dev, addr) in [(srv_ns, srv_if, SERVER_IP), (cli_ns, cli_if, CLIENT_IP)] {
            ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", dev]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
            // veth leaves the checksums of the kernel's own frames partial
            // (TX offload); the frames under test are complete either way.
            if on_path("ethtool") {
                run(Command::new("ip")
                    .args(["netns", "exec", ns, "ethtool", "-K", dev, "tx", "off"]));
            }
        }
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        // Deleting a namespace deletes the veth end inside it, and with it
        // the pair. Failures are printed, not raised: this may run during a
        // panic, and a step that never happened has nothing to delete.
        for ns in [&self.srv_ns, &self.cli_ns] {
            let out = Command::new("ip").args(["netns", "del", ns]).output();
            match out {
                Ok(out) if out.status.success() => {}
                Ok(out) => eprintln!(
                    "cleanup of {ns}: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
                Err(err) => eprintln!("cleanup of {ns}: {err}"),
            }
        }
    }
}

/// Runs `f` on a thread inside namespace `ns`. Sockets it opens stay in
/// that namespace wherever they are used afterwards; only the thread moves,
/// so the test itself and the other tests stay where they were.
fn in_ns<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
    let file = File::open(Path::new("/run/netns").join(ns)).expect("namespace file");
    thread::scope(|s| {
        s.spawn(|| {
            setns(&file, CloneFlags::CLONE_NEWNET).expect("entering the namespace");
            f()
        })
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

fn ip(args: &[&str]) {
    run(Command::new("ip").args(args));
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
}

/// One counter of the calling thread's namespace from /proc/net/snmp, e.g.
/// `("Udp", "InCsumErrors")`. `thread-self`: `/proc/self/net` is the
/// namespace of the process's main thread, not of a thread that moved.
fn snmp(group: &str, counter: &str) -> u64 {
    let text = fs::read_to_string("/proc/thread-self/net/snmp").expect("reading snmp");
    let mut lines = text
        .lines()
        .filter(|l| l.starts_with(&format!("{group}: ")));
    let (names, values) = (lines.next().expect("names"), lines.next().expect("values"));
    let at = names
        .split_whitespace()
        .position(|n| n == counter)
        .expect("counter");
    values
        .split_whitespace()
        .nth(at)
        .expect("value")
        .parse()
        .expect("a number")
}

/// A frame from the server's MAC and address, port 67, to the client's at
/// port 68, around `payload`.
fn frame_to_client(server: &Interface, client: &Interface, payload: &[u8]) -> Vec<u8> {
    let addrs = FrameAddrs {
        src_mac: server.mac,
        dst_mac: client.mac,
        src_ip: SERVER_IP,
        dst_ip: CLIENT_IP,
        src_port: 67,
        dst_port: 68,
        vlans: VlanTags::NONE,
    };
    let hdr = frame::header_len(0);
    let mut buf = vec![0; hdr + payload.len()];
    buf[hdr..].copy_from_slice(payload);
    let len = frame::write_headers(&mut buf, &addrs, payload.len()).expect("headers fit");
    assert_eq!(len, buf.len());
    buf
}

#[test]
fn frames_pass_the_kernels_ip_and_udp_checks() {
    if skip_unless_root("frames_pass_the_kernels_ip_and_udp_checks") {
        return;
    }
    let topo = Topology::new();
    let (client, sock) = in_ns(&topo.cli_ns, || {
        let client = iface::lookup(&topo.cli_if).expect("client interface");
        (
            client,
            UdpSocket::bind("0.0.0.0:68").expect("binding port 68"),
        )
    });
    assert_eq!(client.addrs, ["192.0.2.2/24".parse().unwrap()]);
    assert_ne!(client.mac, [0; 6]);
    let (server, tx) = in_ns(&topo.srv_ns, || {
        let server = iface::lookup(&topo.srv_if).expect("server interface");
        let tx = PacketSocket::open(server.index).expect("packet socket");
        (server, tx)
    });
    sock.set_read_timeout(Some(ABSENCE_WAIT)).unwrap();
    let counters = || {
        in_ns(&topo.cli_ns, || {
            (snmp("Ip", "InHdrErrors"), snmp("Udp", "InCsumErrors"))
        })
    };
    let before = counters();

    // Odd and even lengths: an odd payload ends in a half word.
    let payloads: Vec<Vec<u8>> = (0..20u8)
        .map(|i| {
            (0..300 + usize::from(i))
                .map(|b| (b as u8) ^ i.wrapping_mul(37))
                .collect()
        })
        .collect();
    for payload in &payloads {
        tx.send(&frame_to_client(&server, &client, payload))
            .expect("sending");
    }
    let mut buf = [0; 2048];
    for (i, payload) in payloads.iter().enumerate() {
        let (n, from) = sock
            .recv_from(&mut buf)
            .unwrap_or_else(|e| panic!("frame {i} did not arrive: {e}"));
        assert_eq!(from, SocketAddrV4::new(SERVER_IP, 67).into(), "frame {i}");
        assert_eq!(buf[..n], payload[..], "frame {i}");
    }

    // A wrong UDP checksum (bytes 40..42 of an untagged frame), a wrong
    // IPv4 header checksum (bytes 24..26), then a good frame: veth keeps
    // the order, so the good one arriving first means the bad ones were
    // dropped, not late.
    let mut bad_udp = frame_to_client(&server, &client, b"bad UDP checksum");
    bad_udp[41] ^= 0x01;
    let mut bad_ip = frame_to_client(&server, &client, b"bad IPv4 header checksum");
    bad_ip[25] ^= 0x01;
    let last = frame_to_client(&server, &client, b"last");
    for frame in [&bad_udp, &bad_ip, &last] {
        tx.send(frame).expect("sending");
    }
    let n = sock.recv(&mut buf).expect("the last frame arrives");
    assert_eq!(&buf[..n], b"last");
    let err = sock
        .recv(&mut buf)
        .map(|n| buf[..n].to_vec())
        .expect_err("nothing else arrives");
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{err}"
    );
    // And they were dropped for their checksums, not for anything else.
    let after = counters();
    assert_eq!(
        (after.0 - before.0, after.1 - before.1),
        (1, 1),
        "IP header errors, UDP checksum errors"
    );
}

#[test]
fn the_packet_socket_receives_nothing() {
    if skip_unless_root("the_packet_socket_receives_nothing") {
        return;
    }
    let topo = Topology::new();
    let (tx, tap) = in_ns(&topo.srv_ns, || {
        let server = iface::lookup(&topo.srv_if).expect("server interface");
        let tx = PacketSocket::open(server.index).expect("packet socket");
        // The control: a socket that does receive every frame in the
        // namespace, to show that frames did come in.
        let tap = socket(
            AddressFamily::Packet,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
            SockProtocol::EthAll,
        )
        .expect("ETH_P_ALL socket");
        (tx, tap)
    });

    // The client's kernel ARPs for the server (a broadcast), then sends the
    // datagram (a unicast to the server's MAC).
    in_ns(&topo.cli_ns, || {
        let sock = UdpSocket::bind(SocketAddrV4::new(CLIENT_IP, 0)).expect("client socket");
        sock.send_to(b"to the server", SocketAddrV4::new(SERVER_IP, 9))
            .expect("sending");
    });
    assert!(
        saw_udp_to_port(&tap, 9),
        "the datagram never reached the server's namespace"
    );

    let mut buf = [0; 2048];
    let got = recv(tx.as_raw_fd(), &mut buf, MsgFlags::MSG_DONTWAIT);
    assert_eq!(
        got,
        Err(Errno::EAGAIN),
        "the packet socket received a frame"
    );
}

/// Whether `tap` receives a UDP datagram to `port` within a few seconds
/// (the first one waits for ARP).
fn saw_udp_to_port(tap: &OwnedFd, port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut buf = [0; 2048];
    while Instant::now() < deadline {
        match recv(tap.as_raw_fd(), &mut buf, MsgFlags::MSG_DONTWAIT) {
            Ok(n) => {
                if frame::parse(&buf[..n]).is_some_and(|f| f.dst_port == port) {
                    return true;
                }
            }
            Err(Errno::EAGAIN) => thread::sleep(Duration::from_millis(10)),
            Err(err) => panic!("reading the tap: {err}"),
        }
    }
    false
}
