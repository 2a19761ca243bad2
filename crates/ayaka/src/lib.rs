//! The Rust library for [Ayaka], a chat platform with a REST API and a
//! WebSocket gateway.
//!
//! This crate only re-exports the layers, so depend either on it or on any
//! single layer crate:
//!
//! | module | crate | feature |
//! |---|---|---|
//! | [`snowflake`] | `ayaka-snowflake` | always |
//! | [`model`] | `ayaka-model` | always |
//! | `http` | `ayaka-http` | `http` (default) |
//! | `gateway` | `ayaka-gateway` | `gateway` (default) |
//! | `cache` | `ayaka-cache` | `cache` (default) |
//! | `server` | `ayaka-server` | `server` (opt-in) |
//! | `redis` | `ayaka-redis` | `redis` (opt-in) |
//!
//! Feature `simd-json` parses JSON with simd-json instead of serde_json.
//!
//! # Example
//!
//! ```
//! use ayaka::model::request::CreateGuild;
//! use ayaka::snowflake::{Generator, GuildId};
//!
//! let id: GuildId = Generator::new().next_id();
//! assert!(id.snowflake().created_at() <= std::time::SystemTime::now());
//!
//! // Request bodies validate before anything is sent.
//! let body = CreateGuild::new("");
//! assert!(body.validate().is_err());
//! ```
//!
//! # Logging
//!
//! The crates log through `tracing` and never log a session id, an
//! `Authorization` value, a password or an email. tungstenite, under every
//! gateway connection, logs each frame it sends or receives at `trace`
//! (the identify payload holds the session id): `LOG_DIRECTIVES` caps it
//! at `debug`. The examples and the `ayaka-server` binary add them after
//! `RUST_LOG`; if you install your own subscriber, do the same:
//!
//! ```no_run
//! use tracing_subscriber::EnvFilter;
//!
//! let mut filter = EnvFilter::from_default_env();
//! for directive in ayaka::LOG_DIRECTIVES {
//!     filter = filter.add_directive(directive.parse()?);
//! }
//! tracing_subscriber::fmt().with_env_filter(filter).init();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [Ayaka]: https://hatsu.vincentrps.xyz

#[doc(inline)]
pub use ayaka_model as model;
#[doc(inline)]
pub use ayaka_snowflake as snowflake;

#[cfg(feature = "cache")]
#[doc(inline)]
pub use ayaka_cache as cache;
#[cfg(feature = "gateway")]
#[doc(inline)]
pub use ayaka_gateway as gateway;
#[cfg(feature = "gateway")]
pub use ayaka_gateway::LOG_DIRECTIVES;
#[cfg(feature = "http")]
#[doc(inline)]
pub use ayaka_http as http;
#[cfg(feature = "redis")]
#[doc(inline)]
pub use ayaka_redis as redis;
#[cfg(feature = "server")]
#[doc(inline)]
pub use ayaka_server as server;

/// The README's examples, compiled and run as doc tests so they stay true
/// (with the `redis` feature, which the Redis example needs; CI builds every
/// feature).
#[cfg(all(doctest, feature = "redis"))]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
