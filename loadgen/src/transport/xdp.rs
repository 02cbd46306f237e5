//! The AF_XDP transport: the load generator's XDP program on the interface,
//! one AF_XDP socket on receive queue 0, and one UMEM whose frames are cut
//! in two fixed sets: receive frames (fill ring → RX ring → back to the
//! fill ring once read) and send frames (free list → TX ring → completion
//! ring → free list). Frames never move from one set to the other, so each
//! half owns its rings outright and needs no lock.
//!
//! The veth and most drivers without zero-copy support bind in copy mode:
//! the kernel copies each received frame into a receive frame, and sends
//! from the TX ring only inside a `sendto` on the socket, a bounded number
//! of frames per call. [`XskTx::flush`] therefore kicks while the kernel
//! keeps taking frames, and kicks again on every later flush while frames
//! are left in it, so a frame never waits for the next one. It never waits
//! for room: a frame in the ring is not lost, and a loop that waited would
//! stop reading its own RX ring while the peer is the one that is slow.

use std::{io, num::NonZeroU32, os::fd::AsFd, rc::Rc};

use aya::{
    Ebpf, EbpfLoader,
    maps::XskMap,
    programs::{ProgramError, Xdp, XdpMode},
};
use dhcp_common::maps::XSKS_MAP;
use dhcp_xdp::{Area, FRAME_SIZE, LOADGEN_PROGRAM, OBJECT, errno, fill_all, socket_stats};
use xdpilone::{
    CompletionQueue, FillQueue, IfInfo, RingRx, RingTx, Socket, SocketConfig, Umem, UmemConfig,
    xdp::XdpDesc,
};

use super::{BATCH, Interface, now_ns};

/// Receive frames; also the size of the fill and RX rings. At 500,000
/// frames/s they absorb a 16 ms stall of the loop.
const RX_FRAMES: u32 = 8192;
/// Send frames; also the size of the TX and completion rings, so the TX
/// ring always has room for every frame that is not already in it.
const TX_FRAMES: u32 = 4096;
/// What [`open`] sets up.
pub struct Opened {
    pub link: Link,
    pub rx: XskRx,
    pub tx: XskTx,
    /// The program runs in the driver (not in generic, skb mode).
    pub native: bool,
}

/// The attached program and the UMEM registration, held until the
/// transport closes: dropping them detaches the program (a bpf link, so
/// the kernel also detaches it if the process dies) and closes the socket.
pub struct Link {
    _ebpf: Ebpf,
    _umem: Umem,
}

/// Sets AF_XDP up on queue 0 of `interface`: the UMEM, the socket, the
/// program with the socket in its map. Fails on an interface with more
/// than one receive queue (the frames of the others would pass the socket
/// by) or one that already has an XDP program.
pub fn open(interface: &Interface) -> io::Result<Opened> {
    let queues = interface.rx_queues();
    if queues > 1 {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "{} has {queues} receive queues and the loadgen reads one \
                 (`ethtool -L {} combined 1` makes it one)",
                interface.name, interface.name
            ),
        ));
    }
    let area = Rc::new(Area::map((RX_FRAMES + TX_FRAMES) as usize)?);
    let config = UmemConfig {
        fill_size: RX_FRAMES,
        complete_size: TX_FRAMES,
        frame_size: FRAME_SIZE as u32,
        headroom: 0,
        flags: 0,
    };
    // SAFETY: the area is page-aligned and as long as the frames; it is
    // unmapped only once both halves (which hold it) are gone, and after
    // the socket and the UMEM registration go (the kernel pins the pages it
    // uses meanwhile).
    let umem = unsafe { Umem::new(config, area.as_slice_ptr()) }
        .map_err(|e| context(errno(e), "registering the UMEM"))?;
    let mut info = IfInfo::invalid();
    info.from_ifindex(interface.index)
        .map_err(|e| context(errno(e), "interface"))?;
    info.set_queue(0);
    let socket =
        Socket::with_shared(&info, &umem).map_err(|e| context(errno(e), "AF_XDP socket"))?;
    let device = umem
        .fq_cq(&socket)
        .map_err(|e| context(errno(e), "fill and completion rings"))?;
    let user = umem
        .rx_tx(
            &socket,
            &SocketConfig {
                rx_size: NonZeroU32::new(RX_FRAMES),
                tx_size: NonZeroU32::new(TX_FRAMES),
                bind_flags: SocketConfig::XDP_BIND_NEED_WAKEUP,
            },
        )
        .map_err(|e| context(errno(e), "RX and TX rings"))?;
    let rx = user
        .map_rx()
        .map_err(|e| context(errno(e), "mapping the RX ring"))?;
    let tx = user
        .map_tx()
        .map_err(|e| context(errno(e), "mapping the TX ring"))?;
    umem.bind(&user)
        .map_err(|e| context(errno(e), &format!("binding to {} queue 0", interface.name)))?;
    let (mut fill, completion) = device.into_parts();
    let rx_frames: Vec<u64> = (0..u64::from(RX_FRAMES))
        .map(|i| i * FRAME_SIZE as u64)
        .collect();
    if fill_all(&mut fill, &rx_frames) != rx_frames.len() {
        return Err(io::Error::other("the fill ring does not take every frame"));
    }
    let (ebpf, native) = attach(interface, &rx)?;
    let tx_free = (u64::from(RX_FRAMES)..u64::from(RX_FRAMES + TX_FRAMES))
        .map(|i| i * FRAME_SIZE as u64)
        .collect();
    Ok(Opened {
        link: Link {
            _ebpf: ebpf,
            _umem: umem,
        },
        rx: XskRx {
            ring: rx,
            fill,
            area: Rc::clone(&area),
            read: Vec::with_capacity(RX_FRAMES as usize),
        },
        tx: XskTx {
            ring: tx,
            completion,
            area,
            free: tx_free,
            queued: Vec::with_capacity(BATCH),
        },
        native,
    })
}

/// Loads the program, puts the socket in slot 0 of its map and attaches
/// it, in the driver where the driver can run it (else the kernel runs it
/// on skbs); whether it runs in the driver.
fn attach(interface: &Interface, rx: &RingRx) -> io::Result<(Ebpf, bool)> {
    let mut ebpf = EbpfLoader::new()
        .load(OBJECT)
        .map_err(|e| io::Error::other(format!("loading the XDP object: {e}")))?;
    let program: &mut Xdp = ebpf
        .program_mut(LOADGEN_PROGRAM)
        .ok_or_else(|| io::Error::other(format!("no program {LOADGEN_PROGRAM} in the object")))?
        .try_into()
        .map_err(|e: ProgramError| io::Error::other(e.to_string()))?;
    program
        .load()
        .map_err(|e| io::Error::other(format!("loading {LOADGEN_PROGRAM}: {e}")))?;
    let map = ebpf
        .map_mut(XSKS_MAP)
        .ok_or_else(|| io::Error::other("no socket map in the object"))?;
    let mut sockets = XskMap::try_from(map).map_err(|e| io::Error::other(e.to_string()))?;
    // SAFETY: the descriptor is the socket's, open for as long as `rx`.
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(rx.as_raw_fd()) };
    sockets
        .set(0, fd.as_fd(), 0)
        .map_err(|e| io::Error::other(format!("putting the socket in the map: {e}")))?;
    let program: &mut Xdp = ebpf
        .program_mut(LOADGEN_PROGRAM)
        .and_then(|p| p.try_into().ok())
        .ok_or_else(|| io::Error::other("program vanished"))?;
    let native = program.attach(&interface.name, XdpMode::Driver).is_ok();
    if !native {
        program.attach(&interface.name, XdpMode::Skb).map_err(|e| {
            io::Error::other(format!(
                "attaching the XDP program to {}: {e} (another XDP program there?)",
                interface.name
            ))
        })?;
    }
    Ok((ebpf, native))
}

fn context(e: io::Error, what: &str) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// The receiving half: the RX ring and the fill ring.
pub struct XskRx {
    ring: RingRx,
    fill: FillQueue,
    area: Rc<Area>,
    /// Frames read in this drain, on their way back to the fill ring.
    read: Vec<u64>,
}

impl XskRx {
    /// Hands the frames waiting, at most `max`, to `f` with the time they
    /// were read; returns how many there were.
    pub fn drain(&mut self, max: usize, f: &mut impl FnMut(&[u8], u64)) -> usize {
        let mut batch = self.ring.receive(max as u32);
        if batch.capacity() == 0 {
            return 0;
        }
        let at = now_ns();
        while let Some(desc) = batch.read() {
            // SAFETY: the kernel handed this frame over through the RX
            // ring; it is ours until it goes back into the fill ring below,
            // and no other slice of it exists.
            if let Some((start, frame)) = unsafe { self.area.frame_mut(desc.addr) } {
                let offset = (desc.addr - start) as usize;
                if let Some(bytes) = frame.get(offset..offset + desc.len as usize) {
                    f(bytes, at);
                }
                self.read.push(start);
            }
        }
        batch.release();
        drop(batch);
        let n = self.read.len();
        // The fill ring holds every receive frame, so they all fit.
        let written = fill_all(&mut self.fill, &self.read);
        self.read.drain(..written);
        if self.fill.needs_wakeup() {
            self.fill.wake();
        }
        n
    }

    /// Frames the kernel could not hand to the socket since it was opened:
    /// RX ring full, or no frame in the fill ring (`rx_dropped`, which
    /// `rx_fill_ring_empty_descs` counts again) or a frame too large.
    pub fn kernel_drops(&self) -> u64 {
        socket_stats(self.ring.as_raw_fd()).map_or(0, |s| s.rx_dropped + s.rx_ring_full)
    }

    pub fn as_raw_fd(&self) -> libc::c_int {
        self.ring.as_raw_fd()
    }
}

/// The sending half: the TX ring, the completion ring and the free frames.
pub struct XskTx {
    ring: RingTx,
    completion: CompletionQueue,
    area: Rc<Area>,
    /// Send frames in no ring.
    free: Vec<u64>,
    /// Frames written and not yet in the TX ring.
    queued: Vec<XdpDesc>,
}

impl XskTx {
    /// The next free frame, or `None` when a batch is queued or every send
    /// frame is in flight.
    pub fn slot(&mut self) -> Option<&mut [u8]> {
        if self.queued.len() >= BATCH {
            return None;
        }
        if self.free.is_empty() {
            self.reap();
        }
        let &start = self.free.last()?;
        // SAFETY: a free frame is in no ring: only this half holds it.
        unsafe { self.area.frame_mut(start) }.map(|(_, frame)| frame)
    }

    /// Queues the frame just written into [`Self::slot`].
    pub fn commit(&mut self, len: usize) {
        if let Some(addr) = self.free.pop() {
            self.queued.push(XdpDesc {
                addr,
                len: len.min(FRAME_SIZE) as u32,
                options: 0,
            });
        }
    }

    pub fn queued(&self) -> usize {
        self.queued.len()
    }

    /// Puts the queued frames in the TX ring (they fit: the ring is as
    /// large as the set of send frames) and kicks the kernel for as long as
    /// it takes frames from the ring; what is left is sent by later
    /// flushes. Returns how many frames went into the ring: the first ones
    /// (the rest go back to the free frames).
    pub fn flush(&mut self) -> usize {
        // One write may see only part of the free room (xdpilone refreshes
        // its view of the kernel's position only when the ring looks
        // full): write until everything is in or nothing fits.
        let mut written = 0;
        while written < self.queued.len() {
            let mut writer = self.ring.transmit((self.queued.len() - written) as u32);
            let n = writer.insert(self.queued[written..].iter().copied()) as usize;
            writer.commit();
            if n == 0 {
                break;
            }
            written += n;
        }
        self.free
            .extend(self.queued.drain(..).skip(written).map(|d| d.addr));
        // A kick that sends nothing means the peer's queue is full: the
        // frames wait for the next flush.
        let mut pending = self.ring.pending();
        while pending > 0 {
            self.ring.wake();
            let left = self.ring.pending();
            if left >= pending {
                break;
            }
            pending = left;
        }
        self.reap();
        written
    }

    /// Takes the frames the kernel has sent back into the free list.
    fn reap(&mut self) {
        loop {
            let mut done = self.completion.complete(TX_FRAMES);
            let before = self.free.len();
            while let Some(addr) = done.read() {
                self.free.push(addr);
            }
            done.release();
            if self.free.len() == before {
                break;
            }
        }
    }
}
