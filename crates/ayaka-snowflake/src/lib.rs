//! Ayaka snowflake ids.
//!
//! Every object on Ayaka (users, guilds, channels, roles, emojis) is named by
//! a *snowflake*: a 64-bit integer that also records when and where it was
//! made. This crate has three parts:
//!
//! - [`Snowflake`]: the raw id and its layout (creation time, datacenter id,
//!   worker id, sequence).
//! - [`Id`]: a typed id ([`UserId`], [`GuildId`], ...) so that a guild id can
//!   never be passed where a user id belongs, at no cost (still 8 bytes).
//! - [`Generator`]: a lock-free, thread-safe generator of strictly increasing
//!   snowflakes.
//!
//! With the `serde` feature, ids are written as JSON integers and read from
//! an integer or a string of digits (JavaScript clients cannot hold 64-bit
//! integers and often send strings).
//!
//! # Layout
//!
//! ```text
//!  63  62                      22 21      17 16      12 11         0
//! | 0 | milliseconds since epoch | datacenter | worker  |  sequence  |
//! |   |         41 bits          |   5 bits   | 5 bits  |  12 bits   |
//! ```
//!
//! The epoch is [`EPOCH_MS`]: `1577836801` seconds, as documented (one second
//! after 2020-01-01T00:00:00Z).
//!
//! # Example
//!
//! ```
//! use ayaka_snowflake::{Generator, GuildId};
//!
//! let generator = Generator::builder().worker_id(3).build()?;
//! let guild: GuildId = generator.next_id();
//! assert_eq!(guild.snowflake().worker_id(), 3);
//! assert!(generator.generate() > guild.snowflake());
//! # Ok::<(), ayaka_snowflake::Error>(())
//! ```

mod error;
mod generator;
mod id;
#[cfg(feature = "serde")]
mod serde_impl;
mod snowflake;

pub use error::{Error, ErrorKind};
pub use generator::{Clock, Generator, GeneratorBuilder, SystemClock};
pub use id::{ChannelId, EmojiId, GuildId, Id, RoleId, UserId, marker};
pub use snowflake::{EPOCH_MS, MAX_ID_COMPONENT, MAX_SEQUENCE, Parts, Snowflake};
