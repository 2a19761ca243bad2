//! What a shard reports: events and lifecycle messages.

use std::time::Duration;

use crate::{error::Error, received::ReceivedEvent, shard_id::ShardId};

/// What a shard reports to its consumer, in order.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ShardMessage {
    /// An event arrived.
    Event(ReceivedEvent),
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
        /// The reason in the server's close frame (empty without one).
        reason: String,
    },
    /// The shard will reconnect after `delay`.
    Reconnecting {
        /// The shard.
        shard_id: ShardId,
        /// 1 for the first retry since the backoff last started over: it
        /// does so once a connection stayed ready for
        /// [`reset_backoff_after`](crate::ShardConfigBuilder::reset_backoff_after).
        attempt: u32,
        /// How long it waits first.
        delay: Duration,
    },
    /// Something went wrong; the shard carries on unless it also reports
    /// [`ShardMessage::Closed`]. A [`Dispatcher`](crate::Dispatcher) also
    /// reports a listener that panicked this way
    /// ([`ErrorKind::ListenerPanicked`](crate::ErrorKind::ListenerPanicked)).
    Error {
        /// The shard.
        shard_id: ShardId,
        /// What went wrong.
        error: Error,
    },
    /// The shard has ended (the last message it sends), whether it was
    /// asked to or ended by itself: a fatal close code, no reconnects
    /// allowed, or its task panicked
    /// ([`ErrorKind::ShardPanicked`](crate::ErrorKind::ShardPanicked)).
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
    pub fn as_event(&self) -> Option<&ReceivedEvent> {
        match self {
            Self::Event(event) => Some(event),
            _ => None,
        }
    }

    /// The event, if this is one.
    pub fn into_event(self) -> Option<ReceivedEvent> {
        match self {
            Self::Event(event) => Some(event),
            _ => None,
        }
    }
}
