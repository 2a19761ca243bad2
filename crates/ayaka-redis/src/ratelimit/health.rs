//! Whether Redis is usable: after a failure the limiter uses its fallback
//! for a cooldown, then one caller probes Redis again.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::lanes::lock;

#[derive(Debug)]
pub(super) struct Health {
    cooldown: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Healthy,
    /// Failed; Redis is tried again at `retry_at` by one caller. Handing
    /// out the probe moves `retry_at` on by a cooldown, so a probe that
    /// never reports (its caller gave up) cannot stall the next one.
    Down {
        retry_at: Instant,
    },
}

/// What a caller should do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Route {
    /// Use Redis.
    Redis,
    /// Use Redis: this caller probes whether it is back.
    Probe,
    /// Do not touch Redis until this instant.
    Down(Instant),
}

impl Health {
    pub(super) fn new(cooldown: Duration) -> Self {
        Self {
            cooldown,
            state: Mutex::new(State::Healthy),
        }
    }

    pub(super) fn cooldown(&self) -> Duration {
        self.cooldown
    }

    pub(super) fn route(&self, now: Instant) -> Route {
        let mut state = lock(&self.state);
        match *state {
            State::Healthy => Route::Redis,
            State::Down { retry_at } if now >= retry_at => {
                *state = State::Down {
                    retry_at: now.checked_add(self.cooldown).unwrap_or(now),
                };
                Route::Probe
            }
            State::Down { retry_at } => Route::Down(retry_at),
        }
    }

    pub(super) fn is_healthy(&self) -> bool {
        *lock(&self.state) == State::Healthy
    }

    pub(super) fn succeeded(&self) {
        let mut state = lock(&self.state);
        if *state != State::Healthy {
            tracing::info!("redis is back; the shared rate limiter is in use again");
        }
        *state = State::Healthy;
    }

    pub(super) fn failed(&self, now: Instant, error: &crate::Error) {
        let mut state = lock(&self.state);
        if *state == State::Healthy {
            tracing::warn!(
                %error,
                cooldown = ?self.cooldown,
                "redis failed; using the in-process rate limiter for now"
            );
        }
        let retry_at = now.checked_add(self.cooldown).unwrap_or(now);
        *state = State::Down { retry_at };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_probe_after_the_cooldown() {
        let health = Health::new(Duration::from_secs(5));
        let t0 = Instant::now();
        assert_eq!(health.route(t0), Route::Redis);
        health.failed(t0, &crate::Error::new(crate::ErrorKind::Timeout));
        let later = t0 + Duration::from_secs(1);
        assert_eq!(
            health.route(later),
            Route::Down(t0 + Duration::from_secs(5))
        );
        let after = t0 + Duration::from_secs(6);
        assert_eq!(health.route(after), Route::Probe);
        // While the probe runs, everyone else stays on the fallback.
        assert!(matches!(health.route(after), Route::Down(_)));
        health.failed(after, &crate::Error::new(crate::ErrorKind::Redis));
        assert!(matches!(health.route(after), Route::Down(_)));
        assert_eq!(health.route(after + Duration::from_secs(5)), Route::Probe);
        // A probe that never reports back does not stall the next one.
        assert_eq!(health.route(after + Duration::from_secs(10)), Route::Probe);
        health.succeeded();
        assert!(health.is_healthy());
        assert_eq!(health.route(after), Route::Redis);
    }
}
