//! [`Engine`]: the simulated clients' state machines, sans I/O.
//!
//! Owns every client's state (what it waits for, its lease, its timers),
//! the run's phases, the pacing of new exchanges and the bookkeeping that
//! catches a server's mistakes (an address ACKed to two clients, replies to
//! xids nobody used). It is given the time with every call and returns the
//! messages to send as [`Send`]s; it never reads a clock, never touches a
//! socket and never builds bytes, so every scenario is unit-tested with a
//! fake clock.
//!
//! Phases: `renew` and `release` first bind every client with a DORA
//! (**bind**); then every scenario starts its exchanges at the paced rate
//! (**main**) until `count` sequences or `duration` is reached; then no
//! new sequence starts and in-flight exchanges finish or time out
//! (**drain**, bounded by the drain timeout).

use std::{
    cmp::Reverse,
    collections::{BinaryHeap, HashMap, VecDeque},
    hash::{BuildHasherDefault, Hasher},
    net::Ipv4Addr,
};

use clap::ValueEnum;
use serde::Serialize;

use crate::{
    backoff::{self, Rng},
    client,
    pacer::Pacer,
    stats::{Anomaly, Kind, Stats},
};

const S: u64 = 1_000_000_000;

/// What the simulated clients do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// Full DORA: DISCOVER → OFFER → REQUEST → ACK.
    Dora,
    /// DISCOVER → OFFER only; offers are never taken up.
    Do,
    /// DORA for every client first, then renewals (REQUEST with ciaddr).
    Renew,
    /// DORA for every client first, then one RELEASE each.
    Release,
    /// Every client boots at once (DORA, unpaced unless --rate is given),
    /// retransmitting with the RFC 2131 back-off: 4 s, 8 s, 16 s, … ± 1 s.
    Storm,
    /// Full DORA through relays: giaddr and option 82 (needs --relays).
    Relay,
    /// Each turn picks a client: DORA if it has no lease, else a renewal
    /// or (with 1 - --renew-share) a release.
    Mix,
}

/// How a run goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub scenario: Scenario,
    /// Clients in the population.
    pub clients: u32,
    /// Sequences started per second in the bind and main phases (0: as
    /// fast as possible), reached by a linear ramp of `ramp_ns`.
    pub rate: f64,
    pub ramp_ns: u64,
    /// Sequences in the main phase (default: one per client).
    pub count: Option<u64>,
    /// Longest main phase.
    pub duration_ns: Option<u64>,
    /// How long an exchange waits for its answer (not in a storm).
    pub timeout_ns: u64,
    /// Storm: retransmissions of one message before the client gives up.
    pub retries: u32,
    /// Mix: the share of a bound client's turns that renew (the rest
    /// release).
    pub renew_share: f64,
    /// Longest drain, from the end of the main phase.
    pub drain_ns: u64,
    pub seed: u64,
}

impl Settings {
    /// Defaults for `scenario` with `clients` clients: 1,000/s, no ramp,
    /// 1 s timeout, 4 retries, drain long enough for every timeout (the
    /// whole back-off schedule in a storm).
    pub fn new(scenario: Scenario, clients: u32) -> Self {
        let mut s = Self {
            scenario,
            clients,
            rate: if scenario == Scenario::Storm {
                0.0
            } else {
                1_000.0
            },
            ramp_ns: 0,
            count: None,
            duration_ns: None,
            timeout_ns: S,
            retries: 4,
            renew_share: 0.8,
            drain_ns: 0,
            seed: 1,
        };
        s.drain_ns = s.default_drain_ns();
        s
    }

    /// Long enough for every in-flight exchange to be answered or time
    /// out: two timeouts, or in a storm the whole schedule of a DISCOVER
    /// and a REQUEST with every retry (+1 s of jitter each).
    pub fn default_drain_ns(&self) -> u64 {
        if self.scenario == Scenario::Storm {
            let one: u64 = (0..=self.retries)
                .map(|r| backoff::nominal_delay_ns(r) + S)
                .sum();
            2 * one
        } else {
            2 * self.timeout_ns
        }
    }
}

/// The message a [`Send`] carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message {
    Discover,
    /// REQUEST in SELECTING state for an offer.
    Request {
        addr: Ipv4Addr,
        server: Ipv4Addr,
    },
    /// REQUEST in RENEWING state (ciaddr = addr), unicast to the server.
    Renew {
        addr: Ipv4Addr,
        server: Ipv4Addr,
    },
    /// RELEASE of addr, unicast to the server.
    Release {
        addr: Ipv4Addr,
        server: Ipv4Addr,
    },
}

/// One message to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Send {
    pub client: u32,
    pub xid: u32,
    /// RFC 2131 `secs`: time since the client's first try.
    pub secs: u16,
    pub kind: Kind,
    pub retransmit: bool,
    pub message: Message,
}

/// The type of a server reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyType {
    Offer,
    Ack,
    Nak,
}

/// A server reply addressed to one of our clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    pub client: u32,
    pub xid: u32,
    pub kind: ReplyType,
    pub yiaddr: Ipv4Addr,
    /// Option 54; the source address is used when it is missing.
    pub server: Ipv4Addr,
    /// Option 51, seconds; `None` is taken as infinite.
    pub lease_s: Option<u32>,
}

/// Where the run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Bind,
    Main,
    Drain,
    Finished,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Stage {
    #[default]
    Idle,
    Discovering,
    Requesting,
    Renewing,
}

/// Bits of [`Client::answered`] and [`Client::timed_out`].
const OFFER_BIT: u8 = 1;
const ACK_BIT: u8 = 2;

#[derive(Debug, Clone, Copy)]
struct Client {
    stage: Stage,
    /// The current exchange's number: its xid is `client::xid(n, attempt)`.
    attempt: u32,
    /// Bumped by every transmission and every end of an exchange, so a
    /// timer that outlived its transmission is recognised and ignored.
    generation: u32,
    /// Retransmissions of the current message.
    tries: u32,
    /// The kind of the last request of the current xid (Ra, Renew,
    /// Release; Do before any).
    request_kind: Option<Kind>,
    answered: u8,
    timed_out: u8,
    sent_at: u64,
    /// When the current sequence began (storm: the bind time's origin).
    began_at: u64,
    offered: Ipv4Addr,
    server: Ipv4Addr,
    /// The address the client believes it holds (UNSPECIFIED: none).
    leased: Ipv4Addr,
    lease_end: u64,
}

impl Default for Client {
    fn default() -> Self {
        Self {
            stage: Stage::Idle,
            attempt: 0,
            generation: 0,
            tries: 0,
            request_kind: None,
            answered: 0,
            timed_out: 0,
            sent_at: 0,
            began_at: 0,
            offered: Ipv4Addr::UNSPECIFIED,
            server: Ipv4Addr::UNSPECIFIED,
            leased: Ipv4Addr::UNSPECIFIED,
            lease_end: 0,
        }
    }
}

impl Client {
    fn in_flight(&self) -> bool {
        self.stage != Stage::Idle
    }

    fn has_lease(&self) -> bool {
        !self.leased.is_unspecified()
    }
}

/// A multiplicative hash for the address table: keys are addresses,
/// mostly consecutive, never attacker-chosen.
#[derive(Default)]
struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }

    fn write_u32(&mut self, v: u32) {
        self.0 = u64::from(v)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(32);
    }
}

type AddrMap = HashMap<u32, u32, BuildHasherDefault<AddrHasher>>;

/// What a new sequence begins with.
#[derive(Debug, Clone, Copy)]
enum Start {
    Discover,
    Renew,
    Release,
}

/// How many clients a start may look at to find one that can start.
const SCAN_LIMIT: u32 = 64;

/// The clients of a run and everything that happens to them.
pub struct Engine {
    settings: Settings,
    clients: Vec<Client>,
    /// Address → the client it was last ACKed to.
    holders: AddrMap,
    /// (deadline, client, generation), earliest first.
    timers: BinaryHeap<Reverse<(u64, u32, u32)>>,
    /// Follow-ups and retransmissions: sent before new sequences, unpaced.
    pending: VecDeque<Send>,
    phase: Phase,
    phase_start: u64,
    pacer: Pacer,
    /// Sequences started in the current phase.
    started: u64,
    /// The last poll found no client that could start: the pace was then
    /// limited by the clients (all in flight, none bound), not the loop.
    starved: bool,
    /// The next client a start looks at.
    cursor: u32,
    in_flight: u64,
    /// Clients holding a lease.
    bound: u64,
    /// Exchanges still in flight when the drain timed out.
    unfinished: u64,
    rng: Rng,
    stats: Stats,
}

impl Engine {
    /// A run that starts at `now`.
    pub fn new(settings: Settings, now: u64) -> Self {
        let phase = match settings.scenario {
            Scenario::Renew | Scenario::Release => Phase::Bind,
            _ => Phase::Main,
        };
        Self {
            clients: vec![Client::default(); settings.clients as usize],
            holders: AddrMap::default(),
            timers: BinaryHeap::new(),
            pending: VecDeque::new(),
            phase,
            phase_start: now,
            pacer: Pacer::new(settings.rate, settings.ramp_ns),
            started: 0,
            starved: false,
            cursor: 0,
            in_flight: 0,
            bound: 0,
            unfinished: 0,
            rng: Rng::new(settings.seed),
            stats: Stats::new(now),
            settings,
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Finished
    }

    /// Exchanges waiting for an answer.
    pub fn in_flight(&self) -> u64 {
        self.in_flight
    }

    /// Clients holding a lease.
    pub fn bound(&self) -> u64 {
        self.bound
    }

    /// Exchanges abandoned when the drain timed out (or the run was cut).
    pub fn unfinished(&self) -> u64 {
        self.unfinished
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    pub fn stats_mut(&mut self) -> &mut Stats {
        &mut self.stats
    }

    /// The pacer's target rate now (0: unlimited or not starting).
    pub fn target_rate(&self, now: u64) -> f64 {
        match self.phase {
            Phase::Bind | Phase::Main => self.pacer.rate_at(now.saturating_sub(self.phase_start)),
            Phase::Drain | Phase::Finished => 0.0,
        }
    }

    /// Starts the pacer has allowed by `now` that have not been made,
    /// unless the clients, not the loop, held them back.
    pub fn behind(&self, now: u64) -> u64 {
        if !matches!(self.phase, Phase::Bind | Phase::Main)
            || self.pacer.is_unlimited()
            || self.starved
            || !self.phase_limit_left()
        {
            return 0;
        }
        self.pacer
            .allowed(now.saturating_sub(self.phase_start))
            .saturating_sub(self.started)
    }

    /// The client that holds `addr` by our records (for answering ARP).
    pub fn holder_of(&self, addr: Ipv4Addr) -> Option<u32> {
        let n = *self.holders.get(&u32::from(addr))?;
        (self.clients[n as usize].leased == addr).then_some(n)
    }

    /// Ends the run now (the hard time cap): whatever is in flight is
    /// unfinished.
    pub fn stop(&mut self) {
        if self.phase != Phase::Finished {
            self.unfinished = self.in_flight;
            self.phase = Phase::Finished;
        }
    }

    /// When the engine next has something to do if no reply arrives: a
    /// timer, or the next paced start. `None`: nothing, ever.
    pub fn next_wakeup(&self, now: u64) -> Option<u64> {
        if !self.pending.is_empty() {
            return Some(now);
        }
        let timer = self.timers.peek().map(|Reverse((t, _, _))| *t);
        let start = match self.phase {
            Phase::Bind | Phase::Main => {
                let rate = self.pacer.rate_at(now.saturating_sub(self.phase_start));
                if self.pacer.is_unlimited() || rate <= 0.0 {
                    Some(now)
                } else {
                    Some(now + (1e9 / rate) as u64)
                }
            }
            Phase::Drain => Some(self.phase_start + self.settings.drain_ns),
            Phase::Finished => None,
        };
        [timer, start].into_iter().flatten().min()
    }

    /// Fires the timers due by `now`: timeouts, storm retransmissions.
    pub fn expire(&mut self, now: u64) {
        while let Some(&Reverse((deadline, n, generation))) = self.timers.peek() {
            if deadline > now {
                break;
            }
            self.timers.pop();
            let c = self.clients[n as usize];
            if c.generation != generation || !c.in_flight() {
                continue;
            }
            let (kind, bit) = match c.stage {
                Stage::Discovering => (Kind::Do, OFFER_BIT),
                Stage::Requesting => (Kind::Ra, ACK_BIT),
                Stage::Renewing => (Kind::Renew, ACK_BIT),
                Stage::Idle => unreachable!("checked in flight"),
            };
            self.stats.dropped(kind);
            let storm = self.settings.scenario == Scenario::Storm;
            if storm && c.tries < self.settings.retries {
                let c = &mut self.clients[n as usize];
                c.tries += 1;
                c.generation += 1;
                let message = match c.stage {
                    Stage::Discovering => Message::Discover,
                    _ => Message::Request {
                        addr: c.offered,
                        server: c.server,
                    },
                };
                let send = Send {
                    client: n,
                    xid: client::xid(n, c.attempt),
                    secs: secs_since(c.began_at, deadline),
                    kind,
                    retransmit: true,
                    message,
                };
                let delay = backoff::delay_ns(c.tries, &mut self.rng);
                self.timers
                    .push(Reverse((deadline + delay, n, c.generation)));
                self.pending.push_back(send);
            } else {
                if storm {
                    self.stats.gave_up += 1;
                }
                let c = &mut self.clients[n as usize];
                c.timed_out |= bit;
                self.end_exchange(n);
            }
        }
    }

    /// Appends to `out` what should be sent now, at most `max` messages:
    /// follow-ups and retransmissions first, then new sequences as the
    /// pacer allows.
    pub fn poll(&mut self, now: u64, out: &mut Vec<Send>, max: usize) {
        while out.len() < max {
            match self.pending.pop_front() {
                Some(s) => out.push(s),
                None => break,
            }
        }
        self.advance(now);
        if !matches!(self.phase, Phase::Bind | Phase::Main) {
            return;
        }
        let allowed = self.pacer.allowed(now.saturating_sub(self.phase_start));
        self.starved = false;
        while out.len() < max && self.started < allowed && self.phase_limit_left() {
            match self.start_one(now) {
                Some(send) => {
                    self.started += 1;
                    self.stats.started();
                    out.push(send);
                }
                None => {
                    self.starved = true;
                    break;
                }
            }
        }
        self.advance(now);
    }

    /// The message left at `at`.
    pub fn sent(&mut self, send: &Send, at: u64) {
        self.stats.sent(send.kind, send.retransmit, at);
        let c = &mut self.clients[send.client as usize];
        if c.in_flight() {
            c.sent_at = at;
        }
    }

    /// The message could not be sent: the exchange is abandoned (the
    /// loadgen's failure, counted apart from the server's drops).
    pub fn send_failed(&mut self, send: &Send) {
        self.stats.tx_failed(send.kind);
        if self.clients[send.client as usize].in_flight() {
            self.end_exchange(send.client);
        }
    }

    /// A reply for one of our clients arrived at `at`.
    pub fn on_reply(&mut self, r: &Reply, at: u64) {
        let n = r.client;
        let Some(c) = self.clients.get(n as usize).copied() else {
            self.stats.foreign += 1;
            return;
        };
        if r.xid != client::xid(n, c.attempt) {
            self.stats.unknown_xid += 1;
            return;
        }
        let latency = at.saturating_sub(c.sent_at);
        match r.kind {
            ReplyType::Offer => {
                if c.stage != Stage::Discovering {
                    self.anomaly(Kind::Do, c, OFFER_BIT);
                    return;
                }
                self.stats.answered(Kind::Do, latency, false);
                self.clients[n as usize].answered |= OFFER_BIT;
                if self.settings.scenario == Scenario::Do {
                    self.end_exchange(n);
                    return;
                }
                let timeout = self.first_timeout();
                let c = &mut self.clients[n as usize];
                c.stage = Stage::Requesting;
                c.request_kind = Some(Kind::Ra);
                c.tries = 0;
                c.generation += 1;
                c.offered = r.yiaddr;
                c.server = r.server;
                self.timers.push(Reverse((at + timeout, n, c.generation)));
                self.pending.push_back(Send {
                    client: n,
                    xid: r.xid,
                    secs: secs_since(c.began_at, at),
                    kind: Kind::Ra,
                    retransmit: false,
                    message: Message::Request {
                        addr: r.yiaddr,
                        server: r.server,
                    },
                });
            }
            ReplyType::Ack | ReplyType::Nak => {
                let kind = c.request_kind.unwrap_or(Kind::Do);
                if !matches!(c.stage, Stage::Requesting | Stage::Renewing) {
                    self.anomaly(kind, c, ACK_BIT);
                    return;
                }
                let nak = r.kind == ReplyType::Nak;
                self.stats.answered(kind, latency, nak);
                self.clients[n as usize].answered |= ACK_BIT;
                if nak {
                    // The client lost whatever it held.
                    self.drop_lease(n);
                } else {
                    self.bind(n, r, at);
                    if self.settings.scenario == Scenario::Storm {
                        self.stats
                            .bind_time
                            .saturating_record(at.saturating_sub(c.began_at).max(1));
                    }
                }
                self.end_exchange(n);
            }
        }
    }

    fn anomaly(&mut self, kind: Kind, c: Client, bit: u8) {
        let a = if c.answered & bit != 0 {
            Anomaly::DuplicateReply
        } else if c.timed_out & bit != 0 {
            Anomaly::Late
        } else {
            Anomaly::Unexpected
        };
        self.stats.anomaly(kind, a);
    }

    /// Records that `n` holds `r.yiaddr`, catching a second holder.
    fn bind(&mut self, n: u32, r: &Reply, at: u64) {
        let addr = r.yiaddr;
        let old = self.clients[n as usize].leased;
        if old != addr {
            self.drop_lease(n);
        }
        if let Some(&other) = self.holders.get(&u32::from(addr))
            && other != n
        {
            let o = self.clients[other as usize];
            if o.leased == addr && o.lease_end > at {
                self.stats.duplicate_address(addr, other, n, at);
            }
        }
        self.holders.insert(u32::from(addr), n);
        let c = &mut self.clients[n as usize];
        if !c.has_lease() {
            self.bound += 1;
        }
        c.leased = addr;
        c.server = r.server;
        c.lease_end = match r.lease_s {
            Some(s) if s != u32::MAX => at + u64::from(s) * S,
            _ => u64::MAX,
        };
    }

    fn drop_lease(&mut self, n: u32) {
        let c = &mut self.clients[n as usize];
        if !c.has_lease() {
            return;
        }
        let addr = u32::from(c.leased);
        c.leased = Ipv4Addr::UNSPECIFIED;
        self.bound -= 1;
        if self.holders.get(&addr) == Some(&n) {
            self.holders.remove(&addr);
        }
    }

    fn end_exchange(&mut self, n: u32) {
        let c = &mut self.clients[n as usize];
        if c.in_flight() {
            self.in_flight -= 1;
        }
        c.stage = Stage::Idle;
        c.generation += 1;
    }

    fn first_timeout(&mut self) -> u64 {
        if self.settings.scenario == Scenario::Storm {
            backoff::delay_ns(0, &mut self.rng)
        } else {
            self.settings.timeout_ns
        }
    }

    fn phase_limit_left(&self) -> bool {
        match self.phase {
            Phase::Bind => self.started < u64::from(self.settings.clients),
            Phase::Main => self.started < self.main_count(),
            Phase::Drain | Phase::Finished => false,
        }
    }

    fn main_count(&self) -> u64 {
        match self.settings.scenario {
            // Each client boots (or releases) once.
            Scenario::Storm => u64::from(self.settings.clients),
            Scenario::Release => self.settings.count.unwrap_or(u64::MAX),
            _ => self
                .settings
                .count
                .unwrap_or(u64::from(self.settings.clients)),
        }
    }

    /// Moves to the next phase when the current one is over.
    fn advance(&mut self, now: u64) {
        loop {
            let next = match self.phase {
                Phase::Bind => {
                    (!self.phase_limit_left() && self.in_flight == 0 && self.pending.is_empty())
                        .then_some(Phase::Main)
                }
                Phase::Main => {
                    let timed_out = self
                        .settings
                        .duration_ns
                        .is_some_and(|d| now.saturating_sub(self.phase_start) >= d);
                    let nothing_to_start = match self.settings.scenario {
                        Scenario::Renew | Scenario::Release => self.bound == 0,
                        _ => self.settings.clients == 0,
                    };
                    (timed_out || !self.phase_limit_left() || nothing_to_start)
                        .then_some(Phase::Drain)
                }
                Phase::Drain => {
                    if self.in_flight == 0 && self.pending.is_empty() {
                        Some(Phase::Finished)
                    } else if now >= self.phase_start + self.settings.drain_ns {
                        self.unfinished = self.in_flight;
                        Some(Phase::Finished)
                    } else {
                        None
                    }
                }
                Phase::Finished => None,
            };
            match next {
                Some(p) => {
                    self.phase = p;
                    self.phase_start = now;
                    self.started = 0;
                    self.starved = false;
                    self.cursor = 0;
                }
                None => return,
            }
        }
    }

    /// Starts the next sequence, if a client can start one.
    fn start_one(&mut self, now: u64) -> Option<Send> {
        let size = self.settings.clients;
        for _ in 0..SCAN_LIMIT.min(size) {
            let n = self.cursor;
            self.cursor = (self.cursor + 1) % size;
            let c = self.clients[n as usize];
            if c.in_flight() {
                continue;
            }
            let what = match (self.phase, self.settings.scenario) {
                (Phase::Bind, _) => Some(Start::Discover),
                (_, Scenario::Renew) => c.has_lease().then_some(Start::Renew),
                (_, Scenario::Release) => c.has_lease().then_some(Start::Release),
                (_, Scenario::Mix) if c.has_lease() => {
                    if self.rng.chance(self.settings.renew_share) {
                        Some(Start::Renew)
                    } else {
                        Some(Start::Release)
                    }
                }
                _ => Some(Start::Discover),
            };
            if let Some(kind) = what {
                return Some(self.begin(n, kind, now));
            }
        }
        None
    }

    fn begin(&mut self, n: u32, start: Start, now: u64) -> Send {
        let timeout = match start {
            Start::Discover => self.first_timeout(),
            Start::Renew | Start::Release => self.settings.timeout_ns,
        };
        let c = &mut self.clients[n as usize];
        c.attempt = c.attempt.wrapping_add(1);
        c.generation += 1;
        c.tries = 0;
        c.answered = 0;
        c.timed_out = 0;
        c.began_at = now;
        c.sent_at = now;
        let xid = client::xid(n, c.attempt);
        let (addr, server) = (c.leased, c.server);
        let (kind, message) = match start {
            Start::Discover => {
                c.stage = Stage::Discovering;
                c.request_kind = None;
                (Kind::Do, Message::Discover)
            }
            Start::Renew => {
                c.stage = Stage::Renewing;
                c.request_kind = Some(Kind::Renew);
                (Kind::Renew, Message::Renew { addr, server })
            }
            Start::Release => {
                c.request_kind = Some(Kind::Release);
                (Kind::Release, Message::Release { addr, server })
            }
        };
        if c.in_flight() {
            self.in_flight += 1;
            self.timers.push(Reverse((now + timeout, n, c.generation)));
        } else {
            // A RELEASE expects no answer: the client forgets its lease.
            self.drop_lease(n);
        }
        Send {
            client: n,
            xid,
            secs: 0,
            kind,
            retransmit: false,
            message,
        }
    }
}

/// Whole seconds from `from` to `to`, as the 16-bit `secs` field holds.
fn secs_since(from: u64, to: u64) -> u16 {
    (to.saturating_sub(from) / S).min(u64::from(u16::MAX)) as u16
}

#[cfg(test)]
mod tests;
