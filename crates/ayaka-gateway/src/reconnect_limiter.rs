//! A bound on how often a group of shards reconnects, whatever their own
//! backoffs say.

use std::{
    collections::VecDeque,
    fmt,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

/// At most `count` reconnects in any window of `per`, shared by the shards
/// given it (a [`ShardManager`](crate::ShardManager) gives its own to
/// every shard it runs).
///
/// Each shard's backoff already spreads its reconnects; this bounds their
/// sum, so that a server restart does not bring every shard of a process
/// back in the same second. First connections are not counted: the
/// [`IdentifyQueue`](crate::IdentifyQueue) paces those.
///
/// Pure state with the time passed in: it remembers the last `count`
/// grants, and a new one comes no sooner than `per` after the oldest.
///
/// ```
/// use std::time::{Duration, Instant};
/// use ayaka_gateway::ReconnectLimiter;
///
/// let limiter = ReconnectLimiter::new(2, Duration::from_secs(1));
/// let now = Instant::now();
/// assert_eq!(limiter.reserve(now), now);
/// assert_eq!(limiter.reserve(now), now);
/// // two in this second already: the third waits for the next one
/// assert_eq!(limiter.reserve(now), now + Duration::from_secs(1));
/// ```
pub struct ReconnectLimiter {
    count: usize,
    per: Duration,
    /// The last `count` grants, oldest first (grants never go back in time).
    grants: Mutex<VecDeque<Instant>>,
}

impl ReconnectLimiter {
    /// At most `count` (at least one) reconnects per `per`.
    pub fn new(count: u32, per: Duration) -> Self {
        let count = count.max(1) as usize;
        Self {
            count,
            per: crate::config::capped(per),
            grants: Mutex::new(VecDeque::with_capacity(count.min(64))),
        }
    }

    /// Reserves a reconnect: returns when it may happen (`now` or later).
    pub fn reserve(&self, now: Instant) -> Instant {
        let mut grants = self.grants.lock().unwrap_or_else(PoisonError::into_inner);
        let at = match grants.front() {
            Some(&oldest) if grants.len() >= self.count => now.max(oldest + self.per),
            _ => now,
        };
        // at is never before the newest grant: that one was at most
        // `oldest + per` of an older window, or an earlier `now`
        let at = grants.back().map_or(at, |&newest| at.max(newest));
        grants.push_back(at);
        if grants.len() > self.count {
            grants.pop_front();
        }
        at
    }
}

impl fmt::Debug for ReconnectLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReconnectLimiter")
            .field("count", &self.count)
            .field("per", &self.per)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// However reserves are spread, no window of `per` holds more than
        /// `count` grants.
        #[test]
        fn no_window_holds_more_than_count_grants(
            gaps in proptest::collection::vec(0u64..400, 1..300),
            count in 1u32..10,
        ) {
            let per = Duration::from_millis(1000);
            let limiter = ReconnectLimiter::new(count, per);
            let start = Instant::now();
            let mut now = start;
            let mut grants = Vec::new();
            for gap in gaps {
                now += Duration::from_millis(gap);
                let at = limiter.reserve(now);
                proptest::prop_assert!(at >= now);
                grants.push(at);
            }
            grants.sort();
            for (index, &first) in grants.iter().enumerate() {
                let within = grants[index..].iter().take_while(|&&at| at < first + per).count();
                proptest::prop_assert!(within <= count as usize, "{within} grants in one window");
            }
        }
    }

    #[test]
    fn an_idle_limiter_grants_a_whole_burst_again() {
        let limiter = ReconnectLimiter::new(3, Duration::from_secs(3));
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.reserve(start), start);
        }
        assert_eq!(limiter.reserve(start), start + Duration::from_secs(3));
        let later = start + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(limiter.reserve(later), later);
        }
    }
}
