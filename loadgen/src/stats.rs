//! [`Stats`]: what happened during a run, as it happens.
//!
//! Owns the counters, the latency histograms (hdrhistogram, nanoseconds)
//! and the per-second series. It is told about events with their times and
//! never reads a clock, never prints and never judges (the report does).
//! Each event is counted in the second that is open when it is recorded.

use std::net::Ipv4Addr;

use hdrhistogram::Histogram;
use serde::Serialize;

/// The exchanges a client performs; each has its own counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// DISCOVER → OFFER.
    Do,
    /// REQUEST (selecting) → ACK.
    Ra,
    /// REQUEST (renewing) → ACK.
    Renew,
    /// RELEASE; no answer is expected.
    Release,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Do, Kind::Ra, Kind::Renew, Kind::Release];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Do => "DO",
            Kind::Ra => "RA",
            Kind::Renew => "renew",
            Kind::Release => "release",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A reply that was not the answer the client waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anomaly {
    /// The answer came after its exchange had timed out (already counted
    /// as a drop).
    Late,
    /// A second answer to an exchange already answered.
    DuplicateReply,
    /// A reply of a type the exchange cannot have (an ACK to a DISCOVER,
    /// an OFFER while requesting, anything to a RELEASE).
    Unexpected,
}

/// Two clients holding one address at once: the first time it was seen.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DuplicateAddress {
    pub address: Ipv4Addr,
    /// The client that held it (index in the population).
    pub holder: u32,
    /// The client that was then given it too.
    pub given_to: u32,
    /// Seconds into the run.
    pub at_s: f64,
}

/// How many duplicate addresses are kept as examples.
const DUPLICATE_EXAMPLES: usize = 20;

/// Latencies from 1 ns to one hour, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid bounds")
}

/// Counters of one exchange kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Messages sent, retransmissions included.
    pub sent: u64,
    /// Of those, retransmissions (storm back-off).
    pub retransmits: u64,
    /// Answers that completed an exchange (OFFER, ACK, or NAK).
    pub answered: u64,
    /// Of the answers, NAKs.
    pub naks: u64,
    /// Transmissions that got no answer within their timeout.
    pub drops: u64,
    /// Answers after the timeout.
    pub late: u64,
    /// Second answers to one exchange.
    pub duplicate_replies: u64,
    /// Replies of a type the exchange cannot have.
    pub unexpected: u64,
    /// Messages the loadgen could not hand to the kernel (its own
    /// failure, not the server's); their exchanges are abandoned.
    pub tx_failed: u64,
}

/// One kind's totals and its histograms.
#[derive(Debug, Clone)]
pub struct KindStats {
    pub counters: Counters,
    /// Latency of every answer but NAKs, ns.
    pub latency: Histogram<u64>,
    /// Time of the first and last transmission, ns.
    pub first_sent_ns: Option<u64>,
    pub last_sent_ns: u64,
    interval: Counters,
    interval_latency: Histogram<u64>,
}

impl KindStats {
    fn new() -> Self {
        Self {
            counters: Counters::default(),
            latency: new_histogram(),
            first_sent_ns: None,
            last_sent_ns: 0,
            interval: Counters::default(),
            interval_latency: new_histogram(),
        }
    }
}

/// One kind in one second of the series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct KindSecond {
    pub kind: Kind,
    pub sent: u64,
    pub answered: u64,
    pub drops: u64,
    /// Latency percentiles of the second's answers, µs (0 if none).
    pub p50_us: f64,
    pub p99_us: f64,
}

/// What the loop reads off the engine at each tick.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Gauges {
    /// The pacer's target rate (0: unlimited, or not starting).
    pub target_rate: f64,
    /// Exchanges waiting for an answer.
    pub in_flight: u64,
    /// Starts the pacer allowed that the loop has not made yet.
    pub behind: u64,
    /// Clients holding a lease.
    pub bound: u64,
}

/// One second of the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Second {
    /// Seconds since the start; this entry covers `[t, t+1)`.
    pub t: u64,
    /// Sequences (a DORA, a renewal, a release...) started in the second.
    pub offered: u64,
    /// The pacer's highest target rate during the second (0: unlimited,
    /// or not starting).
    pub target_rate: f64,
    /// Exchanges waiting for an answer at the end of the second.
    pub in_flight: u64,
    /// Starts the loadgen was behind its schedule at the end of the
    /// second: more than a few milliseconds' worth means it could not keep
    /// the pace.
    pub behind: u64,
    /// Clients holding a lease at the end of the second.
    pub bound: u64,
    pub kinds: Vec<KindSecond>,
}

/// Everything counted during a run.
#[derive(Debug, Clone)]
pub struct Stats {
    start_ns: u64,
    kinds: [KindStats; 4],
    /// Sequences started.
    pub offered: u64,
    interval_offered: u64,
    interval_target: f64,
    /// Closed seconds.
    pub series: Vec<Second>,
    /// Replies whose chaddr is not one of ours.
    pub foreign: u64,
    /// Replies to one of our clients with an xid it never used.
    pub unknown_xid: u64,
    /// ACKs of an address another client held.
    pub duplicate_addresses: u64,
    pub duplicate_examples: Vec<DuplicateAddress>,
    /// Clients bound at the end of a storm: from their first DISCOVER to
    /// their ACK, retransmissions included, ns.
    pub bind_time: Histogram<u64>,
    /// Storm clients that ran out of retries.
    pub gave_up: u64,
}

impl Stats {
    /// Stats of a run that starts at `start_ns`.
    pub fn new(start_ns: u64) -> Self {
        Self {
            start_ns,
            kinds: Kind::ALL.map(|_| KindStats::new()),
            offered: 0,
            interval_offered: 0,
            interval_target: 0.0,
            series: Vec::new(),
            foreign: 0,
            unknown_xid: 0,
            duplicate_addresses: 0,
            duplicate_examples: Vec::new(),
            bind_time: new_histogram(),
            gave_up: 0,
        }
    }

    /// When the run started (ns, the caller's clock).
    pub fn start_ns(&self) -> u64 {
        self.start_ns
    }

    /// The totals of `kind`.
    pub fn kind(&self, kind: Kind) -> &KindStats {
        &self.kinds[kind.index()]
    }

    fn both(&mut self, kind: Kind, f: impl Fn(&mut Counters)) {
        let k = &mut self.kinds[kind.index()];
        f(&mut k.counters);
        f(&mut k.interval);
    }

    /// A sequence (DORA, renewal, ...) began.
    pub fn started(&mut self) {
        self.offered += 1;
        self.interval_offered += 1;
    }

    /// A message of `kind` left at `at_ns`.
    pub fn sent(&mut self, kind: Kind, retransmit: bool, at_ns: u64) {
        self.both(kind, |c| {
            c.sent += 1;
            c.retransmits += u64::from(retransmit);
        });
        let k = &mut self.kinds[kind.index()];
        k.first_sent_ns.get_or_insert(at_ns);
        k.last_sent_ns = at_ns;
    }

    /// A message of `kind` could not be sent.
    pub fn tx_failed(&mut self, kind: Kind) {
        self.both(kind, |c| c.tx_failed += 1);
    }

    /// The exchange got its answer after `latency_ns`; `nak` if it was one.
    pub fn answered(&mut self, kind: Kind, latency_ns: u64, nak: bool) {
        self.both(kind, |c| {
            c.answered += 1;
            c.naks += u64::from(nak);
        });
        if !nak {
            let k = &mut self.kinds[kind.index()];
            // Never 0: hdrhistogram's lowest bucket is 1 ns.
            let v = latency_ns.max(1);
            k.latency.saturating_record(v);
            k.interval_latency.saturating_record(v);
        }
    }

    /// A transmission of `kind` timed out.
    pub fn dropped(&mut self, kind: Kind) {
        self.both(kind, |c| c.drops += 1);
    }

    /// A reply concerning an exchange of `kind` was not its answer.
    pub fn anomaly(&mut self, kind: Kind, anomaly: Anomaly) {
        self.both(kind, |c| match anomaly {
            Anomaly::Late => c.late += 1,
            Anomaly::DuplicateReply => c.duplicate_replies += 1,
            Anomaly::Unexpected => c.unexpected += 1,
        });
    }

    /// `given_to` was ACKed `address`, which `holder` holds.
    pub fn duplicate_address(
        &mut self,
        address: Ipv4Addr,
        holder: u32,
        given_to: u32,
        now_ns: u64,
    ) {
        self.duplicate_addresses += 1;
        if self.duplicate_examples.len() < DUPLICATE_EXAMPLES {
            self.duplicate_examples.push(DuplicateAddress {
                address,
                holder,
                given_to,
                at_s: now_ns.saturating_sub(self.start_ns) as f64 / 1e9,
            });
        }
    }

    /// Notes the gauges at `now_ns`, and closes every second that ended by
    /// then; returns how many were closed (the newest is last in
    /// [`Self::series`]).
    pub fn tick(&mut self, now_ns: u64, g: Gauges) -> usize {
        let target_rate = g.target_rate;
        let elapsed_s = now_ns.saturating_sub(self.start_ns) / 1_000_000_000;
        let mut closed = 0;
        if (self.series.len() as u64) >= elapsed_s {
            self.interval_target = self.interval_target.max(target_rate);
        }
        while (self.series.len() as u64) < elapsed_s {
            let t = self.series.len() as u64;
            let kinds = Kind::ALL
                .iter()
                .map(|&kind| {
                    let k = &mut self.kinds[kind.index()];
                    let s = KindSecond {
                        kind,
                        sent: k.interval.sent,
                        answered: k.interval.answered,
                        drops: k.interval.drops,
                        p50_us: quantile_us(&k.interval_latency, 0.5),
                        p99_us: quantile_us(&k.interval_latency, 0.99),
                    };
                    k.interval = Counters::default();
                    k.interval_latency.reset();
                    s
                })
                .collect();
            self.series.push(Second {
                t,
                offered: self.interval_offered,
                target_rate: self.interval_target,
                in_flight: g.in_flight,
                behind: g.behind,
                bound: g.bound,
                kinds,
            });
            self.interval_offered = 0;
            self.interval_target = target_rate;
            closed += 1;
        }
        closed
    }
}

/// The latency at quantile `q` of `h` in µs; 0 for an empty histogram.
pub fn quantile_us(h: &Histogram<u64>, q: f64) -> f64 {
    if h.is_empty() {
        0.0
    } else {
        h.value_at_quantile(q) as f64 / 1e3
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    fn gauges(target_rate: f64, in_flight: u64) -> Gauges {
        Gauges {
            target_rate,
            in_flight,
            ..Gauges::default()
        }
    }

    #[test]
    fn counters_and_the_series_agree() {
        let mut s = Stats::new(10 * S);
        for i in 0..100 {
            s.started();
            s.sent(Kind::Do, false, 10 * S + i);
            if i % 10 == 0 {
                s.dropped(Kind::Do);
            } else {
                s.answered(Kind::Do, (i + 1) * 1_000, false);
            }
        }
        assert_eq!(
            s.tick(11 * S - 1, gauges(100.0, 0)),
            0,
            "the first second is still open"
        );
        assert_eq!(s.tick(11 * S, gauges(100.0, 3)), 1);
        s.sent(Kind::Ra, false, 11 * S);
        s.answered(Kind::Ra, 5_000, true);
        assert_eq!(s.tick(13 * S + 5, gauges(100.0, 0)), 2);

        let c = s.kind(Kind::Do).counters;
        assert_eq!((c.sent, c.answered, c.drops), (100, 90, 10));
        assert_eq!(s.series.len(), 3);
        let first = &s.series[0];
        assert_eq!((first.offered, first.in_flight), (100, 3));
        let do0 = first.kinds[0];
        assert_eq!((do0.sent, do0.answered, do0.drops), (100, 90, 10));
        // Answers took 2..=100 µs except every tenth: the median is ≈ 51 µs.
        assert!((do0.p50_us - 51.0).abs() < 1.0, "{}", do0.p50_us);
        let ra1 = s.series[1].kinds[1];
        assert_eq!((ra1.sent, ra1.answered), (1, 1));
        assert_eq!(ra1.p50_us, 0.0, "a NAK has no latency sample");
        assert_eq!(s.kind(Kind::Ra).counters.naks, 1);
        assert_eq!(s.series[2].kinds[0].sent, 0);
    }

    #[test]
    fn duplicate_examples_are_bounded() {
        let mut s = Stats::new(0);
        for n in 0..100 {
            s.duplicate_address(Ipv4Addr::new(10, 0, 0, 1), 1, n, 2 * S);
        }
        assert_eq!(s.duplicate_addresses, 100);
        assert_eq!(s.duplicate_examples.len(), DUPLICATE_EXAMPLES);
        assert_eq!(s.duplicate_examples[0].at_s, 2.0);
    }
}
