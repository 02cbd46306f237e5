//! Conflict detection's pings, for both datapaths: each worker's ICMP
//! socket ([`Pinger`]) and the OFFERs it has parked while their addresses
//! are pinged ([`Probes`]).
//!
//! Nothing here ever waits. The socket is non-blocking and polled by the
//! worker's event loop with everything else (io_uring: a poll request on
//! the ring; AF_XDP: one more descriptor in `ppoll`; the XDP program passes
//! ICMP to the kernel, so the socket sees the replies there too). A parked
//! OFFER waits in the datapath's own delayed-offer heap, keyed by a
//! [`Token`]: when it is due, [`Probes::due`] sends the next echo request
//! or says the pinging is over; an echo reply from the address, matched by
//! identifier, sequence number and source ([`Probes::answered`]), ends it
//! at once as a conflict.
//!
//! The socket is a raw ICMP socket (the daemon runs with CAP_NET_RAW),
//! filtered in the kernel to echo replies carrying this worker's
//! identifier; where a raw socket is refused, an unprivileged ICMP
//! ("ping") datagram socket, whose replies the kernel sorts by identifier
//! itself. It is opened when the first address needs a ping, so a server
//! without conflict detection never has one; if it cannot be opened, every
//! ping fails (event 1029, the OFFER leaves unchecked) and opening is
//! retried at most once per [`REOPEN_INTERVAL_MS`].

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use crate::daemon::worker::Worker;
use crate::engine::RecvMeta;

/// A failed open of the ICMP socket is retried at most this often.
pub const REOPEN_INTERVAL_MS: u64 = 10_000;

const ICMP_ECHO_REPLY: u8 = 0;
const ICMP_ECHO_REQUEST: u8 = 8;
/// `SOL_RAW` / `ICMP_FILTER` (linux/icmp.h): a mask of ICMP types a raw
/// socket does not want.
const SOL_RAW: libc::c_int = 255;
const ICMP_FILTER: libc::c_int = 1;
/// The echo request's data: recognisable in a capture.
const PAYLOAD: &[u8; 8] = b"xdhcpd\0\0";

/// A worker's ICMP socket.
#[derive(Debug)]
pub struct Pinger {
    sock: Option<OwnedFd>,
    /// A raw socket (replies start with the IP header), else a ping socket.
    raw: bool,
    /// The echo identifier of this worker's requests (a ping socket's is
    /// its port, chosen by the kernel).
    ident: u16,
    next_seq: u16,
    /// When opening last failed, and why.
    open_failed: Option<(u64, io::ErrorKind, String)>,
    /// The socket opened since [`Self::take_opened`] was last asked.
    opened: bool,
}

impl Pinger {
    /// Worker `worker`'s pinger; nothing is opened yet.
    pub fn new(worker: usize) -> Pinger {
        // Distinct per worker of this process, and unlikely to match
        // another process's pings (they are also told apart by sequence
        // number and source).
        let ident = (std::process::id() as u16).wrapping_add((worker as u16).wrapping_mul(0x9e37));
        Pinger {
            sock: None,
            raw: true,
            ident,
            next_seq: 1,
            open_failed: None,
            opened: false,
        }
    }

    /// The socket to poll for replies, once it is open.
    pub fn fd(&self) -> Option<RawFd> {
        self.sock.as_ref().map(AsRawFd::as_raw_fd)
    }

    /// Whether the socket opened since the last call (the loop then starts
    /// polling it).
    pub fn take_opened(&mut self) -> bool {
        std::mem::take(&mut self.opened)
    }

    fn ensure_open(&mut self, now: u64) -> io::Result<RawFd> {
        if let Some(fd) = self.fd() {
            return Ok(fd);
        }
        if let Some((at, kind, why)) = &self.open_failed
            && now.saturating_sub(*at) < REOPEN_INTERVAL_MS
        {
            return Err(io::Error::new(*kind, why.clone()));
        }
        match self.open() {
            Ok(fd) => {
                self.open_failed = None;
                self.opened = true;
                Ok(fd)
            }
            Err(e) => {
                let why = format!("cannot open an ICMP socket: {e}");
                self.open_failed = Some((now, e.kind(), why.clone()));
                Err(io::Error::new(e.kind(), why))
            }
        }
    }

    fn open(&mut self) -> io::Result<RawFd> {
        let flags = libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
        // SAFETY: socket(2) returns a fresh descriptor or -1.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW | flags, libc::IPPROTO_ICMP) };
        let sock = if fd >= 0 {
            // SAFETY: `fd` is fresh and owned from here on.
            let sock = unsafe { OwnedFd::from_raw_fd(fd) };
            self.raw = true;
            self.filter(&sock);
            sock
        } else {
            let raw_error = io::Error::last_os_error();
            // SAFETY: as above.
            let fd = unsafe {
                libc::socket(libc::AF_INET, libc::SOCK_DGRAM | flags, libc::IPPROTO_ICMP)
            };
            if fd < 0 {
                return Err(raw_error);
            }
            // SAFETY: as above.
            let sock = unsafe { OwnedFd::from_raw_fd(fd) };
            self.raw = false;
            self.ident = dgram_ident(&sock)?;
            sock
        };
        let fd = sock.as_raw_fd();
        self.sock = Some(sock);
        Ok(fd)
    }

    /// Lets only echo replies with this worker's identifier through (best
    /// effort: without it, the other replies are read and ignored).
    fn filter(&self, sock: &OwnedFd) {
        let fd = sock.as_raw_fd();
        let unwanted: u32 = !(1 << ICMP_ECHO_REPLY);
        // SAFETY: setsockopt reads `size_of::<u32>()` bytes of `unwanted`.
        let rc = unsafe {
            libc::setsockopt(
                fd,
                SOL_RAW,
                ICMP_FILTER,
                (&raw const unwanted).cast(),
                size_of::<u32>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            tracing::debug!(error = %io::Error::last_os_error(), "ICMP_FILTER refused");
        }
        // Classic BPF over the IPv4 packet: X = header length; accept if
        // the ICMP identifier (at X + 4) is ours.
        let mut program = [
            bpf(libc::BPF_LDX | libc::BPF_B | libc::BPF_MSH, 0, 0, 0),
            bpf(libc::BPF_LD | libc::BPF_H | libc::BPF_IND, 0, 0, 4),
            bpf(
                libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K,
                0,
                1,
                u32::from(self.ident),
            ),
            bpf(libc::BPF_RET | libc::BPF_K, 0, 0, u32::MAX),
            bpf(libc::BPF_RET | libc::BPF_K, 0, 0, 0),
        ];
        let prog = libc::sock_fprog {
            len: program.len() as u16,
            filter: program.as_mut_ptr(),
        };
        // SAFETY: the kernel copies the program during the call.
        let rc = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_ATTACH_FILTER,
                (&raw const prog).cast(),
                size_of::<libc::sock_fprog>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            tracing::debug!(error = %io::Error::last_os_error(), "ICMP socket filter refused");
        }
    }

    /// Sends one echo request to `to`; its sequence number.
    pub fn send(&mut self, to: Ipv4Addr, now: u64) -> io::Result<u16> {
        let fd = self.ensure_open(now)?;
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        let packet = echo_request(self.ident, seq);
        let addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: 0,
            sin_addr: libc::in_addr {
                s_addr: u32::from(to).to_be(),
            },
            sin_zero: [0; 8],
        };
        // SAFETY: `packet` and `addr` are valid for the lengths given.
        let rc = unsafe {
            libc::sendto(
                fd,
                packet.as_ptr().cast(),
                packet.len(),
                libc::MSG_DONTWAIT,
                (&raw const addr).cast(),
                size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(seq)
    }

    /// Reads every waiting datagram and calls `reply(source, sequence)`
    /// for each echo reply to this worker's requests. Never blocks.
    pub fn recv(&mut self, mut reply: impl FnMut(Ipv4Addr, u16)) {
        let Some(fd) = self.fd() else {
            return;
        };
        let mut buf = [0u8; 576];
        loop {
            // SAFETY: all-zero is a valid sockaddr_in.
            let mut from: libc::sockaddr_in = unsafe { std::mem::zeroed() };
            let mut from_len = size_of::<libc::sockaddr_in>() as libc::socklen_t;
            // SAFETY: the buffer and address are valid for the lengths given.
            let n = unsafe {
                libc::recvfrom(
                    fd,
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_DONTWAIT,
                    (&raw mut from).cast(),
                    &raw mut from_len,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                match e.kind() {
                    io::ErrorKind::Interrupted => continue,
                    io::ErrorKind::WouldBlock => return,
                    // e.g. an ICMP error queued on a ping socket.
                    _ => {
                        tracing::debug!(error = %e, "ICMP receive");
                        return;
                    }
                }
            }
            let src = Ipv4Addr::from(u32::from_be(from.sin_addr.s_addr));
            if let Some((ident, seq)) = parse_echo_reply(&buf[..n as usize], self.raw)
                && ident == self.ident
            {
                reply(src, seq);
            }
        }
    }
}

fn bpf(code: u32, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    }
}

/// The identifier the kernel gives a ping socket's requests: its port.
fn dgram_ident(sock: &OwnedFd) -> io::Result<u16> {
    // SAFETY: all-zero is a valid sockaddr_in.
    let mut addr: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    addr.sin_family = libc::AF_INET as libc::sa_family_t;
    let mut len = size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: `addr` is valid for `len` bytes in both calls.
    let rc = unsafe {
        libc::bind(
            sock.as_raw_fd(),
            (&raw const addr).cast(),
            size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    let rc = unsafe { libc::getsockname(sock.as_raw_fd(), (&raw mut addr).cast(), &raw mut len) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(u16::from_be(addr.sin_port))
}

/// An ICMP echo request with its checksum.
fn echo_request(ident: u16, seq: u16) -> [u8; 8 + PAYLOAD.len()] {
    let mut p = [0u8; 8 + PAYLOAD.len()];
    p[0] = ICMP_ECHO_REQUEST;
    p[4..6].copy_from_slice(&ident.to_be_bytes());
    p[6..8].copy_from_slice(&seq.to_be_bytes());
    p[8..].copy_from_slice(PAYLOAD);
    let sum = checksum(&p);
    p[2..4].copy_from_slice(&sum.to_be_bytes());
    p
}

/// The Internet checksum (RFC 1071).
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// (identifier, sequence) of an echo reply; `raw`: `data` starts with the
/// IPv4 header.
fn parse_echo_reply(data: &[u8], raw: bool) -> Option<(u16, u16)> {
    let icmp = if raw {
        let ihl = usize::from(data.first()? & 0x0f) * 4;
        data.get(ihl..)?
    } else {
        data
    };
    let h = icmp.get(..8)?;
    (h[0] == ICMP_ECHO_REPLY && h[1] == 0).then(|| {
        (
            u16::from_be_bytes([h[4], h[5]]),
            u16::from_be_bytes([h[6], h[7]]),
        )
    })
}

/// Names a parked OFFER in the datapath's delayed-offer heap; never 0,
/// which the heaps use for a plain delayed OFFER.
pub type Token = u64;

/// An OFFER parked while its address is pinged.
#[derive(Debug)]
pub struct Probe<P> {
    /// The address offered and pinged.
    pub target: Ipv4Addr,
    /// The DISCOVER, to answer again if the address answers.
    pub request: Vec<u8>,
    pub meta: RecvMeta,
    /// Addresses that answered pings for this DISCOVER before this one.
    pub probed: u8,
    /// A delayed scope's OFFER: when it is due. It holds a place in the
    /// delayed-offer queue until it leaves or is dropped.
    pub delay_until: Option<u64>,
    /// Where the datapath keeps the OFFER (send slot, frame).
    pub parked: P,
    first_seq: u16,
    sent: u8,
    attempts: u8,
    timeout_ms: u64,
}

/// What a parked OFFER's due time means.
#[derive(Debug)]
pub enum Due<P> {
    /// The OFFER is no longer parked (its address answered).
    Stale,
    /// The next echo request left; due again at this time.
    Again(u64),
    /// Every echo request went unanswered: the OFFER may leave.
    Passed(Probe<P>),
    /// The next echo request could not be sent (event 1029): the OFFER
    /// leaves unchecked.
    Failed(Probe<P>, io::Error),
}

/// What a datapath does with an entry of its delayed-offer heap that came
/// due ([`Probes::resolve`]); the entry names the parked OFFER's frame or
/// send slot.
#[derive(Debug)]
pub enum Resolved {
    /// Nothing: the OFFER is no longer parked (its address answered).
    Gone,
    /// Back into the heap with this due time and token.
    Wait(u64, Token),
    /// The OFFER leaves now.
    Send,
    /// The OFFER is dropped: its frame or slot is free again.
    Drop,
}

/// A probe that could not start: its first echo request could not be sent.
#[derive(Debug)]
pub struct NotStarted<P> {
    pub parked: P,
    pub request: Vec<u8>,
    pub error: io::Error,
}

/// The OFFERs a worker has parked while their addresses are pinged.
#[derive(Debug)]
pub struct Probes<P> {
    entries: Vec<Option<(u32, Probe<P>)>>,
    free: Vec<u32>,
    generation: u32,
    live: usize,
    limit: usize,
    /// Request buffers to reuse, so a busy worker does not allocate per
    /// probe.
    spare: Vec<Vec<u8>>,
}

impl<P> Probes<P> {
    /// At most `limit` parked at once (they hold send slots or frames).
    pub fn new(limit: usize) -> Probes<P> {
        Probes {
            entries: Vec::new(),
            free: Vec::new(),
            generation: 0,
            live: 0,
            limit,
            spare: Vec::new(),
        }
    }

    pub fn is_full(&self) -> bool {
        self.live >= self.limit
    }

    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// A copy of `request` in a reused buffer.
    pub fn copy(&mut self, request: &[u8]) -> Vec<u8> {
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(request);
        buf
    }

    /// Takes a request buffer back for reuse.
    pub fn reuse(&mut self, buf: Vec<u8>) {
        if self.spare.len() < self.limit {
            self.spare.push(buf);
        }
    }

    /// Sends the first of `attempts` echo requests to `target` and parks
    /// the OFFER; the token and when it is due next. The caller checks
    /// [`Self::is_full`] first.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        &mut self,
        pinger: &mut Pinger,
        target: Ipv4Addr,
        request: Vec<u8>,
        meta: RecvMeta,
        probed: u8,
        delay_until: Option<u64>,
        parked: P,
        (attempts, timeout_ms): (u8, u64),
        now: u64,
    ) -> Result<(Token, u64), NotStarted<P>> {
        let first_seq = match pinger.send(target, now) {
            Ok(seq) => seq,
            Err(error) => {
                return Err(NotStarted {
                    parked,
                    request,
                    error,
                });
            }
        };
        let probe = Probe {
            target,
            request,
            meta,
            probed,
            delay_until,
            parked,
            first_seq,
            sent: 1,
            attempts: attempts.max(1),
            timeout_ms,
        };
        self.generation = self.generation.wrapping_add(1).max(1);
        let generation = self.generation;
        let index = match self.free.pop() {
            Some(i) => {
                self.entries[i as usize] = Some((generation, probe));
                i
            }
            None => {
                self.entries.push(Some((generation, probe)));
                (self.entries.len() - 1) as u32
            }
        };
        self.live += 1;
        Ok((
            (u64::from(generation) << 32) | u64::from(index),
            now + timeout_ms,
        ))
    }

    /// The parked OFFER `token` is due at `now`.
    pub fn due(&mut self, token: Token, pinger: &mut Pinger, now: u64) -> Due<P> {
        let Some(probe) = self.get_mut(token) else {
            return Due::Stale;
        };
        if probe.sent >= probe.attempts {
            return self.take(token).map_or(Due::Stale, Due::Passed);
        }
        let target = probe.target;
        match pinger.send(target, now) {
            Ok(_) => {
                // Sequence numbers of one probe are consecutive.
                probe.sent += 1;
                Due::Again(now + probe.timeout_ms)
            }
            Err(e) => self.take(token).map_or(Due::Stale, |p| Due::Failed(p, e)),
        }
    }

    /// The delayed-offer heap's entry `token` (0: a plain delayed OFFER) is
    /// due at `now` (or the worker is shutting down, when `all`): what to do
    /// with its OFFER. Counts the pings, the probe's end and the delayed
    /// OFFERs that leave, on `worker`.
    pub fn resolve(
        &mut self,
        token: Token,
        pinger: &mut Pinger,
        worker: &mut Worker,
        now: u64,
        all: bool,
    ) -> Resolved {
        if token == 0 {
            worker.delayed_sent();
            return Resolved::Send;
        }
        if all {
            let Some(probe) = self.take(token) else {
                return Resolved::Gone;
            };
            if probe.delay_until.is_some() {
                worker.delayed_sent();
            }
            self.reuse(probe.request);
            return Resolved::Drop;
        }
        let probe = match self.due(token, pinger, now) {
            Due::Stale => return Resolved::Gone,
            Due::Again(next) => {
                worker.pinged();
                return Resolved::Wait(next, token);
            }
            Due::Passed(probe) => {
                worker.probe_done(&probe.request);
                probe
            }
            Due::Failed(probe, e) => {
                worker.ping_failed(&probe.request, probe.target, &e, now);
                probe
            }
        };
        let resolved = match probe.delay_until {
            // A delayed scope: the rest of its delay, as a delayed OFFER
            // (which gives its queue place back when it leaves).
            Some(until) if until > now => Resolved::Wait(until, 0),
            delayed => {
                if delayed.is_some() {
                    worker.delayed_sent();
                }
                Resolved::Send
            }
        };
        self.reuse(probe.request);
        resolved
    }

    /// The parked OFFER whose address sent this echo reply, if any.
    pub fn answered(&self, src: Ipv4Addr, seq: u16) -> Option<Token> {
        self.entries.iter().enumerate().find_map(|(i, e)| match e {
            Some((generation, p))
                if p.target == src && seq.wrapping_sub(p.first_seq) < u16::from(p.sent) =>
            {
                Some((u64::from(*generation) << 32) | i as u64)
            }
            _ => None,
        })
    }

    /// Unparks `token`.
    pub fn take(&mut self, token: Token) -> Option<Probe<P>> {
        let (generation, index) = ((token >> 32) as u32, token as u32);
        let entry = self.entries.get_mut(index as usize)?;
        if entry.as_ref().is_none_or(|(g, _)| *g != generation) {
            return None;
        }
        let (_, probe) = entry.take()?;
        self.free.push(index);
        self.live -= 1;
        Some(probe)
    }

    fn get_mut(&mut self, token: Token) -> Option<&mut Probe<P>> {
        let (generation, index) = ((token >> 32) as u32, token as u32);
        match self.entries.get_mut(index as usize)? {
            Some((g, probe)) if *g == generation => Some(probe),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddrV4;

    fn meta() -> RecvMeta {
        RecvMeta {
            ifindex: 1,
            iface_addr: Ipv4Addr::new(10, 0, 0, 1),
            src: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
            dst: Ipv4Addr::BROADCAST,
            arrival_ms: 0,
        }
    }

    #[test]
    fn echo_request_checksum_verifies() {
        let p = echo_request(0x1234, 7);
        assert_eq!(p[0], ICMP_ECHO_REQUEST);
        assert_eq!(checksum(&p), 0, "a packet with its checksum sums to zero");
        assert_eq!(&p[4..8], &[0x12, 0x34, 0, 7]);
    }

    #[test]
    fn echo_replies_are_parsed_with_and_without_the_ip_header() {
        let mut reply = echo_request(0xabcd, 9);
        reply[0] = ICMP_ECHO_REPLY;
        assert_eq!(parse_echo_reply(&reply, false), Some((0xabcd, 9)));
        let mut ip = vec![0x46u8; 24]; // IHL 6: 24 bytes with options
        ip.extend_from_slice(&reply);
        assert_eq!(parse_echo_reply(&ip, true), Some((0xabcd, 9)));
        assert_eq!(parse_echo_reply(&echo_request(1, 1), false), None);
        assert_eq!(parse_echo_reply(&[0x45, 0], true), None);
    }

    /// A pinger that cannot send: its socket "failed to open" just now.
    fn failing() -> Pinger {
        let mut p = Pinger::new(0);
        p.open_failed = Some((0, io::ErrorKind::PermissionDenied, "no".into()));
        p
    }

    /// Parks a probe as if its first echo request had left with `seq`.
    fn park(probes: &mut Probes<u16>, target: Ipv4Addr, seq: u16, slot: u16) -> Token {
        let mut pinger = failing();
        let err = probes
            .start(
                &mut pinger,
                target,
                vec![1, 2, 3],
                meta(),
                0,
                None,
                slot,
                (2, 100),
                0,
            )
            .unwrap_err();
        assert_eq!(err.parked, slot);
        assert_eq!(err.error.kind(), io::ErrorKind::PermissionDenied);
        // Park it by hand, as `start` does after a successful send.
        let probe = Probe {
            target,
            request: err.request,
            meta: meta(),
            probed: 0,
            delay_until: None,
            parked: slot,
            first_seq: seq,
            sent: 1,
            attempts: 2,
            timeout_ms: 100,
        };
        probes.generation += 1;
        probes.entries.push(Some((probes.generation, probe)));
        probes.live += 1;
        (u64::from(probes.generation) << 32) | (probes.entries.len() as u64 - 1)
    }

    #[test]
    fn replies_match_by_source_and_sequence_and_tokens_go_stale() {
        let mut probes = Probes::new(4);
        let a = Ipv4Addr::new(10, 0, 0, 10);
        let b = Ipv4Addr::new(10, 0, 0, 11);
        let ta = park(&mut probes, a, 100, 1);
        let tb = park(&mut probes, b, 101, 2);
        assert_eq!(probes.len(), 2);
        assert_eq!(probes.answered(a, 100), Some(ta));
        assert_eq!(probes.answered(b, 101), Some(tb));
        assert_eq!(probes.answered(a, 101), None, "another probe's sequence");
        assert_eq!(probes.answered(b, 100), None);
        assert_eq!(probes.answered(Ipv4Addr::new(10, 0, 0, 12), 100), None);
        let p = probes.take(ta).unwrap();
        assert_eq!((p.parked, p.target), (1, a));
        assert!(probes.take(ta).is_none());
        let mut pinger = failing();
        assert!(matches!(probes.due(ta, &mut pinger, 100), Due::Stale));
        assert_eq!(probes.answered(a, 100), None);
    }

    #[test]
    fn a_failed_later_attempt_ends_the_probe_and_the_last_one_passes_it() {
        let mut probes = Probes::new(4);
        let a = Ipv4Addr::new(10, 0, 0, 10);
        let mut pinger = failing();
        let t = park(&mut probes, a, 5, 1);
        match probes.due(t, &mut pinger, 100) {
            Due::Failed(p, e) => {
                assert_eq!(p.parked, 1);
                assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
            }
            other => panic!("{other:?}"),
        }
        assert!(probes.is_empty());
        // Every attempt sent: due means passed.
        let t = park(&mut probes, a, 6, 2);
        probes.get_mut(t).unwrap().sent = 2;
        assert!(matches!(probes.due(t, &mut pinger, 200), Due::Passed(p) if p.parked == 2));
        assert!(probes.is_empty());
    }

    /// A real echo over loopback, where this process may open an ICMP
    /// socket (root, or a ping group range that includes it).
    #[test]
    fn loopback_answers_a_real_ping() {
        let mut pinger = Pinger::new(3);
        let seq = match pinger.send(Ipv4Addr::LOCALHOST, 0) {
            Ok(seq) => seq,
            Err(e) => {
                eprintln!("skipped: no ICMP socket here ({e})");
                return;
            }
        };
        assert!(pinger.take_opened() && !pinger.take_opened());
        let fd = pinger.fd().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        let mut got = Vec::new();
        while got.is_empty() && std::time::Instant::now() < deadline {
            let mut pfd = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            unsafe { libc::poll(&raw mut pfd, 1, 100) };
            pinger.recv(|src, s| got.push((src, s)));
        }
        assert_eq!(got, [(Ipv4Addr::LOCALHOST, seq)]);
    }

    #[test]
    fn bounded() {
        let mut probes = Probes::new(1);
        assert!(!probes.is_full());
        park(&mut probes, Ipv4Addr::new(10, 0, 0, 10), 1, 1);
        assert!(probes.is_full());
    }
}
