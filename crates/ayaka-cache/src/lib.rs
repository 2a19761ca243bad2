#![doc = include_str!("../README.md")]

mod cache;
mod cached;
mod config;
mod feeds;
#[cfg(feature = "gateway")]
mod gateway;
mod link_set;
mod members;
mod snapshot;
mod store;
mod update;

pub use cache::{Cache, CacheStats};
pub use cached::{CachedGuild, CachedMember};
pub use config::{CacheBuilder, Config, ResourceType};
pub use feeds::{FeedId, FeedState};
pub use snapshot::{CacheSnapshot, GuildSnapshot};
pub use update::UpdateCache;
