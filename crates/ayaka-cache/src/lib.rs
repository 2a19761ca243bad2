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
mod members;
mod store;
mod update;

pub use cache::{Cache, CacheStats};
pub use cached::{CachedGuild, CachedMember};
pub use config::{CacheBuilder, Config, ResourceType};
pub use update::UpdateCache;
