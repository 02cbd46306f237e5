//! What xdhcpd and xdhcp-loadgen share to use AF_XDP: the XDP object
//! (`dhcp-ebpf`, built for BPF by `build.rs`, with one program for each),
//! the frame memory a UMEM lives in, and the few socket calls xdpilone does
//! not wrap.
//!
//! Owns no socket and attaches nothing: each tool loads its program from
//! [`OBJECT`] and lays out its own frames.

use std::io;
use std::ptr::NonNull;

use xdpilone::FillQueue;
use xdpilone::xdp::{XdpDesc, XdpStatisticsV2};

/// The XDP object built by `build.rs` from `dhcp-ebpf`.
pub static OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/xdhcpd-xdp"));

/// The server's program: steers each client's DHCP frames to its worker.
pub const SERVER_PROGRAM: &str = "xdhcpd";
/// The load generator's program: DHCP frames to the socket of their queue.
pub const LOADGEN_PROGRAM: &str = "xdhcp_loadgen";

/// Bytes per frame: a full Ethernet frame with two VLAN tags and the
/// largest DHCP reply fits, and so does any received frame of a 1500-byte
/// MTU after the kernel's 256-byte XDP headroom.
pub const FRAME_SIZE: usize = 2048;

/// Frame memory for a UMEM: an anonymous, page-aligned mapping cut in
/// [`FRAME_SIZE`] frames.
pub struct Area {
    base: NonNull<u8>,
    len: usize,
}

// SAFETY: the area is plain memory shared with the kernel. Its users touch
// a frame only while they own it (the contract of `frame_mut`) and hand
// frames on through rings or queues with release/acquire ordering, so no
// two threads access one frame at once.
unsafe impl Send for Area {}
// SAFETY: as above.
unsafe impl Sync for Area {}

impl Area {
    /// Maps `frames` frames.
    pub fn map(frames: usize) -> io::Result<Area> {
        let len = frames * FRAME_SIZE;
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

    /// The mapping, for `xdpilone::Umem::new`.
    pub fn as_slice_ptr(&self) -> NonNull<[u8]> {
        NonNull::slice_from_raw_parts(self.base, self.len)
    }

    /// The whole frame that `addr` (any offset inside it) belongs to, and
    /// the offset of its start.
    ///
    /// # Safety
    ///
    /// The caller must own the frame for as long as it uses the slice (it
    /// is in no ring and no other thread holds it: the kernel and others
    /// neither read nor write it meanwhile), and must not hold another
    /// slice of the same frame.
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

/// Puts as many of `frames` into the fill ring as it takes; returns how
/// many (a prefix of `frames`).
pub fn fill_all(fill: &mut FillQueue, frames: &[u64]) -> usize {
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

/// Whether the kernel bound the socket `fd` in zero-copy mode.
pub fn zero_copy(fd: libc::c_int) -> bool {
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

pub fn errno(e: xdpilone::Errno) -> io::Error {
    io::Error::from_raw_os_error(e.get_raw())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_offset_inside_a_frame_names_that_frame() {
        let area = Area::map(4).unwrap();
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
        let area = Area::map(2).unwrap();
        // SAFETY: the test owns the area; one slice at a time.
        unsafe { area.frame_mut(2048) }.unwrap().1[5] = 0xab;
        // SAFETY: as above.
        assert_eq!(unsafe { area.frame_mut(2048 + 100) }.unwrap().1[5], 0xab);
        // SAFETY: as above.
        assert_eq!(unsafe { area.frame_mut(0) }.unwrap().1[5], 0);
    }
}
