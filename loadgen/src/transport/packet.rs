//! The `AF_PACKET` transport: one packet socket on one interface, sending
//! whole Ethernet frames in batches and receiving through a memory-mapped
//! `TPACKET_V2` ring. With AF_XDP it only receives ARP.
//!
//! Why this shape:
//! * **Receive ring.** A plain `recv` per frame costs a syscall per reply
//!   and tops out near the server rates it must measure. With a
//!   `PACKET_RX_RING` the kernel writes frames into shared memory and the
//!   loop walks them with no syscall at all while traffic flows.
//!   `TPACKET_V2` (one slot per frame) rather than V3 (frames packed in
//!   blocks): V3 hands a block over only when it is full or after its
//!   retire timer (≥ 1 ms), which held every OFFER back ≈ 1 ms before the
//!   REQUEST could follow, and made the responder answer ≈ 1 ms late; a V2
//!   slot is ours as soon as the kernel has written it. 32,768 slots of
//!   2 KiB absorb a 60 ms stall at 500,000 frames/s. Every frame carries
//!   the kernel's receive timestamp (`CLOCK_REALTIME`), which is what the
//!   load generator measures against, so reading late never inflates a
//!   latency.
//! * **Filter.** A classic BPF program keeps only what the tool reads (ARP,
//!   and IPv4 UDP to ports 67/68 unless AF_XDP takes those), so the ring
//!   never fills with unrelated traffic. It is attached before the socket
//!   is bound: nothing unfiltered is ever queued.
//! * **Promiscuous mode.** A direct client's OFFER is unicast to its MAC
//!   (RFC 2131 §4.1), and the simulated MACs are not the interface's. A
//!   veth delivers such frames anyway; a real NIC filters them, so the
//!   socket asks for promiscuous mode (`PACKET_MR_PROMISC`, a membership
//!   the kernel drops when the socket closes: nothing is left behind).
//! * **Own frames.** `PACKET_IGNORE_OUTGOING` keeps the frames this socket
//!   sends out of its own ring (relayed requests go to port 67 too), and
//!   `PACKET_QDISC_BYPASS` skips the queueing discipline on the way out.
//! * **Batched send.** `sendmmsg` hands up to [`BATCH`] frames to the
//!   kernel per syscall.

use std::{
    io, mem,
    os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
    ptr,
    sync::atomic::{Ordering, fence},
    time::{Duration, Instant},
};

use super::{BATCH, Interface, attach_filter, cvt, setsockopt};

/// Bytes per send slot: any DHCP frame built here fits.
const SLOT: usize = 2048;

const ETH_P_ALL: u16 = 0x0003;
// Packet socket options and ring layout (linux/if_packet.h), stable ABI.
const PACKET_ADD_MEMBERSHIP: libc::c_int = 1;
const PACKET_RX_RING: libc::c_int = 5;
const PACKET_STATISTICS: libc::c_int = 6;
const PACKET_VERSION: libc::c_int = 10;
const PACKET_QDISC_BYPASS: libc::c_int = 20;
const PACKET_IGNORE_OUTGOING: libc::c_int = 23;
const PACKET_MR_PROMISC: libc::c_ushort = 1;
const TPACKET_V2: libc::c_int = 1;
const TP_STATUS_KERNEL: u32 = 0;
const TP_STATUS_USER: u32 = 1;

const BLOCK_SIZE: u32 = 1 << 20;
const FRAME_SIZE: u32 = 2048;
const FRAMES_PER_BLOCK: u32 = BLOCK_SIZE / FRAME_SIZE;

// struct tpacket2_hdr.
const H_STATUS: usize = 0;
const H_SNAPLEN: usize = 8;
const H_MAC: usize = 12;
const H_SEC: usize = 16;
const H_NSEC: usize = 20;
const H_LEN: usize = 32;

#[repr(C)]
struct TpacketReq {
    block_size: u32,
    block_nr: u32,
    frame_size: u32,
    frame_nr: u32,
}

#[repr(C)]
#[derive(Default)]
struct TpacketStats {
    packets: u32,
    drops: u32,
}

#[repr(C)]
struct PacketMreq {
    ifindex: libc::c_int,
    kind: libc::c_ushort,
    alen: libc::c_ushort,
    address: [u8; 8],
}

/// `arp or (udp and (dst port 67 or dst port 68))`, unfragmented IPv4.
const ARP_AND_DHCP: [(u16, u8, u8, u32); 13] = [
    (0x28, 0, 0, 0x0000_000c), // ldh [12]
    (0x15, 9, 0, 0x0000_0806), // jeq ARP → accept
    (0x15, 0, 9, 0x0000_0800), // jeq IPv4 else drop
    (0x30, 0, 0, 0x0000_0017), // ldb [23]
    (0x15, 0, 7, 0x0000_0011), // jeq UDP else drop
    (0x28, 0, 0, 0x0000_0014), // ldh [20]
    (0x45, 5, 0, 0x0000_1fff), // jset fragment offset → drop
    (0xb1, 0, 0, 0x0000_000e), // ldxb 4*([14]&0xf)
    (0x48, 0, 0, 0x0000_0010), // ldh [x + 16]
    (0x15, 1, 0, 0x0000_0043), // jeq 67 → accept
    (0x15, 0, 1, 0x0000_0044), // jeq 68 → accept else drop
    (0x06, 0, 0, 0x0004_0000), // accept
    (0x06, 0, 0, 0x0000_0000), // drop
];

/// `arp`.
const ARP: [(u16, u8, u8, u32); 4] = [
    (0x28, 0, 0, 0x0000_000c), // ldh [12]
    (0x15, 0, 1, 0x0000_0806), // jeq ARP else drop
    (0x06, 0, 0, 0x0004_0000), // accept
    (0x06, 0, 0, 0x0000_0000), // drop
];

/// What the socket receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// ARP only (AF_XDP takes the DHCP frames): a small ring.
    Arp,
    /// ARP and DHCP: the ring every reply goes through.
    ArpAndDhcp,
}

impl Filter {
    fn program(self) -> &'static [(u16, u8, u8, u32)] {
        match self {
            Filter::Arp => &ARP,
            Filter::ArpAndDhcp => &ARP_AND_DHCP,
        }
    }

    /// 1 MiB blocks of receive ring: 512 frames for ARP, 32,768 for
    /// everything.
    fn blocks(self) -> u32 {
        match self {
            Filter::Arp => 1,
            Filter::ArpAndDhcp => 64,
        }
    }
}

/// The receive ring.
pub struct Ring {
    map: *mut u8,
    len: usize,
    /// The next slot to look at.
    slot: usize,
    slots: usize,
}

impl Ring {
    /// Hands every frame the kernel has written, at most `max` of them, to
    /// `f` with its receive time (ns since the Unix epoch); returns how
    /// many there were.
    pub fn drain(&mut self, max: usize, mut f: impl FnMut(&[u8], u64)) -> usize {
        let mut frames = 0;
        while frames < max {
            let base = self.slot * FRAME_SIZE as usize;
            // SAFETY: `base` is the start of a slot inside the mapping;
            // the status word is written by the kernel, hence volatile.
            let status = unsafe { ptr::read_volatile(self.map.add(base + H_STATUS).cast::<u32>()) };
            if status & TP_STATUS_USER == 0 {
                break;
            }
            // The slot's contents were written before its status.
            fence(Ordering::Acquire);
            // SAFETY: the kernel handed the slot to us; it stays ours
            // until its status is set back to TP_STATUS_KERNEL.
            let slot =
                unsafe { std::slice::from_raw_parts(self.map.add(base), FRAME_SIZE as usize) };
            let ts =
                u64::from(u32_at(slot, H_SEC)) * 1_000_000_000 + u64::from(u32_at(slot, H_NSEC));
            let mac = usize::from(u16::from_ne_bytes([slot[H_MAC], slot[H_MAC + 1]]));
            let snap = u32_at(slot, H_SNAPLEN) as usize;
            if mac >= H_LEN
                && let Some(frame) = slot.get(mac..mac + snap)
            {
                f(frame, ts);
            }
            frames += 1;
            fence(Ordering::Release);
            // SAFETY: as above; returning the slot to the kernel.
            unsafe {
                ptr::write_volatile(
                    self.map.add(base + H_STATUS).cast::<u32>(),
                    TP_STATUS_KERNEL,
                )
            };
            self.slot = (self.slot + 1) % self.slots;
        }
        frames
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: the mapping was created with this address and length.
        unsafe { libc::munmap(self.map.cast(), self.len) };
    }
}

/// The send slots: frames are written in place, then sent together.
pub struct Sender {
    fd: RawFd,
    bufs: Vec<u8>,
    lens: [usize; BATCH],
    queued: usize,
}

impl Sender {
    /// The next free slot ([`SLOT`] bytes), or `None` when all [`BATCH`]
    /// are queued (flush first).
    pub fn slot(&mut self) -> Option<&mut [u8]> {
        (self.queued < BATCH).then(|| &mut self.bufs[self.queued * SLOT..(self.queued + 1) * SLOT])
    }

    /// Queues the frame just written into [`Self::slot`].
    pub fn commit(&mut self, len: usize) {
        self.lens[self.queued] = len.min(SLOT);
        self.queued += 1;
    }

    /// Frames queued and not yet sent.
    pub fn queued(&self) -> usize {
        self.queued
    }

    /// Sends every queued frame; returns how many the kernel took. Those
    /// are the first ones: the rest failed (after up to `wait` for room).
    pub fn flush(&mut self, wait: Duration) -> usize {
        let n = self.queued;
        if n == 0 {
            return 0;
        }
        self.queued = 0;
        let mut iov: [libc::iovec; BATCH] = std::array::from_fn(|i| libc::iovec {
            iov_base: self.bufs[i * SLOT..].as_mut_ptr().cast(),
            iov_len: self.lens[i],
        });
        // SAFETY: an all-zero mmsghdr is valid (no name, no control).
        let mut msgs: [libc::mmsghdr; BATCH] = unsafe { mem::zeroed() };
        for (m, v) in msgs.iter_mut().zip(iov.iter_mut()) {
            m.msg_hdr.msg_iov = v;
            m.msg_hdr.msg_iovlen = 1;
        }
        let mut done = 0;
        let mut deadline = None;
        while done < n {
            // SAFETY: msgs[done..n] point at live iovecs over `bufs`.
            let rc =
                unsafe { libc::sendmmsg(self.fd, msgs[done..].as_mut_ptr(), (n - done) as u32, 0) };
            if rc > 0 {
                done += rc as usize;
                continue;
            }
            let err = io::Error::last_os_error();
            let retry = matches!(
                err.raw_os_error(),
                Some(libc::EAGAIN | libc::ENOBUFS | libc::EINTR)
            );
            let deadline = *deadline.get_or_insert_with(|| Instant::now() + wait);
            if !retry || Instant::now() >= deadline {
                break;
            }
            let mut pfd = libc::pollfd {
                fd: self.fd,
                events: libc::POLLOUT,
                revents: 0,
            };
            // SAFETY: one valid pollfd; a 1 ms wait for send-buffer room.
            unsafe { libc::poll(&mut pfd, 1, 1) };
        }
        done
    }
}

/// The packet socket; its ring and send slots are handed out at opening.
pub struct Socket {
    fd: OwnedFd,
    rx_dropped: u64,
}

impl Socket {
    /// Opens the socket on `interface` (in the calling thread's namespace)
    /// with its receive ring and its send slots. Needs CAP_NET_RAW.
    pub fn open(
        interface: &Interface,
        filter: Filter,
        promiscuous: bool,
    ) -> io::Result<(Self, Ring, Sender)> {
        // Protocol 0: nothing is queued before the filter and the bind.
        // SAFETY: plain socket(2).
        let raw = cvt(
            unsafe {
                libc::socket(
                    libc::AF_PACKET,
                    libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                    0,
                )
            },
            "packet socket (needs CAP_NET_RAW)",
        )?;
        // SAFETY: `raw` was just opened and is owned here only.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        attach_filter(raw, filter.program())?;
        setsockopt(
            raw,
            libc::SOL_PACKET,
            PACKET_IGNORE_OUTGOING,
            &1i32,
            "PACKET_IGNORE_OUTGOING",
        )?;
        setsockopt(
            raw,
            libc::SOL_PACKET,
            PACKET_QDISC_BYPASS,
            &1i32,
            "PACKET_QDISC_BYPASS",
        )?;
        // A deep send buffer absorbs bursts (storms). FORCE needs
        // CAP_NET_ADMIN; without it the plain option's cap applies.
        let sndbuf = 8i32 << 20;
        setsockopt(
            raw,
            libc::SOL_SOCKET,
            libc::SO_SNDBUFFORCE,
            &sndbuf,
            "SO_SNDBUFFORCE",
        )
        .or_else(|_| setsockopt(raw, libc::SOL_SOCKET, libc::SO_SNDBUF, &sndbuf, "SO_SNDBUF"))?;
        setsockopt(
            raw,
            libc::SOL_PACKET,
            PACKET_VERSION,
            &TPACKET_V2,
            "TPACKET_V2",
        )?;
        let req = TpacketReq {
            block_size: BLOCK_SIZE,
            block_nr: filter.blocks(),
            frame_size: FRAME_SIZE,
            frame_nr: FRAMES_PER_BLOCK * filter.blocks(),
        };
        setsockopt(
            raw,
            libc::SOL_PACKET,
            PACKET_RX_RING,
            &req,
            "PACKET_RX_RING",
        )?;
        let len = (BLOCK_SIZE * filter.blocks()) as usize;
        // SAFETY: mapping the ring the kernel just allocated for `raw`.
        let map = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                raw,
                0,
            )
        };
        if map == libc::MAP_FAILED {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(
                e.kind(),
                format!("mapping the receive ring: {e}"),
            ));
        }
        let ring = Ring {
            map: map.cast(),
            len,
            slot: 0,
            slots: req.frame_nr as usize,
        };
        let addr = libc::sockaddr_ll {
            sll_family: libc::AF_PACKET as u16,
            sll_protocol: ETH_P_ALL.to_be(),
            sll_ifindex: interface.index as i32,
            sll_hatype: 0,
            sll_pkttype: 0,
            sll_halen: 0,
            sll_addr: [0; 8],
        };
        // SAFETY: a valid sockaddr_ll and its size.
        let rc = unsafe {
            libc::bind(
                raw,
                (&raw const addr).cast(),
                mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        cvt(rc, &format!("binding to {}", interface.name))?;
        if promiscuous {
            let mreq = PacketMreq {
                ifindex: interface.index as i32,
                kind: PACKET_MR_PROMISC,
                alen: 0,
                address: [0; 8],
            };
            setsockopt(
                raw,
                libc::SOL_PACKET,
                PACKET_ADD_MEMBERSHIP,
                &mreq,
                "promiscuous mode",
            )?;
        }
        let sender = Sender {
            fd: raw,
            bufs: vec![0; BATCH * SLOT],
            lens: [0; BATCH],
            queued: 0,
        };
        Ok((Self { fd, rx_dropped: 0 }, ring, sender))
    }

    /// Frames the kernel dropped for want of ring space since the socket
    /// was opened.
    pub fn rx_drops(&mut self) -> u64 {
        let mut st = TpacketStats::default();
        let mut len = mem::size_of::<TpacketStats>() as libc::socklen_t;
        // SAFETY: `st` is a valid buffer of `len` bytes. The kernel resets
        // its counters on every read, hence the running sums.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                PACKET_STATISTICS,
                (&raw mut st).cast(),
                &mut len,
            )
        };
        if rc == 0 {
            self.rx_dropped += u64::from(st.drops);
        }
        self.rx_dropped
    }
}

impl AsRawFd for Socket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}
