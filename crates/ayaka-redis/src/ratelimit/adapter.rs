//! The adapter to ayaka-http's [`RateLimiter`] trait as it stands: routes
//! are strings (`"GET /guilds/{id}"`) and the only error is [`Exhausted`].
//!
//! Kept apart so that re-keying the trait (a typed route with a stable
//! string form) or giving it an error type changes this file alone.

use std::time::Duration;

use ayaka_http::ratelimit::{BoxFuture, Exhausted, Permit, RateLimiter};

use super::RedisRateLimiter;
use crate::error::ErrorKind;

impl RateLimiter for RedisRateLimiter {
    fn acquire<'a>(
        &'a self,
        route: &'a str,
        max_wait: Duration,
    ) -> BoxFuture<'a, Result<Permit, Exhausted>> {
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
