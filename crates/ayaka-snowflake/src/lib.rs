#![doc = include_str!("../README.md")]

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
