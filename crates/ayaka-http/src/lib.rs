#![doc = include_str!("../README.md")]

mod client;
mod error;
pub mod ratelimit;
mod user_agent;

pub use client::{Client, ClientBuilder, DEFAULT_BASE_URL, RetryPolicy};
pub use error::{Error, ErrorKind};
pub use user_agent::USER_AGENT;
