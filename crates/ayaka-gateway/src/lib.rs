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
//!
//! Every shard runs on its own tokio task: it finds a port through
//! `/available` (or takes a URL), identifies, inflates and parses, pings
//! every 15 s at most (with jitter) and counts a missing Pong after 20 s as
//! a dead connection, reconnects with exponential backoff and jitter, and
//! stops with a typed error on the fatal close codes 4001, 4002 and 4004.
//! What it receives reaches you through a bounded queue, so a slow consumer
//! slows the shard down instead of growing memory. `wss://` goes through
//! rustls with the webpki roots, or your own
//! [`tls_config`](ShardConfigBuilder::tls_config).
//!
//! ```no_run
//! use ayaka_gateway::{GatewayEndpoint, Shard, ShardConfig, ShardId, ShardMessage};
//! use ayaka_model::gateway::{Encoding, Event};
//!
//! # async fn run() -> Result<(), ayaka_gateway::Error> {
//! let config = ShardConfig::builder("my session id")
//!     .endpoint(GatewayEndpoint::Discover("wss://gateway.vincentrps.xyz".into()))
//!     .encoding(Encoding::Zlib)
//!     .build();
//! let mut shard = Shard::spawn(ShardId(0), config);
//! while let Some(message) = shard.next_message().await {
//!     match message {
//!         ShardMessage::Event(event) => match &event.event {
//!             Event::Ready(user) => println!("ready as {}", user.username),
//!             Event::GuildCreate(guild) => println!("new guild {}", guild.name),
//!             other => println!("{}", other.name()),
//!         },
//!         ShardMessage::Reconnecting { delay, .. } => println!("reconnecting in {delay:?}"),
//!         ShardMessage::Closed { error, .. } => return error.map_or(Ok(()), Err),
//!         _ => {}
//!     }
//! }
//! # Ok(())
//! # }
//! ```

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
mod tls;

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

/// The `User-Agent` of discovery requests: the workspace's one, from
/// `ayaka-http`, which discovery goes through.
pub use ayaka_http::USER_AGENT;
