//! What the rate-limiter benches share: their runtime and one permit.

use std::time::Duration;

use ayaka_http::ratelimit::{RateLimitHeaders, RateLimiter, Response, RouteKind};
use tokio::runtime::Runtime;

/// The route every limiter bench asks a permit for.
pub const ROUTE: RouteKind = RouteKind::GetCurrentUser;

/// How many callers the contended groups run at once.
pub const CONTENDED: u64 = 64;

/// The multi-threaded runtime (two workers) the limiter benches run on.
///
/// # Panics
///
/// If the runtime cannot be built.
#[allow(clippy::unwrap_used)]
pub fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Acquires a permit for [`ROUTE`] and completes it with `headers`: one
/// request's worth of limiter work, without the request. The benches set
/// limits that never bite, so the wait bound is never reached.
///
/// # Panics
///
/// If the limiter refuses the permit.
#[allow(clippy::unwrap_used)]
pub async fn permit<L: RateLimiter + ?Sized>(limiter: &L, headers: &RateLimitHeaders) {
    let permit = limiter
        .acquire(ROUTE, Duration::from_secs(10))
        .await
        .unwrap();
    permit.complete(Response {
        limited: false,
        headers,
    });
}
