//! The adapter to ayaka-http's [`RateLimiter`] trait: routes are a typed
//! [`RouteKind`], stored under its stable string form, and the only error is
//! [`Exhausted`].
//!
//! Kept apart so that a change of the trait (an error type of its own, say)
//! changes this file alone.

use std::time::Duration;

use ayaka_http::ratelimit::{BoxFuture, Exhausted, Permit, RateLimiter, RouteKind};

use super::RedisRateLimiter;
use crate::error::ErrorKind;

impl RateLimiter for RedisRateLimiter {
    fn acquire(
        &self,
        route: RouteKind,
        max_wait: Duration,
    ) -> BoxFuture<'_, Result<Permit, Exhausted>> {
        Box::pin(async move {
            self.acquire_permit(route, max_wait).await.map_err(|error| {
                // The trait has no "unavailable" yet: a fail-closed refusal
                // reaches the client as a rate limit until Redis is back.
                if error.kind() != ErrorKind::Exhausted {
                    tracing::debug!(%error, "redis rate limiter refused a request");
                }
                Exhausted {
                    retry_after: error.retry_after().unwrap_or(Duration::ZERO),
                }
            })
        })
    }
}
