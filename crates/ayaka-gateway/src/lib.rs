//! Ayaka gateway connections: shards, a streaming zlib decompressor,
//! dispatchers and a shard manager.
//!
//! - [`Decompressor`]: streaming zlib inflate for one connection, usable on
//!   its own.
//! - [`Shard`]: one connection on its own task, yielding typed events and
//!   errors ([`Shard::next_event`]) or every lifecycle report
//!   ([`Shard::next_message`], or as a `Stream`), reconnecting by itself.
//! - [`Dispatcher`]: listeners per event, raw and lifecycle listeners, and
//!   `wait_for`, each listener isolated from the others.
//! - [`ShardManager`]: many shards, their messages merged.
//! - [`machine::ShardMachine`]: the shard's protocol as a sans-IO state
//!   machine, for tests in virtual time or another runtime.
//!
//! Every shard runs on its own tokio task: it finds a port through
//! `/available` (or takes a URL), identifies, inflates and parses, pings
//! every 15 s at most (with jitter) and counts a missing Pong after 20 s as
//! a dead connection, reconnects with backoff, and stops with a typed error
//! on the fatal close codes 4001, 4002 and 4004. `wss://` goes through
//! rustls with the webpki roots, or your own
//! [`tls_config`](ShardConfigBuilder::tls_config).
//!
//! # Losing nothing
//!
//! - **Errors reach you.** [`Shard::next_event`] yields every error the
//!   shard reports; a shard that ends by itself yields the error why as its
//!   last item, then `None`. A panic in the shard's task (in code it runs
//!   for you, an [`IdentifyQueue`] say) ends it with
//!   [`ShardMessage::Closed`] carrying [`ErrorKind::ShardPanicked`].
//!   [`Dispatcher::run`] returns the error a shard ended with.
//! - **A slow consumer costs memory up to a bound, then pushes back.** What
//!   a shard receives waits for you in a read-ahead buffer of 16 MiB per
//!   shard ([`read_ahead`](ShardConfigBuilder::read_ahead); a message
//!   counts its raw JSON plus 128 bytes). Below the bound the shard reads,
//!   answers and parses everything, however slow you are; past it the
//!   shard stops reading (TCP pushes back on the server) but keeps pinging,
//!   and neither the ping timeout nor the READY timeout counts the pause. A
//!   server that cannot hold the rest meanwhile closes the connection: its
//!   close code and reason reach you in [`ShardMessage::Disconnected`], and
//!   a 4000 "too slow" is [`ErrorKind::TooSlow`]. [`ShardHandle::stats`]
//!   counts bytes buffered, events delivered and the time you were behind.
//! - **READY does not reset the backoff.** Reconnect attempt `n` waits
//!   about `base · 2ⁿ` (0.5 s, 1 s, 2 s... up to 60 s), drawn from the upper
//!   half of that so shards spread out; a first retry after 4000 or 4009
//!   waits under 125 ms. The count starts over only once a connection has
//!   stayed ready for [`reset_backoff_after`](ShardConfigBuilder::reset_backoff_after)
//!   (the ping interval, 15 s, unless set), so a server that sends READY
//!   and closes at once sees at most a handful of connections a minute. A
//!   [`ShardManager`]'s shards together reconnect at most 16 times a second
//!   ([`ShardManagerBuilder::reconnect_rate`], a shared [`ReconnectLimiter`]).
//! - **Listeners are isolated.** A [`Dispatcher`] catches a listener's
//!   panic, logs it and reports it to the lifecycle listeners as
//!   [`ErrorKind::ListenerPanicked`]; every listener keeps being called. By
//!   default each call runs on its own task (at most 1024 at once), so slow
//!   listeners do not hold the shard's queue; [`Delivery::Ordered`] calls
//!   them one after the other, in order, instead.
//! - **Identify goes through a queue.** Shards take a lease from an
//!   [`IdentifyQueue`] before identifying (a [`ShardManager`] gives them a
//!   [`LocalIdentifyQueue`] of `identify_concurrency`); the lease ends on
//!   READY, on failure, or when dropped.
//!
//! ```no_run
//! use ayaka_gateway::{GatewayEndpoint, Shard, ShardConfig, ShardId};
//! use ayaka_model::gateway::{Encoding, Event};
//!
//! # async fn run() {
//! let config = ShardConfig::builder("my session id")
//!     .endpoint(GatewayEndpoint::Discover("wss://gateway.vincentrps.xyz".into()))
//!     .encoding(Encoding::Zlib)
//!     .build();
//! let mut shard = Shard::spawn(ShardId(0), config);
//! while let Some(item) = shard.next_event().await {
//!     match item {
//!         Ok(received) => match &received.event {
//!             Event::Ready(user) => println!("ready as {}", user.username),
//!             Event::GuildCreate(guild) => println!("new guild {}", guild.name),
//!             other => println!("{}", other.name()),
//!         },
//!         // most errors are followed by a reconnect; after a fatal one
//!         // (4002: an unknown session) the loop ends
//!         Err(error) => eprintln!("gateway: {error}"),
//!     }
//! }
//! # }
//! ```

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
mod stats;
mod tls;

pub use backoff::Backoff;
pub use close::{CloseAction, CloseFrame, close_action, close_code};
pub use config::{
    DEFAULT_GATEWAY_BASE, DEFAULT_READ_AHEAD, GatewayEndpoint, ShardConfig, ShardConfigBuilder,
};
pub use dispatcher::{DEFAULT_MAX_IN_FLIGHT, Delivery, Dispatcher, DispatcherBuilder};
pub use error::{Error, ErrorKind};
pub use identify_queue::{
    Acquire, BoxError, IdentifyLease, IdentifyQueue, LeaseEnd, LocalIdentifyQueue,
};
pub use inflate::{DEFAULT_MAX_MESSAGE_SIZE, Decompressor, ZLIB_SUFFIX};
pub use latency::Latency;
pub use manager::{DEFAULT_RECONNECT_RATE, ShardInfo, ShardManager, ShardManagerBuilder};
pub use manager_assignment::ShardAssignment;
pub use parse::parse_event;
pub use received::ReceivedEvent;
pub use reconnect_limiter::ReconnectLimiter;
pub use shard::{Shard, ShardHandle};
pub use shard_id::ShardId;
pub use shard_message::ShardMessage;
pub use shard_state::ShardState;
pub use stats::ShardStats;

/// The `User-Agent` of discovery requests: the workspace's one, from
/// `ayaka-http`, which discovery goes through.
pub use ayaka_http::USER_AGENT;
