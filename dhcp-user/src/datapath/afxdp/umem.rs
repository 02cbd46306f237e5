//! One UMEM per (interface, receive queue): the frame memory shared with
//! the kernel, the AF_XDP sockets bound to that queue (one per worker), and
//! the fill and completion rings that keep frames moving.
//!
//! Owns the frame accounting of its queue. A frame is always in exactly one
//! place: the fill ring, a socket's RX ring, a worker's hands (being
//! answered, waiting for a commit, or in another worker's inbox), a TX
//! ring, or the completion ring. Frames go back into the fill ring from the
//! completion ring and from workers that did not answer; nothing is
//! allocated per packet, a frame is named by its offset in the area.
//!
//! It never interprets frames and never decides what to send. The fill and
//! completion rings exist once per queue and are single-producer /
//! single-consumer: every access goes through [`FrameRings`]'s lock, which
//! a worker takes once per batch.

use std::io;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

pub use dhcp_xdp::{Area, FRAME_SIZE, socket_stats, tx_desc};
use dhcp_xdp::{errno, fill_all, zero_copy};
use xdpilone::{
    CompletionQueue, FillQueue, IfInfo, RingRx, RingTx, Socket, SocketConfig, Umem, UmemConfig,
};

// A frame holds the largest reply with Ethernet, two VLAN tags, IPv4 and UDP.
const _: () = assert!(crate::engine::MAX_REPLY_LEN + 14 + 2 * 4 + 20 + 8 <= FRAME_SIZE);
/// Frames per queue (a power of two: the fill and completion rings hold
/// them all). 4 MiB per queue: below the 8 MiB a process may lock without
/// CAP_IPC_LOCK even with two interfaces.
pub const FRAMES: u32 = 2048;
/// RX and TX ring entries per socket.
const SOCKET_RING: u32 = 1024;

/// The fill and completion rings of a queue, and the frames in flight on
/// its TX rings.
pub struct FrameRings {
    rings: Mutex<(FillQueue, CompletionQueue)>,
    /// Frames handed to a TX ring and not yet back from the completion
    /// ring: while there are any, workers must come back to reap them even
    /// if no frame arrives (TX completion can lag the send on veth).
    in_flight: AtomicU32,
}

impl FrameRings {
    /// Returns `frames` to the fill ring, after reaping what the completion
    /// ring holds into it too. `frames` is left empty.
    pub fn recycle(&self, frames: &mut Vec<u64>) {
        if frames.is_empty() && self.in_flight.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut guard = self.rings.lock().unwrap_or_else(|e| e.into_inner());
        let (fill, completion) = &mut *guard;
        // xdpilone serves a read from its cached view of the kernel's head
        // while that view has anything, and refreshes it only when it is
        // empty: read until a read finds nothing.
        loop {
            let mut done = completion.complete(FRAMES);
            let mut reaped = 0;
            while let Some(addr) = done.read() {
                frames.push(addr);
                reaped += 1;
            }
            done.release();
            drop(done);
            if reaped == 0 {
                break;
            }
            self.in_flight.fetch_sub(reaped, Ordering::Relaxed);
        }
        // The fill ring holds every frame of the area, so there is always
        // room for the ones coming back; one write may see only part of the
        // room (the same cached view), hence the loop.
        let written = fill_all(fill, frames);
        frames.drain(..written);
        if fill.needs_wakeup() {
            fill.wake();
        }
    }

    /// Counts frames handed to a TX ring.
    pub fn sent(&self, n: u32) {
        self.in_flight.fetch_add(n, Ordering::Relaxed);
    }

    /// Whether frames are waiting to come back from the completion ring.
    pub fn in_flight(&self) -> bool {
        self.in_flight.load(Ordering::Relaxed) > 0
    }
}

/// One worker's socket on a queue: its own RX and TX rings.
pub struct SocketRings {
    pub rx: RingRx,
    pub tx: RingTx,
}

/// A queue's UMEM with its sockets, before the workers take their rings.
pub struct QueueSetup {
    pub area: Area,
    pub rings: FrameRings,
    /// Kept for its drop only: the UMEM registration and the owner socket.
    pub umem: OwnedUmem,
    /// Socket `w` belongs to worker `w`.
    pub sockets: Vec<SocketRings>,
    pub zero_copy: bool,
}

/// The xdpilone `Umem`, held until the queue is torn down.
pub struct OwnedUmem {
    _umem: Umem,
}

// SAFETY: the `Umem` is only created, then dropped; it is never used in
// between, so no thread can race on its raw area pointer.
unsafe impl Send for OwnedUmem {}
// SAFETY: as above: shared references to it are never used.
unsafe impl Sync for OwnedUmem {}

/// Creates the UMEM of queue `queue` of interface `ifindex`, binds one
/// socket per worker to it and fills the fill ring with every frame.
/// `force_copy` asks for copy mode (generic XDP cannot feed a zero-copy
/// socket); otherwise the kernel picks zero-copy where the driver has it.
pub fn open_queue(
    ifindex: u32,
    queue: u32,
    workers: usize,
    force_copy: bool,
) -> io::Result<QueueSetup> {
    let area = Area::map(FRAMES as usize)?;
    let config = UmemConfig {
        fill_size: FRAMES,
        complete_size: FRAMES,
        frame_size: FRAME_SIZE as u32,
        headroom: 0,
        flags: 0,
    };
    let slice = area.as_slice_ptr();
    // SAFETY: the area is page-aligned, FRAMES × FRAME_SIZE bytes, and is
    // unmapped only after the UMEM and its sockets are dropped (field
    // order of `Queue` in the parent module).
    let umem = unsafe { Umem::new(config, slice) }.map_err(errno)?;
    let mut info = IfInfo::invalid();
    info.from_ifindex(ifindex).map_err(errno)?;
    info.set_queue(queue);

    // Socket 0 is the UMEM's own socket: it owns the fill and completion
    // rings of the queue and sets the bind flags the others inherit
    // (giving them flags of their own is EINVAL).
    let owner = Socket::with_shared(&info, &umem).map_err(errno)?;
    let device = umem.fq_cq(&owner).map_err(errno)?;
    let ring_size = std::num::NonZeroU32::new(SOCKET_RING);
    let mut flags = SocketConfig::XDP_BIND_NEED_WAKEUP;
    if force_copy {
        flags |= SocketConfig::XDP_BIND_COPY;
    }
    let others = (1..workers)
        .map(|_| Socket::new(&info).map_err(errno))
        .collect::<io::Result<Vec<_>>>()?;
    let mut sockets = Vec::with_capacity(workers);
    for (w, socket) in std::iter::once(&owner).chain(&others).enumerate() {
        let config = SocketConfig {
            rx_size: ring_size,
            tx_size: ring_size,
            bind_flags: if w == 0 { flags } else { 0 },
        };
        let user = umem.rx_tx(socket, &config).map_err(errno)?;
        let rx = user.map_rx().map_err(errno)?;
        let tx = user.map_tx().map_err(errno)?;
        umem.bind(&user).map_err(errno)?;
        sockets.push(SocketRings { rx, tx });
    }
    let zero_copy = zero_copy(sockets[0].rx.as_raw_fd());
    let (mut fill, completion) = device.into_parts();
    let all: Vec<u64> = (0..u64::from(FRAMES))
        .map(|i| i * FRAME_SIZE as u64)
        .collect();
    if fill_all(&mut fill, &all) != all.len() {
        return Err(io::Error::other("the fill ring does not take every frame"));
    }
    Ok(QueueSetup {
        area,
        rings: FrameRings {
            rings: Mutex::new((fill, completion)),
            in_flight: AtomicU32::new(0),
        },
        umem: OwnedUmem { _umem: umem },
        sockets,
        zero_copy,
    })
}
