#![doc = include_str!("../README.md")]

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
