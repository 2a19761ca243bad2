//! Feeding the cache straight from ayaka-gateway (feature `gateway`):
//! `cache.update(&message)` for every [`ShardMessage`] a shard or a
//! [`ShardManager`](ayaka_gateway::ShardManager) yields.

use ayaka_gateway::{ReceivedEvent, ShardId, ShardMessage};

use crate::{Cache, FeedId, UpdateCache};

impl From<ShardId> for FeedId {
    fn from(shard: ShardId) -> Self {
        Self(u64::from(shard.0))
    }
}

impl UpdateCache for ReceivedEvent {
    /// The event, on its shard's feed.
    fn update(&self, cache: &Cache) {
        cache.apply(FeedId::from(self.shard_id), &self.event);
    }
}

impl UpdateCache for ShardMessage {
    /// Events on their shard's feed; [`ShardMessage::Closed`] (a fatal
    /// close, or the shard closed for good) ends that feed, dropping what
    /// only it held. Other reports change nothing: after a reconnect,
    /// READY and GUILD_INIT refresh the feed.
    fn update(&self, cache: &Cache) {
        match self {
            Self::Event(received) => received.update(cache),
            Self::Closed { shard_id, .. } => cache.end_feed(FeedId::from(*shard_id)),
            _ => {}
        }
    }
}
