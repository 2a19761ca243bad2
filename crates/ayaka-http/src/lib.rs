//! A typed REST client for Ayaka on hyper, with a proactive bucketed rate
//! limiter.
//!
//! - [`Client`]: one typed method per route (the documented ones and the
//!   project's extensions), built with [`Client::builder`]. Pooled
//!   keep-alive connections over http or https (rustls).
//! - [`Error`]: one error type; match on [`Error::kind`]. The documented odd
//!   codes (`201` not a member, `203` not enough permissions) are errors.
//! - [`ratelimit`]: the [`RateLimiter`](ratelimit::RateLimiter) trait and the
//!   [`InMemoryRateLimiter`](ratelimit::InMemoryRateLimiter), which learns
//!   buckets from `X-RateLimit-Bucket`, follows routes that move between
//!   buckets, counts requests in flight, queues callers fairly, never trusts
//!   the local clock for server times and holds when the headers lie.
//!
//! Session ids are sent as sensitive header values and never logged.
//!
//! # Rate limits
//!
//! Before each request the client asks its rate limiter for a permit, keyed
//! by the route's [`RouteKind`](ratelimit::RouteKind), the row of
//! `ayaka_model`'s route table that both this client and the local server
//! read (method, path template, whether it needs a session). The server's
//! buckets, which several routes may share, are learned from the responses;
//! [`InMemoryRateLimiter::bucket`](ratelimit::InMemoryRateLimiter::bucket)
//! shows the one a route uses.
//!
//! Waiting is bounded by the [`RetryPolicy`]: a bucket exhausted for longer
//! than its `max_wait`, or more 429s than its `max_retries`, is an
//! [`ErrorKind::RateLimited`] error. [`RetryPolicy::fail_fast`] never waits.
//!
//! ```no_run
//! use ayaka_http::ratelimit::{InMemoryRateLimiter, RouteKind};
//! use ayaka_http::Client;
//!
//! # async fn demo() -> Result<(), ayaka_http::Error> {
//! let limiter = InMemoryRateLimiter::new();
//! let client = Client::builder().ratelimiter(limiter.clone()).session("id").build()?;
//! client.current_user().await?;
//! if let Some(bucket) = limiter.bucket(RouteKind::GetCurrentUser) {
//!     println!("{:?} left of {:?}", bucket.remaining, bucket.limit);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! ```no_run
//! use ayaka_http::Client;
//! use ayaka_model::GuildId;
//!
//! # async fn demo() -> Result<(), ayaka_http::Error> {
//! let client = Client::builder().session("my-session-id").build()?;
//! let me = client.current_user().await?;
//! let preview = client.guild_preview(GuildId::new(42)).await?;
//! println!("{} sees {}", me.username, preview.name);
//! # Ok(())
//! # }
//! ```

mod client;
mod error;
pub mod ratelimit;
mod user_agent;

pub use client::{Client, ClientBuilder, DEFAULT_BASE_URL, RetryPolicy};
pub use error::{Error, ErrorKind};
pub use user_agent::USER_AGENT;
