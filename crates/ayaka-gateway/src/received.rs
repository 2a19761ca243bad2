//! One event as the consumer receives it.

use ayaka_model::gateway::{Event, EventKind};
use bytes::Bytes;

use crate::shard_id::ShardId;

/// One event from the gateway, parsed on the shard's task, with where it
/// came from and the JSON it was parsed from.
///
/// ```
/// use ayaka_gateway::{ReceivedEvent, ShardId};
/// use ayaka_model::gateway::{Event, EventKind};
///
/// let raw = br#"{"t":"GUILD_DELETE","d":{"id":1}}"#;
/// let received = ReceivedEvent {
///     shard_id: ShardId(0),
///     event: ayaka_gateway::parse_event(raw)?,
///     raw: bytes::Bytes::from_static(raw),
/// };
/// assert_eq!(received.kind(), EventKind::GuildDelete);
/// assert!(matches!(received.event, Event::GuildDelete(_)));
/// # Ok::<(), ayaka_gateway::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ReceivedEvent {
    /// The shard that received it.
    pub shard_id: ShardId,
    /// The typed event.
    pub event: Event,
    /// The message as received (decompressed), for those who want the JSON.
    pub raw: Bytes,
}

impl ReceivedEvent {
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

    /// The typed event, without the rest.
    pub fn into_event(self) -> Event {
        self.event
    }
}
