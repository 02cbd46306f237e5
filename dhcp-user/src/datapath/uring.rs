//! The io_uring datapath: ordinary UDP sockets, one ring per worker.
//!
//! Worker 0 receives every datagram on the shared UDP/67 socket with one
//! multishot `recvmsg` over a ring of provided buffers (no syscall per
//! datagram). Each message belongs to the worker its client key hashes to
//! (`dhcp_common::steer`, the same hash the XDP program uses): worker 0
//! handles its own clients and passes the others' messages to their owners
//! through bounded lock-free inboxes, waking them through an eventfd. A
//! broadcast therefore reaches exactly one worker, once — unlike
//! SO_REUSEPORT, which copies each broadcast to every socket.
//!
//! Replies are written straight into send slots and submitted in a batch
//! per wake-up: relayed and unicast replies through the UDP socket (the
//! kernel routes them), broadcasts and replies to clients without an
//! address as complete Ethernet frames through a packet socket (a client
//! that has no address cannot answer ARP). A worker with nothing to do
//! sleeps in `io_uring_enter` until a message, a wake-up or its next timer.
//!
//! Conflict detection parks an OFFER in its send slot, like a delayed
//! OFFER, while its address is pinged (`datapath::ping`); the worker's ICMP
//! socket is watched with a poll request on the ring.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};

use crossbeam_queue::ArrayQueue;
use io_uring::{IoUring, cqueue, opcode, types};

use super::control::Control;
use super::frame::{self, FrameAddrs, VlanTags};
use super::group_commit::HeldForCommit;
use super::iface::Interface;
use super::packet::PacketSocket;
use super::ping::{Pinger, Probe, Probes, Resolved, Token};
use super::udp;
use crate::daemon::counters::Counters;
use crate::daemon::worker::{Answer, Worker, now_ms};
use crate::engine::{Destination, MAX_REPLY_LEN, RecvMeta, Reply, steering_key};

/// Provided receive buffers (a power of two) and their size.
const RECV_BUFFERS: u16 = 1024;
const RECV_BUFFER_SIZE: usize = 2048;
const BUFFER_GROUP: u16 = 0;
/// Replies in flight per worker.
const SEND_SLOTS: usize = 512;
/// Room in front of a reply for its Ethernet, IPv4 and UDP headers.
const HEADROOM: usize = frame::header_len(0);
/// Messages waiting for a busy worker before new ones are dropped.
const INBOX_CAPACITY: usize = 8192;
/// Longest sleep without a timer due: bounds how late a reload or shutdown
/// flag can be seen if a wake-up were ever lost.
const MAX_SLEEP_MS: u64 = 1000;

/// OFFERs parked at once while their addresses are pinged: half the send
/// slots, so pinging never starves the other replies.
const MAX_PROBES: usize = SEND_SLOTS / 2;

const RECV: u64 = u64::MAX;
const WAKE: u64 = u64::MAX - 1;
const PING: u64 = u64::MAX - 2;

/// An interface the server answers on.
pub struct Link {
    pub iface: Interface,
    pub packet: PacketSocket,
}

/// A message passed from the receiving worker to the client's owner.
pub struct Forwarded {
    meta: RecvMeta,
    len: usize,
    data: [u8; RECV_BUFFER_SIZE],
}

/// A worker's mailbox.
pub struct Inbox {
    queue: ArrayQueue<Box<Forwarded>>,
    wake: OwnedFd,
}

impl Inbox {
    fn new() -> io::Result<Inbox> {
        // SAFETY: eventfd(2) returns a fresh descriptor or -1.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is fresh and owned from here on.
        Ok(Inbox {
            queue: ArrayQueue::new(INBOX_CAPACITY),
            wake: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Wakes the worker sleeping on this inbox.
    pub fn wake(&self) {
        // SAFETY: eventfd_write on a descriptor we own.
        unsafe { libc::eventfd_write(self.wake.as_raw_fd(), 1) };
    }
}

/// What the workers share: sockets, links, inboxes, and the daemon's
/// commands.
pub struct UringPath {
    udp: OwnedFd,
    links: Vec<Link>,
    inboxes: Vec<Inbox>,
    pub control: Control,
}

impl UringPath {
    pub fn new(udp: OwnedFd, links: Vec<Link>, workers: usize) -> io::Result<UringPath> {
        let inboxes = (0..workers)
            .map(|_| Inbox::new())
            .collect::<io::Result<_>>()?;
        let control = Control::new(workers);
        Ok(UringPath {
            udp,
            links,
            inboxes,
            control,
        })
    }

    /// Wakes every worker (after changing `control`).
    pub fn wake_all(&self) {
        self.inboxes.iter().for_each(Inbox::wake);
    }

    fn link(&self, ifindex: u32) -> Option<&Link> {
        self.links.iter().find(|l| l.iface.index == ifindex)
    }
}

/// A reply buffer with the kernel structures that point into it; boxed so
/// the pointers stay valid while the kernel owns the slot.
struct SendSlot {
    buf: [u8; HEADROOM + MAX_REPLY_LEN],
    addr: libc::sockaddr_in,
    iov: libc::iovec,
    msg: libc::msghdr,
}

/// The provided-buffer ring of worker 0's multishot receive.
struct RecvBuffers {
    ring: *mut types::BufRingEntry,
    ring_len: usize,
    data: Vec<u8>,
    tail: u16,
}

impl RecvBuffers {
    fn register(uring: &IoUring) -> io::Result<RecvBuffers> {
        let ring_len = usize::from(RECV_BUFFERS) * size_of::<types::BufRingEntry>();
        // SAFETY: anonymous private mapping; the kernel needs page
        // alignment, which mmap gives.
        let ring = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                ring_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ring == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let mut bufs = RecvBuffers {
            ring: ring.cast(),
            ring_len,
            data: vec![0u8; usize::from(RECV_BUFFERS) * RECV_BUFFER_SIZE],
            tail: 0,
        };
        for bid in 0..RECV_BUFFERS {
            bufs.provide(bid);
        }
        // SAFETY: the ring stays mapped until `drop`, after the ring that
        // uses it is gone (field order in `Ring`).
        unsafe {
            uring.submitter().register_buf_ring_with_flags(
                ring as u64,
                RECV_BUFFERS,
                BUFFER_GROUP,
                0,
            )?
        };
        Ok(bufs)
    }

    /// Gives buffer `bid` (back) to the kernel.
    fn provide(&mut self, bid: u16) {
        let index = usize::from(self.tail & (RECV_BUFFERS - 1));
        // SAFETY: index < RECV_BUFFERS, inside the mapping; the kernel only
        // reads entries up to the published tail.
        unsafe {
            let entry = &mut *self.ring.add(index);
            entry.set_addr(self.data.as_ptr().add(usize::from(bid) * RECV_BUFFER_SIZE) as u64);
            entry.set_len(RECV_BUFFER_SIZE as u32);
            entry.set_bid(bid);
        }
        self.tail = self.tail.wrapping_add(1);
        // SAFETY: the tail field lives in the first entry of the mapping;
        // it is published with release ordering so the entry is visible.
        unsafe {
            let tail = types::BufRingEntry::tail(self.ring)
                .cast_mut()
                .cast::<AtomicU16>();
            (*tail).store(self.tail, Ordering::Release);
        }
    }

    fn get(&self, bid: u16, len: usize) -> &[u8] {
        let start = usize::from(bid) * RECV_BUFFER_SIZE;
        &self.data[start..start + len.min(RECV_BUFFER_SIZE)]
    }
}

impl Drop for RecvBuffers {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly what `register` mapped.
        unsafe { libc::munmap(self.ring.cast(), self.ring_len) };
    }
}

/// Runs one worker until shutdown.
pub fn run(mut worker: Worker, path: Arc<UringPath>) -> io::Result<()> {
    let index = worker.index();
    let workers = path.inboxes.len() as u32;
    let mut uring = IoUring::new(1024)?;
    let mut recv = if index == 0 {
        Some(Receiver::new(&uring, path.udp.as_raw_fd())?)
    } else {
        None
    };
    let mut tx = Sender::new(index);
    let mut completions: Vec<(u64, i32, u32)> = Vec::with_capacity(1024);
    let mut wake_buf = [0u8; 8];
    let mut pending_wake = vec![false; workers as usize];
    let mut generation = 0u64;
    let wake_fd = path.inboxes[index].wake.as_raw_fd();
    let inbox = &path.inboxes[index];

    if let Some(r) = &mut recv {
        r.arm(&mut uring)?;
    }
    arm_wake(&mut uring, wake_fd, &mut wake_buf)?;
    let mut deadline = worker.tick(now_ms());
    tx.flush(&mut uring, &mut worker, now_ms());

    loop {
        let now = now_ms();
        let next = match (deadline, tx.next_delayed()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let sleep_ns = match tx.deferred.linger_left() {
            // ACKs wait for a commit: only until the linger is over.
            Some(left) => left.as_nanos() as u64,
            None => {
                next.map_or(MAX_SLEEP_MS, |d| d.saturating_sub(now))
                    .min(MAX_SLEEP_MS)
                    * 1_000_000
            }
        };
        let ts = types::Timespec::new()
            .sec(sleep_ns / 1_000_000_000)
            .nsec((sleep_ns % 1_000_000_000) as u32);
        match uring
            .submitter()
            .submit_with_args(1, &types::SubmitArgs::new().timespec(&ts))
        {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ETIME | libc::EINTR | libc::EBUSY)
                ) => {}
            Err(e) => return Err(e),
        }
        let now = now_ms();
        completions.clear();
        completions.extend(
            uring
                .completion()
                .map(|c| (c.user_data(), c.result(), c.flags())),
        );
        for &(user_data, result, flags) in &completions {
            match user_data {
                RECV => {
                    let r = recv.as_mut().expect("only worker 0 receives");
                    r.complete(result, flags, |payload, meta| {
                        let owner = owner_of(payload, workers);
                        if owner == 0 {
                            tx.answer(&mut uring, &path, &mut worker, payload, &meta, now);
                        } else {
                            forward(&path, owner, payload, meta, worker.counters());
                            pending_wake[owner as usize] = true;
                        }
                    });
                    if r.needs_rearm {
                        r.arm(&mut uring)?;
                    }
                }
                WAKE => {
                    tx.drain(&mut uring, &path, &mut worker, inbox, now);
                    arm_wake(&mut uring, wake_fd, &mut wake_buf)?;
                }
                PING => {
                    tx.ping_replies(&mut uring, &path, &mut worker, now);
                    if let Some(fd) = tx.pinger.fd() {
                        arm_ping(&mut uring, fd)?;
                    }
                }
                slot => {
                    tx.free.push(slot as u16);
                    if result < 0 {
                        Counters::add(&worker.counters().send_errors, 1);
                        tracing::debug!(error = %io::Error::from_raw_os_error(-result), "send failed");
                    } else {
                        Counters::add(&worker.counters().sent, 1);
                    }
                }
            }
        }
        for (owner, wake) in pending_wake.iter_mut().enumerate() {
            if std::mem::take(wake) {
                path.inboxes[owner].wake();
            }
        }
        deadline = worker.tick(now);
        // One commit (one sync) for the lease changes of this wake-up and
        // of the few before it (see `group_commit`),
        // then the ACKs that waited for it.
        if tx.deferred.linger_left().is_none() {
            tx.flush(&mut uring, &mut worker, now);
        }
        tx.release_delayed(&mut uring, &mut worker, now, false);
        if tx.pinger.take_opened()
            && let Some(fd) = tx.pinger.fd()
        {
            arm_ping(&mut uring, fd)?;
        }

        if path.control.shutting_down() {
            // Answer what was already handed to us, then stop.
            tx.drain(&mut uring, &path, &mut worker, inbox, now);
            tx.flush(&mut uring, &mut worker, now);
            tx.release_delayed(&mut uring, &mut worker, now, true);
            uring.submit_and_wait(SEND_SLOTS - tx.free.len())?;
            return Ok(());
        }
        if path.control.follow_reload(&mut generation, &mut worker) {
            deadline = worker.tick(now);
            tx.flush(&mut uring, &mut worker, now);
        }
    }
}

/// The worker that owns the client who sent `payload`.
fn owner_of(payload: &[u8], workers: u32) -> u32 {
    match dhcp_wire::Message::parse(payload) {
        Ok(msg) => dhcp_common::steer::worker_for(steering_key(&msg), workers),
        // Undecodable: any worker can count it; keep it local.
        Err(_) => 0,
    }
}

fn forward(path: &UringPath, owner: u32, payload: &[u8], meta: RecvMeta, counters: &Counters) {
    let mut msg = Box::new(Forwarded {
        meta,
        len: payload.len(),
        data: [0; RECV_BUFFER_SIZE],
    });
    msg.data[..payload.len()].copy_from_slice(payload);
    match path.inboxes[owner as usize].queue.push(msg) {
        Ok(()) => Counters::add(&counters.forwarded, 1),
        Err(_) => Counters::add(&counters.inbox_full, 1),
    }
}

/// Asks for one completion when the ICMP socket has something to read.
fn arm_ping(uring: &mut IoUring, fd: RawFd) -> io::Result<()> {
    let poll = opcode::PollAdd::new(types::Fd(fd), libc::POLLIN as u32)
        .build()
        .user_data(PING);
    push(uring, &poll)
}

fn arm_wake(uring: &mut IoUring, fd: RawFd, buf: &mut [u8; 8]) -> io::Result<()> {
    let read = opcode::Read::new(types::Fd(fd), buf.as_mut_ptr(), 8)
        .build()
        .user_data(WAKE);
    push(uring, &read)
}

/// Queues an entry, making room by submitting when the queue is full.
fn push(uring: &mut IoUring, entry: &io_uring::squeue::Entry) -> io::Result<()> {
    // SAFETY: every buffer an entry points to outlives its completion:
    // receive buffers and send slots are owned by the worker loop, which
    // waits for in-flight sends before returning.
    while unsafe { uring.submission().push(entry) }.is_err() {
        uring.submit()?;
    }
    Ok(())
}

/// Worker 0's receive side: the socket, the multishot request and its
/// buffers.
struct Receiver {
    fd: RawFd,
    msghdr: Box<libc::msghdr>,
    bufs: RecvBuffers,
    needs_rearm: bool,
}

impl Receiver {
    fn new(uring: &IoUring, fd: RawFd) -> io::Result<Receiver> {
        // SAFETY: msghdr is plain data; all-zero is valid.
        let mut msghdr: Box<libc::msghdr> = Box::new(unsafe { std::mem::zeroed() });
        msghdr.msg_namelen = size_of::<libc::sockaddr_in>() as u32;
        msghdr.msg_controllen = udp::control_space();
        Ok(Receiver {
            fd,
            msghdr,
            bufs: RecvBuffers::register(uring)?,
            needs_rearm: false,
        })
    }

    fn arm(&mut self, uring: &mut IoUring) -> io::Result<()> {
        let entry = opcode::RecvMsgMulti::new(types::Fd(self.fd), &*self.msghdr, BUFFER_GROUP)
            .build()
            .user_data(RECV);
        self.needs_rearm = false;
        push(uring, &entry)
    }

    /// Handles one completion of the multishot receive.
    fn complete(&mut self, result: i32, flags: u32, mut deliver: impl FnMut(&[u8], RecvMeta)) {
        if !cqueue::more(flags) {
            // The kernel ended the multishot request (out of buffers, or an
            // error): ask again once this completion is handled.
            self.needs_rearm = true;
        }
        if result < 0 {
            if result != -libc::ENOBUFS {
                tracing::warn!(error = %io::Error::from_raw_os_error(-result), "receive failed");
            }
            return;
        }
        let Some(bid) = cqueue::buffer_select(flags) else {
            return;
        };
        let data = self.bufs.get(bid, result as usize);
        if let Ok(out) = types::RecvMsgOut::parse(data, &self.msghdr)
            && !out.is_payload_truncated()
            && let (Some(src), Some(anc)) = (
                udp::from_sockaddr(out.name_data()),
                udp::ancillary(out.control_data()),
            )
        {
            let meta = RecvMeta {
                ifindex: anc.ifindex,
                iface_addr: Ipv4Addr::UNSPECIFIED,
                src,
                dst: anc.dst,
                arrival_ms: anc.received_ms.unwrap_or_else(now_ms),
            };
            deliver(out.payload_data(), meta);
        }
        self.bufs.provide(bid);
    }
}

/// A worker's send side: reply slots, and the ACKs waiting for their
/// batch's store commit.
struct Sender {
    slots: Box<[SendSlot]>,
    free: Vec<u16>,
    /// For the rare reply that finds every slot in flight.
    spare: Box<SendSlot>,
    /// Sends held back until the lease changes of this batch are durable.
    deferred: HeldForCommit<(u16, io_uring::squeue::Entry)>,
    /// Delayed OFFERs and OFFERs waiting for pings by due time (ms), their
    /// sends parked in `held`; the token (0 for a delayed OFFER) names a
    /// pinged one in `probes`.
    delayed: BinaryHeap<Reverse<(u64, u16, Token)>>,
    held: Box<[Option<io_uring::squeue::Entry>]>,
    /// Conflict detection: the ICMP socket, and the OFFERs parked while
    /// their addresses are pinged (by send slot).
    pinger: Pinger,
    probes: Probes<u16>,
    answered: Vec<Token>,
}

impl Sender {
    fn new(worker: usize) -> Sender {
        Sender {
            slots: (0..SEND_SLOTS).map(|_| new_slot()).collect(),
            free: (0..SEND_SLOTS as u16).rev().collect(),
            spare: Box::new(new_slot()),
            deferred: HeldForCommit::with_capacity(SEND_SLOTS),
            delayed: BinaryHeap::new(),
            held: (0..SEND_SLOTS).map(|_| None).collect(),
            pinger: Pinger::new(worker),
            probes: Probes::new(MAX_PROBES),
            answered: Vec::new(),
        }
    }

    /// Answers everything waiting in `inbox`.
    fn drain(
        &mut self,
        uring: &mut IoUring,
        path: &UringPath,
        worker: &mut Worker,
        inbox: &Inbox,
        now: u64,
    ) {
        while let Some(msg) = inbox.queue.pop() {
            self.answer(uring, path, worker, &msg.data[..msg.len], &msg.meta, now);
        }
    }

    /// Answers one message (if it comes from a served interface) and queues
    /// the reply, or holds it for the batch's commit if it grants a lease.
    fn answer(
        &mut self,
        uring: &mut IoUring,
        path: &UringPath,
        worker: &mut Worker,
        payload: &[u8],
        meta: &RecvMeta,
        now: u64,
    ) {
        let Some(link) = path.link(meta.ifindex) else {
            Counters::add(&worker.counters().foreign_interface, 1);
            return;
        };
        let Some(addr) = link.iface.addrs.first() else {
            return;
        };
        let meta = RecvMeta {
            iface_addr: addr.addr(),
            ..*meta
        };
        let udp = path.udp.as_raw_fd();
        let Some(slot_id) = self.free.pop() else {
            // Every slot is in flight: answer through the spare slot with a
            // plain system call rather than wait.
            if let Some(answer) =
                worker.handle(payload, &meta, now, &mut self.spare.buf[HEADROOM..])
            {
                if answer.after_commit && !worker.commit(now) {
                    worker.withheld(1);
                    return;
                }
                if answer.probe.is_some() {
                    // No slot to park it in while its address is pinged.
                    worker.drop_probed(payload);
                    if answer.delay_ms > 0 {
                        worker.delayed_sent();
                    }
                    return;
                }
                if answer.delay_ms > 0 {
                    // No slot to hold it in: it leaves early rather than never.
                    worker.delayed_sent();
                }
                let sent = prepare(
                    &mut self.spare,
                    answer.reply,
                    link,
                    worker.server_ip(&meta),
                    udp,
                )
                .is_some_and(|out| out.send_now().is_ok());
                let counter = if sent {
                    &worker.counters().sent
                } else {
                    &worker.counters().send_errors
                };
                Counters::add(counter, 1);
            }
            return;
        };
        let slot = &mut self.slots[usize::from(slot_id)];
        let Some(answer) = worker.handle(payload, &meta, now, &mut slot.buf[HEADROOM..]) else {
            self.free.push(slot_id);
            return;
        };
        let request = Cow::Borrowed(payload);
        self.dispatch(uring, path, worker, slot_id, answer, &meta, request, 0, now);
    }

    /// Sends, holds for the commit, parks for its delay or for the pings
    /// of its address the reply `answer` written into slot `slot_id` in
    /// answer to `request`, which `probed` addresses answered pings for.
    #[allow(clippy::too_many_arguments)]
    fn dispatch(
        &mut self,
        uring: &mut IoUring,
        path: &UringPath,
        worker: &mut Worker,
        slot_id: u16,
        answer: Answer,
        meta: &RecvMeta,
        request: Cow<'_, [u8]>,
        probed: u8,
        now: u64,
    ) {
        let udp = path.udp.as_raw_fd();
        let slot = &mut self.slots[usize::from(slot_id)];
        let server_ip = worker.server_ip(meta);
        // The link is there: `meta` came from a message received on it, and
        // interfaces are not re-read on reload.
        let Some(entry) = path
            .link(meta.ifindex)
            .and_then(|link| prepare(slot, answer.reply, link, server_ip, udp))
            .map(|out| out.entry().user_data(u64::from(slot_id)))
        else {
            self.free.push(slot_id);
            Counters::add(&worker.counters().send_errors, 1);
            if answer.probe.is_some() {
                worker.drop_probed(&request);
            }
            if answer.delay_ms > 0 {
                worker.delayed_sent();
            }
            return;
        };
        let delay_until = (answer.delay_ms > 0).then(|| now + u64::from(answer.delay_ms));
        if answer.after_commit {
            self.deferred.hold((slot_id, entry));
            return;
        }
        if let Some(target) = answer.probe {
            if self.probes.is_full() {
                worker.drop_probed(&request);
                if delay_until.is_some() {
                    worker.delayed_sent();
                }
                self.free.push(slot_id);
                return;
            }
            let request = match request {
                Cow::Borrowed(r) => self.probes.copy(r),
                Cow::Owned(r) => r,
            };
            let started = self.probes.start(
                &mut self.pinger,
                target,
                request,
                *meta,
                probed,
                delay_until,
                slot_id,
                worker.conflict_detection(),
                now,
            );
            match started {
                Ok((token, due)) => {
                    worker.pinged();
                    self.held[usize::from(slot_id)] = Some(entry);
                    self.delayed.push(Reverse((due, slot_id, token)));
                    return;
                }
                Err(failed) => {
                    // Event 1029: the OFFER goes out unchecked.
                    worker.ping_failed(&failed.request, target, &failed.error, now);
                    self.probes.reuse(failed.request);
                }
            }
        } else if let Cow::Owned(r) = request {
            self.probes.reuse(r);
        }
        if let Some(due) = delay_until {
            self.delayed.push(Reverse((due, slot_id, 0)));
            self.held[usize::from(slot_id)] = Some(entry);
        } else {
            self.queue(uring, worker, slot_id, &entry);
        }
    }

    /// Reads the ICMP socket: an address that answers its ping is in use,
    /// so its parked OFFER is dropped and the DISCOVER answered again.
    fn ping_replies(
        &mut self,
        uring: &mut IoUring,
        path: &UringPath,
        worker: &mut Worker,
        now: u64,
    ) {
        let probes = &self.probes;
        let answered = &mut self.answered;
        self.pinger.recv(|src, seq| {
            if let Some(token) = probes.answered(src, seq) {
                answered.push(token);
            }
        });
        for token in std::mem::take(&mut self.answered) {
            let Some(probe) = self.probes.take(token) else {
                continue; // two replies to one probe
            };
            self.conflict(uring, path, worker, probe, now);
        }
    }

    /// The address of `probe` answered: drop its OFFER, answer again.
    fn conflict(
        &mut self,
        uring: &mut IoUring,
        path: &UringPath,
        worker: &mut Worker,
        probe: Probe<u16>,
        now: u64,
    ) {
        let slot_id = probe.parked;
        self.held[usize::from(slot_id)] = None;
        if probe.delay_until.is_some() {
            worker.delayed_sent();
        }
        let slot = &mut self.slots[usize::from(slot_id)];
        let again = worker.conflict(
            &probe.request,
            &probe.meta,
            probe.target,
            probe.probed,
            now,
            &mut slot.buf[HEADROOM..],
        );
        match again {
            Some(answer) => {
                let probed = probe.probed.saturating_add(1);
                let request = Cow::Owned(probe.request);
                self.dispatch(
                    uring,
                    path,
                    worker,
                    slot_id,
                    answer,
                    &probe.meta,
                    request,
                    probed,
                    now,
                );
            }
            None => {
                self.free.push(slot_id);
                self.probes.reuse(probe.request);
            }
        }
    }

    /// When the next delayed OFFER, or ping, is due.
    fn next_delayed(&self) -> Option<u64> {
        self.delayed.peek().map(|Reverse((due, ..))| *due)
    }

    /// Sends the delayed OFFERs due at `now` (all of them when `all`), and
    /// moves the pinged ones on: the next ping, or out when the last went
    /// unanswered. When `all` (shutting down), OFFERs still waiting for a
    /// ping are dropped: they were never checked.
    fn release_delayed(&mut self, uring: &mut IoUring, worker: &mut Worker, now: u64, all: bool) {
        while let Some(&Reverse((due, slot_id, token))) = self.delayed.peek() {
            if due > now && !all {
                break;
            }
            self.delayed.pop();
            match self
                .probes
                .resolve(token, &mut self.pinger, worker, now, all)
            {
                Resolved::Gone => {}
                Resolved::Wait(due, token) => self.delayed.push(Reverse((due, slot_id, token))),
                Resolved::Send => {
                    if let Some(entry) = self.held[usize::from(slot_id)].take() {
                        self.queue(uring, worker, slot_id, &entry);
                    }
                }
                Resolved::Drop => {
                    self.held[usize::from(slot_id)] = None;
                    self.free.push(slot_id);
                }
            }
        }
    }

    fn queue(
        &mut self,
        uring: &mut IoUring,
        worker: &Worker,
        slot_id: u16,
        entry: &io_uring::squeue::Entry,
    ) {
        if push(uring, entry).is_err() {
            self.free.push(slot_id);
            Counters::add(&worker.counters().send_errors, 1);
        }
    }

    /// Commits the worker's pending lease changes, then releases the ACKs
    /// that waited for them; if the commit fails, those ACKs are dropped.
    fn flush(&mut self, uring: &mut IoUring, worker: &mut Worker, now: u64) {
        // Moved out while its replies go out through `self`, then back (it
        // keeps its allocation).
        let mut deferred = std::mem::take(&mut self.deferred);
        let (durable, replies) = deferred.commit(worker, now);
        for (slot_id, entry) in replies {
            if durable {
                self.queue(uring, worker, slot_id, &entry);
            } else {
                self.free.push(slot_id);
            }
        }
        self.deferred = deferred;
    }
}

fn new_slot() -> SendSlot {
    // SAFETY: plain C structs; all-zero is a valid value for each.
    unsafe {
        SendSlot {
            buf: [0; HEADROOM + MAX_REPLY_LEN],
            addr: std::mem::zeroed(),
            iov: std::mem::zeroed(),
            msg: std::mem::zeroed(),
        }
    }
}

/// A reply ready to leave: where it goes and through which socket.
enum Outgoing<'s> {
    /// Through the UDP socket; `msg` points into its slot.
    Udp { fd: RawFd, msg: &'s libc::msghdr },
    /// A whole frame through a packet socket.
    Frame { fd: RawFd, frame: &'s [u8] },
}

impl Outgoing<'_> {
    fn entry(&self) -> io_uring::squeue::Entry {
        match *self {
            Outgoing::Udp { fd, msg } => opcode::SendMsg::new(types::Fd(fd), msg).build(),
            Outgoing::Frame { fd, frame } => {
                opcode::Send::new(types::Fd(fd), frame.as_ptr(), frame.len() as u32).build()
            }
        }
    }

    fn send_now(&self) -> io::Result<()> {
        // SAFETY: the message and frame point into a live slot.
        let rc = match *self {
            Outgoing::Udp { fd, msg } => unsafe { libc::sendmsg(fd, msg, 0) },
            Outgoing::Frame { fd, frame } => unsafe {
                libc::send(fd, frame.as_ptr().cast(), frame.len(), 0)
            },
        };
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }
}

/// Readies a reply written at `slot.buf[HEADROOM..]` for sending; `None`
/// if it cannot be framed.
fn prepare<'s>(
    slot: &'s mut SendSlot,
    reply: Reply,
    link: &Link,
    server_ip: Ipv4Addr,
    udp: RawFd,
) -> Option<Outgoing<'s>> {
    let on_link = |dst_mac: [u8; 6], dst_ip: Ipv4Addr, slot: &mut SendSlot| {
        let addrs = FrameAddrs {
            src_mac: link.iface.mac,
            dst_mac,
            src_ip: server_ip,
            dst_ip,
            src_port: udp::SERVER_PORT,
            dst_port: udp::CLIENT_PORT,
            vlans: VlanTags::NONE,
        };
        frame::write_headers(&mut slot.buf, &addrs, reply.len)
    };
    // The client's hardware address, from the reply just written (BOOTP
    // header: hlen at 2, chaddr at 28).
    let reply_hlen = slot.buf[HEADROOM + 2];
    let reply_chaddr: [u8; 6] = slot.buf[HEADROOM + 28..HEADROOM + 34]
        .try_into()
        .expect("6 bytes");
    let (dst_mac, dst_ip) = match reply.dest {
        // A client on one of this link's subnets: straight to its MAC, so
        // renewals of thousands of clients never depend on the kernel's
        // neighbour table (1,024 entries by default: beyond it, unicast
        // replies through the kernel are lost).
        Destination::Unicast(to)
            if reply_hlen == 6 && link.iface.addrs.iter().any(|n| n.contains(to.ip())) =>
        {
            (reply_chaddr, *to.ip())
        }
        Destination::Relay(to) | Destination::Unicast(to) => {
            slot.addr = udp::sockaddr(to);
            slot.iov = libc::iovec {
                iov_base: slot.buf[HEADROOM..].as_mut_ptr().cast(),
                iov_len: reply.len,
            };
            slot.msg.msg_name = (&raw mut slot.addr).cast();
            slot.msg.msg_namelen = size_of::<libc::sockaddr_in>() as u32;
            slot.msg.msg_iov = &raw mut slot.iov;
            slot.msg.msg_iovlen = 1;
            return Some(Outgoing::Udp {
                fd: udp,
                msg: &slot.msg,
            });
        }
        Destination::Broadcast => ([0xff; 6], Ipv4Addr::BROADCAST),
        // Only an Ethernet address can be unicast to; anything else gets
        // the broadcast RFC 2131 falls back to.
        Destination::UnicastHw {
            addr,
            chaddr,
            hlen: 6,
        } => (chaddr[..6].try_into().expect("6 bytes"), addr),
        Destination::UnicastHw { .. } => ([0xff; 6], Ipv4Addr::BROADCAST),
    };
    // The headroom always fits the headers: an error here is a bug.
    let len = on_link(dst_mac, dst_ip, slot)
        .inspect_err(|e| tracing::error!(%e, "cannot frame a reply"))
        .ok()?;
    Some(Outgoing::Frame {
        fd: link.packet.as_raw_fd(),
        frame: &slot.buf[..len],
    })
}
