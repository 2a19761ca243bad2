#![doc = include_str!("../README.md")]

pub mod broker;
mod connection;
mod error;
mod identify;
pub mod keys;
pub mod ratelimit;
mod subscribe;
mod sync;

pub use broker::{RedisEventBroker, RedisEventBrokerBuilder};
pub use connection::{Connection, DEFAULT_CALL_TIMEOUT};
pub use error::{Error, ErrorKind};
pub use identify::{IdentifyLease, RedisIdentifyLeases, RedisIdentifyLeasesBuilder};
pub use keys::Namespace;
pub use ratelimit::{RedisRateLimiter, RedisRateLimiterBuilder};
/// The Redis client this crate is built on.
pub use redis;
