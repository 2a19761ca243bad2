//! One rate-limit budget, one identify queue and one event stream for Ayaka
//! bots that run in several processes, on Redis.
//!
//! - [`RedisRateLimiter`]: an [`ayaka_http::ratelimit::RateLimiter`] whose
//!   buckets live in Redis, so every process shares the server's budget.
//!   Each decision is one atomic Lua script; requests in flight are leases
//!   that expire if their process dies. When Redis fails it falls back to
//!   the in-memory limiter and returns after a cooldown (or, fail-closed,
//!   refuses with [`ErrorKind::Unavailable`]).
//! - [`RedisIdentifyLeases`]: at most N identifies in flight across every
//!   process, each a lease released explicitly or by expiry;
//!   [`RedisIdentifyQueue`] is ayaka-gateway's `IdentifyQueue` on them, for
//!   a `ShardManager` running its share of the shards
//!   (`ShardManagerBuilder::assignment`).
//! - [`RedisEventBroker`]: events to a bounded Redis Stream, read through
//!   consumer groups; commands to shards the other way.
//!
//! Everything lives under `ayaka:v1:{namespace}:` (one Cluster hash slot
//! per [`Namespace`]); bucket names, which may embed client data, are only
//! ever stored hashed. Time is always the Redis clock plus durations the
//! server stated: the clocks of different machines are never compared.
//!
//! ```no_run
//! use ayaka_redis::{Connection, Namespace, RedisRateLimiter};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let redis = Connection::open("redis://127.0.0.1:6379")?;
//! let limiter = RedisRateLimiter::builder(redis, Namespace::new("my-bot")?).build();
//! let client = ayaka_http::Client::builder()
//!     .ratelimiter(limiter)
//!     .session("session id")
//!     .build()?;
//! client.current_user().await?;
//! # Ok(())
//! # }
//! ```
//!
//! See `docs/scale-out.md` for the key schema, the scripts and the failure
//! modes.

pub mod broker;
mod connection;
mod error;
mod identify;
mod identify_queue;
pub mod keys;
pub mod ratelimit;
mod subscribe;
mod sync;
#[cfg(feature = "testing")]
pub mod testing;

pub use broker::{RedisEventBroker, RedisEventBrokerBuilder};
pub use connection::{Connection, DEFAULT_CALL_TIMEOUT};
pub use error::{Error, ErrorKind};
pub use identify::{IdentifyLease, RedisIdentifyLeases, RedisIdentifyLeasesBuilder};
pub use identify_queue::RedisIdentifyQueue;
pub use keys::Namespace;
pub use ratelimit::{RedisRateLimiter, RedisRateLimiterBuilder};
/// The Redis client this crate is built on.
pub use redis;
