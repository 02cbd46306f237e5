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
use std::ptr::NonNull;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use xdpilone::xdp::{XdpDesc, XdpStatisticsV2};
use xdpilone::{
    CompletionQueue, FillQueue, IfInfo, RingRx, RingTx, Socket, SocketConfig, Umem, UmemConfig,
};

/// Bytes per frame: a full Ethernet frame with two VLAN tags and the
/// largest reply (`engine::MAX_REPLY_LEN`) fits, and so does any received
/// frame of a 1500-byte MTU after the kernel's 256-byte XDP headroom.
pub const FRAME_SIZE: usize = 2048;
/// Frames per queue (a power of two: the fill and completion rings hold
/// them all). 4 MiB per queue: below the 8 MiB a process may lock without
/// CAP_IPC_LOCK even with two interfaces.
pub const FRAMES: u32 = 2048;
/// RX and TX ring entries per socket.
const SOCKET_RING: u32 = 1024;

/// The frame memory of one queue.
pub struct Area {
    base: NonNull<u8>,
    len: usize,
}

// SAFETY: the area is plain memory shared with the kernel. Threads touch a
// frame only while they own it (module docs: a frame is in one place at a
// time, and handing it on goes through a ring or a lock-free queue, both
// with release/acquire ordering), so no two threads access one frame at
// once.
unsafe impl Send for Area {}
// SAFETY: as above.
unsafe impl Sync for Area {}

impl Area {
    fn map(len: usize) -> io::Result<Area> {
        // SAFETY: anonymous private mapping, page-aligned as the kernel
        // requires of a UMEM; checked below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base = NonNull::new(ptr.cast()).ok_or_else(|| io::Error::other("mmap gave NULL"))?;
        Ok(Area { base, len })
    }

    /// The whole frame that `addr` (any offset inside it) belongs to, and
    /// the offset of its start.
    ///
    /// # Safety
    ///
    /// The caller must own the frame (module docs) for as long as it uses
    /// the slice, and must not hold another slice of the same frame.
    #[allow(clippy::mut_from_ref)] // frames are owned by protocol, see above
    pub unsafe fn frame_mut(&self, addr: u64) -> Option<(u64, &mut [u8])> {
        let start = usize::try_from(addr).ok()? & !(FRAME_SIZE - 1);
        if start.checked_add(FRAME_SIZE)? > self.len {
            return None;
        }
        // SAFETY: `start..start + FRAME_SIZE` lies inside the mapping
        // (checked above); exclusivity is the caller's promise.
        let frame =
            unsafe { std::slice::from_raw_parts_mut(self.base.as_ptr().add(start), FRAME_SIZE) };
        Some((start as u64, frame))
    }
}

impl Drop for Area {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly what `map` mapped. The kernel pins the
        // pages it uses for as long as a socket is bound, so this is safe
        // even if a socket outlives the area.
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.len) };
    }
}

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
    let area = Area::map(FRAMES as usize * FRAME_SIZE)?;
    let config = UmemConfig {
        fill_size: FRAMES,
        complete_size: FRAMES,
        frame_size: FRAME_SIZE as u32,
        headroom: 0,
        flags: 0,
    };
    let slice = NonNull::slice_from_raw_parts(area.base, area.len);
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

/// Puts as many of `frames` into the fill ring as it takes; returns how
/// many (a prefix of `frames`).
fn fill_all(fill: &mut FillQueue, frames: &[u64]) -> usize {
    let mut done = 0;
    while done < frames.len() {
        let mut writer = fill.fill((frames.len() - done) as u32);
        let n = writer.insert(frames[done..].iter().copied());
        writer.commit();
        if n == 0 {
            break;
        }
        done += n as usize;
    }
    done
}

const SOL_XDP: libc::c_int = 283;

/// What the kernel counted for one AF_XDP socket: frames it dropped because
/// the socket's RX ring was full or the queue's fill ring empty, which no
/// counter of ours can see. `None` where the kernel does not say.
pub fn socket_stats(fd: libc::c_int) -> Option<XdpStatisticsV2> {
    const XDP_STATISTICS: libc::c_int = 7;
    let mut stats = XdpStatisticsV2::default();
    let mut len = size_of::<XdpStatisticsV2>() as libc::socklen_t;
    // SAFETY: the struct is the kernel's `struct xdp_statistics` (repr(C));
    // getsockopt writes at most `len` bytes into it.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            SOL_XDP,
            XDP_STATISTICS,
            (&raw mut stats).cast(),
            &raw mut len,
        )
    };
    (rc == 0).then_some(stats)
}

/// Whether the kernel bound the socket in zero-copy mode.
fn zero_copy(fd: libc::c_int) -> bool {
    const XDP_OPTIONS: libc::c_int = 8;
    const XDP_OPTIONS_ZEROCOPY: u32 = 1;
    let mut flags: u32 = 0;
    let mut len = size_of::<u32>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `flags`.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            SOL_XDP,
            XDP_OPTIONS,
            (&raw mut flags).cast(),
            &raw mut len,
        )
    };
    rc == 0 && flags & XDP_OPTIONS_ZEROCOPY != 0
}

/// A descriptor for a frame of `len` bytes starting at `start`.
pub fn tx_desc(start: u64, len: usize) -> XdpDesc {
    XdpDesc {
        addr: start,
        len: len as u32,
        options: 0,
    }
}

fn errno(e: xdpilone::Errno) -> io::Error {
    io::Error::from_raw_os_error(e.get_raw())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_offset_inside_a_frame_names_that_frame() {
        let area = Area::map(4 * FRAME_SIZE).unwrap();
        for (addr, start) in [
            (0, 0),
            (256, 0),
            (2047, 0),
            (2048, 2048),
            (3 * 2048 + 300, 6144),
        ] {
            // SAFETY: the test owns every frame of its own area, and each
            // slice is dropped before the next is made.
            let (got, frame) = unsafe { area.frame_mut(addr) }.unwrap();
            assert_eq!(got, start, "addr {addr}");
            assert_eq!(frame.len(), FRAME_SIZE);
        }
        // SAFETY: as above.
        assert!(unsafe { area.frame_mut(4 * FRAME_SIZE as u64) }.is_none());
        // SAFETY: as above.
        assert!(unsafe { area.frame_mut(u64::MAX) }.is_none());
    }

    #[test]
    fn frames_are_written_where_they_are_read() {
        let area = Area::map(2 * FRAME_SIZE).unwrap();
        // SAFETY: the test owns the area; one slice at a time.
        unsafe { area.frame_mut(2048) }.unwrap().1[5] = 0xab;
        // SAFETY: as above.
        assert_eq!(unsafe { area.frame_mut(2048 + 100) }.unwrap().1[5], 0xab);
        // SAFETY: as above.
        assert_eq!(unsafe { area.frame_mut(0) }.unwrap().1[5], 0);
    }
}
