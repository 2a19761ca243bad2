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
#[cfg(feature = "http")]
#[doc(inline)]
pub use ayaka_http as http;
#[cfg(feature = "redis")]
#[doc(inline)]
pub use ayaka_redis as redis;
#[cfg(feature = "server")]
#[doc(inline)]
pub use ayaka_server as server;

/// The README's examples, compiled and run as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
