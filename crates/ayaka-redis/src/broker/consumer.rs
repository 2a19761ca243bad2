//! The reading side: consumer groups on the event stream, and one plain
//! reader per shard's command stream.

use std::time::Duration;

use ayaka_model::gateway::ClientCommand;
use bytes::Bytes;
use redis::Value;

use super::Event;
use super::entry;
use crate::connection::{Connection, MAX_BLOCK};
use crate::error::Error;

/// One event read from the stream, to [`EventConsumer::ack`] once handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The stream entry id (`"1700000000000-0"`).
    pub id: String,
    /// The event.
    pub event: Event,
}

/// Where a new consumer group starts reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// With events published after the group is created.
    Now,
    /// With the oldest event the stream still holds.
    Beginning,
}

/// A consumer in a consumer group of the event stream.
///
/// Consumers of one group share the events (each goes to one of them);
/// every group gets every event. Reads block on a connection of the
/// consumer's own.
#[derive(Debug, Clone)]
pub struct EventConsumer {
    /// For reads, which block.
    reads: Connection,
    /// For everything else.
    redis: Connection,
    stream: String,
    group: String,
    consumer: String,
}

impl EventConsumer {
    pub(super) fn new(redis: &Connection, stream: String, group: String, consumer: String) -> Self {
        Self {
            reads: redis.dedicated(),
            redis: redis.clone(),
            stream,
            group,
            consumer,
        }
    }

    /// The group's name.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// The consumer's name.
    pub fn name(&self) -> &str {
        &self.consumer
    }

    /// Creates the group (and the stream) if it does not exist yet.
    pub async fn create_group(&self, start: StartAt) -> Result<(), Error> {
        let mut cmd = redis::cmd("XGROUP");
        cmd.arg("CREATE")
            .arg(&self.stream)
            .arg(&self.group)
            .arg(match start {
                StartAt::Now => "$",
                StartAt::Beginning => "0",
            })
            .arg("MKSTREAM");
        match self.redis.query::<()>(&cmd).await {
            Ok(()) => Ok(()),
            Err(error) if error.to_string().contains("BUSYGROUP") => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Reads up to `count` events not yet given to any consumer of the
    /// group, waiting up to `block` (at most 60 s) for the first one.
    ///
    /// A group that is gone (Redis restarted empty) is created again,
    /// reading from the oldest event the new stream holds.
    pub async fn read(&self, count: usize, block: Duration) -> Result<Vec<Delivery>, Error> {
        let block = block.min(MAX_BLOCK);
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(&self.group)
            .arg(&self.consumer)
            .arg("COUNT")
            .arg(count.max(1))
            .arg("BLOCK")
            .arg(u64::try_from(block.as_millis()).unwrap_or(u64::MAX).max(1))
            .arg("STREAMS")
            .arg(&self.stream)
            .arg(">");
        let reply: Value = match self.reads.query_blocking(&cmd, block).await {
            Err(error) if error.to_string().contains("NOGROUP") => {
                tracing::warn!(
                    group = self.group,
                    "the consumer group is gone (Redis restarted empty?); creating it again"
                );
                self.create_group(StartAt::Beginning).await?;
                self.reads.query_blocking(&cmd, block).await?
            }
            other => other?,
        };
        self.deliveries(entry::read_reply(&reply)).await
    }

    /// Takes over up to `count` events that another consumer of the group
    /// read but has not acknowledged for `min_idle` (it died, or hangs).
    pub async fn reclaim(&self, min_idle: Duration, count: usize) -> Result<Vec<Delivery>, Error> {
        let mut cmd = redis::cmd("XAUTOCLAIM");
        cmd.arg(&self.stream)
            .arg(&self.group)
            .arg(&self.consumer)
            .arg(u64::try_from(min_idle.as_millis()).unwrap_or(u64::MAX))
            .arg("0-0")
            .arg("COUNT")
            .arg(count.max(1));
        let reply: Value = self.redis.query(&cmd).await?;
        self.deliveries(entry::autoclaim_reply(&reply)).await
    }

    /// Marks events handled. Returns how many were pending.
    pub async fn ack(&self, ids: &[String]) -> Result<u64, Error> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut cmd = redis::cmd("XACK");
        cmd.arg(&self.stream).arg(&self.group).arg(ids);
        self.redis.query(&cmd).await
    }

    /// Events read by this consumer and not acknowledged yet.
    pub async fn pending(&self) -> Result<u64, Error> {
        let mut cmd = redis::cmd("XPENDING");
        cmd.arg(&self.stream)
            .arg(&self.group)
            .arg("-")
            .arg("+")
            .arg(10_000)
            .arg(&self.consumer);
        let reply: Value = self.redis.query(&cmd).await?;
        Ok(match reply {
            Value::Array(entries) => entries.len() as u64,
            _ => 0,
        })
    }

    /// Parses entries; ones not in the broker's format are acknowledged and
    /// skipped, so they cannot come back forever.
    async fn deliveries(&self, entries: Vec<&Value>) -> Result<Vec<Delivery>, Error> {
        let mut deliveries = Vec::with_capacity(entries.len());
        let mut foreign = Vec::new();
        for value in entries {
            match entry::event_entry(value) {
                Some(delivery) => deliveries.push(delivery),
                None => {
                    if let Some(id) = foreign_id(value) {
                        foreign.push(id);
                    }
                }
            }
        }
        if !foreign.is_empty() {
            tracing::warn!(
                count = foreign.len(),
                "skipping stream entries the broker did not write"
            );
            self.ack(&foreign).await?;
        }
        Ok(deliveries)
    }
}

fn foreign_id(value: &Value) -> Option<String> {
    match value {
        Value::Array(items) => items.first().and_then(entry::text),
        _ => None,
    }
}

/// Reads the commands sent to one shard, oldest first, from the moment it
/// was made.
#[derive(Debug)]
pub struct CommandReader {
    reads: Connection,
    stream: String,
    last_id: String,
}

impl CommandReader {
    pub(super) async fn new(redis: &Connection, stream: String) -> Result<Self, Error> {
        // Start after the newest command already there.
        let mut cmd = redis::cmd("XREVRANGE");
        cmd.arg(&stream).arg("+").arg("-").arg("COUNT").arg(1);
        let reply: Value = redis.query(&cmd).await?;
        let last_id = match &reply {
            Value::Array(entries) => entries
                .first()
                .and_then(foreign_id)
                .unwrap_or_else(|| "0-0".to_owned()),
            _ => "0-0".to_owned(),
        };
        Ok(Self {
            reads: redis.dedicated(),
            stream,
            last_id,
        })
    }

    /// Up to `count` commands, waiting up to `block` (at most 60 s) for
    /// the first. Entries that are not a [`ClientCommand`] are skipped and
    /// logged.
    pub async fn read(
        &mut self,
        count: usize,
        block: Duration,
    ) -> Result<Vec<ClientCommand>, Error> {
        let raw = self.read_raw(count, block).await?;
        let mut commands = Vec::with_capacity(raw.len());
        for data in raw {
            match ClientCommand::from_json(&data) {
                Ok(command) => commands.push(command),
                Err(error) => {
                    tracing::warn!(%error, bytes = data.len(), "skipping a command that does not parse");
                }
            }
        }
        Ok(commands)
    }

    /// Up to `count` commands as raw bytes, waiting up to `block` (at most
    /// 60 s) for the first.
    pub async fn read_raw(&mut self, count: usize, block: Duration) -> Result<Vec<Bytes>, Error> {
        let block = block.min(MAX_BLOCK);
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT")
            .arg(count.max(1))
            .arg("BLOCK")
            .arg(u64::try_from(block.as_millis()).unwrap_or(u64::MAX).max(1))
            .arg("STREAMS")
            .arg(&self.stream)
            .arg(&self.last_id);
        let reply: Value = self.reads.query_blocking(&cmd, block).await?;
        let mut commands = Vec::new();
        for value in entry::read_reply(&reply) {
            if let Some(id) = foreign_id(value) {
                self.last_id = id;
            }
            if let Some((_, data)) = entry::command_entry(value) {
                commands.push(data);
            }
        }
        Ok(commands)
    }
}
