//! [`Pacer`]: how many exchanges may have started `t` nanoseconds into a
//! phase, for a target rate reached by a linear ramp.
//!
//! Owns the arithmetic only; it never reads a clock and never sleeps. The
//! caller compares the allowance with what it has started, so a loop that
//! fell behind catches up (bounded by its own batch size) instead of the
//! rate silently sagging.

/// A target rate, reached linearly over a ramp.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pacer {
    /// Starts per second at full speed; 0 means no limit.
    rate: f64,
    /// Nanoseconds from 0 to `rate`.
    ramp_ns: u64,
}

impl Pacer {
    /// `rate` starts per second (0: unlimited) after a ramp of `ramp_ns`.
    pub fn new(rate: f64, ramp_ns: u64) -> Self {
        Self {
            rate: rate.max(0.0),
            ramp_ns,
        }
    }

    /// Whether there is no limit.
    pub fn is_unlimited(&self) -> bool {
        self.rate == 0.0
    }

    /// The target rate `t_ns` into the phase (starts per second).
    pub fn rate_at(&self, t_ns: u64) -> f64 {
        if self.ramp_ns == 0 || t_ns >= self.ramp_ns {
            self.rate
        } else {
            self.rate * t_ns as f64 / self.ramp_ns as f64
        }
    }

    /// Total starts allowed by `t_ns` (the integral of [`Self::rate_at`]),
    /// or `u64::MAX` when unlimited.
    pub fn allowed(&self, t_ns: u64) -> u64 {
        if self.is_unlimited() {
            return u64::MAX;
        }
        let t = t_ns as f64 / 1e9;
        let ramp = self.ramp_ns as f64 / 1e9;
        let starts = if t < ramp {
            self.rate * t * t / (2.0 * ramp)
        } else {
            self.rate * (t - ramp / 2.0)
        };
        starts as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn without_ramp_the_allowance_grows_linearly() {
        let p = Pacer::new(10_000.0, 0);
        assert_eq!(p.allowed(0), 0);
        assert_eq!(p.allowed(S / 1000), 10);
        assert_eq!(p.allowed(3 * S), 30_000);
        assert_eq!(p.rate_at(5), 10_000.0);
    }

    #[test]
    fn a_ramp_starts_at_zero_and_costs_half_its_length() {
        let p = Pacer::new(1_000.0, 2 * S);
        assert_eq!(p.rate_at(0), 0.0);
        assert_eq!(p.rate_at(S), 500.0);
        assert_eq!(p.rate_at(2 * S), 1_000.0);
        // 0→1000/s over 2 s is 1000 starts, then 1000 per second.
        assert_eq!(p.allowed(S), 250);
        assert_eq!(p.allowed(2 * S), 1_000);
        assert_eq!(p.allowed(5 * S), 4_000);
    }

    #[test]
    fn rate_zero_is_unlimited() {
        let p = Pacer::new(0.0, S);
        assert!(p.is_unlimited());
        assert_eq!(p.allowed(0), u64::MAX);
    }
}
