//! A local Ayaka server implementing the documented REST API and gateway.
//!
//! It follows the Ayaka documents and the project's protocol page
//! (`docs/protocol.md`) byte for byte, so that the client crates can be
//! tested end to end over loopback against a real server rather than mocks.
//! See `docs/server.md` for what it implements and which parts are
//! extensions.
//!
//! - REST on hyper: every documented route with its documented status
//!   codes, the extension routes, per-client rate limits with the five
//!   `X-RateLimit-*` headers, JSON errors for everything.
//! - Gateway on tokio-tungstenite: identify, READY and GUILD_INIT, live
//!   events to exactly the users the protocol names, `json` and `zlib`
//!   encodings, ping timeout and the protocol's close codes, a bounded
//!   queue per connection.
//! - State in concurrent maps, no global lock; in memory only, or also in
//!   one SQLite file ([`ServerBuilder::data_file`], `--data`) written
//!   before every response, so that `kill -9` loses nothing acknowledged.
//! - Bounded under abuse: password hashing on a fixed pool with a bounded
//!   queue (503 beyond it), gateway connections counted from the TCP
//!   accept, small per-connection buffers.
//! - `GET /_local/stats` and [`Server::stats`]: requests, 429s,
//!   connections, hashes.
//!
//! ```no_run
//! use ayaka_server::{PasswordHashing, RateLimits, Server};
//!
//! # async fn run() -> Result<(), ayaka_server::Error> {
//! let server = Server::builder()
//!     .rate_limits(RateLimits::off())
//!     .password_hashing(PasswordHashing::Fast) // tests only
//!     .spawn()
//!     .await?;
//! let rest = server.rest_url(); // http://127.0.0.1:PORT
//! let gateway = server.gateway_url(); // ws://127.0.0.1:PORT
//! # let _ = (rest, gateway);
//! server.shutdown().await;
//! # Ok(()) }
//! ```

mod auth;
mod builder;
mod data;
mod error;
mod gateway;
mod hashing;
mod ratelimit;
mod rest;
mod server;
mod state;
mod stats;
#[cfg(feature = "testing")]
pub mod testing;

/// Entry points for the fuzz targets in `fuzz/`; not part of the API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

pub use builder::ServerBuilder;
pub use data::ServerData;
pub use error::{Error, ErrorKind};
pub use hashing::PasswordHashing;
pub use ratelimit::{Limit, ParseLimitError, Per, RateLimits, bucket};
pub use server::Server;
pub use stats::Stats;
