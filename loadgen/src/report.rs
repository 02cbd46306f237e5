//! [`Report`]: the numbers of a finished run, as data (JSON), as a text
//! table, and as the one-line progress shown while it runs.
//!
//! Owns the arithmetic that turns counters and histograms into rates,
//! percentages and percentiles, and the list of problems a reader must
//! not miss. It never measures anything itself and never writes files
//! (the binary does).

use std::fmt::Write as _;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::{
    scenario::Scenario,
    stats::{Counters, DuplicateAddress, Kind, Second, Stats, quantile_us},
};

/// How the run was set up (echoed in the report).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunInfo {
    pub scenario: Scenario,
    pub interface: String,
    pub clients: u32,
    /// Sequences per second asked for (0: unlimited).
    pub rate: f64,
    pub ramp_s: f64,
    pub count: Option<u64>,
    pub duration_s: Option<f64>,
    pub timeout_ms: f64,
    pub retries: u32,
    pub relays: usize,
    pub seed: u8,
}

/// Latency summary, µs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Latency {
    pub samples: u64,
    pub min: f64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p99_9: f64,
    pub max: f64,
}

impl Latency {
    /// The summary of a histogram of nanoseconds.
    pub fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        Self {
            samples: h.len(),
            min: h.min() as f64 / 1e3,
            mean: h.mean() / 1e3,
            p50: quantile_us(h, 0.5),
            p90: quantile_us(h, 0.9),
            p99: quantile_us(h, 0.99),
            p99_9: quantile_us(h, 0.999),
            max: h.max() as f64 / 1e3,
        }
    }
}

/// One bar of a latency histogram: answers with latency in
/// `(previous le_us, le_us]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bucket {
    pub le_us: f64,
    pub count: u64,
}

/// How far behind its schedule the loadgen may fall (a stall of the
/// shared machine) before the run is flagged as limited by the loadgen.
const MAX_LAG_S: f64 = 0.1;

/// The percentiles drawn in the percentile plot.
pub const CURVE_PERCENTILES: [f64; 13] = [
    0.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99, 99.999, 100.0,
];

/// One exchange kind's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exchange {
    pub kind: Kind,
    pub name: &'static str,
    #[serde(flatten)]
    pub counters: Counters,
    /// Drops per transmission, percent.
    pub drop_pct: f64,
    /// Seconds from the first to the last transmission of this kind.
    pub window_s: f64,
    /// Answers per second over that window.
    pub answered_per_s: f64,
    pub latency_us: Latency,
    /// `[percentile, µs]` pairs at [`CURVE_PERCENTILES`].
    pub percentiles: Vec<[f64; 2]>,
    /// Log-spaced histogram (4 bars per doubling).
    pub histogram: Vec<Bucket>,
}

impl Exchange {
    fn of(kind: Kind, stats: &Stats) -> Self {
        let k = stats.kind(kind);
        let c = k.counters;
        let window_s = k.first_sent_ns.map_or(0.0, |first| {
            k.last_sent_ns.saturating_sub(first) as f64 / 1e9
        });
        Self {
            kind,
            name: kind.name(),
            counters: c,
            drop_pct: percent(c.drops, c.sent),
            window_s,
            // A window below 1 ms (a handful of messages) is too short to
            // make a rate of; report none rather than a huge number.
            answered_per_s: if window_s >= 1e-3 {
                c.answered as f64 / window_s
            } else {
                0.0
            },
            latency_us: Latency::of(&k.latency),
            percentiles: curve(&k.latency),
            histogram: buckets(&k.latency),
        }
    }
}

/// A storm's outcome per client.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Storm {
    pub clients: u32,
    pub bound: u64,
    pub gave_up: u64,
    /// First DISCOVER → ACK, retransmissions included.
    pub bind_time_us: Latency,
}

/// The loadgen's own side of the wire: if these are not zero, the
/// loadgen, not the server, was the limit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Io {
    /// The transport the frames went through (`transport::Kind`).
    pub transport: String,
    pub frames_sent: u64,
    pub frames_received: u64,
    /// Frames the kernel dropped on the way in for want of room (receive
    /// ring full, or with AF_XDP no free frame).
    pub rx_ring_drops: u64,
    /// Frames that could not be sent (refused by the kernel, or no free
    /// send frame).
    pub tx_failed: u64,
    pub arp_replies: u64,
}

/// The whole result of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub tool: &'static str,
    pub version: &'static str,
    pub run: RunInfo,
    /// Wall-clock start, seconds since the Unix epoch.
    pub started_unix_s: f64,
    pub elapsed_s: f64,
    /// Sequences (DORAs, renewals, …) started.
    pub offered: u64,
    pub exchanges: Vec<Exchange>,
    pub clients_bound: u64,
    pub duplicate_addresses: u64,
    pub duplicate_examples: Vec<DuplicateAddress>,
    pub unknown_xid: u64,
    pub foreign: u64,
    /// Exchanges still in flight when the run ended.
    pub unfinished: u64,
    pub storm: Option<Storm>,
    pub io: Io,
    /// What a reader must not miss; empty when the run was clean.
    pub problems: Vec<String>,
    pub series: Vec<Second>,
}

/// The run's parts that are not in [`Stats`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    pub started_unix_s: f64,
    pub elapsed_s: f64,
    pub clients_bound: u64,
    pub unfinished: u64,
    pub io: Io,
}

impl Report {
    pub fn new(run: RunInfo, stats: &Stats, outcome: Outcome) -> Self {
        let exchanges: Vec<Exchange> = Kind::ALL
            .iter()
            .filter(|&&k| stats.kind(k).counters.sent > 0)
            .map(|&k| Exchange::of(k, stats))
            .collect();
        let storm = (run.scenario == Scenario::Storm).then(|| Storm {
            clients: run.clients,
            bound: stats.bind_time.len(),
            gave_up: stats.gave_up,
            bind_time_us: Latency::of(&stats.bind_time),
        });
        let mut r = Self {
            tool: "xdhcp-loadgen",
            version: env!("CARGO_PKG_VERSION"),
            started_unix_s: outcome.started_unix_s,
            elapsed_s: outcome.elapsed_s,
            offered: stats.offered,
            exchanges,
            clients_bound: outcome.clients_bound,
            duplicate_addresses: stats.duplicate_addresses,
            duplicate_examples: stats.duplicate_examples.clone(),
            unknown_xid: stats.unknown_xid,
            foreign: stats.foreign,
            unfinished: outcome.unfinished,
            storm,
            io: outcome.io,
            problems: Vec::new(),
            series: stats.series.clone(),
            run,
        };
        r.problems = r.find_problems();
        r
    }

    /// The exchange of `kind`, if any was sent.
    pub fn exchange(&self, kind: Kind) -> Option<&Exchange> {
        self.exchanges.iter().find(|e| e.kind == kind)
    }

    fn find_problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.duplicate_addresses > 0 {
            p.push(format!(
                "{} ACKs gave a client an address another client held",
                self.duplicate_addresses
            ));
        }
        for e in &self.exchanges {
            let c = &e.counters;
            if e.drop_pct >= 1.0 {
                p.push(format!(
                    "{}: {:.2} % of transmissions unanswered",
                    e.name, e.drop_pct
                ));
            }
            if c.naks > 0 {
                p.push(format!("{}: {} NAKs", e.name, c.naks));
            }
            let wrong = c.duplicate_replies + c.unexpected;
            if wrong > 0 {
                p.push(format!(
                    "{}: {wrong} duplicate or unexpected replies",
                    e.name
                ));
            }
        }
        if self.unknown_xid > 0 {
            p.push(format!(
                "{} replies to xids no client used",
                self.unknown_xid
            ));
        }
        if self.unfinished > 0 {
            p.push(format!(
                "{} exchanges still in flight at the end",
                self.unfinished
            ));
        }
        if self.io.rx_ring_drops > 0 || self.io.tx_failed > 0 {
            p.push(format!(
                "the loadgen itself lost frames ({} receive-ring drops, {} failed sends): \
                 the numbers understate the server",
                self.io.rx_ring_drops, self.io.tx_failed
            ));
        }
        let lag = self.max_lag_s();
        if lag > MAX_LAG_S {
            p.push(format!(
                "the loadgen fell {:.0} ms behind its schedule: it, not the server, limited the rate",
                lag * 1e3
            ));
        }
        p
    }

    /// The furthest the loadgen fell behind its schedule at the end of a
    /// second, in seconds of the target rate.
    pub fn max_lag_s(&self) -> f64 {
        self.series
            .iter()
            .filter(|s| s.target_rate > 0.0)
            .map(|s| s.behind as f64 / s.target_rate)
            .fold(0.0, f64::max)
    }

    /// The report as a text table.
    pub fn to_text(&self) -> String {
        let mut o = String::new();
        let r = &self.run;
        let rate = if r.rate > 0.0 {
            format!("{}/s", r.rate)
        } else {
            "unlimited".into()
        };
        let _ = writeln!(
            o,
            "xdhcp-loadgen {}: {} clients on {}{}, rate {rate}, {:.2} s, {} sequences started",
            scenario_name(r.scenario),
            r.clients,
            r.interface,
            if r.relays > 0 {
                format!(" via {} relays", r.relays)
            } else {
                String::new()
            },
            self.elapsed_s,
            self.offered,
        );
        let _ = writeln!(
            o,
            "{:<8} {:>9} {:>9} {:>8} {:>7} {:>6} {:>6} {:>6} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "exchange",
            "sent",
            "answered",
            "drops",
            "drop%",
            "naks",
            "late",
            "wrong",
            "answers/s",
            "p50 µs",
            "p90 µs",
            "p99 µs",
            "p99.9 µs",
            "max µs"
        );
        for e in &self.exchanges {
            let c = &e.counters;
            let l = &e.latency_us;
            let _ = writeln!(
                o,
                "{:<8} {:>9} {:>9} {:>8} {:>6.2}% {:>6} {:>6} {:>6} {:>10.0} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
                e.name,
                c.sent,
                c.answered,
                c.drops,
                e.drop_pct,
                c.naks,
                c.late,
                c.duplicate_replies + c.unexpected,
                e.answered_per_s,
                l.p50,
                l.p90,
                l.p99,
                l.p99_9,
                l.max
            );
        }
        if let Some(s) = &self.storm {
            let _ = writeln!(
                o,
                "storm: {} of {} clients bound, {} gave up; bind time p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
                s.bound,
                s.clients,
                s.gave_up,
                s.bind_time_us.p50 / 1e3,
                s.bind_time_us.p99 / 1e3,
                s.bind_time_us.max / 1e3
            );
        }
        let _ = writeln!(
            o,
            "clients holding a lease: {}; duplicate addresses: {}; unknown xids: {}; frames sent {}, received {} ({})",
            self.clients_bound,
            self.duplicate_addresses,
            self.unknown_xid,
            self.io.frames_sent,
            self.io.frames_received,
            self.io.transport
        );
        if self.problems.is_empty() {
            let _ = writeln!(o, "problems: none");
        } else {
            for p in &self.problems {
                let _ = writeln!(o, "PROBLEM: {p}");
            }
        }
        o
    }
}

/// The scenario's name as on the command line.
pub fn scenario_name(s: Scenario) -> &'static str {
    match s {
        Scenario::Dora => "dora",
        Scenario::Do => "do",
        Scenario::Renew => "renew",
        Scenario::Release => "release",
        Scenario::Storm => "storm",
        Scenario::Relay => "relay",
        Scenario::Mix => "mix",
    }
}

/// The progress line for the second just closed.
pub fn progress_line(s: &Second, total_offered: u64, bound: u64, elapsed_s: f64) -> String {
    let mut o = format!(
        "[{elapsed_s:6.1} s] offered {:>8}/s (target {:>8.0}/s, total {total_offered})",
        s.offered, s.target_rate
    );
    for k in s.kinds.iter().filter(|k| k.sent > 0 || k.answered > 0) {
        let _ = write!(
            o,
            " | {} {}/{} drop {} p50 {:.0} p99 {:.0} µs",
            k.kind.name(),
            k.answered,
            k.sent,
            k.drops,
            k.p50_us,
            k.p99_us
        );
    }
    let _ = write!(o, " | in flight {} bound {bound}", s.in_flight);
    o
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

fn curve(h: &Histogram<u64>) -> Vec<[f64; 2]> {
    if h.is_empty() {
        return Vec::new();
    }
    CURVE_PERCENTILES
        .iter()
        .map(|&p| [p, h.value_at_quantile(p / 100.0) as f64 / 1e3])
        .collect()
}

/// Four bars per doubling, from the smallest sample to the largest.
fn buckets(h: &Histogram<u64>) -> Vec<Bucket> {
    if h.is_empty() {
        return Vec::new();
    }
    let first = h.lowest_equivalent(h.min()).max(1);
    h.iter_log(first, 2f64.powf(0.25))
        .map(|v| Bucket {
            le_us: v.value_iterated_to() as f64 / 1e3,
            count: v.count_since_last_iteration(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Gauges;

    const S: u64 = 1_000_000_000;

    fn info(rate: f64) -> RunInfo {
        RunInfo {
            scenario: Scenario::Dora,
            interface: "lg0".into(),
            clients: 1000,
            rate,
            ramp_s: 0.0,
            count: None,
            duration_s: Some(3.0),
            timeout_ms: 1000.0,
            retries: 4,
            relays: 0,
            seed: 1,
        }
    }

    /// 1000 DISCOVERs over 2 s (500/s), latencies 1..=1000 µs, every
    /// tenth dropped; the pacer's target was `target`.
    fn stats_at(target: f64) -> Stats {
        stats_behind(target, 0)
    }

    /// [`stats_at`], `behind` starts late at the end of every second.
    fn stats_behind(target: f64, behind: u64) -> Stats {
        let g = Gauges {
            target_rate: target,
            behind,
            ..Gauges::default()
        };
        let mut s = Stats::new(0);
        for i in 0..1000u64 {
            let t = i * 2 * S / 1000;
            s.tick(t, g);
            s.started();
            s.sent(Kind::Do, false, t);
            if i % 10 == 9 {
                s.dropped(Kind::Do);
            } else {
                s.answered(Kind::Do, (i + 1) * 1000, false);
            }
        }
        s.tick(3 * S, g);
        s
    }

    fn stats() -> Stats {
        stats_at(500.0)
    }

    #[test]
    fn rates_percentages_and_percentiles_are_computed_from_the_counts() {
        let r = Report::new(info(500.0), &stats(), Outcome::default());
        assert_eq!(r.exchanges.len(), 1, "only kinds that were sent");
        let e = r.exchange(Kind::Do).unwrap();
        assert_eq!(e.counters.sent, 1000);
        assert_eq!(e.counters.answered, 900);
        assert_eq!(e.drop_pct, 10.0);
        assert!((e.window_s - 1.998).abs() < 1e-9);
        assert!((e.answered_per_s - 900.0 / 1.998).abs() < 1e-6);
        let l = e.latency_us;
        assert_eq!(l.samples, 900);
        assert_eq!(l.min, 1.0);
        assert!((l.max - 999.0).abs() / 999.0 < 1e-3, "{}", l.max);
        // 900 samples, 1..=999 µs without the multiples of 10 ending in 0:
        // the median is near 500 µs, p90 near 900.
        assert!((l.p50 - 500.0).abs() < 5.0, "{}", l.p50);
        assert!((l.p90 - 900.0).abs() < 5.0, "{}", l.p90);
        assert!(l.p99 <= l.p99_9 && l.p99_9 <= l.max);
        let total: u64 = e.histogram.iter().map(|b| b.count).sum();
        assert_eq!(total, 900, "the histogram holds every sample");
        assert!(e.histogram.windows(2).all(|w| w[0].le_us < w[1].le_us));
        assert_eq!(e.percentiles.len(), CURVE_PERCENTILES.len());
        assert_eq!(e.percentiles.last().unwrap()[1], l.max);
        assert!(
            r.problems.iter().any(|p| p.contains("10.00 %")),
            "{:?}",
            r.problems
        );
    }

    #[test]
    fn json_has_every_field_a_script_reads() {
        let r = Report::new(info(500.0), &stats(), Outcome::default());
        let v: serde_json::Value = serde_json::to_value(&r).unwrap();
        let e = &v["exchanges"][0];
        assert_eq!(e["kind"], "do");
        assert_eq!(e["sent"], 1000);
        assert_eq!(e["answered"], 900);
        assert_eq!(e["drops"], 100);
        assert_eq!(e["drop_pct"], 10.0);
        for f in ["p50", "p90", "p99", "p99_9", "max"] {
            assert!(e["latency_us"][f].as_f64().unwrap() > 0.0, "{f}");
        }
        assert_eq!(v["run"]["scenario"], "dora");
        assert_eq!(v["duplicate_addresses"], 0);
        assert_eq!(v["series"].as_array().unwrap().len(), 3);
        assert_eq!(v["series"][0]["offered"], 500);
        assert_eq!(v["series"][0]["kinds"][0]["kind"], "do");
        assert!(v["storm"].is_null());
    }

    #[test]
    fn a_loadgen_that_cannot_keep_up_is_called_out() {
        // 250 starts behind at 500/s: half a second late.
        let r = Report::new(info(500.0), &stats_behind(500.0, 250), Outcome::default());
        assert_eq!(r.max_lag_s(), 0.5);
        assert!(
            r.problems.iter().any(|p| p.contains("500 ms behind")),
            "{:?}",
            r.problems
        );
        // 40 behind is 80 ms: a hiccup, not a limit.
        let ok = Report::new(info(500.0), &stats_behind(500.0, 40), Outcome::default());
        assert!(
            !ok.problems.iter().any(|p| p.contains("behind")),
            "{:?}",
            ok.problems
        );
    }

    #[test]
    fn the_text_table_lists_each_exchange_and_the_problems() {
        let mut s = stats();
        s.duplicate_address(std::net::Ipv4Addr::new(10, 0, 0, 1), 1, 2, S);
        let text = Report::new(info(500.0), &s, Outcome::default()).to_text();
        assert!(text.contains("\nDO "), "{text}");
        assert!(text.contains("PROBLEM: 1 ACKs gave a client an address another client held"));
        let line = progress_line(&s.series[0], 1000, 0, 1.0);
        assert!(line.contains("offered      500/s"), "{line}");
        assert!(line.contains("DO 450/500 drop 50"), "{line}");
    }
}
