//! Rate limiting of outgoing messages that never starves the keepalive.

use std::{
    collections::VecDeque,
    time::{Duration, Instant},
};

/// A sliding window of sends: at most `limit` per `window`, of which
/// `reserved` can only be used by keepalive traffic.
#[derive(Debug)]
pub(crate) struct SendLimiter {
    window: Duration,
    limit: usize,
    reserved: usize,
    sent: VecDeque<Instant>,
}

impl SendLimiter {
    pub(crate) fn new(limit: u32, window: Duration, reserved: u32) -> Self {
        let limit = limit.max(1) as usize;
        Self {
            window,
            limit,
            reserved: (reserved as usize).min(limit - 1),
            // grows with the traffic actually sent, not with the configured limit
            sent: VecDeque::new(),
        }
    }

    fn expire(&mut self, now: Instant) {
        while let Some(&oldest) = self.sent.front() {
            if now.saturating_duration_since(oldest) >= self.window {
                self.sent.pop_front();
            } else {
                break;
            }
        }
    }

    /// Whether a command may be sent now.
    pub(crate) fn command_ready(&mut self, now: Instant) -> bool {
        self.expire(now);
        self.sent.len() < self.limit - self.reserved
    }

    /// When a command may next be sent (meaningful when not ready).
    pub(crate) fn command_ready_at(&mut self, now: Instant) -> Instant {
        self.expire(now);
        let free = self.limit - self.reserved;
        match self.sent.len().checked_sub(free) {
            Some(excess) => self
                .sent
                .get(excess)
                .map_or(now, |&sent_at| sent_at + self.window),
            None => now,
        }
    }

    /// Records a command being sent.
    pub(crate) fn record_command(&mut self, now: Instant) {
        self.sent.push_back(now);
    }

    /// Records keepalive traffic. It is always allowed: the reserve means
    /// it stays within the limit as long as keepalive is rarer than
    /// `reserved` per window.
    pub(crate) fn record_keepalive(&mut self, now: Instant) {
        self.expire(now);
        if self.sent.len() < self.limit {
            self.sent.push_back(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_stop_at_the_limit_minus_the_reserve_and_resume_after_the_window() {
        let start = Instant::now();
        let window = Duration::from_secs(60);
        let mut limiter = SendLimiter::new(5, window, 2);
        for _ in 0..3 {
            assert!(limiter.command_ready(start));
            limiter.record_command(start);
        }
        assert!(!limiter.command_ready(start));
        assert_eq!(limiter.command_ready_at(start), start + window);
        // keepalive still fits
        limiter.record_keepalive(start);
        limiter.record_keepalive(start);
        assert!(limiter.command_ready(start + window));
    }

    proptest::proptest! {
        /// However commands and keepalive interleave, no window ever holds
        /// more commands than the limit minus the reserve.
        #[test]
        fn commands_never_exceed_their_share_of_any_window(
            steps in proptest::collection::vec((0u64..300, proptest::bool::ANY), 1..200),
            limit in 1u32..20,
            reserve in 0u32..5,
        ) {
            let window = Duration::from_millis(1000);
            let start = Instant::now();
            let mut limiter = SendLimiter::new(limit, window, reserve);
            let share = (limit as usize).saturating_sub((reserve as usize).min(limit as usize - 1));
            let mut now = start;
            let mut commands: Vec<Instant> = Vec::new();
            for (advance, keepalive) in steps {
                now += Duration::from_millis(advance);
                if keepalive {
                    limiter.record_keepalive(now);
                } else if limiter.command_ready(now) {
                    limiter.record_command(now);
                    commands.push(now);
                } else {
                    proptest::prop_assert!(limiter.command_ready_at(now) > now);
                }
                let recent = commands.iter().filter(|&&at| now.duration_since(at) < window).count();
                proptest::prop_assert!(recent <= share, "{recent} commands in one window, share {share}");
            }
        }
    }

    #[test]
    fn the_reserve_never_blocks_every_command() {
        let mut limiter = SendLimiter::new(1, Duration::from_secs(1), 10);
        assert!(limiter.command_ready(Instant::now()));
    }
}
