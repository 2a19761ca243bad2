//! What a shard reports: events and lifecycle messages.

use std::{fmt, time::Duration};

use ayaka_model::gateway::{Event, EventKind};
use bytes::Bytes;

use crate::error::Error;

/// Identifies a shard within a process (or a [`ShardManager`](crate::ShardManager)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShardId(pub u32);

impl fmt::Display for ShardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shard {}", self.0)
    }
}

/// One event from the gateway, parsed on the shard's task.
#[derive(Debug, Clone)]
pub struct GatewayEvent {
    /// The shard that received it.
    pub shard_id: ShardId,
    /// The typed event.
    pub event: Event,
    /// The message as received (decompressed), for those who want the JSON.
    pub raw: Bytes,
}

impl GatewayEvent {
    /// The event's kind.
    pub fn kind(&self) -> EventKind {
        self.event.kind()
    }

    /// The event's `t`.
    pub fn name(&self) -> &str {
        self.event.name()
    }

    /// The raw JSON as text (gateway messages are UTF-8; `None` otherwise).
    pub fn raw_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.raw).ok()
    }
}

/// What a shard reports to its consumer, in order.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ShardMessage {
    /// An event arrived.
    Event(GatewayEvent),
    /// The WebSocket is open and identify was sent.
    Connected {
        /// The shard.
        shard_id: ShardId,
    },
    /// READY arrived: the shard is identified.
    Ready {
        /// The shard.
        shard_id: ShardId,
    },
    /// The connection ended.
    Disconnected {
        /// The shard.
        shard_id: ShardId,
        /// The server's close code, if it sent a close frame.
        code: Option<u16>,
    },
    /// The shard will reconnect after `delay`.
    Reconnecting {
        /// The shard.
        shard_id: ShardId,
        /// 1 for the first retry since the last READY.
        attempt: u32,
        /// How long it waits first.
        delay: Duration,
    },
    /// Something went wrong; the shard carries on unless it also reports
    /// [`ShardMessage::Closed`].
    Error {
        /// The shard.
        shard_id: ShardId,
        /// What went wrong.
        error: Error,
    },
    /// The shard has ended (the last message it sends).
    Closed {
        /// The shard.
        shard_id: ShardId,
        /// Why, if it was not asked to close.
        error: Option<Error>,
    },
}

impl ShardMessage {
    /// The shard that sent this message.
    pub fn shard_id(&self) -> ShardId {
        match self {
            Self::Event(event) => event.shard_id,
            Self::Connected { shard_id }
            | Self::Ready { shard_id }
            | Self::Disconnected { shard_id, .. }
            | Self::Reconnecting { shard_id, .. }
            | Self::Error { shard_id, .. }
            | Self::Closed { shard_id, .. } => *shard_id,
        }
    }

    /// The event, if this is one.
    pub fn as_event(&self) -> Option<&GatewayEvent> {
        match self {
            Self::Event(event) => Some(event),
            _ => None,
        }
    }

    /// The event, if this is one.
    pub fn into_event(self) -> Option<GatewayEvent> {
        match self {
            Self::Event(event) => Some(event),
            _ => None,
        }
    }
}
