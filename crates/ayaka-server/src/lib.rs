#![doc = include_str!("../README.md")]

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
