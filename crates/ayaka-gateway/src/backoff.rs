//! Reconnect delays: exponential with jitter.

use std::time::Duration;

use crate::{close::CloseAction, config::capped};

/// How long to wait before reconnecting.
///
/// The delay for attempt `n` is drawn from `[d/2, d)` where
/// `d = min(base · 2ⁿ, max)`, so shards that lose the server at the same
/// moment do not come back at the same moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    /// Delay scale of the first retry.
    pub base: Duration,
    /// Upper bound of any exponential delay.
    pub max: Duration,
    /// Minimum delay after "too many sessions" (close code 4003).
    pub long: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(500),
            max: Duration::from_secs(60),
            long: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// The delay before reconnect attempt `attempt` (0 for the first retry)
    /// after `action`, with `jitter` a sample from `[0, 1)`.
    pub fn delay(&self, action: CloseAction, attempt: u32, jitter: f64) -> Duration {
        let jitter = jitter.clamp(0.0, 1.0);
        // capped, so that the sum below and the caller's deadline cannot overflow
        let (base, max, long) = (capped(self.base), capped(self.max), capped(self.long));
        let exponential = base
            .saturating_mul(1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX))
            .min(max);
        let spread = |scale: Duration| scale / 2 + (scale / 2).mul_f64(jitter);
        match action {
            // an immediate retry still gets a little jitter, and repeated
            // failures still back off
            CloseAction::Reconnect if attempt == 0 => (base / 4).mul_f64(jitter),
            CloseAction::Reconnect | CloseAction::ReconnectAfterBackoff => spread(exponential),
            CloseAction::ReconnectAfterLongBackoff => long.max(exponential) + spread(base),
            CloseAction::Fatal => Duration::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_exponentially_up_to_the_cap() {
        let backoff = Backoff::default();
        let delays: Vec<_> = (0..12)
            .map(|attempt| backoff.delay(CloseAction::ReconnectAfterBackoff, attempt, 0.0))
            .collect();
        assert_eq!(delays[0], Duration::from_millis(250));
        assert_eq!(delays[1], Duration::from_millis(500));
        assert_eq!(delays[2], Duration::from_secs(1));
        assert!(delays.windows(2).all(|pair| pair[0] <= pair[1]));
        assert_eq!(delays[11], Duration::from_secs(30));
        assert_eq!(
            backoff
                .delay(CloseAction::ReconnectAfterBackoff, 1000, 0.999)
                .as_secs(),
            59
        );
    }

    #[test]
    fn jitter_spreads_within_the_upper_half() {
        let backoff = Backoff::default();
        let low = backoff.delay(CloseAction::ReconnectAfterBackoff, 3, 0.0);
        let high = backoff.delay(CloseAction::ReconnectAfterBackoff, 3, 0.99);
        assert_eq!(low, Duration::from_secs(2));
        assert!(high > low && high < Duration::from_secs(4));
    }

    proptest::proptest! {
        #[test]
        fn delays_stay_within_their_bounds(attempt in 0u32..10_000, jitter in 0.0f64..1.0) {
            let backoff = Backoff::default();
            for action in [CloseAction::Reconnect, CloseAction::ReconnectAfterBackoff] {
                proptest::prop_assert!(backoff.delay(action, attempt, jitter) <= backoff.max);
            }
            let long = backoff.delay(CloseAction::ReconnectAfterLongBackoff, attempt, jitter);
            proptest::prop_assert!(long >= backoff.long && long <= backoff.max + backoff.base);
        }
    }

    #[test]
    fn huge_settings_are_capped_instead_of_overflowing() {
        let backoff = Backoff {
            base: Duration::MAX,
            max: Duration::MAX,
            long: Duration::MAX,
        };
        let year = Duration::from_secs(365 * 24 * 60 * 60);
        for action in [
            CloseAction::Reconnect,
            CloseAction::ReconnectAfterBackoff,
            CloseAction::ReconnectAfterLongBackoff,
        ] {
            assert!(backoff.delay(action, 40, 0.999) <= year * 2);
        }
    }

    #[test]
    fn too_many_sessions_waits_long_and_immediate_reconnects_are_short() {
        let backoff = Backoff::default();
        assert!(backoff.delay(CloseAction::ReconnectAfterLongBackoff, 0, 0.0) >= backoff.long);
        assert!(backoff.delay(CloseAction::Reconnect, 0, 0.99) < backoff.base);
        assert!(backoff.delay(CloseAction::Reconnect, 3, 0.0) >= Duration::from_secs(2));
    }
}
