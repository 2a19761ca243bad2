#![doc = include_str!("../README.md")]

mod backoff;
mod close;
mod config;
mod discovery;
mod dispatcher;
mod error;
mod identify_queue;
mod inflate;
mod keepalive;
mod latency;
mod limiter;
mod log_directives;
pub mod machine;
mod manager;
mod manager_assignment;
mod parse;
mod read_ahead;
mod received;
mod reconnect_limiter;
mod runner;
mod shard;
mod shard_id;
mod shard_message;
mod shard_state;
mod skipped;
mod stats;
mod tls;

pub use backoff::Backoff;
pub use close::{CloseAction, CloseFrame, close_action, close_code};
pub use config::{
    DEFAULT_GATEWAY_BASE, DEFAULT_READ_AHEAD, DEFAULT_WEBSOCKET_READ_BUFFER,
    DEFAULT_WEBSOCKET_WRITE_BUFFER, GatewayEndpoint, ShardConfig, ShardConfigBuilder,
};
pub use dispatcher::{DEFAULT_MAX_IN_FLIGHT, Delivery, Dispatcher, DispatcherBuilder};
pub use error::{Error, ErrorKind};
pub use identify_queue::{
    Acquire, BoxError, IdentifyLease, IdentifyQueue, LeaseEnd, LocalIdentifyQueue,
};
pub use inflate::{
    DEFAULT_MAX_MESSAGE_SIZE, Decompressor, DecompressorBuilder, InflateBackend, ZLIB_SUFFIX,
};
pub use latency::Latency;
pub use log_directives::LOG_DIRECTIVES;
pub use manager::{DEFAULT_RECONNECT_RATE, ShardInfo, ShardManager, ShardManagerBuilder};
pub use manager_assignment::ShardAssignment;
pub use parse::parse_event;
pub use received::ReceivedEvent;
pub use reconnect_limiter::ReconnectLimiter;
pub use shard::{Shard, ShardHandle};
pub use shard_id::ShardId;
pub use shard_message::ShardMessage;
pub use shard_state::ShardState;
pub use skipped::SkippedEvent;
pub use stats::ShardStats;

/// The `User-Agent` of discovery requests and of the WebSocket handshake:
/// the workspace's one, from `ayaka-http`, which discovery goes through.
pub use ayaka_http::USER_AGENT;
