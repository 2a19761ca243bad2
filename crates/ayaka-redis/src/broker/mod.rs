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
//!   ([`RedisEventBroker::send_command`]); in the shard's process a
//!   [`CommandRelay`] applies them to the shard, or a [`CommandReader`]
//!   reads them.
//!
//! With ayaka-gateway: shards publish what they receive with
//! [`RedisEventBroker::publish_message`] (every event with its raw JSON, and
//! a shard's end), and a consumer turns each delivery back into the
//! [`ShardMessage`] the shard reported ([`Event::to_message`]), so that an
//! `ayaka-cache` fed from the stream holds what one fed from the shards
//! does.

mod consumer;
mod entry;
mod publisher;
mod relay;

use std::sync::Arc;
use std::time::Duration;

use ayaka_gateway::{ReceivedEvent, ShardId, ShardMessage};
use ayaka_model::gateway::ClientCommand;
use bytes::Bytes;

pub use consumer::{CommandReader, Delivery, EventConsumer, StartAt};
use publisher::Publisher;
pub use relay::CommandRelay;

use crate::connection::Connection;
use crate::error::{Error, ErrorKind};
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

impl Event {
    /// The name of the entry that says a shard's session ended (its
    /// [`ShardMessage::Closed`]); no gateway event has a name like it.
    pub const CLOSED: &'static str = "@closed";

    /// Whether this entry says the shard's session ended rather than
    /// carrying an event.
    pub fn is_closed(&self) -> bool {
        self.name == Self::CLOSED
    }

    /// The message the shard reported: the event parsed from its raw JSON
    /// (exactly as the shard parses it), or [`ShardMessage::Closed`] for the
    /// entry of a shard's end. Feed it to a cache with `cache.update(&message)`
    /// as you would the shard's own messages.
    ///
    /// Fails with [`ErrorKind::Protocol`] when the JSON is not a gateway
    /// event (another program wrote the entry).
    pub fn to_message(&self) -> Result<ShardMessage, Error> {
        let shard_id = ShardId(self.shard);
        if self.is_closed() {
            return Ok(ShardMessage::Closed {
                shard_id,
                error: None,
            });
        }
        let event = ayaka_gateway::parse_event(&self.data)
            .map_err(|error| Error::with_source(ErrorKind::Protocol, error))?;
        Ok(ShardMessage::Event(ReceivedEvent {
            shard_id,
            event,
            raw: self.data.clone(),
        }))
    }
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

    /// Queues a shard's event for the stream: its name, shard and raw JSON
    /// (see [`publish`](Self::publish)).
    pub fn publish_event(&self, received: &ReceivedEvent) {
        self.publish(received.name(), received.shard_id.0, received.raw.clone());
    }

    /// Queues what a shard reported, for consumers to see what it saw:
    /// every event ([`publish_event`](Self::publish_event)) and the end of
    /// its session ([`ShardMessage::Closed`], an entry named
    /// [`Event::CLOSED`]); the other lifecycle reports stay in the shard's
    /// process. Returns whether anything was queued.
    ///
    /// ```no_run
    /// # async fn run(mut manager: ayaka_gateway::ShardManager, broker: ayaka_redis::RedisEventBroker) {
    /// while let Some(message) = manager.next_message().await {
    ///     broker.publish_message(&message);
    /// }
    /// # }
    /// ```
    pub fn publish_message(&self, message: &ShardMessage) -> bool {
        match message {
            ShardMessage::Event(received) => {
                self.publish_event(received);
                true
            }
            ShardMessage::Closed { shard_id, .. } => {
                self.publish(Event::CLOSED, shard_id.0, Bytes::new());
                true
            }
            _ => false,
        }
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

    /// Sends a command (a presence update, say) to `shard`, in whichever
    /// process runs it (its [`CommandRelay`] applies it). Not buffered: on
    /// failure the caller decides whether to retry.
    ///
    /// ```no_run
    /// use ayaka_gateway::ShardId;
    /// use ayaka_model::gateway::ClientCommand;
    /// use ayaka_model::{Presence, PresenceType};
    ///
    /// # async fn run(broker: ayaka_redis::RedisEventBroker) -> Result<(), ayaka_redis::Error> {
    /// let presence = Presence::new(PresenceType::Idle).description("away");
    /// broker.send_command(ShardId(3), &ClientCommand::PresenceUpdate(presence)).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send_command(&self, shard: ShardId, command: &ClientCommand) -> Result<(), Error> {
        let json = command
            .to_json()
            .map_err(|error| Error::with_source(ErrorKind::Config, error))?;
        self.send_raw_command(shard, &json).await
    }

    /// Sends raw bytes as a command to `shard`. Readers skip (and log) what
    /// does not parse as a [`ClientCommand`].
    pub async fn send_raw_command(&self, shard: ShardId, data: &[u8]) -> Result<(), Error> {
        let mut cmd = redis::cmd("XADD");
        cmd.arg(self.keys.commands(shard.0))
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
    pub async fn commands(&self, shard: ShardId) -> Result<CommandReader, Error> {
        CommandReader::new(&self.redis, self.keys.commands(shard.0)).await
    }

    /// Applies the commands sent to the shard behind `handle` from now on,
    /// on a task of its own, until the shard ends or the relay is dropped.
    /// Run one per shard, in the shard's process.
    ///
    /// ```no_run
    /// # async fn run(manager: ayaka_gateway::ShardManager, broker: ayaka_redis::RedisEventBroker) -> Result<(), ayaka_redis::Error> {
    /// let mut relays = Vec::new();
    /// for shard in manager.shards() {
    ///     if let Some(handle) = manager.shard(shard.id) {
    ///         relays.push(broker.relay_commands(handle.clone()).await?);
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn relay_commands(
        &self,
        handle: ayaka_gateway::ShardHandle,
    ) -> Result<CommandRelay, Error> {
        let reader = self.commands(handle.id()).await?;
        Ok(CommandRelay::spawn(reader, handle))
    }
}
