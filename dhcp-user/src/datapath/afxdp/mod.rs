//! The AF_XDP datapath: the XDP program steers each client's frames to the
//! AF_XDP socket of the worker that owns it, and the worker answers with a
//! complete frame written in place in the same memory.
//!
//! Owns, for every served interface, the attached XDP program (its bpf
//! link: detached when the path is dropped, or by the kernel if the process
//! dies) and, for every receive queue of it, one UMEM with one socket per
//! worker (see `umem`); plus one inbox per worker for the rare message the
//! program steered to the wrong worker (see `worker`), and the daemon's
//! commands ([`Control`]).
//!
//! It never touches the engine's decisions and never opens anything on an
//! interface it was not given. Setting up is all or nothing: if any
//! interface cannot be served, everything opened so far is closed again
//! and the program detached, so the daemon can fall back to io_uring.

mod umem;
mod worker;

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::Mutex;

use crossbeam_queue::ArrayQueue;
use thiserror::Error;

use self::umem::{Area, FrameRings, OwnedUmem, SocketRings};
pub use self::worker::run;
use super::control::Control;
use super::iface::Interface;
use crate::xdp::{Steering, XdpCounters, XdpError, XdpMode, XdpProgram};
use dhcp_common::maps::xsk_slot;

/// Messages waiting for their owner before new ones are dropped.
const INBOX_CAPACITY: usize = 4096;

#[derive(Debug, Error)]
pub enum AfXdpError {
    #[error(transparent)]
    Program(#[from] XdpError),
    #[error("{iface}: cannot open AF_XDP sockets on receive queue {queue}")]
    Socket {
        iface: String,
        queue: u32,
        #[source]
        source: io::Error,
    },
    #[error("cannot set up the workers' inboxes")]
    Inbox(#[source] io::Error),
}

impl AfXdpError {
    /// Whether the interface already has an XDP program (see
    /// [`XdpError::is_busy`]).
    pub fn is_busy(&self) -> bool {
        matches!(self, Self::Program(e) if e.is_busy())
    }
}

/// A served interface: its program and what replies need to know of it.
struct Link {
    iface: Interface,
    program: XdpProgram,
}

/// One receive queue of a link. Field order matters for drop: the UMEM
/// (and the sockets' registration) goes before its memory.
struct Queue {
    link: usize,
    rings: FrameRings,
    _umem: OwnedUmem,
    area: Area,
}

/// A frame the XDP program steered to a worker that does not own the
/// client, on its way to the owner (the frame itself stays in the UMEM).
#[derive(Clone, Copy)]
struct Forwarded {
    queue: usize,
    addr: u64,
    len: u32,
    arrival_ms: u64,
}

/// A worker's mailbox: forwarded frames and the eventfd that wakes it.
struct Inbox {
    queue: ArrayQueue<Forwarded>,
    wake: OwnedFd,
}

impl Inbox {
    fn new() -> io::Result<Inbox> {
        // SAFETY: eventfd(2) returns a fresh descriptor or -1.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is fresh and owned from here on.
        let wake = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Inbox {
            queue: ArrayQueue::new(INBOX_CAPACITY),
            wake,
        })
    }

    fn wake(&self) {
        // SAFETY: eventfd_write on a descriptor we own.
        unsafe { libc::eventfd_write(self.wake.as_raw_fd(), 1) };
    }

    /// Clears a wake-up (the descriptor is non-blocking).
    fn clear(&self) {
        let mut value = 0;
        // SAFETY: eventfd_read writes one u64 into `value`.
        unsafe { libc::eventfd_read(self.wake.as_raw_fd(), &raw mut value) };
    }
}

/// What the workers share.
pub struct XdpPath {
    // Queues before links: sockets close before the programs detach.
    queues: Vec<Queue>,
    links: Vec<Link>,
    /// Each worker's sockets, one per queue (in `queues` order), until the
    /// worker takes them.
    sockets: Vec<Mutex<Option<Vec<SocketRings>>>>,
    inboxes: Vec<Inbox>,
    /// Destination addresses the server answers: every address of every
    /// served link, their subnet broadcasts, and the limited broadcast.
    local: Vec<Ipv4Addr>,
    mode: XdpMode,
    zero_copy: bool,
    /// The UDP/67 socket, bound and never read: the kernel then answers
    /// no ICMP port-unreachable for a frame the program passes, and a
    /// second server cannot take the port.
    _udp: OwnedFd,
    pub control: Control,
}

impl XdpPath {
    /// Attaches the XDP program in `mode` to every interface of `ifaces`
    /// and opens `workers` AF_XDP sockets on each of their receive queues,
    /// steering `port`.
    pub fn open(
        ifaces: Vec<Interface>,
        workers: usize,
        mode: XdpMode,
        port: u16,
        udp: OwnedFd,
    ) -> Result<XdpPath, AfXdpError> {
        let mut links = Vec::with_capacity(ifaces.len());
        let mut queues = Vec::new();
        let mut sockets: Vec<Vec<SocketRings>> = (0..workers).map(|_| Vec::new()).collect();
        let mut zero_copy = true;
        for iface in ifaces {
            let rx_queues = rx_queue_count(&iface.name);
            let steering = Steering {
                workers: workers as u32,
                queues: rx_queues,
                port,
            };
            let mut program = XdpProgram::attach(&iface.name, mode, steering)?;
            for q in 0..rx_queues {
                let setup = umem::open_queue(iface.index, q, workers, mode == XdpMode::Generic)
                    .map_err(|source| AfXdpError::Socket {
                        iface: iface.name.clone(),
                        queue: q,
                        source,
                    })?;
                zero_copy &= setup.zero_copy;
                for (w, rings) in setup.sockets.into_iter().enumerate() {
                    // SAFETY: the descriptor belongs to `rings`, alive for
                    // the call; the map takes its own reference.
                    let fd = unsafe { BorrowedFd::borrow_raw(rings.rx.as_raw_fd()) };
                    // Slot of worker `w` on queue `q`: `w` is its own hash modulo `workers`.
                    program.set_socket(xsk_slot(q, workers as u32, w as u32), fd)?;
                    sockets[w].push(rings);
                }
                queues.push(Queue {
                    link: links.len(),
                    rings: setup.rings,
                    _umem: setup.umem,
                    area: setup.area,
                });
            }
            links.push(Link { iface, program });
        }
        let inboxes = (0..workers)
            .map(|_| Inbox::new())
            .collect::<io::Result<_>>()
            .map_err(AfXdpError::Inbox)?;
        let local = local_addresses(links.iter().map(|l| &l.iface));
        Ok(XdpPath {
            queues,
            links,
            sockets: sockets.into_iter().map(|s| Mutex::new(Some(s))).collect(),
            inboxes,
            local,
            mode,
            zero_copy,
            _udp: udp,
            control: Control::new(workers),
        })
    }

    /// Which XDP mode the program runs in.
    pub fn mode(&self) -> XdpMode {
        self.mode
    }

    /// Whether every socket was bound zero-copy (else copy mode, as on
    /// veth).
    pub fn zero_copy(&self) -> bool {
        self.zero_copy
    }

    /// Wakes every worker (after changing `control`).
    pub fn wake_all(&self) {
        self.inboxes.iter().for_each(Inbox::wake);
    }

    /// The XDP program's counters of each interface.
    pub fn counters(&self) -> Vec<(String, Result<XdpCounters, XdpError>)> {
        self.links
            .iter()
            .map(|l| (l.iface.name.clone(), l.program.counters()))
            .collect()
    }

    fn is_local(&self, ip: Ipv4Addr) -> bool {
        self.local.contains(&ip)
    }
}

/// The receive queues of `iface` (1 if sysfs does not say).
fn rx_queue_count(iface: &str) -> u32 {
    let dir = format!("/sys/class/net/{iface}/queues");
    let count = std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with("rx-"))
            .count()
    });
    (count as u32).max(1)
}

fn local_addresses<'i>(ifaces: impl Iterator<Item = &'i Interface>) -> Vec<Ipv4Addr> {
    let mut local = vec![Ipv4Addr::BROADCAST];
    for iface in ifaces {
        for net in &iface.addrs {
            local.push(net.addr());
            local.push(net.broadcast());
        }
    }
    local
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_addresses_are_every_address_its_broadcast_and_the_limited_one() {
        let iface = |name: &str, nets: &[&str]| Interface {
            name: name.to_owned(),
            index: 7,
            mac: [2, 0, 0, 0, 0, 1],
            addrs: nets.iter().map(|n| n.parse().unwrap()).collect(),
        };
        let ifaces = [
            iface("s0", &["10.77.0.1/24"]),
            iface("s1", &["10.78.0.1/24", "192.0.2.9/32"]),
        ];
        let local = local_addresses(ifaces.iter());
        for ip in [
            "255.255.255.255",
            "10.77.0.1",
            "10.77.0.255",
            "10.78.0.1",
            "10.78.0.255",
            "192.0.2.9",
        ] {
            assert!(local.contains(&ip.parse().unwrap()), "{ip} missing");
        }
        // Another host of a served subnet is not us.
        assert!(!local.contains(&"10.77.0.2".parse().unwrap()));
    }

    #[test]
    fn a_missing_sysfs_entry_means_one_queue() {
        assert_eq!(rx_queue_count("xd-no-such-if"), 1);
    }
}
