//! What a worker does with one datagram, whatever datapath brought it:
//! decode, engine, counters, event logging. The datapath only moves bytes.

use std::io;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use crossbeam_utils::CachePadded;
use dhcp_wire::{Message, MessageType, code};

use super::counters::Counters;
use super::log;
use super::offer_queue::OfferQueue;
use crate::audit::{AuditId, AuditLog, AuditRecord};
use crate::engine::{LeaseChange, RecvMeta, Reply, Shard, stored_steering_key};
use crate::events::{Event, EventId};
use crate::state::Shared;
use crate::store::Partition;

/// Milliseconds since the Unix epoch: the engine's clock. Wall-clock time,
/// because lease expiry times are kept across restarts.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A worker's engine shard, its partition of the lease store, and its
/// bookkeeping.
pub struct Worker {
    shard: Shard,
    /// Shared only with the backup task, which locks it briefly.
    partition: Arc<Mutex<Partition>>,
    common: Common,
    index: usize,
    events: Vec<Event>,
    /// Lease changes not yet committed to the store.
    pending: Vec<LeaseChange>,
    /// When a store failure was last logged (they come in bursts).
    store_error_logged_ms: u64,
    /// When a stale-request drop was last logged.
    stale_logged_ms: u64,
    /// When event 1029 (a ping could not be sent) was last logged, and how
    /// many were not logged since.
    ping_failed_logged_ms: Option<u64>,
    ping_failed_suppressed: u64,
}

/// What every worker shares with the others and the daemon.
#[derive(Clone)]
pub struct Common {
    pub counters: Arc<[CachePadded<Counters>]>,
    pub audit: Option<AuditLog>,
    pub offers: Arc<OfferQueue>,
}

/// A reply, and when it may leave.
pub struct Answer {
    pub reply: Reply,
    /// The reply grants a lease (an ACK): it may only leave once the
    /// lease is durable.
    pub after_commit: bool,
    /// Hold the reply this long (a delayed OFFER; it holds a place in the
    /// delayed-offer queue until [`Worker::delayed_sent`]).
    pub delay_ms: u32,
    /// Conflict detection: ping this address before the reply (an OFFER)
    /// leaves. The datapath parks the reply with the request and reports
    /// back: [`Worker::probe_done`] (no answer: the OFFER leaves, after its
    /// delay if it has one), [`Worker::ping_failed`] (event 1029: it
    /// leaves unchecked), [`Worker::conflict`] (the address answered: the
    /// reply is dropped and the request answered again), or
    /// [`Worker::drop_probed`] (no room to park it).
    pub probe: Option<Ipv4Addr>,
}

/// Addresses pinged for one DISCOVER: when this many answered in a row,
/// the next one is offered without a ping (see `docs/ARCHITECTURE.md`).
pub const MAX_PROBED_ADDRESSES: u8 = 3;

/// Event 1029 is logged at most once per this interval per worker.
const PING_FAILED_LOG_INTERVAL_MS: u64 = 60_000;

/// Store failures are logged at most once per this interval.
const STORE_ERROR_LOG_INTERVAL_MS: u64 = 10_000;
/// Stale-request drops are logged at most once per this interval.
const STALE_LOG_INTERVAL_MS: u64 = 60_000;

impl Worker {
    pub fn new(shard: Shard, partition: Arc<Mutex<Partition>>, common: Common) -> Worker {
        let index = shard.id();
        Worker {
            shard,
            partition,
            common,
            index,
            events: Vec::new(),
            pending: Vec::new(),
            store_error_logged_ms: 0,
            stale_logged_ms: 0,
            ping_failed_logged_ms: None,
            ping_failed_suppressed: 0,
        }
    }

    /// Conflict detection as configured now: pings per address (0: off)
    /// and how long each waits for its reply (ms).
    pub fn conflict_detection(&self) -> (u8, u64) {
        let server = &self.shard.shared().config.server;
        (
            server.conflict_detection_attempts,
            server.conflict_detection_timeout_ms,
        )
    }

    /// A delayed OFFER has left (or was given up): frees its queue place.
    pub fn delayed_sent(&self) {
        self.common.offers.release();
    }

    pub fn counters(&self) -> &Counters {
        &self.common.counters[self.index]
    }

    pub fn index(&self) -> usize {
        self.index
    }

    /// Handles one datagram; the reply, if any, is written into `out`.
    pub fn handle(
        &mut self,
        payload: &[u8],
        meta: &RecvMeta,
        now: u64,
        out: &mut [u8],
    ) -> Option<Answer> {
        let c = &self.common.counters[self.index];
        Counters::add(&c.received, 1);
        let waited = now.saturating_sub(meta.arrival_ms);
        let limit = self.shard.shared().config.server.request_drop_timeout_ms;
        if waited > limit {
            // The client has long retransmitted or given up: an answer now
            // would only add to a backlog (Windows' rule, event 10007).
            Counters::add(&c.stale, 1);
            if now.saturating_sub(self.stale_logged_ms) >= STALE_LOG_INTERVAL_MS {
                self.stale_logged_ms = now;
                crate::catalogued!(EventId::V6DropTimeout, waited_ms = waited; "dropped a request that waited {waited} ms before processing (limit {limit} ms); later ones are counted as `stale`");
            }
            return None;
        }
        let Ok(msg) = Message::parse(payload) else {
            Counters::add(&c.malformed, 1);
            return None;
        };
        match msg.message_type() {
            Some(MessageType::Discover) => Counters::add(&c.discovers, 1),
            Some(MessageType::Request) => Counters::add(&c.requests, 1),
            Some(MessageType::Decline) => Counters::add(&c.declines, 1),
            Some(MessageType::Release) => Counters::add(&c.releases, 1),
            Some(MessageType::Inform) => Counters::add(&c.informs, 1),
            _ => {}
        }
        self.run(&msg, meta, now, out, 0)
    }

    /// The engine's answer to `msg`, `probed` addresses having answered a
    /// ping for it already.
    fn run(
        &mut self,
        msg: &Message<'_>,
        meta: &RecvMeta,
        now: u64,
        out: &mut [u8],
        probed: u8,
    ) -> Option<Answer> {
        let c = &self.common.counters[self.index];
        let outcome = self.shard.handle(msg, meta, now, out, &mut self.events);
        if let Some(audit) = &self.common.audit {
            audit_message(audit, msg, &self.events, outcome.change.as_ref(), now);
        }
        for e in self.events.drain(..) {
            log::event(&e);
        }
        // DECLINE and RELEASE are never answered: their silence is no drop.
        let notice = matches!(
            msg.message_type(),
            Some(MessageType::Decline | MessageType::Release)
        );
        if let Some(why) = outcome.silence.filter(|_| !notice) {
            Counters::add(&c.dropped, 1);
            tracing::debug!(reason = ?why, xid = msg.xid(), "no reply");
        }
        let after_commit = outcome.change.is_some();
        if let Some(change) = outcome.change {
            tracing::debug!(?change, "lease change");
            self.pending.push(change);
        }
        let reply = outcome.reply?;
        let delay_ms = reply.delay_ms;
        let mut probe = reply.probe;
        if let Some(addr) = probe.filter(|_| probed >= MAX_PROBED_ADDRESSES) {
            // Something answers for address after address: offer this one
            // unchecked rather than never serve the client (the client
            // still checks it, and declines it if it is taken).
            tracing::warn!(addr = %addr, answered = probed, xid = msg.xid(), "{probed} addresses in a row answered conflict-detection pings: offering {addr} without a ping");
            self.shard.probe_done(msg);
            probe = None;
        }
        if delay_ms > 0 && !self.common.offers.try_hold() {
            // The delayed-offer queue is full (1338): drop the DISCOVER and
            // give its address back at once rather than at the offer timeout.
            self.shard.cancel_offer(msg);
            Counters::add(&c.delay_dropped, 1);
            return None;
        }
        match reply.kind {
            // A pinged OFFER is counted when it leaves (`probe_done`).
            Some(MessageType::Offer) if probe.is_none() => Counters::add(&c.offers, 1),
            Some(MessageType::Ack) => Counters::add(&c.acks, 1),
            Some(MessageType::Nak) => Counters::add(&c.naks, 1),
            Some(_) => {}
            None => Counters::add(&c.bootp_replies, 1),
        }
        Some(Answer {
            reply,
            after_commit,
            delay_ms,
            probe,
        })
    }

    /// Conflict detection: `addr`, offered in answer to `request`, answered
    /// a ping, after `probed` earlier addresses did. The address is
    /// quarantined (stored, audited as a conflict) and `request` answered
    /// again into `out`: normally an OFFER of another address, pinged in
    /// turn. The parked reply must be dropped (and its delayed-offer place
    /// given back) before.
    pub fn conflict(
        &mut self,
        request: &[u8],
        meta: &RecvMeta,
        addr: Ipv4Addr,
        probed: u8,
        now: u64,
        out: &mut [u8],
    ) -> Option<Answer> {
        let msg = Message::parse(request).ok()?;
        Counters::add(&self.counters().conflicts, 1);
        tracing::warn!(addr = %addr, mac = hex_upper(msg.chaddr()), xid = msg.xid(), "{addr} answered a conflict-detection ping: it is in use by a host this server does not know; quarantined, the next free address is offered");
        if let Some(change) = self.shard.conflict(&msg, addr, now) {
            self.pending.push(change);
        }
        if let Some(audit) = &self.common.audit {
            audit.record(AuditRecord {
                id: Some(AuditId::Conflict),
                addr: Some(addr),
                // What Windows shows for an address found in use.
                host_name: "BAD_ADDRESS".into(),
                ..audit_base(&msg, now)
            });
        }
        self.run(&msg, meta, now, out, probed.saturating_add(1))
    }

    /// Conflict detection: nobody answered the pings of the address offered
    /// in answer to `request`; its OFFER leaves now (or at the end of its
    /// delay).
    pub fn probe_done(&mut self, request: &[u8]) {
        if let Ok(msg) = Message::parse(request) {
            self.shard.probe_done(&msg);
        }
        Counters::add(&self.counters().offers, 1);
    }

    /// Conflict detection: a ping of `addr` could not be sent (`error`):
    /// event 1029, and its OFFER leaves unchecked, as Windows does.
    pub fn ping_failed(&mut self, request: &[u8], addr: Ipv4Addr, error: &io::Error, now: u64) {
        Counters::add(&self.counters().ping_errors, 1);
        let due = self
            .ping_failed_logged_ms
            .is_none_or(|last| now.saturating_sub(last) >= PING_FAILED_LOG_INTERVAL_MS);
        if due {
            let suppressed = std::mem::take(&mut self.ping_failed_suppressed);
            self.ping_failed_logged_ms = Some(now);
            crate::catalogued!(EventId::PingFailed, addr = tracing::field::display(addr), error = tracing::field::display(error), worker = self.index, suppressed = suppressed; "cannot ping {addr} for conflict detection ({error}): it is offered without the check; {suppressed} more since the last report");
        } else {
            self.ping_failed_suppressed += 1;
        }
        self.probe_done(request);
    }

    /// Conflict detection: the worker cannot park another OFFER while its
    /// address is pinged: `request` is dropped and its offer withdrawn (the
    /// client retries). A delayed-offer place it took must be given back.
    pub fn drop_probed(&mut self, request: &[u8]) {
        if let Ok(msg) = Message::parse(request) {
            self.shard.cancel_offer(&msg);
        }
        let c = self.counters();
        Counters::add(&c.ping_dropped, 1);
        Counters::add(&c.dropped, 1);
    }

    /// Conflict detection: an echo request has left.
    pub fn pinged(&self) {
        Counters::add(&self.counters().pings, 1);
    }

    /// Makes the pending lease changes durable (one batch, one sync). On
    /// failure the changes are dropped and the caller must not send the
    /// replies that waited for them: the clients retry, and their retries
    /// produce the changes again.
    pub fn commit(&mut self, now: u64) -> bool {
        if self.pending.is_empty() {
            return true;
        }
        let c = &self.common.counters[self.index];
        let result = self
            .partition
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .commit(&self.pending, now);
        let n = self.pending.len() as u64;
        self.pending.clear();
        match result {
            Ok(()) => {
                Counters::add(&c.stored, n);
                true
            }
            Err(e) => {
                Counters::add(&c.store_errors, 1);
                if now.saturating_sub(self.store_error_logged_ms) >= STORE_ERROR_LOG_INTERVAL_MS {
                    self.store_error_logged_ms = now;
                    tracing::error!(error = %e, "lease changes could not be stored: their ACKs are withheld");
                }
                false
            }
        }
    }

    /// Counts replies withheld by a failed commit.
    pub fn withheld(&self, n: u64) {
        Counters::add(&self.common.counters[self.index].withheld, n);
    }

    /// The source address of replies sent on a link: the server identifier
    /// the engine put in option 54.
    pub fn server_ip(&self, meta: &RecvMeta) -> std::net::Ipv4Addr {
        self.shard
            .shared()
            .config
            .server
            .server_id
            .unwrap_or(meta.iface_addr)
    }

    /// Applies due timers (their changes join the pending ones); returns
    /// when the next timer is due.
    pub fn tick(&mut self, now: u64) -> Option<u64> {
        let before = self.pending.len();
        self.shard.poll_timers(now, &mut self.pending);
        Counters::add(
            &self.common.counters[self.index].expired,
            (self.pending.len() - before) as u64,
        );
        if let Some(audit) = &self.common.audit {
            for change in &self.pending[before..] {
                if let LeaseChange::Expired { client, addr } = change {
                    let mut r = AuditRecord::new(AuditId::Expired, now);
                    r.addr = Some(*addr);
                    r.mac = hex_upper(stored_steering_key(client));
                    audit.record(r);
                }
            }
        }
        self.shard.next_deadline()
    }

    /// Moves the shard onto a reloaded configuration.
    pub fn rebase(&mut self, shared: Arc<Shared>) {
        let before = self.pending.len();
        self.shard.rebase(shared, &mut self.pending);
        for change in &self.pending[before..] {
            tracing::info!(?change, "lease ended by the new configuration");
        }
    }
}

/// An audit record about the sender of `msg` (its ID still to be set).
fn audit_base(msg: &Message<'_>, now: u64) -> AuditRecord {
    let mut r = AuditRecord::new(AuditId::Assign, now);
    r.host_name = msg
        .option(code::HOST_NAME)
        .map(|h| String::from_utf8_lossy(h).into_owned())
        .unwrap_or_default();
    r.mac = hex_upper(msg.chaddr());
    r.xid = Some(msg.xid());
    r.vendor_class = msg
        .option(code::VENDOR_CLASS)
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    r.user_class = msg
        .option(code::USER_CLASS)
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    r.relay_info = msg
        .relay_agent_info()
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    r
}

/// The audit records of one handled message.
fn audit_message(
    audit: &AuditLog,
    msg: &Message<'_>,
    events: &[Event],
    change: Option<&LeaseChange>,
    now: u64,
) {
    let base = || audit_base(msg, now);
    if let Some(LeaseChange::Bound { addr, renewal, .. }) = change {
        let id = if *renewal {
            AuditId::Renew
        } else {
            AuditId::Assign
        };
        audit.record(AuditRecord {
            id: Some(id),
            addr: Some(*addr),
            ..base()
        });
    }
    for e in events {
        let (id, addr) = match e {
            Event::LeaseNack { addr, .. } => (AuditId::Nack, Some(*addr)),
            Event::LeaseReleased { addr, .. } => (AuditId::Release, Some(*addr)),
            Event::LeaseDeclined { addr, .. } => (AuditId::Conflict, Some(*addr)),
            Event::ScopeFull { .. } => (AuditId::ScopeFull, None),
            Event::BootpFull { .. } => (AuditId::ScopeFull, None),
            Event::UnknownOption { .. }
            | Event::LowAddressWarning { .. }
            | Event::SuperscopeLowAddressWarning { .. }
            | Event::PolicyRangesFull { .. }
            | Event::ResidualRangesFull { .. }
            | Event::PolicyRangesLowAddressWarning { .. }
            | Event::ResidualRangesLowAddressWarning { .. } => continue,
        };
        let mut r = AuditRecord {
            id: Some(id),
            addr,
            ..base()
        };
        if id == AuditId::Conflict {
            // What Windows shows for a declined address.
            r.host_name = "BAD_ADDRESS".into();
        }
        audit.record(r);
    }
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use crate::store::Durability;
    use std::net::{Ipv4Addr, SocketAddrV4};
    use std::sync::atomic::Ordering;

    fn worker(dir: &std::path::Path) -> Worker {
        worker_with(dir, "")
    }

    fn worker_with(dir: &std::path::Path, server: &str) -> Worker {
        let cfg = config::from_toml(&format!(
            "[server]\nrequest_drop_timeout = 30\n{server}\n[[scope]]\nname = \"a\"\nsubnet = \"10.0.0.0/24\"\nranges = [\"10.0.0.10-10.0.0.20\"]\n",
        ))
        .unwrap();
        let shared = Arc::new(Shared::new(Arc::new(cfg), 1));
        let partition = Partition::open(dir.join("p"), Durability::Async).unwrap();
        let counters: Arc<[CachePadded<Counters>]> =
            vec![CachePadded::new(Counters::default())].into();
        let common = Common {
            counters,
            audit: None,
            offers: Arc::new(OfferQueue::new(1000)),
        };
        Worker::new(
            Shard::new(shared, 0),
            Arc::new(Mutex::new(partition)),
            common,
        )
    }

    #[test]
    fn requests_that_waited_too_long_are_dropped_and_counted() {
        let dir = std::env::temp_dir().join(format!("xdhcpd-worker-test-{}", std::process::id()));
        let mut w = worker(&dir);
        let mut frame = [0u8; 576];
        let len = discover(&mut frame);
        let meta = RecvMeta {
            ifindex: 2,
            iface_addr: Ipv4Addr::new(10, 0, 0, 1),
            src: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
            dst: Ipv4Addr::BROADCAST,
            arrival_ms: 1_000,
        };
        let mut out = vec![0u8; crate::engine::MAX_REPLY_LEN];
        assert!(
            w.handle(&frame[..len], &meta, 1_000 + 30_001, &mut out)
                .is_none()
        );
        assert_eq!(w.counters().stale.load(Ordering::Relaxed), 1);
        assert!(
            w.handle(&frame[..len], &meta, 1_000 + 29_000, &mut out)
                .is_some(),
            "within the limit it is answered"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn meta() -> RecvMeta {
        RecvMeta {
            ifindex: 2,
            iface_addr: Ipv4Addr::new(10, 0, 0, 1),
            src: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
            dst: Ipv4Addr::BROADCAST,
            arrival_ms: 0,
        }
    }

    #[test]
    fn after_three_busy_addresses_the_next_is_offered_without_a_ping() {
        let dir = std::env::temp_dir().join(format!("xdhcpd-worker-test-c{}", std::process::id()));
        let mut w = worker_with(&dir, "conflict_detection_attempts = 1");
        let mut frame = [0u8; 576];
        let len = discover(&mut frame);
        let request = &frame[..len];
        let mut out = vec![0u8; crate::engine::MAX_REPLY_LEN];
        let mut answer = w.handle(request, &meta(), 0, &mut out).unwrap();
        let mut busy = Vec::new();
        for probed in 0..MAX_PROBED_ADDRESSES {
            let addr = answer.probe.expect("pinged");
            busy.push(addr);
            answer = w
                .conflict(request, &meta(), addr, probed, 1, &mut out)
                .expect("offered again");
        }
        assert_eq!(answer.probe, None, "offered unchecked");
        let offered = Message::parse(&out[..answer.reply.len]).unwrap().yiaddr();
        assert!(!busy.contains(&offered), "{offered} answered a ping");
        assert_eq!(busy.len(), 3);
        let c = w.counters();
        assert_eq!(c.conflicts.load(Ordering::Relaxed), 3);
        assert_eq!(c.offers.load(Ordering::Relaxed), 1, "one OFFER left");
        assert_eq!(w.pending.len(), 3, "three quarantines to store");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_ping_that_cannot_be_sent_lets_the_offer_go() {
        let dir = std::env::temp_dir().join(format!("xdhcpd-worker-test-p{}", std::process::id()));
        let mut w = worker_with(&dir, "conflict_detection_attempts = 2");
        let mut frame = [0u8; 576];
        let len = discover(&mut frame);
        let request = &frame[..len];
        let mut out = vec![0u8; crate::engine::MAX_REPLY_LEN];
        let answer = w.handle(request, &meta(), 0, &mut out).unwrap();
        let addr = answer.probe.expect("pinged");
        assert_eq!(w.counters().offers.load(Ordering::Relaxed), 0);
        // A retransmission waits for the parked OFFER...
        assert!(w.handle(request, &meta(), 10, &mut out).is_none());
        let error = io::Error::from(io::ErrorKind::PermissionDenied);
        w.ping_failed(request, addr, &error, 20);
        w.ping_failed(request, addr, &error, 30);
        let c = w.counters();
        assert_eq!(c.ping_errors.load(Ordering::Relaxed), 2);
        assert_eq!(w.ping_failed_suppressed, 1, "1029 once a minute");
        // ...and is answered again once the ping is given up.
        let again = w.handle(request, &meta(), 40, &mut out).unwrap();
        assert_eq!(again.probe, None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A minimal DISCOVER from 02:00:00:00:00:01.
    fn discover(buf: &mut [u8]) -> usize {
        let chaddr = [2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let mut w = dhcp_wire::Writer::new(buf, 576);
        w.header(&dhcp_wire::ReplyHeader {
            op: dhcp_wire::BOOTREQUEST,
            htype: 1,
            hlen: 6,
            hops: 0,
            xid: 7,
            secs: 0,
            flags: 0,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            yiaddr: Ipv4Addr::UNSPECIFIED,
            siaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: Ipv4Addr::UNSPECIFIED,
            chaddr: &chaddr,
            sname: &[],
            file: &[],
        });
        w.option_u8(code::MESSAGE_TYPE, MessageType::Discover as u8)
            .unwrap();
        w.finish()
    }
}
