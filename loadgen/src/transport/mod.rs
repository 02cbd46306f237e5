//! [`Io`]: how the load generator and the reflector put whole Ethernet
//! frames on one interface and take them off it, through AF_XDP where it
//! can be set up and an `AF_PACKET` socket otherwise.
//!
//! * **AF_XDP** (`xdp`): a small XDP program (`dhcp_xdp::LOADGEN_PROGRAM`)
//!   hands every IPv4 UDP frame to port 67 or 68 to an AF_XDP socket on
//!   receive queue 0, and the tool sends from the same frame memory. This
//!   skips the kernel's packet taps, IP and UDP on receive and the per
//!   message `sendmsg` work on send, which is where the packet socket
//!   spent most of the load generator's core. ARP stays with the kernel
//!   (so the interface's own address keeps answering ARP), and a packet
//!   socket filtered to ARP shows it to the tool.
//! * **`AF_PACKET`** (`packet`): a `TPACKET_V2` receive ring filtered to ARP
//!   and DHCP, and `sendmmsg` batches. Used where AF_XDP cannot be set up
//!   (no XDP support, an XDP program already attached, several receive
//!   queues) or when asked for.
//!
//! Receive times: the packet ring carries the kernel's receive timestamp
//! of every frame; AF_XDP carries none, so a frame's time is when the loop
//! read it (`now_ns` once per read of the ring). The loop busy-polls while
//! traffic flows, so the two differ by the loop's turn, tens of µs.
//!
//! Owns the sockets, the rings and the send slots. It never parses a frame,
//! never decides what to send and never blocks longer than asked.

mod packet;
mod xdp;

use std::{
    ffi::CString,
    fmt, io, mem,
    net::Ipv4Addr,
    os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
    ptr,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

/// Frames per send batch (one `sendmmsg`, or one TX ring write).
pub const BATCH: usize = 32;

/// The current time, ns since the Unix epoch: the clock of the packet
/// ring's receive timestamps, and of every time the loadgen records.
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Which transport to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Choice {
    /// AF_XDP where it can be set up, else AF_PACKET (with a note why).
    #[default]
    Auto,
    /// AF_XDP only: fail if it cannot be set up.
    Xdp,
    /// AF_PACKET only.
    Packet,
}

/// The transport in use, for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// AF_XDP; `native` when the XDP program runs in the driver.
    Xdp {
        native: bool,
    },
    Packet,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Xdp { native: true } => "AF_XDP (native XDP)",
            Kind::Xdp { native: false } => "AF_XDP (generic XDP)",
            Kind::Packet => "AF_PACKET",
        })
    }
}

/// The receiving half.
pub enum Rx {
    Packet(packet::Ring),
    /// DHCP frames on the AF_XDP socket, ARP on a packet ring.
    Xdp {
        xsk: xdp::XskRx,
        arp: packet::Ring,
    },
}

impl Rx {
    /// Hands the frames waiting, at most `max` of them, to `f` with their
    /// receive time (ns since the Unix epoch); returns how many there were.
    pub fn drain(&mut self, max: usize, mut f: impl FnMut(&[u8], u64)) -> usize {
        match self {
            Rx::Packet(ring) => ring.drain(max, f),
            Rx::Xdp { xsk, arp } => {
                let n = xsk.drain(max, &mut f);
                n + arp.drain(max - n.min(max), f)
            }
        }
    }
}

/// The sending half: frames are written in place into slots, then sent
/// together.
pub struct Tx {
    sender: Sender,
    /// Frames handed to the kernel, in total.
    pub sent: u64,
    /// Frames that could not be sent, in total.
    pub failed: u64,
}

enum Sender {
    Packet(packet::Sender),
    Xdp(xdp::XskTx),
}

impl Tx {
    /// The next free slot, or `None` when a batch is queued or no frame is
    /// free (flush first).
    pub fn slot(&mut self) -> Option<&mut [u8]> {
        match &mut self.sender {
            Sender::Packet(s) => s.slot(),
            Sender::Xdp(s) => s.slot(),
        }
    }

    /// Queues the frame just written into [`Self::slot`].
    pub fn commit(&mut self, len: usize) {
        match &mut self.sender {
            Sender::Packet(s) => s.commit(len),
            Sender::Xdp(s) => s.commit(len),
        }
    }

    /// Frames queued and not yet flushed.
    pub fn queued(&self) -> usize {
        match &self.sender {
            Sender::Packet(s) => s.queued(),
            Sender::Xdp(s) => s.queued(),
        }
    }

    /// Hands every queued frame to the kernel and returns how many it
    /// took: the first ones; the rest failed. A packet socket waits up to
    /// `wait` for room; AF_XDP never waits (frames left in its TX ring go
    /// out with a later flush). With nothing queued, it still pushes on
    /// frames the kernel has not sent yet (AF_XDP in copy mode sends only
    /// when told).
    pub fn flush(&mut self, wait: Duration) -> usize {
        let queued = self.queued();
        let done = match &mut self.sender {
            Sender::Packet(s) => s.flush(wait),
            Sender::Xdp(s) => s.flush(),
        };
        self.sent += done as u64;
        self.failed += (queued - done) as u64;
        done
    }
}

/// One interface's transport.
pub struct Io {
    pub interface: Interface,
    pub kind: Kind,
    pub rx: Rx,
    pub tx: Tx,
    /// Kept for its drop: the packet socket of the packet transport or the
    /// ARP socket of AF_XDP; and, with AF_XDP, the program and the UMEM.
    packet: packet::Socket,
    _xdp: Option<xdp::Link>,
}

impl Io {
    /// Opens `interface` (in the calling thread's network namespace) with
    /// the transport `choice` asks for. `promiscuous`: also receive frames
    /// sent to other MACs (the simulated clients'). With [`Choice::Auto`],
    /// the second value says why AF_XDP could not be used, if it could not.
    /// Needs CAP_NET_RAW, and CAP_BPF with CAP_NET_ADMIN for AF_XDP.
    pub fn open(
        interface: &str,
        promiscuous: bool,
        choice: Choice,
    ) -> io::Result<(Self, Option<String>)> {
        let interface = Interface::lookup(interface)?;
        let xdp = match choice {
            Choice::Packet => Err(None),
            Choice::Auto | Choice::Xdp => xdp::open(&interface).map_err(Some),
        };
        let (kind, xdp, fallback) = match xdp {
            Ok(opened) => (
                Kind::Xdp {
                    native: opened.native,
                },
                Some(opened),
                None,
            ),
            Err(Some(e)) if choice == Choice::Xdp => {
                return Err(io::Error::new(e.kind(), format!("AF_XDP: {e}")));
            }
            Err(e) => (Kind::Packet, None, e.map(|e| format!("AF_XDP: {e}"))),
        };
        let filter = if xdp.is_some() {
            packet::Filter::Arp
        } else {
            packet::Filter::ArpAndDhcp
        };
        let (packet, ring, sender) = packet::Socket::open(&interface, filter, promiscuous)?;
        let (rx, sender, xdp) = match xdp {
            Some(opened) => (
                Rx::Xdp {
                    xsk: opened.rx,
                    arp: ring,
                },
                Sender::Xdp(opened.tx),
                Some(opened.link),
            ),
            None => (Rx::Packet(ring), Sender::Packet(sender), None),
        };
        let io = Self {
            interface,
            kind,
            rx,
            tx: Tx {
                sender,
                sent: 0,
                failed: 0,
            },
            packet,
            _xdp: xdp,
        };
        Ok((io, fallback))
    }

    /// Waits until a frame is waiting or `timeout` passes.
    pub fn wait(&self, timeout: Duration) {
        let mut fds = [self.packet.as_raw_fd(), -1].map(|fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        });
        if let Rx::Xdp { xsk, .. } = &self.rx {
            fds[1].fd = xsk.as_raw_fd();
        }
        let ts = libc::timespec {
            tv_sec: timeout.as_secs() as libc::time_t,
            tv_nsec: libc::c_long::from(timeout.subsec_nanos() as i32),
        };
        // SAFETY: valid pollfds (a negative fd is skipped) and timespec; no
        // signal mask change.
        unsafe { libc::ppoll(fds.as_mut_ptr(), fds.len() as _, &ts, ptr::null()) };
    }

    /// Frames the kernel dropped on the way in for want of room (ring
    /// full, no free frame), since the transport was opened.
    pub fn rx_drops(&mut self) -> u64 {
        let xsk = match &self.rx {
            Rx::Xdp { xsk, .. } => xsk.kernel_drops(),
            Rx::Packet(_) => 0,
        };
        xsk + self.packet.rx_drops()
    }
}

pub(crate) fn cvt(rc: libc::c_int, what: &str) -> io::Result<libc::c_int> {
    if rc < 0 {
        let e = io::Error::last_os_error();
        Err(io::Error::new(e.kind(), format!("{what}: {e}")))
    } else {
        Ok(rc)
    }
}

pub(crate) fn setsockopt<T>(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
    what: &str,
) -> io::Result<()> {
    // SAFETY: `value` is a live, initialised T and its size is passed.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (value as *const T).cast(),
            mem::size_of::<T>() as libc::socklen_t,
        )
    };
    cvt(rc, what).map(drop)
}

/// Attaches a classic BPF program, given as `(code, jt, jf, k)` rows.
fn attach_filter(fd: RawFd, program: &[(u16, u8, u8, u32)]) -> io::Result<()> {
    let mut insns: Vec<libc::sock_filter> = program
        .iter()
        .map(|&(code, jt, jf, k)| libc::sock_filter { code, jt, jf, k })
        .collect();
    let prog = libc::sock_fprog {
        len: insns.len() as u16,
        filter: insns.as_mut_ptr(),
    };
    // The kernel copies the program during the call.
    setsockopt(
        fd,
        libc::SOL_SOCKET,
        libc::SO_ATTACH_FILTER,
        &prog,
        "attaching the BPF filter",
    )
}

/// The index, MAC and first IPv4 address of an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    pub index: u32,
    pub mac: [u8; 6],
    pub ipv4: Option<Ipv4Addr>,
}

impl Interface {
    /// Looks `name` up in the calling thread's network namespace.
    pub fn lookup(name: &str) -> io::Result<Self> {
        let c = CString::new(name)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in interface name"))?;
        // SAFETY: `c` is a valid C string.
        let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
        if index == 0 {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no interface {name:?} in this network namespace"),
            ));
        }
        let hw = ifreq(name, libc::SIOCGIFHWADDR)?;
        // SAFETY: SIOCGIFHWADDR fills the hwaddr member.
        let data = unsafe { hw.ifr_ifru.ifru_hwaddr.sa_data };
        let mac = std::array::from_fn(|i| data[i] as u8);
        let ipv4 = ifreq(name, libc::SIOCGIFADDR).ok().map(|req| {
            // SAFETY: SIOCGIFADDR fills the addr member with a sockaddr_in.
            let sin: libc::sockaddr_in = unsafe { mem::transmute_copy(&req.ifr_ifru.ifru_addr) };
            Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr))
        });
        Ok(Self {
            name: name.to_string(),
            index,
            mac,
            ipv4,
        })
    }

    /// Receive queues the driver reports (ethtool's channel counts); 1
    /// where it reports none.
    pub fn rx_queues(&self) -> u32 {
        const ETHTOOL_GCHANNELS: u32 = 0x3c;
        // struct ethtool_channels: cmd, then max_rx, max_tx, max_other,
        // max_combined, rx_count, tx_count, other_count, combined_count.
        let mut channels = [0u32; 9];
        channels[0] = ETHTOOL_GCHANNELS;
        let Ok(mut req) = blank_ifreq(&self.name) else {
            return 1;
        };
        req.ifr_ifru.ifru_data = channels.as_mut_ptr().cast();
        match ioctl(&mut req, libc::SIOCETHTOOL) {
            Ok(()) => channels[5].max(channels[8]).max(1),
            Err(_) => 1,
        }
    }
}

fn blank_ifreq(name: &str) -> io::Result<libc::ifreq> {
    if name.len() >= libc::IFNAMSIZ {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("interface name {name:?} is too long"),
        ));
    }
    // SAFETY: an all-zero ifreq is valid; the name is copied in below,
    // NUL-terminated (shorter than IFNAMSIZ, checked above).
    let mut req: libc::ifreq = unsafe { mem::zeroed() };
    for (d, s) in req.ifr_name.iter_mut().zip(name.bytes()) {
        *d = s as libc::c_char;
    }
    Ok(req)
}

/// `request` on a throwaway datagram socket.
fn ioctl(req: &mut libc::ifreq, request: libc::c_ulong) -> io::Result<()> {
    // SAFETY: a plain datagram socket for the ioctl.
    let fd = cvt(
        unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) },
        "socket",
    )?;
    // SAFETY: `fd` was just opened and is owned here only.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: `req` is a valid ifreq for the interface requests used here;
    // for SIOCETHTOOL its data pointer points at a live, large enough
    // buffer (the caller's).
    cvt(
        unsafe { libc::ioctl(fd.as_raw_fd(), request, req as *mut libc::ifreq) },
        "ioctl",
    )
    .map(drop)
}

fn ifreq(name: &str, request: libc::c_ulong) -> io::Result<libc::ifreq> {
    let mut req = blank_ifreq(name)?;
    ioctl(&mut req, request)?;
    Ok(req)
}

/// A UDP socket bound to a port whose every datagram is dropped by its
/// filter. Relayed replies go to giaddr:67; if the giaddrs are assigned
/// to an interface of the loadgen's namespace, the kernel would otherwise
/// answer each with an ICMP port unreachable (extra load on the server).
pub struct UdpSink {
    _fd: OwnedFd,
}

impl UdpSink {
    /// Binds 0.0.0.0:`port`.
    pub fn bind(port: u16) -> io::Result<Self> {
        // SAFETY: plain socket(2).
        let raw = cvt(
            unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) },
            "udp socket",
        )?;
        // SAFETY: `raw` was just opened and is owned here only.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        attach_filter(raw, &[(0x06, 0, 0, 0)])?; // ret #0: drop all
        let addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: port.to_be(),
            sin_addr: libc::in_addr { s_addr: 0 },
            sin_zero: [0; 8],
        };
        // SAFETY: a valid sockaddr_in and its size.
        let rc = unsafe {
            libc::bind(
                raw,
                (&raw const addr).cast(),
                mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        cvt(rc, &format!("binding UDP port {port}"))?;
        Ok(Self { _fd: fd })
    }
}
