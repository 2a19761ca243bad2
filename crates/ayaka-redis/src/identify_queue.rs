//! [`RedisIdentifyQueue`]: ayaka-gateway's [`IdentifyQueue`] on
//! [`RedisIdentifyLeases`], so that shards in every process of a namespace
//! take turns to identify.

use ayaka_gateway::{Acquire, IdentifyQueue, LeaseEnd, ShardId};

use crate::identify::RedisIdentifyLeases;

/// An [`IdentifyQueue`] shared by every process of a namespace: at most the
/// leases' capacity of shards, across all of them, between taking a turn
/// and READY.
///
/// A shard takes a lease before it looks up its port and gives it back on
/// READY, when the attempt fails, or when it is closed while waiting; a
/// process that dies holding one frees it when the lease expires. While
/// Redis is down, shards wait for their turn (the queue fails closed): an
/// identify nobody coordinated can cost a 4003.
///
/// Give every process the same capacity, and a lease longer than a shard's
/// connect timeout plus its READY timeout (10 s + 15 s by default, against
/// the leases' default 30 s), so that a slow identify keeps its turn.
///
/// ```no_run
/// use std::sync::Arc;
/// use ayaka_gateway::{ShardAssignment, ShardConfig, ShardManager};
/// use ayaka_redis::{Connection, Namespace, RedisIdentifyLeases, RedisIdentifyQueue};
///
/// # async fn run() -> Result<(), ayaka_redis::Error> {
/// let leases = RedisIdentifyLeases::builder(
///     Connection::open("unix:///run/redis/redis.sock")?,
///     Namespace::new("my-bot")?,
/// )
/// .capacity(1)
/// .build()?;
/// # let template = ShardConfig::builder("session id").build();
/// let manager = ShardManager::builder(template)
///     .sessions(["first", "second", "third"])
///     .assignment(ShardAssignment::process(0, 3))
///     .identify_queue(Arc::new(RedisIdentifyQueue::new(leases)))
///     .spawn();
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RedisIdentifyQueue {
    leases: RedisIdentifyLeases,
}

impl RedisIdentifyQueue {
    /// A queue taking its turns from `leases`.
    pub fn new(leases: RedisIdentifyLeases) -> Self {
        Self { leases }
    }

    /// The leases the queue takes turns from.
    pub fn leases(&self) -> &RedisIdentifyLeases {
        &self.leases
    }
}

impl From<RedisIdentifyLeases> for RedisIdentifyQueue {
    fn from(leases: RedisIdentifyLeases) -> Self {
        Self::new(leases)
    }
}

impl IdentifyQueue for RedisIdentifyQueue {
    fn acquire(&self, shard: ShardId) -> Acquire<'_> {
        Box::pin(async move {
            // Waits however long Redis is down, and gives back what it took
            // if the shard is closed meanwhile (the future is dropped).
            let lease = self.leases.acquire().await;
            tracing::debug!(shard = shard.0, lease = lease.id(), "identify turn taken");
            Ok(ayaka_gateway::IdentifyLease::new(move |end: LeaseEnd| {
                tracing::debug!(shard = shard.0, ?end, "identify turn over");
                // Released in the background on the shard's runtime (or left
                // to expire without one).
                drop(lease);
            }))
        })
    }
}
