//! The adapter to ayaka-http's [`RateLimiter`] trait: routes are a typed
//! [`RouteKind`], stored under its stable string form; a wait too long is
//! [`AcquireError::Exhausted`], and every other refusal (Redis down, fail
//! closed) is [`AcquireError::Unavailable`] with this crate's error as its
//! source.
//!
//! Kept apart so that a change of the trait changes this file alone.

use std::time::Duration;

use ayaka_http::ratelimit::{AcquireError, BoxFuture, Exhausted, Permit, RateLimiter, RouteKind};

use super::RedisRateLimiter;
use crate::error::ErrorKind;

impl RateLimiter for RedisRateLimiter {
    fn acquire(
        &self,
        route: RouteKind,
        max_wait: Duration,
    ) -> BoxFuture<'_, Result<Permit, AcquireError>> {
        Box::pin(async move {
            self.acquire_permit(route, max_wait).await.map_err(|error| {
                let retry_after = error.retry_after().unwrap_or(Duration::ZERO);
                if error.kind() == ErrorKind::Exhausted {
                    return Exhausted { retry_after }.into();
                }
                tracing::debug!(%error, "redis rate limiter refused a request");
                AcquireError::unavailable(retry_after, error)
            })
        })
    }
}
