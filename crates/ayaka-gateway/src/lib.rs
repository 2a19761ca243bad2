//! Ayaka gateway connections: shards, a streaming zlib decompressor,
//! dispatchers and a shard manager.
//!
//! - [`Decompressor`]: streaming zlib inflate for one connection, usable on
//!   its own.
//! - [`Shard`]: one connection on its own task, yielding typed events
//!   ([`Shard::next_event`], or as a `Stream`), reconnecting by itself.
//! - [`Dispatcher`]: listeners per event, raw and lifecycle listeners, and
//!   `wait_for`.
//! - [`ShardManager`]: many shards, their events merged.

mod backoff;
mod close;
mod config;
mod discovery;
mod dispatcher;
mod error;
mod inflate;
mod keepalive;
mod limiter;
mod manager;
mod message;
mod parse;
mod runner;
mod shard;
mod status;

pub use backoff::Backoff;
pub use close::{CloseAction, close_action, close_code};
pub use config::{DEFAULT_GATEWAY_BASE, GatewayEndpoint, ShardConfig, ShardConfigBuilder};
pub use dispatcher::Dispatcher;
pub use error::{Error, ErrorKind};
pub use inflate::{DEFAULT_MAX_MESSAGE_SIZE, Decompressor, ZLIB_SUFFIX};
pub use keepalive::Latency;
pub use manager::{ShardInfo, ShardManager, ShardManagerBuilder};
pub use message::{GatewayEvent, ShardId, ShardMessage};
pub use parse::parse_event;
pub use shard::{Shard, ShardHandle};
pub use status::ShardState;

/// The `User-Agent` of discovery requests, in the documented format.
pub const USER_AGENT: &str = concat!(
    "ayaka-gateway (https://github.com/ayaka-rs/ayaka) rust: ",
    env!("CARGO_PKG_VERSION")
);
