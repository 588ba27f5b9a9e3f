//! When a failed delivery is tried again: an exponential back-off that keeps trying for more
//! than three days, with a little jitter so that an endpoint coming back is not hit by every
//! delivery in the same second. After the last attempt the delivery has failed for good and its
//! endpoint is disabled.

use std::time::Duration;

/// The waits after the 1st, 2nd, ... failed attempt (11 attempts in all, 3 days 5 hours 35
/// minutes and 5 seconds from the first to the last, before jitter).
pub const DEFAULT_DELAYS: [Duration; 10] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(12 * 3600),
    Duration::from_secs(12 * 3600),
    Duration::from_secs(16 * 3600),
    Duration::from_secs(20 * 3600),
];

/// A retry schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    delays: Vec<Duration>,
}

impl Default for Schedule {
    fn default() -> Self {
        Self { delays: DEFAULT_DELAYS.to_vec() }
    }
}

impl Schedule {
    /// A schedule with these waits (tests use short ones).
    pub fn new(delays: Vec<Duration>) -> Self {
        Self { delays }
    }

    /// How many attempts a delivery gets.
    pub fn attempts(&self) -> usize {
        self.delays.len() + 1
    }

    /// The wait after the `attempts`-th failed attempt (1-based), with up to a tenth added as
    /// jitter (`jitter` in 0..1); `None` when that was the last attempt.
    pub fn after(&self, attempts: usize, jitter: f64) -> Option<Duration> {
        let base = *self.delays.get(attempts.checked_sub(1)?)?;
        Some(base + base.mul_f64(jitter.clamp(0.0, 1.0) / 10.0))
    }

    /// From the first attempt to the last, without jitter.
    pub fn span(&self) -> Duration {
        self.delays.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_keeps_trying_for_more_than_three_days() {
        let schedule = Schedule::default();
        assert!(schedule.span() >= Duration::from_secs(3 * 24 * 3600), "{:?}", schedule.span());
        assert_eq!(schedule.attempts(), 11);
        // Exponential at first, never shrinking.
        assert!(DEFAULT_DELAYS.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn waits_grow_then_stop() {
        let schedule = Schedule::new(vec![Duration::from_secs(1), Duration::from_secs(10)]);
        assert_eq!(schedule.after(0, 0.0), None);
        assert_eq!(schedule.after(1, 0.0), Some(Duration::from_secs(1)));
        assert_eq!(schedule.after(2, 1.0), Some(Duration::from_secs(11)));
        assert_eq!(schedule.after(3, 0.0), None, "the third attempt was the last");
        assert_eq!(schedule.attempts(), 3);
    }
}
