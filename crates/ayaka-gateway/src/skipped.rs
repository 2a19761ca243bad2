//! An event a shard was not asked for, as its JSON.

use std::fmt;

use ayaka_model::gateway::EventKind;
use bytes::Bytes;

use crate::shard_id::ShardId;

/// An event of a kind outside a shard's [`events`](crate::ShardConfigBuilder::events),
/// delivered undecoded as [`ShardMessage::Skipped`](crate::ShardMessage::Skipped)
/// when the shard was asked to
/// ([`deliver_skipped`](crate::ShardConfigBuilder::deliver_skipped)).
///
/// ```
/// use ayaka_gateway::{ShardId, SkippedEvent};
/// use ayaka_model::gateway::EventKind;
///
/// let raw = br#"{"t":"MESSAGE_CREATE","d":{"content":"hi"}}"#;
/// let skipped = SkippedEvent::new(ShardId(0), EventKind::Unknown, bytes::Bytes::from_static(raw));
/// assert_eq!(skipped.name().as_deref(), Some("MESSAGE_CREATE"));
/// assert_eq!(skipped.raw_str(), std::str::from_utf8(raw).ok());
/// ```
///
/// Its `Debug` shows the kind and the JSON's length, not the JSON (a
/// skipped READY carries the session).
#[derive(Clone, PartialEq, Eq)]
pub struct SkippedEvent {
    shard_id: ShardId,
    kind: EventKind,
    raw: Bytes,
}

impl SkippedEvent {
    /// An event of `kind` received by `shard_id` as `raw`.
    pub fn new(shard_id: ShardId, kind: EventKind, raw: Bytes) -> Self {
        Self {
            shard_id,
            kind,
            raw,
        }
    }

    /// The shard that received it.
    pub fn shard_id(&self) -> ShardId {
        self.shard_id
    }

    /// Its kind ([`EventKind::Unknown`] for a name this library does not
    /// know).
    pub fn kind(&self) -> EventKind {
        self.kind
    }

    /// Its `t`: the kind's name, or for an unknown event the name read
    /// from the JSON (`None` if that fails).
    pub fn name(&self) -> Option<std::borrow::Cow<'static, str>> {
        if let Some(name) = self.kind.name() {
            return Some(name.into());
        }
        #[derive(serde::Deserialize)]
        struct Name {
            t: String,
        }
        serde_json::from_slice::<Name>(&self.raw)
            .ok()
            .map(|name| name.t.into())
    }

    /// The message as received (decompressed).
    pub fn raw(&self) -> &Bytes {
        &self.raw
    }

    /// The raw JSON as text (gateway messages are UTF-8; `None` otherwise).
    pub fn raw_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.raw).ok()
    }
}

impl fmt::Debug for SkippedEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SkippedEvent")
            .field("shard_id", &self.shard_id)
            .field("kind", &self.kind)
            .field("raw_len", &self.raw.len())
            .finish()
    }
}
