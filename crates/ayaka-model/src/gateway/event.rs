use ayaka_snowflake::{GuildId, UserId};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::{Map, Value};

use crate::{Channel, Error, Guild, GuildDeleted, Invite, Notification, Presence, User, json};

/// A message from the gateway server.
///
/// Parse with [`Event::from_json`] (one pass over the envelope, the payload
/// decoded straight into its type); write with [`Event::to_json`], which
/// gives the documented envelope, irregular shapes included:
///
/// ```
/// use ayaka_model::gateway::Event;
///
/// let bytes = br#"{"t": "PRESENCE_UPDATE", "id": 1, "d": {"type": 2}}"#;
/// let Event::PresenceUpdate(update) = Event::from_json(bytes)? else { unreachable!() };
/// assert_eq!(update.user_id.get(), 1);
/// assert_eq!(Event::PresenceUpdate(update).to_json()?, br#"{"t":"PRESENCE_UPDATE","id":1,"d":{"type":2}}"#);
///
/// // names this library does not know are kept, with their JSON
/// let event = Event::from_json(br#"{"t": "MESSAGE_CREATE", "d": {"content": "hi"}}"#)?;
/// assert_eq!(event.name(), "MESSAGE_CREATE");
/// # Ok::<(), ayaka_model::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// `HELLO`: the deployed server's greeting before READY (quirk; the
    /// documents do not have it).
    Hello(Hello),
    /// `READY`: the current user, with its session ids.
    Ready(Box<User>),
    /// `GUILD_INIT`: one per guild of the user after READY, with channels.
    GuildInit(Box<Guild>),
    /// `GUILD_CREATE`: the user created a guild.
    GuildCreate(Box<Guild>),
    /// `GUILD_JOIN`: the user joined a guild (with channels).
    GuildJoin(Box<Guild>),
    /// `GUILD_UPDATE`: a guild of the user changed.
    GuildUpdate(Box<Guild>),
    /// `GUILD_DELETE`: a guild of the user was deleted.
    GuildDelete(GuildDeleted),
    /// `INVITE_CREATE`: someone created an invite to a guild of the user.
    InviteCreate(Invite),
    /// `CHANNEL_CREATE`: a channel was created in a guild of the user.
    ChannelCreate(Channel),
    /// `PRESENCE_UPDATE`: a user sharing a guild changed presence.
    PresenceUpdate(PresenceUpdate),
    /// `NOTIFICATION`: something for the user's attention.
    Notification(Notification),
    /// `ACK`: the deployed server's answer to `{"t": "HEARTBEAT"}` (quirk).
    HeartbeatAck,
    /// An event this library does not know, kept with its JSON.
    Unknown(UnknownEvent),
}

/// Which [`Event`] it is, without its data: for dispatch tables and
/// filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum EventKind {
    /// [`Event::Hello`].
    Hello,
    /// [`Event::Ready`].
    Ready,
    /// [`Event::GuildInit`].
    GuildInit,
    /// [`Event::GuildCreate`].
    GuildCreate,
    /// [`Event::GuildJoin`].
    GuildJoin,
    /// [`Event::GuildUpdate`].
    GuildUpdate,
    /// [`Event::GuildDelete`].
    GuildDelete,
    /// [`Event::InviteCreate`].
    InviteCreate,
    /// [`Event::ChannelCreate`].
    ChannelCreate,
    /// [`Event::PresenceUpdate`].
    PresenceUpdate,
    /// [`Event::Notification`].
    Notification,
    /// [`Event::HeartbeatAck`].
    HeartbeatAck,
    /// [`Event::Unknown`].
    Unknown,
}

impl EventKind {
    /// Every kind, in declaration order.
    pub const ALL: [EventKind; 13] = [
        Self::Hello,
        Self::Ready,
        Self::GuildInit,
        Self::GuildCreate,
        Self::GuildJoin,
        Self::GuildUpdate,
        Self::GuildDelete,
        Self::InviteCreate,
        Self::ChannelCreate,
        Self::PresenceUpdate,
        Self::Notification,
        Self::HeartbeatAck,
        Self::Unknown,
    ];

    /// The kind's place in [`EventKind::ALL`].
    pub(crate) const fn index(self) -> u32 {
        match self {
            Self::Hello => 0,
            Self::Ready => 1,
            Self::GuildInit => 2,
            Self::GuildCreate => 3,
            Self::GuildJoin => 4,
            Self::GuildUpdate => 5,
            Self::GuildDelete => 6,
            Self::InviteCreate => 7,
            Self::ChannelCreate => 8,
            Self::PresenceUpdate => 9,
            Self::Notification => 10,
            Self::HeartbeatAck => 11,
            Self::Unknown => 12,
        }
    }

    /// The `t` of this kind; `None` for [`EventKind::Unknown`].
    pub const fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::Hello => "HELLO",
            Self::Ready => "READY",
            Self::GuildInit => "GUILD_INIT",
            Self::GuildCreate => "GUILD_CREATE",
            Self::GuildJoin => "GUILD_JOIN",
            Self::GuildUpdate => "GUILD_UPDATE",
            Self::GuildDelete => "GUILD_DELETE",
            Self::InviteCreate => "INVITE_CREATE",
            Self::ChannelCreate => "CHANNEL_CREATE",
            Self::PresenceUpdate => "PRESENCE_UPDATE",
            Self::Notification => "NOTIFICATION",
            Self::HeartbeatAck => "ACK",
            Self::Unknown => return None,
        })
    }

    /// The kind of the event named `name`; [`EventKind::Unknown`] when the
    /// name is not one this library knows.
    pub fn from_name(name: &str) -> Self {
        match name {
            "HELLO" => Self::Hello,
            "READY" => Self::Ready,
            "GUILD_INIT" => Self::GuildInit,
            "GUILD_CREATE" => Self::GuildCreate,
            "GUILD_JOIN" => Self::GuildJoin,
            "GUILD_UPDATE" => Self::GuildUpdate,
            "GUILD_DELETE" => Self::GuildDelete,
            "INVITE_CREATE" => Self::InviteCreate,
            "CHANNEL_CREATE" => Self::ChannelCreate,
            "PRESENCE_UPDATE" => Self::PresenceUpdate,
            "NOTIFICATION" => Self::Notification,
            "ACK" => Self::HeartbeatAck,
            _ => Self::Unknown,
        }
    }
}

/// The deployed server's `HELLO`: `{"t": "HELLO", "s": ..., "d": null,
/// "i": ...}`. Its fields are undocumented, so they are kept as JSON.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hello {
    /// The top-level `s` (an id, as observed).
    pub s: Option<Value>,
    /// The top-level `i` (a notice, as observed).
    pub i: Option<Value>,
}

/// A PRESENCE_UPDATE: whose presence (the envelope's top-level `id`) and
/// what it is now (`d`). Written only inside its [`Event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceUpdate {
    /// The user whose presence changed.
    pub user_id: UserId,
    /// The new presence.
    pub presence: Presence,
}

/// An event whose name this library does not know: the name and the whole
/// envelope as JSON, written back unchanged.
#[derive(Debug, Clone, PartialEq)]
pub struct UnknownEvent {
    name: String,
    raw: Map<String, Value>,
}

impl UnknownEvent {
    /// An event named `name` with `d` set to `data` (no `d` when `None`).
    pub fn new(name: impl Into<String>, data: Option<Value>) -> Self {
        let name = name.into();
        let mut raw = Map::new();
        raw.insert("t".to_owned(), Value::String(name.clone()));
        if let Some(data) = data {
            raw.insert("d".to_owned(), data);
        }
        Self { name, raw }
    }

    /// Builds from a parsed envelope; `raw` already holds `t`.
    pub(crate) fn from_parts(name: String, raw: Map<String, Value>) -> Self {
        Self { name, raw }
    }

    /// The event's `t`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The event's `d`, if it had one.
    pub fn data(&self) -> Option<&Value> {
        self.raw.get("d")
    }

    /// The whole envelope, `t` included.
    pub fn raw(&self) -> &Map<String, Value> {
        &self.raw
    }
}

impl Event {
    /// Parses one gateway message with serde_json.
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        json::from_bytes(bytes)
    }

    /// Parses one gateway message with serde_json, building the event only
    /// if its kind is in `wanted` (see [`EventFilter`](super::EventFilter)).
    ///
    /// ```
    /// use ayaka_model::gateway::{Decoded, Event, EventKind, EventKinds};
    ///
    /// let wanted = EventKinds::from(EventKind::GuildDelete);
    /// let presence = br#"{"t": "PRESENCE_UPDATE", "id": 1, "d": {"type": 2}}"#;
    /// assert_eq!(Event::from_json_wanted(presence, wanted)?, Decoded::Skipped(EventKind::PresenceUpdate));
    /// // a malformed message is an error even when skipped
    /// assert!(Event::from_json_wanted(br#"{"t": "PRESENCE_UPDATE", "d": [}"#, wanted).is_err());
    /// # Ok::<(), ayaka_model::Error>(())
    /// ```
    pub fn from_json_wanted(
        bytes: &[u8],
        wanted: super::EventKinds,
    ) -> Result<super::Decoded, Error> {
        json::from_bytes_seed(super::EventFilter::new(wanted), bytes)
    }

    /// Parses one gateway message held in a string.
    pub fn from_json_str(text: &str) -> Result<Self, Error> {
        json::from_str(text)
    }

    /// Parses one gateway message in place, with simd-json when the
    /// `simd-json` feature is on (see [`json::from_slice`]).
    pub fn from_json_mut(bytes: &mut [u8]) -> Result<Self, Error> {
        json::from_slice(bytes)
    }

    /// Writes the event as its envelope, compact JSON.
    pub fn to_json(&self) -> Result<Vec<u8>, Error> {
        json::to_vec(self)
    }

    /// The event's kind.
    pub fn kind(&self) -> EventKind {
        match self {
            Self::Hello(_) => EventKind::Hello,
            Self::Ready(_) => EventKind::Ready,
            Self::GuildInit(_) => EventKind::GuildInit,
            Self::GuildCreate(_) => EventKind::GuildCreate,
            Self::GuildJoin(_) => EventKind::GuildJoin,
            Self::GuildUpdate(_) => EventKind::GuildUpdate,
            Self::GuildDelete(_) => EventKind::GuildDelete,
            Self::InviteCreate(_) => EventKind::InviteCreate,
            Self::ChannelCreate(_) => EventKind::ChannelCreate,
            Self::PresenceUpdate(_) => EventKind::PresenceUpdate,
            Self::Notification(_) => EventKind::Notification,
            Self::HeartbeatAck => EventKind::HeartbeatAck,
            Self::Unknown(_) => EventKind::Unknown,
        }
    }

    /// The event's `t`, as sent.
    pub fn name(&self) -> &str {
        match self {
            Self::Unknown(unknown) => unknown.name(),
            other => other.kind().name().unwrap_or_default(),
        }
    }

    /// The guild the event is about, when it is about one.
    pub fn guild_id(&self) -> Option<GuildId> {
        match self {
            Self::GuildInit(guild)
            | Self::GuildCreate(guild)
            | Self::GuildJoin(guild)
            | Self::GuildUpdate(guild) => Some(guild.id),
            Self::GuildDelete(deleted) => Some(deleted.id),
            Self::InviteCreate(invite) => Some(invite.guild_id),
            Self::ChannelCreate(channel) => channel.guild_id(),
            _ => None,
        }
    }
}

impl std::str::FromStr for Event {
    type Err = Error;

    /// Same as [`Event::from_json_str`].
    fn from_str(text: &str) -> Result<Self, Error> {
        Self::from_json_str(text)
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if let Self::Unknown(unknown) = self {
            return unknown.raw.serialize(serializer);
        }
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("t", self.name())?;
        match self {
            Self::Hello(hello) => {
                if let Some(s) = &hello.s {
                    map.serialize_entry("s", s)?;
                }
                map.serialize_entry("d", &())?;
                if let Some(i) = &hello.i {
                    map.serialize_entry("i", i)?;
                }
            }
            Self::Ready(user) => map.serialize_entry("d", user)?,
            Self::GuildInit(guild)
            | Self::GuildCreate(guild)
            | Self::GuildJoin(guild)
            | Self::GuildUpdate(guild) => map.serialize_entry("d", guild)?,
            Self::GuildDelete(deleted) => map.serialize_entry("d", deleted)?,
            Self::InviteCreate(invite) => map.serialize_entry("d", invite)?,
            Self::ChannelCreate(channel) => map.serialize_entry("d", channel)?,
            Self::PresenceUpdate(update) => {
                map.serialize_entry("id", &update.user_id)?;
                map.serialize_entry("d", &update.presence)?;
            }
            Self::Notification(notification) => {
                map.serialize_entry("type", &notification.kind)?;
                map.serialize_entry("excerpt", &notification.excerpt)?;
            }
            Self::HeartbeatAck | Self::Unknown(_) => {}
        }
        map.end()
    }
}
