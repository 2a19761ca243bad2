//! An in-memory cache of Ayaka state, kept current from gateway events.
//!
//! - One entry point: [`Cache::update`], for every gateway
//!   [`Event`](ayaka_model::gateway::Event) and for REST results.
//! - Choose what to keep with [`ResourceType`] and bound what can grow
//!   without limit (members, presences, invites) with [`CacheBuilder`]; with
//!   nothing kept, an update costs a branch.
//! - Users are stored once however many guilds they share; guilds refer to
//!   their roles, emojis, channels and members by id.
//! - Reads return `Arc`s or owned values: no map guard is ever held by the
//!   caller, so results can be kept across `.await` points safely.
//! - GUILD_DELETE removes the guild and everything only it held; after a
//!   reconnect, READY and GUILD_INIT converge to the same state.
//! - Each source of events is a feed ([`FeedId`]; with the `gateway`
//!   feature, each shard: `cache.update(&message)` for every
//!   `ShardMessage`). The cache knows which feeds hold each guild; when a
//!   feed's session ends ([`Cache::end_feed`], or the shard's `Closed`
//!   message) it is marked [`FeedState::Ended`] and what only it held is
//!   dropped, so a fatal close never leaves stale guilds behind.
//!
//! ```
//! use ayaka_cache::{Cache, ResourceType};
//!
//! let cache = Cache::builder()
//!     .resources(ResourceType::ALL - ResourceType::PRESENCE)
//!     .max_members(100_000)
//!     .build();
//! assert_eq!(cache.stats().guilds, 0);
//! ```

mod cache;
mod cached;
mod config;
mod feeds;
#[cfg(feature = "gateway")]
mod gateway;
mod members;
mod store;
mod update;

pub use cache::{Cache, CacheStats};
pub use cached::{CachedGuild, CachedMember};
pub use config::{CacheBuilder, Config, ResourceType};
pub use feeds::{FeedId, FeedState};
pub use update::UpdateCache;
