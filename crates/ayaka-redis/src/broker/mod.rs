//! [`RedisEventBroker`]: gateway events to a bounded Redis Stream, read
//! through consumer groups, and commands to shards the other way.
//!
//! - Publishing never blocks and never fails: events go to a bounded buffer
//!   that a background task writes to the stream (`XADD ... MAXLEN ~`) in
//!   batches. While Redis is down the buffer holds the newest events; when
//!   it is full the oldest is dropped and counted ([`BrokerStats`]).
//!   Delivery is at least once: a batch that failed half-way is sent again.
//! - Consumers read through consumer groups ([`EventConsumer`]): one group
//!   per service shares the work among its instances, one group per
//!   instance gives every event to each. Entries a dead consumer left
//!   unacknowledged are taken over with [`EventConsumer::reclaim`].
//! - Commands to a shard (a presence update) travel on a stream per shard
//!   ([`RedisEventBroker::send_command`], [`CommandReader`]), as raw bytes.

mod consumer;
mod entry;
mod publisher;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

pub use consumer::{CommandReader, Delivery, EventConsumer, StartAt};
use publisher::Publisher;

use crate::connection::Connection;
use crate::error::Error;
use crate::keys::{Keyspace, Namespace};

/// One gateway event as the broker carries it: the dispatch name, the
/// shard that received it and its raw JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The event name (`"GUILD_CREATE"`).
    pub name: String,
    /// The shard that received it.
    pub shard: u32,
    /// The raw JSON of the event, as the gateway sent it.
    pub data: Bytes,
}

/// What the publisher has done so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct BrokerStats {
    /// Events written to the stream.
    pub published: u64,
    /// Events waiting in the buffer.
    pub buffered: usize,
    /// Events dropped because the buffer was full (Redis down or slow).
    pub dropped: u64,
}

/// Events and commands of one namespace on Redis Streams.
///
/// Cheap to clone: clones share the buffer.
///
/// ```no_run
/// use ayaka_redis::broker::StartAt;
/// use ayaka_redis::{Connection, Namespace, RedisEventBroker};
/// use std::time::Duration;
///
/// # async fn demo() -> Result<(), ayaka_redis::Error> {
/// let redis = Connection::open("unix:///run/redis/redis.sock")?;
/// let broker = RedisEventBroker::builder(redis, Namespace::new("my-bot")?).build()?;
/// // In a shard's process:
/// broker.publish("GUILD_CREATE", 0, r#"{"id":1}"#.into());
/// // In a consumer's:
/// let consumer = broker.consumer("cache", "cache-1")?;
/// consumer.create_group(StartAt::Now).await?;
/// for delivery in consumer.read(100, Duration::from_secs(1)).await? {
///     println!("{} from shard {}", delivery.event.name, delivery.event.shard);
///     consumer.ack(&[delivery.id]).await?;
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RedisEventBroker {
    redis: Connection,
    keys: Keyspace,
    publisher: Arc<Publisher>,
    command_max_len: usize,
}

/// Builds a [`RedisEventBroker`].
#[derive(Debug, Clone)]
#[must_use]
pub struct RedisEventBrokerBuilder {
    redis: Connection,
    namespace: Namespace,
    max_len: usize,
    buffer: usize,
    batch: usize,
    command_max_len: usize,
}

impl RedisEventBrokerBuilder {
    /// About how many events the stream keeps (default 100 000); older ones
    /// are trimmed (`MAXLEN ~`, so a little more may stay).
    pub fn max_len(mut self, max_len: usize) -> Self {
        self.max_len = max_len;
        self
    }

    /// How many events are held while Redis is down or slow (default
    /// 10 000); beyond it the oldest are dropped.
    pub fn buffer(mut self, events: usize) -> Self {
        self.buffer = events;
        self
    }

    /// How many events one write carries at most (default 256).
    pub fn batch(mut self, events: usize) -> Self {
        self.batch = events;
        self
    }

    /// About how many commands each shard's stream keeps (default 1 000).
    pub fn command_max_len(mut self, max_len: usize) -> Self {
        self.command_max_len = max_len;
        self
    }

    /// Builds the broker. Fails on a zero bound.
    pub fn build(self) -> Result<RedisEventBroker, Error> {
        if self.max_len == 0 || self.buffer == 0 || self.batch == 0 || self.command_max_len == 0 {
            return Err(Error::config("broker bounds must be at least 1"));
        }
        let keys = Keyspace::new(self.namespace);
        Ok(RedisEventBroker {
            publisher: Arc::new(Publisher::new(
                self.redis.clone(),
                keys.events(),
                self.max_len,
                self.buffer,
                self.batch,
            )),
            redis: self.redis,
            keys,
            command_max_len: self.command_max_len,
        })
    }
}

/// The longest consumer group or consumer name accepted.
const MAX_NAME: usize = 128;

fn check_name(name: &str) -> Result<(), Error> {
    let valid =
        !name.is_empty() && name.len() <= MAX_NAME && name.bytes().all(|b| b.is_ascii_graphic());
    if valid {
        Ok(())
    } else {
        Err(Error::config(
            "group and consumer names are 1 to 128 printable ASCII characters",
        ))
    }
}

impl RedisEventBroker {
    /// A builder for the processes sharing `namespace` on `redis`.
    pub fn builder(redis: Connection, namespace: Namespace) -> RedisEventBrokerBuilder {
        RedisEventBrokerBuilder {
            redis,
            namespace,
            max_len: 100_000,
            buffer: 10_000,
            batch: 256,
            command_max_len: 1_000,
        }
    }

    /// Queues one event for the stream. Never blocks; when the buffer is
    /// full the oldest event is dropped. Writing needs a tokio runtime
    /// (started by the first call made inside one).
    pub fn publish(&self, name: &str, shard: u32, data: Bytes) {
        self.publisher.push(Event {
            name: name.to_owned(),
            shard,
            data,
        });
    }

    /// Waits until every event published so far is written, at most
    /// `timeout`.
    pub async fn flush(&self, timeout: Duration) -> Result<(), Error> {
        self.publisher.flush(timeout).await
    }

    /// What the publisher has done.
    pub fn stats(&self) -> BrokerStats {
        self.publisher.stats()
    }

    /// A consumer `consumer` in group `group`, on a connection of its own
    /// (its reads block).
    pub fn consumer(&self, group: &str, consumer: &str) -> Result<EventConsumer, Error> {
        check_name(group)?;
        check_name(consumer)?;
        Ok(EventConsumer::new(
            &self.redis,
            self.keys.events(),
            group.to_owned(),
            consumer.to_owned(),
        ))
    }

    /// Sends a command (for example a presence update's JSON) to `shard`.
    /// Not buffered: on failure the caller decides whether to retry.
    pub async fn send_command(&self, shard: u32, data: &[u8]) -> Result<(), Error> {
        let mut cmd = redis::cmd("XADD");
        cmd.arg(self.keys.commands(shard))
            .arg("MAXLEN")
            .arg("~")
            .arg(self.command_max_len)
            .arg("*")
            .arg("d")
            .arg(data);
        let _id: String = self.redis.query(&cmd).await?;
        Ok(())
    }

    /// Reads the commands sent to `shard` from now on.
    pub async fn commands(&self, shard: u32) -> Result<CommandReader, Error> {
        CommandReader::new(&self.redis, self.keys.commands(shard)).await
    }
}
