//! Reading an event envelope in one pass.
//!
//! The name `t` usually comes first; then `d` is decoded straight into its
//! type. When `d` comes first it is buffered as JSON and decoded once the
//! name is known. Top-level fields of the irregular events (`id`, `type`,
//! `excerpt`) and of the deployed server's HELLO (`s`, `i`) are small and
//! kept as JSON until the end; other fields are skipped unless the event is
//! unknown, in which case everything is kept.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, de::value::MapAccessDeserializer};
use serde_json::{Map, Value};

use super::event::{Event, EventKind, Hello, PresenceUpdate, UnknownEvent};
use crate::{Channel, Guild, GuildDeleted, Invite, Notification, NotificationType, Presence, User};

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EnvelopeVisitor)
    }
}

/// The envelope's `t`: a kind, or the unknown name.
enum Name {
    Known(EventKind),
    Unknown(String),
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;

        impl Visitor<'_> for NameVisitor {
            type Value = Name;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an event name string")
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<Name, E> {
                Ok(match EventKind::from_name(name) {
                    EventKind::Unknown => Name::Unknown(name.to_owned()),
                    kind => Name::Known(kind),
                })
            }
        }

        deserializer.deserialize_str(NameVisitor)
    }
}

/// A top-level key of the envelope.
enum Key {
    T,
    D,
    Id,
    Type,
    Excerpt,
    S,
    I,
    Other(String),
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl Visitor<'_> for KeyVisitor {
            type Value = Key;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }

            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
                Ok(match key {
                    "t" => Key::T,
                    "d" => Key::D,
                    "id" => Key::Id,
                    "type" => Key::Type,
                    "excerpt" => Key::Excerpt,
                    "s" => Key::S,
                    "i" => Key::I,
                    other => Key::Other(other.to_owned()),
                })
            }
        }

        deserializer.deserialize_identifier(KeyVisitor)
    }
}

/// `d` decoded into the type its event kind calls for.
enum Data {
    User(Box<User>),
    Guild(Box<Guild>),
    GuildDeleted(GuildDeleted),
    Invite(Invite),
    Channel(Channel),
    Presence(Presence),
    /// Kinds whose `d` carries nothing (HELLO, ACK, NOTIFICATION).
    Ignored,
}

/// `d` before the name was known, or of an unknown event.
enum Payload {
    Typed(Data),
    Raw(Value),
}

/// Decodes `d` for a known kind.
#[derive(Clone, Copy)]
struct DataSeed(EventKind);

impl<'de> DeserializeSeed<'de> for DataSeed {
    type Value = Data;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Data, D::Error> {
        Ok(match self.0 {
            EventKind::Ready => Data::User(Box::new(deserializer.deserialize_any(ReadyUser)?)),
            EventKind::GuildInit
            | EventKind::GuildCreate
            | EventKind::GuildJoin
            | EventKind::GuildUpdate => Data::Guild(Box::new(Guild::deserialize(deserializer)?)),
            EventKind::GuildDelete => Data::GuildDeleted(GuildDeleted::deserialize(deserializer)?),
            EventKind::InviteCreate => Data::Invite(Invite::deserialize(deserializer)?),
            EventKind::ChannelCreate => Data::Channel(Channel::deserialize(deserializer)?),
            EventKind::PresenceUpdate => Data::Presence(Presence::deserialize(deserializer)?),
            EventKind::Hello
            | EventKind::HeartbeatAck
            | EventKind::Notification
            | EventKind::Unknown => {
                IgnoredAny::deserialize(deserializer)?;
                Data::Ignored
            }
        })
    }
}

/// READY's user: an object, or (deployed-server quirk) a string holding
/// the object's JSON.
struct ReadyUser;

impl<'de> Visitor<'de> for ReadyUser {
    type Value = User;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a user object or a string of its JSON")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<User, A::Error> {
        User::deserialize(MapAccessDeserializer::new(map))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<User, E> {
        crate::json::from_str(text).map_err(E::custom)
    }
}

/// The top-level fields besides `t` and `d`.
#[derive(Default)]
struct TopLevel {
    id: Option<Value>,
    kind: Option<Value>,
    excerpt: Option<Value>,
    s: Option<Value>,
    i: Option<Value>,
    /// Other fields, kept only while the event may turn out unknown.
    other: Map<String, Value>,
}

struct EnvelopeVisitor;

impl<'de> Visitor<'de> for EnvelopeVisitor {
    type Value = Event;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event envelope object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Event, A::Error> {
        let mut name: Option<Name> = None;
        let mut payload: Option<Payload> = None;
        let mut top = TopLevel::default();
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::T => {
                    if name.is_some() {
                        return Err(de::Error::duplicate_field("t"));
                    }
                    name = Some(map.next_value()?);
                    if matches!(name, Some(Name::Known(_))) {
                        top.other = Map::new();
                    }
                }
                Key::D => {
                    if payload.is_some() {
                        return Err(de::Error::duplicate_field("d"));
                    }
                    payload = Some(match &name {
                        Some(Name::Known(kind)) => {
                            Payload::Typed(map.next_value_seed(DataSeed(*kind))?)
                        }
                        _ => Payload::Raw(map.next_value()?),
                    });
                }
                Key::Id => top.id = Some(map.next_value()?),
                Key::Type => top.kind = Some(map.next_value()?),
                Key::Excerpt => top.excerpt = Some(map.next_value()?),
                Key::S => top.s = Some(map.next_value()?),
                Key::I => top.i = Some(map.next_value()?),
                Key::Other(key) => {
                    if matches!(name, Some(Name::Known(_))) {
                        map.next_value::<IgnoredAny>()?;
                    } else {
                        top.other.insert(key, map.next_value()?);
                    }
                }
            }
        }
        match name {
            None => Err(de::Error::missing_field("t")),
            Some(Name::Unknown(name)) => Ok(Event::Unknown(unknown(name, payload, top))),
            Some(Name::Known(kind)) => {
                let data = match payload {
                    None => None,
                    Some(Payload::Typed(data)) => Some(data),
                    Some(Payload::Raw(raw)) => {
                        Some(DataSeed(kind).deserialize(raw).map_err(de::Error::custom)?)
                    }
                };
                known(kind, data, top)
            }
        }
    }
}

fn unknown(name: String, payload: Option<Payload>, top: TopLevel) -> UnknownEvent {
    let mut raw = top.other;
    raw.insert("t".to_owned(), Value::String(name.clone()));
    if let Some(Payload::Raw(data)) = payload {
        raw.insert("d".to_owned(), data);
    }
    let fields = [
        ("id", top.id),
        ("type", top.kind),
        ("excerpt", top.excerpt),
        ("s", top.s),
        ("i", top.i),
    ];
    for (key, value) in fields {
        if let Some(value) = value {
            raw.insert(key.to_owned(), value);
        }
    }
    UnknownEvent::from_parts(name, raw)
}

fn known<E: de::Error>(kind: EventKind, data: Option<Data>, top: TopLevel) -> Result<Event, E> {
    let data = || data.ok_or_else(|| E::missing_field("d"));
    Ok(match kind {
        EventKind::Hello => Event::Hello(Hello { s: top.s, i: top.i }),
        EventKind::HeartbeatAck => Event::HeartbeatAck,
        EventKind::Notification => {
            let kind = top.kind.ok_or_else(|| E::missing_field("type"))?;
            Event::Notification(Notification {
                kind: NotificationType::deserialize(kind).map_err(E::custom)?,
                excerpt: top.excerpt.unwrap_or(Value::Null),
            })
        }
        EventKind::PresenceUpdate => {
            let user_id = top.id.ok_or_else(|| E::missing_field("id"))?;
            let user_id = Deserialize::deserialize(user_id).map_err(E::custom)?;
            match data()? {
                Data::Presence(presence) => {
                    Event::PresenceUpdate(PresenceUpdate { user_id, presence })
                }
                _ => return Err(mismatch()),
            }
        }
        EventKind::Ready => match data()? {
            Data::User(user) => Event::Ready(user),
            _ => return Err(mismatch()),
        },
        EventKind::GuildInit
        | EventKind::GuildCreate
        | EventKind::GuildJoin
        | EventKind::GuildUpdate => {
            let Data::Guild(guild) = data()? else {
                return Err(mismatch());
            };
            match kind {
                EventKind::GuildInit => Event::GuildInit(guild),
                EventKind::GuildCreate => Event::GuildCreate(guild),
                EventKind::GuildJoin => Event::GuildJoin(guild),
                _ => Event::GuildUpdate(guild),
            }
        }
        EventKind::GuildDelete => match data()? {
            Data::GuildDeleted(deleted) => Event::GuildDelete(deleted),
            _ => return Err(mismatch()),
        },
        EventKind::InviteCreate => match data()? {
            Data::Invite(invite) => Event::InviteCreate(invite),
            _ => return Err(mismatch()),
        },
        EventKind::ChannelCreate => match data()? {
            Data::Channel(channel) => Event::ChannelCreate(channel),
            _ => return Err(mismatch()),
        },
        EventKind::Unknown => return Err(mismatch()),
    })
}

/// `DataSeed` always yields the variant its kind calls for; this error
/// exists only so that no `unreachable!` can panic.
fn mismatch<E: de::Error>() -> E {
    E::custom("internal error: event data does not match its kind")
}
