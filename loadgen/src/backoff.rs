//! RFC 2131 §4.1 retransmission back-off: "a randomized exponential
//! backoff algorithm … the delay before the first retransmission SHOULD be
//! 4 seconds randomized by the value of a uniform random number chosen from
//! the range -1 to +1 … The delay before the next retransmission SHOULD be
//! 8 seconds randomized …, up to a maximum of 64 seconds."
//!
//! Owns the schedule and the seeded random numbers that jitter it. It
//! never reads a clock and never decides whether to retransmit (the
//! scenario counts retries).

/// The first delay, in nanoseconds (4 s).
const FIRST_NS: u64 = 4_000_000_000;
/// The longest delay (64 s).
const MAX_NS: u64 = 64_000_000_000;
/// The jitter's half-width (±1 s).
const JITTER_NS: u64 = 1_000_000_000;

/// A small, fast, seeded generator (SplitMix64): reproducible runs, no
/// dependency, good enough to spread retransmissions.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0); the modulo bias is below 2^-40 for the
    /// ranges used here.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// `true` with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// The un-jittered delay before retransmission number `retry + 1` (the
/// wait after transmission `retry`, counting from 0): 4 s, 8 s, 16 s, 32 s,
/// then 64 s.
pub fn nominal_delay_ns(retry: u32) -> u64 {
    FIRST_NS
        .checked_shl(retry)
        .filter(|d| *d <= MAX_NS)
        .unwrap_or(MAX_NS)
}

/// [`nominal_delay_ns`] randomized by a uniform value in −1 s..=+1 s.
pub fn delay_ns(retry: u32, rng: &mut Rng) -> u64 {
    nominal_delay_ns(retry) - JITTER_NS + rng.below(2 * JITTER_NS + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_doubles_from_4_s_up_to_64_s() {
        let s: Vec<u64> = (0..8)
            .map(|r| nominal_delay_ns(r) / 1_000_000_000)
            .collect();
        assert_eq!(s, [4, 8, 16, 32, 64, 64, 64, 64]);
        assert_eq!(nominal_delay_ns(200), MAX_NS);
    }

    #[test]
    fn jitter_stays_within_one_second_and_spreads() {
        let mut rng = Rng::new(7);
        let delays: Vec<u64> = (0..2_000).map(|_| delay_ns(1, &mut rng)).collect();
        assert!(
            delays
                .iter()
                .all(|d| (7_000_000_000..=9_000_000_000).contains(d))
        );
        let below = delays.iter().filter(|d| **d < 8_000_000_000).count();
        assert!((800..1_200).contains(&below), "{below} of 2000 below 8 s");
    }

    #[test]
    fn the_same_seed_gives_the_same_delays() {
        let (mut a, mut b) = (Rng::new(3), Rng::new(3));
        for r in 0..10 {
            assert_eq!(delay_ns(r, &mut a), delay_ns(r, &mut b));
        }
    }
}
