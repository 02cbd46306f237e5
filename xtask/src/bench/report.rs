//! The bench's results as a table (Markdown, as pasted into
//! docs/BENCHMARKS.md) and as `bench-results.json`. Pure formatting and
//! arithmetic over what the searches found; nothing here measures.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::{
    ceiling::Ceiling,
    search::{Found, Limit, RateVerdict},
    servers::Server,
    step::{Step, Verdict},
};

/// Frames a DORA puts through the server: DISCOVER and REQUEST in, OFFER
/// and ACK out.
pub const FRAMES_PER_DORA: f64 = 4.0;

/// A server's highest clean rate.
pub struct Searched {
    pub server: Server,
    pub found: Found,
}

/// A rate checked against xdhcpd in quick mode.
pub struct Checked {
    pub server: Server,
    pub rate: u32,
    pub verdict: RateVerdict,
}

/// `x / base`; none without a base.
pub fn ratio(x: u32, base: u32) -> Option<f64> {
    (base > 0).then(|| f64::from(x) / f64::from(base))
}

/// Share of the XDP_TX ceiling a DORA rate uses, percent.
pub fn ceiling_share(dora_per_s: u32, frames_per_s: f64) -> Option<f64> {
    (frames_per_s > 0.0).then(|| FRAMES_PER_DORA * f64::from(dora_per_s) / frames_per_s * 100.0)
}

/// 1234567 → "1,234,567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// µs below 1 ms, else ms with one decimal.
fn latency(us: f64) -> String {
    if us < 1000.0 {
        format!("{us:.0} µs")
    } else {
        format!("{:.1} ms", us / 1000.0)
    }
}

/// The clean step at `rate` (the last one, if retried) of `server`.
fn clean_step_at(steps: &[Step], server: Server, rate: u32) -> Option<&Step> {
    steps
        .iter()
        .rev()
        .find(|s| s.server == server.key() && s.rate == rate && s.verdict == Verdict::Clean)
}

fn max_cell(found: &Found) -> String {
    match (found.max_clean, found.limit) {
        (0, _) => "none".into(),
        (max, Limit::EndOfLadder) => format!("≥ {}", thousands(max.into())),
        (max, _) => thousands(max.into()),
    }
}

fn limit_cell(found: &Found) -> String {
    match found.limit {
        Limit::EndOfLadder => "clean at every rate tried".into(),
        Limit::At(rate, verdict) => {
            let why = match verdict {
                RateVerdict::Clean => "clean",
                RateVerdict::Failed => "≥ 1 % lost at",
                RateVerdict::LoadgenLimited => "loadgen could not offer",
                RateVerdict::Disturbed => "too disturbed to judge at",
                RateVerdict::Fatal => "CRASH or duplicate address at",
            };
            format!("{why} {}/s", thousands(rate.into()))
        }
    }
}

fn kea_max(searched: &[Searched]) -> u32 {
    searched
        .iter()
        .find(|s| s.server == Server::Kea)
        .map_or(0, |s| s.found.max_clean)
}

/// Full mode: one row per server, ratios to Kea, share of the ceiling.
pub fn full_table(searched: &[Searched], steps: &[Step], ceiling: Option<&Ceiling>) -> String {
    let kea = kea_max(searched);
    let mut t = String::new();
    t += "| server, one core | max clean DORA/s | ratio to Kea | share of XDP_TX ceiling | REQUEST→ACK p50 / p99 at max | search ended |\n";
    t += "|---|---:|---:|---:|---:|---|\n";
    for s in searched {
        let max = s.found.max_clean;
        let ratio = ratio(max, kea).map_or("–".into(), |r| format!("{r:.2}×"));
        let share = ceiling
            .and_then(|c| ceiling_share(max, c.frames_per_s))
            .map_or("–".into(), |p| format!("{p:.1} %"));
        let lat = clean_step_at(steps, s.server, max).map_or("–".into(), |st| {
            format!("{} / {}", latency(st.ra_p50_us), latency(st.ra_p99_us))
        });
        let _ = writeln!(
            t,
            "| {} | {} | {ratio} | {share} | {lat} | {} |",
            s.server.label(),
            max_cell(&s.found),
            limit_cell(&s.found)
        );
    }
    if let Some(c) = ceiling {
        let _ = writeln!(
            t,
            "| XDP_TX reflector (ceiling of the path) | {} frames/s = {} DORA/s | | 100 % | | |",
            thousands(c.frames_per_s.round() as u64),
            thousands((c.frames_per_s / FRAMES_PER_DORA).round() as u64)
        );
    }
    t
}

/// Whether the load generator's ceiling (the reflector's maximum) is at
/// least twice xdhcpd's best, which is what makes xdhcpd's numbers its own.
pub fn loadgen_headroom(searched: &[Searched]) -> Option<String> {
    let reflector = searched.iter().find(|s| s.server == Server::Reflector)?;
    let best = searched
        .iter()
        .filter(|s| matches!(s.server, Server::Xdhcpd(_)))
        .max_by_key(|s| s.found.max_clean)?;
    let r = ratio(reflector.found.max_clean, best.found.max_clean)?;
    let at_least = if reflector.found.limit == Limit::EndOfLadder {
        "at least "
    } else {
        ""
    };
    let verdict = if r >= 2.0 {
        "≥ 2×: xdhcpd's numbers are xdhcpd's"
    } else {
        "BELOW 2×: the load generator may limit xdhcpd's numbers"
    };
    Some(format!(
        "loadgen ceiling (xdhcp-reflector): {at_least}{} DORA/s = {at_least}{r:.2}× xdhcpd's best ({}, {}): {verdict}",
        thousands(reflector.found.max_clean.into()),
        thousands(best.found.max_clean.into()),
        best.server.label()
    ))
}

/// Whether the loadgen lost frames where xdhcpd's searches ended on drops:
/// if it lost none (and, the rate being failed, kept its pace), those
/// limits are xdhcpd's whatever the loadgen's ceiling.
pub fn loadgen_at_xdhcpd_limits(searched: &[Searched], steps: &[Step]) -> Option<String> {
    let mut clear = Vec::new();
    let mut lossy = Vec::new();
    for s in searched
        .iter()
        .filter(|s| matches!(s.server, Server::Xdhcpd(_)))
    {
        let Limit::At(rate, RateVerdict::Failed) = s.found.limit else {
            continue;
        };
        let lost: u64 = steps
            .iter()
            .filter(|st| st.server == s.server.key() && st.rate == rate)
            .map(|st| st.loadgen_lost_frames)
            .sum();
        let entry = format!("{} at {}/s", s.server.label(), thousands(rate.into()));
        if lost == 0 {
            clear.push(entry);
        } else {
            lossy.push(format!("{entry} ({lost} frames)"));
        }
    }
    let mut parts = Vec::new();
    if !clear.is_empty() {
        parts.push(format!(
            "the loadgen kept its pace and lost no frame where these searches ended: {} (limits of xdhcpd, not of the loadgen)",
            clear.join("; ")
        ));
    }
    if !lossy.is_empty() {
        parts.push(format!(
            "the loadgen itself lost frames where these searches ended: {}",
            lossy.join("; ")
        ));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

pub fn check_cell(verdict: RateVerdict) -> &'static str {
    match verdict {
        RateVerdict::Clean => "clean",
        RateVerdict::Failed => "FAIL: ≥ 1 % lost in every attempt",
        RateVerdict::LoadgenLimited => "inconclusive: the loadgen could not offer the rate",
        RateVerdict::Disturbed => "inconclusive: other workloads disturbed every failing attempt",
        RateVerdict::Fatal => "FAIL: crash or duplicate address",
    }
}

/// Quick mode: Kea's rate, then xdhcpd's datapaths at it.
pub fn quick_table(kea: &Found, checks: &[Checked], steps: &[Step]) -> String {
    let mut t = String::new();
    t += "| server, one core | DORA/s | result | attempts | lost (last attempt) | REQUEST→ACK p50 / p99 |\n";
    t += "|---|---:|---|---:|---:|---:|\n";
    let _ = writeln!(
        t,
        "| {} | {} | max clean rate ({}) | | | |",
        Server::Kea.label(),
        max_cell(kea),
        limit_cell(kea)
    );
    for c in checks {
        let tries: Vec<&Step> = steps
            .iter()
            .filter(|s| s.server == c.server.key() && s.rate == c.rate)
            .collect();
        let (lost, lat) = tries.last().map_or(("–".into(), "–".into()), |s| {
            (
                format!("{:.2} %", s.lost_pct),
                format!("{} / {}", latency(s.ra_p50_us), latency(s.ra_p99_us)),
            )
        });
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {lost} | {lat} |",
            c.server.label(),
            thousands(c.rate.into()),
            check_cell(c.verdict),
            tries.len()
        );
    }
    t
}

fn limit_json(found: &Found) -> Value {
    match found.limit {
        Limit::EndOfLadder => Value::Null,
        Limit::At(rate, verdict) => json!({ "rate": rate, "verdict": format!("{verdict:?}") }),
    }
}

/// The servers' part of `bench-results.json`.
pub fn servers_json(searched: &[Searched], steps: &[Step], ceiling: Option<&Ceiling>) -> Value {
    let kea = kea_max(searched);
    searched
        .iter()
        .map(|s| {
            let max = s.found.max_clean;
            let at_max = clean_step_at(steps, s.server, max);
            json!({
                "server": s.server.key(),
                "label": s.server.label(),
                "max_clean_dora_per_s": max,
                "clean_at_every_rate_tried": s.found.limit == Limit::EndOfLadder,
                "first_not_clean": limit_json(&s.found),
                "ratio_to_kea": ratio(max, kea),
                "share_of_xdp_tx_ceiling_pct": ceiling.and_then(|c| ceiling_share(max, c.frames_per_s)),
                "ra_p50_us_at_max": at_max.map(|st| st.ra_p50_us),
                "ra_p99_us_at_max": at_max.map(|st| st.ra_p99_us),
            })
        })
        .collect()
}

pub fn checks_json(checks: &[Checked]) -> Value {
    checks
        .iter()
        .map(|c| json!({ "server": c.server.key(), "rate": c.rate, "verdict": format!("{:?}", c.verdict) }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::servers::Datapath;

    fn found(max_clean: u32, limit: Limit) -> Found {
        Found { max_clean, limit }
    }

    fn clean_step(server: Server, rate: u32, p50: f64, p99: f64) -> Step {
        Step {
            tag: format!("001-{}-{rate}", server.key()),
            server: server.key(),
            rate,
            period_s: 5.0,
            started: u64::from(rate) * 5,
            acked: u64::from(rate) * 5,
            lost_pct: 0.0,
            acks_per_s: f64::from(rate),
            ra_p50_us: p50,
            ra_p99_us: p99,
            duplicate_addresses: 0,
            loadgen_lost_frames: 0,
            waited_for_quiet_s: 0.0,
            others_cpu_pct: 0.0,
            disturbed: false,
            crash: None,
            verdict: Verdict::Clean,
        }
    }

    #[test]
    fn ratios_and_ceiling_share() {
        assert_eq!(ratio(45_000, 20_000), Some(2.25));
        assert_eq!(ratio(45_000, 0), None);
        // 4 frames per DORA: 100,000 DORA/s of 1,000,000 frames/s is 40 %.
        assert_eq!(ceiling_share(100_000, 1_000_000.0), Some(40.0));
        assert_eq!(ceiling_share(100_000, 0.0), None);
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_137_000), "1,137,000");
    }

    #[test]
    fn latency_units() {
        assert_eq!(latency(594.4), "594 µs");
        assert_eq!(latency(4_700.0), "4.7 ms");
    }

    #[test]
    fn full_table_rows() {
        let uring = Server::Xdhcpd(Datapath::Uring);
        let searched = [
            Searched {
                server: uring,
                found: found(45_000, Limit::At(50_000, RateVerdict::Failed)),
            },
            Searched {
                server: Server::Kea,
                found: found(20_000, Limit::At(22_000, RateVerdict::Failed)),
            },
            Searched {
                server: Server::Reflector,
                found: found(200_000, Limit::EndOfLadder),
            },
        ];
        let steps = [
            clean_step(uring, 45_000, 594.0, 4_700.0),
            clean_step(Server::Kea, 20_000, 300.0, 900.0),
        ];
        let ceiling = Ceiling {
            reflected_frames: 5_685_000,
            offered_frames: 6_000_000,
            seconds: 5.0,
            frames_per_s: 1_137_000.0,
        };
        let table = full_table(&searched, &steps, Some(&ceiling));
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[2],
            "| xdhcpd, io_uring | 45,000 | 2.25× | 15.8 % | 594 µs / 4.7 ms | ≥ 1 % lost at 50,000/s |"
        );
        assert_eq!(
            lines[3],
            "| Kea (memfile, 1 thread) | 20,000 | 1.00× | 7.0 % | 300 µs / 900 µs | ≥ 1 % lost at 22,000/s |"
        );
        assert_eq!(
            lines[4],
            "| xdhcp-reflector (loadgen ceiling) | ≥ 200,000 | 10.00× | 70.4 % | – | clean at every rate tried |"
        );
        assert_eq!(
            lines[5],
            "| XDP_TX reflector (ceiling of the path) | 1,137,000 frames/s = 284,250 DORA/s | | 100 % | | |"
        );
        assert_eq!(
            loadgen_at_xdhcpd_limits(&searched, &steps).unwrap(),
            "the loadgen kept its pace and lost no frame where these searches ended: xdhcpd, io_uring at 50,000/s (limits of xdhcpd, not of the loadgen)"
        );
        assert_eq!(
            loadgen_headroom(&searched).unwrap(),
            "loadgen ceiling (xdhcp-reflector): at least 200,000 DORA/s = at least 4.44× xdhcpd's best (45,000, xdhcpd, io_uring): ≥ 2×: xdhcpd's numbers are xdhcpd's"
        );
    }

    #[test]
    fn no_kea_rate_means_no_ratio() {
        let searched = [
            Searched {
                server: Server::Kea,
                found: found(0, Limit::At(5_000, RateVerdict::Failed)),
            },
            Searched {
                server: Server::Xdhcpd(Datapath::XdpNative),
                found: found(90_000, Limit::At(100_000, RateVerdict::LoadgenLimited)),
            },
        ];
        let table = full_table(&searched, &[], None);
        assert!(
            table
                .contains("| Kea (memfile, 1 thread) | none | – | – | – | ≥ 1 % lost at 5,000/s |")
        );
        assert!(table.contains("| 90,000 | – | – | – | loadgen could not offer 100,000/s |"));
        assert_eq!(loadgen_headroom(&searched), None);
        assert_eq!(loadgen_at_xdhcpd_limits(&searched, &[]), None);
    }

    #[test]
    fn loadgen_losses_where_xdhcpd_failed_are_named() {
        let native = Server::Xdhcpd(Datapath::XdpNative);
        let searched = [Searched {
            server: native,
            found: found(60_000, Limit::At(62_000, RateVerdict::Failed)),
        }];
        let mut failed = clean_step(native, 62_000, 900.0, 12_000.0);
        failed.verdict = Verdict::Drops;
        failed.loadgen_lost_frames = 7;
        let steps = [failed.clone(), failed];
        assert_eq!(
            loadgen_at_xdhcpd_limits(&searched, &steps).unwrap(),
            "the loadgen itself lost frames where these searches ended: xdhcpd, XDP native + AF_XDP at 62,000/s (14 frames)"
        );
    }

    #[test]
    fn quick_table_counts_attempts() {
        let uring = Server::Xdhcpd(Datapath::Uring);
        let mut failed = clean_step(uring, 20_000, 100.0, 200.0);
        failed.verdict = Verdict::Drops;
        failed.lost_pct = 3.5;
        let steps = [failed.clone(), failed.clone(), failed];
        let checks = [Checked {
            server: uring,
            rate: 20_000,
            verdict: RateVerdict::Failed,
        }];
        let kea = found(20_000, Limit::At(25_000, RateVerdict::Failed));
        let table = quick_table(&kea, &checks, &steps);
        assert!(table.contains(
            "| Kea (memfile, 1 thread) | 20,000 | max clean rate (≥ 1 % lost at 25,000/s) | | | |"
        ));
        assert!(table.contains(
            "| xdhcpd, io_uring | 20,000 | FAIL: ≥ 1 % lost in every attempt | 3 | 3.50 % | 100 µs / 200 µs |"
        ));
    }
}
