//! Rate limiting: the [`RateLimiter`] trait and its in-memory implementation.
//!
//! The client asks the limiter for a [`Permit`] before each request and
//! hands the response's rate-limit headers back through it. The
//! [`InMemoryRateLimiter`] learns buckets from `X-RateLimit-Bucket` (routes
//! may share one), lets only one blind request go per unknown route, counts
//! requests in flight against a bucket's budget, queues callers in FIFO
//! order and wakes exactly as many per window as the server allows.
//!
//! Every header is the server's word, not the truth, and the limiter is
//! built to hold when it lies:
//!
//! - A window ends one window length after its first answer arrived at the
//!   latest, the length the bucket name spells
//!   (`LIMITER/<ip>/<ROUTE>/<limit>/<time>/<per>`), or earlier if the
//!   server's `Reset - Date` says so. A `Reset` at or before `Date` is no
//!   window, and a far-future or skewed one cannot end a window early. With
//!   no window named anywhere, the limiter waits a conservative default
//!   ([`fallback_wait`](InMemoryRateLimiterBuilder::fallback_wait)), sends
//!   one request to see the window has begun, and waits twice as long each
//!   time it had not.
//! - The budget is the limit (the smaller of `X-RateLimit-Limit` and the
//!   bucket name's) minus what this client sent in the window. `Remaining`
//!   only lowers it, when the server has counted more than the client sent
//!   (someone else uses the bucket, or the window is not the one the client
//!   thinks): then every request in flight counts on top.
//! - A route whose answer names another bucket moves there, with its queued
//!   callers (who keep their turn) and its requests in flight (which count
//!   in the new bucket's window). A bucket that gains routes keeps one
//!   budget for all of them; a bucket renamed at the server takes all its
//!   routes along until an answer of their own says otherwise. Once the
//!   server is seen renaming or merging a bucket, every other bucket sends
//!   one request and hears its answer before spending the rest of its
//!   budget (it may have moved too, unseen), and every bucket keeps a slot
//!   back for each such request, as for a new route's blind one.
//! - A 429 shuts the bucket for its `Retry-After` (from the header or the
//!   JSON body), and waits are capped
//!   ([`max_wait`](InMemoryRateLimiterBuilder::max_wait)). The window after
//!   a 429 opens with one request, whose answer says what is left. An
//!   allowed answer that names a later window than the 429 did ends the
//!   wait at once and counts in that window (the wait runs from the 429's
//!   arrival, so it ends a little after the server's reset).
//!
//! What no limiter can prevent: a route's first request goes blind, so if
//! a route it turns out to share a bucket with has just spent the window,
//! that one request is refused (once per route, then the bucket is known).
//!
//! A backend shared between processes implements [`RateLimiter`] and is
//! given to [`ClientBuilder::ratelimiter`](crate::ClientBuilder::ratelimiter).

mod bucket;
pub(crate) mod headers;
mod memory;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

pub use ayaka_model::route::RouteKind;
pub use bucket::BucketSnapshot;
pub use headers::RateLimitHeaders;
pub use memory::{InMemoryRateLimiter, InMemoryRateLimiterBuilder};

/// A boxed, sendable future, as [`RateLimiter`] methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Decides when requests may be sent.
///
/// Implementations must be cancel-safe: a caller may drop the future
/// returned by [`acquire`](Self::acquire) at any point, and may drop a
/// [`Permit`] without completing it.
///
/// A backend shared between processes keys its state by
/// [`RouteKind::as_str`], which is stable (`"PATCH /guilds/{id}"`).
pub trait RateLimiter: Send + Sync + fmt::Debug + 'static {
    /// Waits until a request on `route` may be sent.
    ///
    /// `route` names the route, not the resource (`PATCH /guilds/{id}`
    /// whatever the guild); the server's bucket, which several routes may
    /// share, is learned from responses. `max_wait` bounds the whole wait
    /// (for a window, or behind other callers): if the bucket is exhausted
    /// for longer, or no permit comes in time, the limiter returns
    /// [`AcquireError::Exhausted`]. `Duration::ZERO` therefore means "never
    /// wait".
    ///
    /// A limiter that cannot decide (the store it shares with other
    /// processes is unreachable) and will not guess returns
    /// [`AcquireError::Unavailable`], which the client reports as
    /// [`ErrorKind::RateLimiterUnavailable`](crate::ErrorKind::RateLimiterUnavailable)
    /// rather than as a rate limit.
    fn acquire(
        &self,
        route: RouteKind,
        max_wait: Duration,
    ) -> BoxFuture<'_, Result<Permit, AcquireError>>;
}

/// The bucket has nothing left for longer than the caller agreed to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exhausted {
    /// How long until a request could go.
    pub retry_after: Duration,
}

/// Why a [`RateLimiter`] gave no permit.
///
/// ```
/// use std::time::Duration;
/// use ayaka_http::ratelimit::{AcquireError, Exhausted};
///
/// let exhausted = AcquireError::from(Exhausted { retry_after: Duration::from_secs(2) });
/// assert_eq!(exhausted.retry_after(), Duration::from_secs(2));
///
/// let down = AcquireError::unavailable(Duration::from_secs(5), "redis: connection refused");
/// assert!(matches!(down, AcquireError::Unavailable { .. }));
/// assert_eq!(down.to_string(), "rate limiter unavailable, retry after 5.000s");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum AcquireError {
    /// The bucket has nothing left for longer than the caller agreed to wait.
    Exhausted(Exhausted),
    /// The limiter cannot tell whether a request may go and refuses rather
    /// than risk the budget it shares (a fail-closed limiter whose store is
    /// unreachable).
    Unavailable {
        /// When the limiter will try its store again (zero: at once).
        retry_after: Duration,
        /// Why it cannot decide.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl AcquireError {
    /// A refusal because the limiter cannot decide, trying again after
    /// `retry_after`.
    pub fn unavailable(
        retry_after: Duration,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Unavailable {
            retry_after,
            source: source.into(),
        }
    }

    /// How long until a request could go, or the limiter asks again.
    pub fn retry_after(&self) -> Duration {
        match self {
            Self::Exhausted(exhausted) => exhausted.retry_after,
            Self::Unavailable { retry_after, .. } => *retry_after,
        }
    }
}

impl From<Exhausted> for AcquireError {
    fn from(exhausted: Exhausted) -> Self {
        Self::Exhausted(exhausted)
    }
}

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exhausted(exhausted) => exhausted.fmt(f),
            Self::Unavailable { retry_after, .. } => write!(
                f,
                "rate limiter unavailable, retry after {:.3}s",
                retry_after.as_secs_f64()
            ),
        }
    }
}

impl std::error::Error for AcquireError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Exhausted(exhausted) => Some(exhausted),
            Self::Unavailable { source, .. } => Some(&**source),
        }
    }
}

impl fmt::Display for Exhausted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rate limit exhausted, retry after {:.3}s",
            self.retry_after.as_secs_f64()
        )
    }
}

impl std::error::Error for Exhausted {}

/// What the client learned from a response, passed to [`Permit::complete`].
#[derive(Debug, Clone, Copy)]
pub struct Response<'a> {
    /// The server answered `429 Too Many Requests`.
    pub limited: bool,
    /// The response's rate-limit headers (with `retry_after` filled from the
    /// JSON body if the header lacked it).
    pub headers: &'a RateLimitHeaders,
}

/// The backend's side of a [`Permit`].
pub trait PermitHandle: Send + fmt::Debug {
    /// Called exactly once: with the response, or with `None` if the request
    /// got none (transport error, timeout, or the caller gave up).
    fn complete(&mut self, response: Option<Response<'_>>);
}

/// Leave to send one request. Complete it with the response's headers;
/// dropping it reports "no response".
#[derive(Debug)]
#[must_use = "a permit is leave to send one request"]
pub struct Permit {
    handle: Option<Box<dyn PermitHandle>>,
}

impl Permit {
    /// Wraps a backend's handle.
    pub fn new(handle: impl PermitHandle + 'static) -> Self {
        Self {
            handle: Some(Box::new(handle)),
        }
    }

    /// Reports the response the request got.
    pub fn complete(mut self, response: Response<'_>) {
        if let Some(mut handle) = self.handle.take() {
            handle.complete(Some(response));
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(mut handle) = self.handle.take() {
            handle.complete(None);
        }
    }
}
