//! One worker's loop on the AF_XDP datapath: receive a batch from each of
//! its sockets, answer in place, commit, transmit, give frames back.
//!
//! Mirrors the io_uring loop (`datapath::uring::run`): the same `Worker`
//! calls, one store commit (group commit: ACKs linger up to 500 µs, or
//! until 64 wait, so one sync serves many) before the ACKs that waited for
//! it leave, delayed OFFERs held in their frames until due, timers, reload
//! barrier and shutdown. The differences are the
//! frames: a request's frame is parsed (`datapath::frame`), its payload
//! copied aside, and the reply written into the same frame, headers
//! included (both checksums complete, the request's VLAN tags kept,
//! addressed per RFC 2131 §4.1 at layer 2: chaddr for a client without an
//! address, broadcast, or back to the request's source MAC — the relay or
//! router it came through, or the client itself).
//!
//! The XDP program's hash agrees with userspace for every message clients
//! send in practice, but not for all (option 61 after 32 options, split or
//! in an overloaded field: see `dhcp_ebpf::classify::client_hash`); the
//! worker checks the owner and passes a misrouted frame to its owner's
//! inbox, so a client is always handled by one worker whatever the
//! program computed.
//!
//! It never allocates per packet: frames are named by their offset, and
//! the batch vectors are reused.
//!
//! Conflict detection parks an OFFER in its frame, like a delayed OFFER,
//! while its address is pinged (`datapath::ping`); the worker's ICMP
//! socket is one more descriptor in its `ppoll` (the XDP program passes
//! ICMP to the kernel).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use xdpilone::xdp::XdpDesc;

use super::umem::{FRAME_SIZE, FRAMES, SocketRings, socket_stats, tx_desc};
use super::{Forwarded, XdpPath};
use crate::daemon::counters::Counters;
use crate::daemon::worker::{Answer, Worker, now_ms};
use crate::datapath::frame::{self, FrameAddrs, VlanTags};
use crate::datapath::group_commit::HeldForCommit;
use crate::datapath::ping::{Pinger, Probe, Probes, Resolved, Token};
use crate::datapath::udp;
use crate::engine::{Destination, RecvMeta, steering_key};

/// Descriptors taken from an RX ring per wake-up and socket.
const RX_BATCH: u32 = 64;
/// Longest sleep without a timer due (see `uring::MAX_SLEEP_MS`).
const MAX_SLEEP_MS: u64 = 1000;
/// Sleep while sent frames have not come back from the completion ring:
/// only a worker can reap them, and the fill ring runs dry without them.
const REAP_SLEEP_MS: u64 = 1;
/// `sendto` kicks per TX batch in copy mode, where each kick sends a
/// bounded number of frames.
const MAX_KICKS: usize = 64;
/// Most OFFERs one worker parks while their addresses are pinged: parked
/// frames are out of the fill ring, so all the workers together park at
/// most a quarter of a queue's frames.
const MAX_PROBES: usize = 256;

/// One worker's socket on one queue, and what it has to send there.
struct Sock {
    rings: SocketRings,
    /// Replies ready to transmit.
    ready: Vec<XdpDesc>,
    /// Frames to give back to the queue's fill ring.
    recycle: Vec<u64>,
}

/// Runs one worker until shutdown.
pub fn run(mut worker: Worker, path: Arc<XdpPath>) -> io::Result<()> {
    let index = worker.index();
    let rings = path.sockets[index]
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .ok_or_else(|| io::Error::other("worker sockets already taken"))?;
    let mut socks: Vec<Sock> = rings
        .into_iter()
        .map(|rings| Sock {
            rings,
            ready: Vec::with_capacity(RX_BATCH as usize * 2),
            recycle: Vec::with_capacity(RX_BATCH as usize * 2),
        })
        .collect();
    let inbox = &path.inboxes[index];
    // RX rings, then the inbox's eventfd, then the ICMP socket (-1, which
    // poll skips, until it opens).
    let mut fds: Vec<libc::pollfd> = socks
        .iter()
        .map(|s| s.rings.rx.as_raw_fd())
        .chain([inbox.wake.as_raw_fd(), -1])
        .map(|fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let (wake_fd, ping_fd) = (socks.len(), socks.len() + 1);
    let workers = path.inboxes.len();
    let mut answerer = Answerer {
        path: &path,
        index,
        workers: path.inboxes.len() as u32,
        scratch: Box::new([0; FRAME_SIZE]),
        deferred: HeldForCommit::with_capacity(RX_BATCH as usize * 2),
        delayed: BinaryHeap::with_capacity(RX_BATCH as usize * 2),
        wake: vec![false; path.inboxes.len()],
        pinger: Pinger::new(index),
        probes: Probes::new((FRAMES as usize / 4 / workers).clamp(1, MAX_PROBES)),
        answered: Vec::new(),
    };
    let mut generation = 0u64;
    let mut deadline = worker.tick(now_ms());

    loop {
        let now = now_ms();
        let next = match (deadline, answerer.next_delayed()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let mut sleep = next
            .map_or(MAX_SLEEP_MS, |d| d.saturating_sub(now))
            .min(MAX_SLEEP_MS);
        if path.queues.iter().any(|q| q.rings.in_flight()) {
            sleep = sleep.min(REAP_SLEEP_MS);
        }
        let sleep = match answerer.deferred.linger_left() {
            // ACKs wait for a commit: only until the linger is over.
            Some(left) => left.min(Duration::from_millis(sleep)),
            None => Duration::from_millis(sleep),
        };
        let timeout = libc::timespec {
            tv_sec: sleep.as_secs() as libc::time_t,
            tv_nsec: libc::c_long::from(sleep.subsec_nanos()),
        };
        fds[ping_fd].fd = answerer.pinger.fd().unwrap_or(-1);
        // SAFETY: `fds` is a valid array of pollfd of the given length, and
        // `timeout` outlives the call; no signal mask is passed.
        let rc = unsafe {
            libc::ppoll(
                fds.as_mut_ptr(),
                fds.len() as libc::nfds_t,
                &raw const timeout,
                std::ptr::null(),
            )
        };
        if rc < 0 {
            let err = io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EINTR) {
                return Err(err);
            }
        }
        // Reading the eventfd costs a syscall, so only when it fired.
        if fds[wake_fd].revents & libc::POLLIN != 0 {
            inbox.clear();
        }
        let now = now_ms();
        if fds[ping_fd].revents & libc::POLLIN != 0 {
            answerer.ping_replies(&mut worker, &mut socks, now);
        }
        for (queue, sock) in socks.iter_mut().enumerate() {
            let mut rx = sock.rings.rx.receive(RX_BATCH);
            while let Some(desc) = rx.read() {
                let frame = Forwarded {
                    queue,
                    addr: desc.addr,
                    len: desc.len,
                    arrival_ms: now,
                };
                answerer.answer(
                    &mut worker,
                    frame,
                    true,
                    &mut sock.ready,
                    &mut sock.recycle,
                    now,
                );
            }
            rx.release();
        }
        answerer.drain_inbox(&mut worker, &mut socks, now);
        answerer.wake_owners();
        deadline = worker.tick(now);
        // One commit (one sync) for the lease changes of this wake-up and
        // of the few before it, then the ACKs that waited for it.
        if answerer.deferred.linger_left().is_none() {
            answerer.flush(&mut worker, &mut socks, now);
        }
        answerer.release_delayed(&mut worker, &mut socks, now, false);
        transmit(&path, &worker, &mut socks);

        if path.control.shutting_down() {
            // Answer what was already handed to us, then stop.
            answerer.drain_inbox(&mut worker, &mut socks, now);
            answerer.flush(&mut worker, &mut socks, now);
            answerer.release_delayed(&mut worker, &mut socks, now, true);
            transmit(&path, &worker, &mut socks);
            count_kernel_drops(&worker, &socks);
            return Ok(());
        }
        if path.control.follow_reload(&mut generation, &mut worker) {
            deadline = worker.tick(now);
            answerer.flush(&mut worker, &mut socks, now);
            transmit(&path, &worker, &mut socks);
        }
    }
}

/// Adds what the kernel dropped at this worker's sockets to its counters.
fn count_kernel_drops(worker: &Worker, socks: &[Sock]) {
    let c = worker.counters();
    for s in socks
        .iter()
        .filter_map(|s| socket_stats(s.rings.rx.as_raw_fd()))
    {
        Counters::add(&c.xsk_rx_ring_full, s.rx_ring_full);
        Counters::add(&c.xsk_fill_ring_empty, s.rx_fill_ring_empty_descs);
        Counters::add(&c.xsk_rx_dropped, s.rx_dropped);
    }
}

/// Hands the ready replies to each TX ring, kicks the kernel, and gives
/// unused and completed frames back to the fill rings.
fn transmit(path: &XdpPath, worker: &Worker, socks: &mut [Sock]) {
    for (queue, sock) in socks.iter_mut().enumerate() {
        let rings = &path.queues[queue].rings;
        if !sock.ready.is_empty() {
            // One write may see only part of the free room (xdpilone
            // refreshes its view of the kernel's head only when it looks
            // full): write until everything is in or nothing fits.
            let mut sent = 0;
            while sent < sock.ready.len() {
                let mut writer = sock.rings.tx.transmit((sock.ready.len() - sent) as u32);
                let n = writer.insert(sock.ready[sent..].iter().copied());
                writer.commit();
                if n == 0 {
                    break;
                }
                sent += n as usize;
            }
            rings.sent(sent as u32);
            Counters::add(&worker.counters().sent, sent as u64);
            // A full TX ring: the rest cannot leave; their frames go back.
            let unsent = &sock.ready[sent..];
            Counters::add(&worker.counters().send_errors, unsent.len() as u64);
            sock.recycle.extend(unsent.iter().map(|d| d.addr));
            sock.ready.clear();
        }
        // Copy mode sends from inside the syscall, a bounded number of
        // frames per call, and a call sends nothing while the peer's queue
        // is full: kick until the ring is drained, and on every pass while
        // frames are left in it — not only when new replies come, or the
        // last reply of a quiet moment would wait for the next request.
        if sock.rings.tx.pending() > 0 {
            for _ in 0..MAX_KICKS {
                if !sock.rings.tx.needs_wakeup() && path.zero_copy {
                    break;
                }
                sock.rings.tx.wake();
                if sock.rings.tx.pending() == 0 {
                    break;
                }
            }
        }
        rings.recycle(&mut sock.recycle);
    }
}

/// The per-message work of a worker, with the state it reuses.
struct Answerer<'p> {
    path: &'p XdpPath,
    index: usize,
    workers: u32,
    /// The request's payload, copied out of the frame the reply is
    /// written into.
    scratch: Box<[u8; FRAME_SIZE]>,
    /// ACKs waiting for the next commit: (queue, descriptor).
    deferred: HeldForCommit<(usize, XdpDesc)>,
    /// Delayed OFFERs and OFFERs waiting for pings by due time (ms), held
    /// in their frames: (due, queue, frame start, frame length, token);
    /// the token (0 for a delayed OFFER) names a pinged one in `probes`.
    delayed: BinaryHeap<Reverse<Parked>>,
    /// Owners whose inbox got a frame in this wake-up.
    wake: Vec<bool>,
    /// Conflict detection: the ICMP socket, and the OFFERs parked while
    /// their addresses are pinged.
    pinger: Pinger,
    probes: Probes<FrameReq>,
    answered: Vec<Token>,
}

/// A parked OFFER in the heap: (due, queue, frame start, frame length,
/// token).
type Parked = (u64, usize, u64, u32, Token);

/// Where a reply goes at layer 2, and the frame it is written in: what
/// answering a request again needs once its frame holds the reply.
#[derive(Debug, Clone, Copy)]
struct FrameReq {
    queue: usize,
    /// The frame's start in the UMEM.
    start: u64,
    /// The request's source MAC and destination port, and its VLAN tags.
    src_mac: [u8; 6],
    dst_port: u16,
    vlans: VlanTags,
}

/// The request a reply answers: still in the scratch buffer (its length),
/// or kept with a parked OFFER.
enum Request {
    Scratch(usize),
    Kept(Vec<u8>),
}

impl Answerer<'_> {
    /// Answers the frame `frame` (or passes it to its owner when `steer`
    /// and the client is another worker's): the reply goes to `ready` or,
    /// if it grants a lease, waits for the commit; an unanswered frame
    /// goes to `recycle`.
    fn answer(
        &mut self,
        worker: &mut Worker,
        frame: Forwarded,
        steer: bool,
        ready: &mut Vec<XdpDesc>,
        recycle: &mut Vec<u64>,
        now: u64,
    ) {
        let queue = &self.path.queues[frame.queue];
        let link = &self.path.links[queue.link].iface;
        // SAFETY: the frame came off this worker's RX ring or inbox, so it
        // is this worker's until it goes to a TX ring, the fill ring or
        // another inbox; no other slice of it exists.
        let Some((start, buf)) = (unsafe { queue.area.frame_mut(frame.addr) }) else {
            tracing::error!(addr = frame.addr, "a descriptor outside the UMEM");
            return;
        };
        let offset = (frame.addr - start) as usize;
        let counters = worker.counters();
        let Some(parsed) = buf
            .get(offset..offset + frame.len as usize)
            .and_then(frame::parse)
        else {
            // Steered by the program but not one IPv4/UDP datagram (e.g. a
            // first fragment): counted as received and malformed, as the
            // engine counts a datagram it cannot decode.
            Counters::add(&counters.received, 1);
            Counters::add(&counters.malformed, 1);
            recycle.push(start);
            return;
        };
        if !self.path.is_local(parsed.dst_ip) {
            // On a shared segment the program sees DHCP to other hosts
            // (another server, a relay's target): not ours to answer.
            Counters::add(&counters.foreign_interface, 1);
            recycle.push(start);
            return;
        }
        let payload = offset + parsed.payload.start..offset + parsed.payload.end;
        if steer
            && let Some(owner) = owner_of(&buf[payload.clone()], self.workers)
            && owner != self.index
        {
            if self.path.inboxes[owner].queue.push(frame).is_ok() {
                Counters::add(&counters.forwarded, 1);
                self.wake[owner] = true;
            } else {
                Counters::add(&counters.inbox_full, 1);
                recycle.push(start);
            }
            return;
        }
        let Some(iface_addr) = link.addrs.first().map(|n| n.addr()) else {
            recycle.push(start);
            return;
        };
        let len = payload.len();
        self.scratch[..len].copy_from_slice(&buf[payload]);
        let meta = RecvMeta {
            ifindex: link.index,
            iface_addr,
            src: SocketAddrV4::new(parsed.src_ip, parsed.src_port),
            dst: parsed.dst_ip,
            arrival_ms: frame.arrival_ms,
        };
        let header = frame::header_len(parsed.vlans.len());
        let Some(answer) = worker.handle(&self.scratch[..len], &meta, now, &mut buf[header..])
        else {
            recycle.push(start);
            return;
        };
        let req = FrameReq {
            queue: frame.queue,
            start,
            src_mac: parsed.src_mac,
            dst_port: parsed.dst_port,
            vlans: parsed.vlans,
        };
        let request = Request::Scratch(len);
        self.emit(
            worker, req, buf, answer, &meta, request, 0, ready, recycle, now,
        );
    }

    /// Writes the headers of the reply `answer` (in `buf`, the frame of
    /// `req`) and sends it, holds it for the commit, or parks it for its
    /// delay or for the pings of its address; `probed` addresses answered
    /// pings for `request` already.
    #[allow(clippy::too_many_arguments)]
    fn emit(
        &mut self,
        worker: &mut Worker,
        req: FrameReq,
        buf: &mut [u8],
        answer: Answer,
        meta: &RecvMeta,
        request: Request,
        probed: u8,
        ready: &mut Vec<XdpDesc>,
        recycle: &mut Vec<u64>,
        now: u64,
    ) {
        let link = &self.path.links[self.path.queues[req.queue].link].iface;
        let start = req.start;
        let (dst_mac, dst_ip, dst_port) = match answer.reply.dest {
            // The next hop the request came from: the relay, a router, or
            // the client itself, which answers ARP for ciaddr anyway.
            Destination::Relay(to) | Destination::Unicast(to) => (req.src_mac, *to.ip(), to.port()),
            Destination::Broadcast => ([0xff; 6], Ipv4Addr::BROADCAST, udp::CLIENT_PORT),
            // A client without an address cannot answer ARP: the frame goes
            // to its hardware address.
            Destination::UnicastHw {
                addr,
                chaddr,
                hlen: 6,
            } => {
                let mac = [
                    chaddr[0], chaddr[1], chaddr[2], chaddr[3], chaddr[4], chaddr[5],
                ];
                (mac, addr, udp::CLIENT_PORT)
            }
            // Only an Ethernet address can be unicast to; anything else
            // gets the broadcast RFC 2131 falls back to.
            Destination::UnicastHw { .. } => ([0xff; 6], Ipv4Addr::BROADCAST, udp::CLIENT_PORT),
        };
        let addrs = FrameAddrs {
            src_mac: link.mac,
            dst_mac,
            src_ip: worker.server_ip(meta),
            dst_ip,
            src_port: req.dst_port,
            dst_port,
            vlans: req.vlans,
        };
        let request = match request {
            Request::Scratch(len) if answer.probe.is_some() => {
                self.probes.copy(&self.scratch[..len])
            }
            Request::Scratch(_) => Vec::new(),
            Request::Kept(r) => r,
        };
        let desc = match frame::write_headers(buf, &addrs, answer.reply.len) {
            Ok(frame_len) => tx_desc(start, frame_len),
            Err(e) => {
                // The frame always has room for the headers: a bug.
                tracing::error!(%e, "cannot frame a reply");
                Counters::add(&worker.counters().send_errors, 1);
                if answer.probe.is_some() {
                    worker.drop_probed(&request);
                }
                if answer.delay_ms > 0 {
                    worker.delayed_sent();
                }
                self.probes.reuse(request);
                recycle.push(start);
                return;
            }
        };
        let delay_until = (answer.delay_ms > 0).then(|| now + u64::from(answer.delay_ms));
        if answer.after_commit {
            self.deferred.hold((req.queue, desc));
            return;
        }
        if let Some(target) = answer.probe {
            if self.probes.is_full() {
                worker.drop_probed(&request);
                if delay_until.is_some() {
                    worker.delayed_sent();
                }
                self.probes.reuse(request);
                recycle.push(start);
                return;
            }
            let started = self.probes.start(
                &mut self.pinger,
                target,
                request,
                *meta,
                probed,
                delay_until,
                req,
                worker.conflict_detection(),
                now,
            );
            match started {
                Ok((token, due)) => {
                    worker.pinged();
                    self.delayed
                        .push(Reverse((due, req.queue, start, desc.len, token)));
                    return;
                }
                Err(failed) => {
                    // Event 1029: the OFFER goes out unchecked.
                    worker.ping_failed(&failed.request, target, &failed.error, now);
                    self.probes.reuse(failed.request);
                }
            }
        } else if request.capacity() > 0 {
            self.probes.reuse(request);
        }
        if let Some(due) = delay_until {
            self.delayed
                .push(Reverse((due, req.queue, start, desc.len, 0)));
        } else {
            ready.push(desc);
        }
    }

    /// Reads the ICMP socket: an address that answers its ping is in use,
    /// so its parked OFFER is dropped and the DISCOVER answered again.
    fn ping_replies(&mut self, worker: &mut Worker, socks: &mut [Sock], now: u64) {
        let probes = &self.probes;
        let answered = &mut self.answered;
        self.pinger.recv(|src, seq| {
            if let Some(token) = probes.answered(src, seq) {
                answered.push(token);
            }
        });
        let mut tokens = std::mem::take(&mut self.answered);
        for token in tokens.drain(..) {
            let Some(probe) = self.probes.take(token) else {
                continue; // two replies to one probe
            };
            self.conflict(worker, socks, probe, now);
        }
        self.answered = tokens;
    }

    /// The address of `probe` answered: drop its OFFER, answer again in
    /// the same frame.
    fn conflict(
        &mut self,
        worker: &mut Worker,
        socks: &mut [Sock],
        probe: Probe<FrameReq>,
        now: u64,
    ) {
        let req = probe.parked;
        if probe.delay_until.is_some() {
            worker.delayed_sent();
        }
        let sock = &mut socks[req.queue];
        // SAFETY: the frame was parked by this worker, which owns it until
        // it goes to a TX ring or the fill ring; no other slice of it
        // exists.
        let Some((_, buf)) = (unsafe { self.path.queues[req.queue].area.frame_mut(req.start) })
        else {
            return;
        };
        let header = frame::header_len(req.vlans.len());
        let again = worker.conflict(
            &probe.request,
            &probe.meta,
            probe.target,
            probe.probed,
            now,
            &mut buf[header..],
        );
        match again {
            Some(answer) => {
                let probed = probe.probed.saturating_add(1);
                self.emit(
                    worker,
                    req,
                    buf,
                    answer,
                    &probe.meta,
                    Request::Kept(probe.request),
                    probed,
                    &mut sock.ready,
                    &mut sock.recycle,
                    now,
                );
            }
            None => {
                self.probes.reuse(probe.request);
                sock.recycle.push(req.start);
            }
        }
    }

    /// Answers the frames other workers passed to this one.
    fn drain_inbox(&mut self, worker: &mut Worker, socks: &mut [Sock], now: u64) {
        while let Some(frame) = self.path.inboxes[self.index].queue.pop() {
            let sock = &mut socks[frame.queue];
            self.answer(
                worker,
                frame,
                false,
                &mut sock.ready,
                &mut sock.recycle,
                now,
            );
        }
    }

    fn wake_owners(&mut self) {
        for (owner, wake) in self.wake.iter_mut().enumerate() {
            if std::mem::take(wake) {
                self.path.inboxes[owner].wake();
            }
        }
    }

    /// When the next delayed OFFER, or ping, is due.
    fn next_delayed(&self) -> Option<u64> {
        self.delayed.peek().map(|Reverse((due, ..))| *due)
    }

    /// Queues the delayed OFFERs due at `now` (all of them when `all`), and
    /// moves the pinged ones on: the next ping, or out when the last went
    /// unanswered. When `all` (shutting down), OFFERs still waiting for a
    /// ping are dropped: they were never checked.
    fn release_delayed(&mut self, worker: &mut Worker, socks: &mut [Sock], now: u64, all: bool) {
        while let Some(&Reverse((due, queue, start, len, token))) = self.delayed.peek() {
            if due > now && !all {
                break;
            }
            self.delayed.pop();
            match self
                .probes
                .resolve(token, &mut self.pinger, worker, now, all)
            {
                Resolved::Gone => {}
                Resolved::Wait(due, token) => {
                    self.delayed.push(Reverse((due, queue, start, len, token)));
                }
                Resolved::Send => socks[queue].ready.push(XdpDesc {
                    addr: start,
                    len,
                    options: 0,
                }),
                Resolved::Drop => socks[queue].recycle.push(start),
            }
        }
    }

    /// Commits the worker's pending lease changes, then releases the ACKs
    /// that waited for them; if the commit fails, those ACKs are dropped
    /// (withheld) and their frames recycled.
    fn flush(&mut self, worker: &mut Worker, socks: &mut [Sock], now: u64) {
        let (durable, replies) = self.deferred.commit(worker, now);
        for (queue, desc) in replies {
            let sock = &mut socks[queue];
            if durable {
                sock.ready.push(desc);
            } else {
                sock.recycle.push(desc.addr);
            }
        }
    }
}

/// The worker that owns the client who sent `payload`; `None` if it is
/// undecodable (no client state is involved: whoever has it counts it).
fn owner_of(payload: &[u8], workers: u32) -> Option<usize> {
    let msg = dhcp_wire::Message::parse(payload).ok()?;
    Some(dhcp_common::steer::worker_for(steering_key(&msg), workers) as usize)
}
