//! Finding a server's highest clean rate: ramp up a ladder of rates until
//! one is not clean, then bisect between the last clean rate and it.
//!
//! Pure logic over a probe (one measurement at one rate), so the rules are
//! tested without a network: the machine is shared, so a rate is judged
//! over retries ([`Retries`]), and neither a measurement the load generator
//! could not drive at full rate nor drops while other workloads took the
//! cores count against the server.

use anyhow::Result;

/// What one measurement at one rate showed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Clean,
    /// The server dropped too much.
    Drops,
    /// The load generator could not offer the rate: says nothing about
    /// the server, so it does not count as one of its failures.
    LoadgenLimited,
    /// Drops while other workloads took a share of the cores: retried,
    /// not counted.
    Disturbed,
    /// The server crashed or gave one address to two clients: no point in
    /// measuring it further.
    Fatal,
}

/// How often a rate is tried before it is judged.
#[derive(Clone, Copy, Debug)]
pub struct Retries {
    /// Failures with drops it takes to call a rate failed: one more try
    /// keeps a burst of other work on the machine from failing a rate.
    pub failures: u32,
    /// Measurements at most, the load generator's short ones included.
    pub attempts: u32,
}

/// A rate's verdict after its retries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateVerdict {
    Clean,
    Failed,
    /// Never clean, but too few failures counted to blame the server: the
    /// last uncounted measurement was the load generator's limit...
    LoadgenLimited,
    /// ...or a disturbed one.
    Disturbed,
    Fatal,
}

/// Probes one rate until it is clean, fails `retries.failures` times,
/// is fatal, or the attempts run out.
pub fn judge(retries: Retries, mut probe: impl FnMut() -> Result<Outcome>) -> Result<RateVerdict> {
    let mut failures = 0;
    let mut uncounted = RateVerdict::LoadgenLimited;
    for _ in 0..retries.attempts {
        match probe()? {
            Outcome::Clean => return Ok(RateVerdict::Clean),
            Outcome::Fatal => return Ok(RateVerdict::Fatal),
            Outcome::Drops => {
                failures += 1;
                if failures >= retries.failures {
                    return Ok(RateVerdict::Failed);
                }
            }
            Outcome::LoadgenLimited => uncounted = RateVerdict::LoadgenLimited,
            Outcome::Disturbed => uncounted = RateVerdict::Disturbed,
        }
    }
    Ok(uncounted)
}

/// The rates a search tries.
#[derive(Clone, Debug)]
pub struct Ladder {
    /// Tried in order until one is not clean.
    pub rates: Vec<u32>,
    /// Bisection steps between the last clean rate and the first one that
    /// was not.
    pub bisections: u32,
    /// Bisection rates are rounded down to a multiple of this.
    pub granularity: u32,
}

/// Where a search ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// Every rate of the ladder was clean.
    EndOfLadder,
    /// The lowest rate tried that was not clean, and why.
    At(u32, RateVerdict),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Found {
    /// The highest clean rate; 0 when none was.
    pub max_clean: u32,
    pub limit: Limit,
}

impl Found {
    pub fn fatal(&self) -> bool {
        matches!(self.limit, Limit::At(_, RateVerdict::Fatal))
    }
}

/// Ramps up `ladder`, then bisects; `probe(rate)` measures once.
///
/// A fatal rate ends the search at once. A rate the load generator could
/// not drive ends the ramp like a failed one (nothing above it can be
/// measured either) and is bisected the same way: for the null server
/// that is how the load generator's own ceiling is found. So does a rate
/// that stayed too disturbed to judge: it cannot be called clean.
pub fn find_max(
    ladder: &Ladder,
    retries: Retries,
    mut probe: impl FnMut(u32) -> Result<Outcome>,
) -> Result<Found> {
    let mut found = Found {
        max_clean: 0,
        limit: Limit::EndOfLadder,
    };
    for &rate in &ladder.rates {
        match judge(retries, || probe(rate))? {
            RateVerdict::Clean => found.max_clean = rate,
            verdict => {
                found.limit = Limit::At(rate, verdict);
                break;
            }
        }
    }
    let Limit::At(mut above, verdict) = found.limit else {
        return Ok(found);
    };
    if verdict == RateVerdict::Fatal {
        return Ok(found);
    }
    for _ in 0..ladder.bisections {
        let mid = (found.max_clean + above) / 2 / ladder.granularity * ladder.granularity;
        if mid <= found.max_clean || mid >= above {
            break;
        }
        match judge(retries, || probe(mid))? {
            RateVerdict::Clean => found.max_clean = mid,
            verdict => {
                above = mid;
                found.limit = Limit::At(mid, verdict);
                if verdict == RateVerdict::Fatal {
                    break;
                }
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONCE: Retries = Retries {
        failures: 1,
        attempts: 1,
    };

    fn ladder(rates: &[u32], bisections: u32) -> Ladder {
        Ladder {
            rates: rates.to_vec(),
            bisections,
            granularity: 1000,
        }
    }

    /// A server clean up to `max`, failing with `above` beyond; records
    /// every rate probed.
    fn server(
        max: u32,
        above: Outcome,
        probed: &mut Vec<u32>,
    ) -> impl FnMut(u32) -> Result<Outcome> {
        move |rate| {
            probed.push(rate);
            Ok(if rate <= max { Outcome::Clean } else { above })
        }
    }

    #[test]
    fn ramp_stops_at_the_first_failure() {
        let mut probed = Vec::new();
        let found = find_max(
            &ladder(&[10_000, 20_000, 30_000, 40_000], 0),
            ONCE,
            server(25_000, Outcome::Drops, &mut probed),
        )
        .unwrap();
        assert_eq!(probed, [10_000, 20_000, 30_000]);
        assert_eq!(
            found,
            Found {
                max_clean: 20_000,
                limit: Limit::At(30_000, RateVerdict::Failed)
            }
        );
    }

    #[test]
    fn bisection_narrows_between_clean_and_failed() {
        let mut probed = Vec::new();
        let found = find_max(
            &ladder(&[10_000, 20_000, 30_000, 40_000], 2),
            ONCE,
            server(27_000, Outcome::Drops, &mut probed),
        )
        .unwrap();
        // 25,000 clean, then 27,000 (27,500 rounded down) clean.
        assert_eq!(probed, [10_000, 20_000, 30_000, 25_000, 27_000]);
        assert_eq!(found.max_clean, 27_000);
        assert_eq!(found.limit, Limit::At(30_000, RateVerdict::Failed));
    }

    #[test]
    fn bisection_lowers_the_limit_when_the_middle_fails() {
        let mut probed = Vec::new();
        let found = find_max(
            &ladder(&[10_000, 20_000, 30_000], 2),
            ONCE,
            server(21_000, Outcome::Drops, &mut probed),
        )
        .unwrap();
        assert_eq!(probed, [10_000, 20_000, 30_000, 25_000, 22_000]);
        assert_eq!(
            found,
            Found {
                max_clean: 20_000,
                limit: Limit::At(22_000, RateVerdict::Failed)
            }
        );
    }

    #[test]
    fn bisection_stops_when_the_granularity_is_reached() {
        let mut probed = Vec::new();
        let found = find_max(
            &ladder(&[10_000, 11_000], 5),
            ONCE,
            server(10_500, Outcome::Drops, &mut probed),
        )
        .unwrap();
        assert_eq!(probed, [10_000, 11_000]);
        assert_eq!(found.max_clean, 10_000);
    }

    #[test]
    fn failing_lowest_rate_bisects_below_it() {
        let mut probed = Vec::new();
        let found = find_max(
            &ladder(&[20_000, 40_000], 1),
            ONCE,
            server(5_000, Outcome::Drops, &mut probed),
        )
        .unwrap();
        assert_eq!(probed, [20_000, 10_000]);
        assert_eq!(found.max_clean, 0);
        assert_eq!(found.limit, Limit::At(10_000, RateVerdict::Failed));
    }

    #[test]
    fn every_rate_clean_ends_at_the_ladder_top() {
        let mut probed = Vec::new();
        let found = find_max(
            &ladder(&[10_000, 20_000], 3),
            ONCE,
            server(u32::MAX, Outcome::Drops, &mut probed),
        )
        .unwrap();
        assert_eq!(probed, [10_000, 20_000]);
        assert_eq!(
            found,
            Found {
                max_clean: 20_000,
                limit: Limit::EndOfLadder
            }
        );
    }

    #[test]
    fn fatal_ends_the_search_without_bisection() {
        let mut probed = Vec::new();
        let found = find_max(
            &ladder(&[10_000, 20_000, 30_000], 3),
            ONCE,
            server(10_000, Outcome::Fatal, &mut probed),
        )
        .unwrap();
        assert_eq!(probed, [10_000, 20_000]);
        assert!(found.fatal());
        assert_eq!(found.max_clean, 10_000);
    }

    #[test]
    fn loadgen_limit_is_bisected_like_a_failure() {
        let mut probed = Vec::new();
        let found = find_max(
            &ladder(&[50_000, 100_000], 1),
            ONCE,
            server(80_000, Outcome::LoadgenLimited, &mut probed),
        )
        .unwrap();
        assert_eq!(probed, [50_000, 100_000, 75_000]);
        assert_eq!(
            found,
            Found {
                max_clean: 75_000,
                limit: Limit::At(100_000, RateVerdict::LoadgenLimited)
            }
        );
    }

    /// Replays `outcomes` in order; counts the probes.
    fn replay(outcomes: &[Outcome]) -> (Result<RateVerdict>, usize) {
        let mut n = 0;
        let retries = Retries {
            failures: 3,
            attempts: 5,
        };
        let verdict = judge(retries, || {
            n += 1;
            Ok(outcomes[n - 1])
        });
        (verdict, n)
    }

    #[test]
    fn noise_is_retried_and_one_clean_attempt_suffices() {
        use Outcome::*;
        assert_eq!(replay(&[Drops, Drops, Clean]).1, 3);
        assert_eq!(
            replay(&[Drops, Drops, Clean]).0.unwrap(),
            RateVerdict::Clean
        );
        assert_eq!(replay(&[Clean]).1, 1);
    }

    #[test]
    fn a_rate_fails_only_after_every_counted_attempt_failed() {
        use Outcome::*;
        let (verdict, n) = replay(&[Drops, Drops, Drops]);
        assert_eq!((verdict.unwrap(), n), (RateVerdict::Failed, 3));
    }

    #[test]
    fn loadgen_limited_attempts_do_not_count_as_failures() {
        use Outcome::*;
        let (verdict, n) = replay(&[Drops, LoadgenLimited, Drops, Drops]);
        assert_eq!((verdict.unwrap(), n), (RateVerdict::Failed, 4));
        let (verdict, n) = replay(&[Drops, LoadgenLimited, LoadgenLimited, Drops, LoadgenLimited]);
        assert_eq!((verdict.unwrap(), n), (RateVerdict::LoadgenLimited, 5));
    }

    #[test]
    fn disturbed_attempts_do_not_count_as_failures() {
        use Outcome::*;
        let (verdict, n) = replay(&[Disturbed, Drops, Disturbed, Clean]);
        assert_eq!((verdict.unwrap(), n), (RateVerdict::Clean, 4));
        let (verdict, n) = replay(&[LoadgenLimited, Drops, Disturbed, Drops, Disturbed]);
        assert_eq!((verdict.unwrap(), n), (RateVerdict::Disturbed, 5));
    }

    #[test]
    fn fatal_is_not_retried() {
        use Outcome::*;
        let (verdict, n) = replay(&[Drops, Fatal, Clean]);
        assert_eq!((verdict.unwrap(), n), (RateVerdict::Fatal, 2));
    }
}
