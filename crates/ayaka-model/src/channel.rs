use ayaka_snowflake::{ChannelId, GuildId};
use serde::de::{self, Deserializer};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::macros::int_enum;

int_enum! {
    /// A channel's `type`: 1 category, 2 text, 3 voice; other values are
    /// kept in [`ChannelType::Unknown`].
    ChannelType {
        /// `1`: a [`Category`] holding other channels.
        Category = 1,
        /// `2`: a [`TextChannel`].
        Text = 2,
        /// `3`: a voice channel (same shape as a text channel).
        Voice = 3,
    }
}

/// A category: a top-level channel that groups others.
///
/// Written with `"type": 1` inside a [`Channel`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    /// The category's id.
    pub id: ChannelId,
    /// The category's name.
    pub name: String,
    /// A free-form description.
    #[serde(default)]
    pub description: Option<String>,
    /// Always `0` per the documents (categories are top level); kept as
    /// sent.
    #[serde(default)]
    pub inside_of: u64,
    /// Where the category sorts.
    pub position: i32,
    /// The guild (present in CHANNEL_CREATE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<GuildId>,
}

/// A text channel; voice channels have the same shape.
///
/// Written with `"type": 2` (or 3) inside a [`Channel`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextChannel {
    /// The channel's id.
    pub id: ChannelId,
    /// The channel's name.
    pub name: String,
    /// A free-form description.
    #[serde(default)]
    pub description: Option<String>,
    /// The category holding the channel; `None` at top level, written as
    /// `0` as the documents do.
    #[serde(default, with = "parent_id")]
    pub inside_of: Option<ChannelId>,
    /// Where the channel sorts.
    pub position: i32,
    /// The guild (present in CHANNEL_CREATE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<GuildId>,
}

/// A voice channel: the same fields as a text channel.
pub type VoiceChannel = TextChannel;

/// Any channel, told apart by its `type` field.
///
/// ```
/// use ayaka_model::{Channel, ChannelType};
///
/// let channel: Channel = serde_json::from_str(
///     r#"{"id": 7, "name": "general", "description": null, "inside_of": 0, "type": 2, "position": 0}"#,
/// )?;
/// assert_eq!(channel.kind(), ChannelType::Text);
/// assert_eq!(channel.name(), Some("general"));
///
/// // unknown types are kept, not rejected
/// let odd: Channel = serde_json::from_str(r#"{"id": 8, "type": 9, "stage": true}"#)?;
/// assert_eq!(odd.kind(), ChannelType::Unknown(9));
/// assert_eq!(serde_json::to_string(&odd)?, r#"{"id":8,"stage":true,"type":9}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Channel {
    /// `type` 1.
    Category(Category),
    /// `type` 2.
    Text(TextChannel),
    /// `type` 3.
    Voice(VoiceChannel),
    /// A `type` this library does not know, kept as the JSON object sent.
    /// Only its `id` is required.
    Unknown {
        /// The channel's id.
        id: ChannelId,
        /// The `type` value.
        kind: i64,
        /// The whole channel object, `type` included.
        raw: Value,
    },
}

impl Channel {
    /// The channel's type.
    pub fn kind(&self) -> ChannelType {
        match self {
            Self::Category(_) => ChannelType::Category,
            Self::Text(_) => ChannelType::Text,
            Self::Voice(_) => ChannelType::Voice,
            Self::Unknown { kind, .. } => ChannelType::from(*kind),
        }
    }

    /// The channel's id.
    pub fn id(&self) -> ChannelId {
        match self {
            Self::Category(category) => category.id,
            Self::Text(channel) | Self::Voice(channel) => channel.id,
            Self::Unknown { id, .. } => *id,
        }
    }

    /// The channel's name (`None` only for an unknown type without one).
    pub fn name(&self) -> Option<&str> {
        match self {
            Self::Category(category) => Some(&category.name),
            Self::Text(channel) | Self::Voice(channel) => Some(&channel.name),
            Self::Unknown { raw, .. } => raw.get("name")?.as_str(),
        }
    }

    /// The channel's guild, when the payload said.
    pub fn guild_id(&self) -> Option<GuildId> {
        match self {
            Self::Category(category) => category.guild_id,
            Self::Text(channel) | Self::Voice(channel) => channel.guild_id,
            Self::Unknown { raw, .. } => GuildId::deserialize(raw.get("guild_id")?).ok(),
        }
    }

    /// Sets the guild the channel belongs to (the server does this before
    /// sending CHANNEL_CREATE).
    pub fn set_guild_id(&mut self, guild_id: GuildId) {
        match self {
            Self::Category(category) => category.guild_id = Some(guild_id),
            Self::Text(channel) | Self::Voice(channel) => channel.guild_id = Some(guild_id),
            Self::Unknown { raw, .. } => {
                if let Some(object) = raw.as_object_mut() {
                    object.insert("guild_id".to_owned(), Value::from(guild_id.get()));
                }
            }
        }
    }
}

impl From<Category> for Channel {
    fn from(category: Category) -> Self {
        Self::Category(category)
    }
}

impl Serialize for Channel {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (kind, known) = match self {
            Self::Unknown { raw, .. } => return raw.serialize(serializer),
            Self::Category(category) => (
                ChannelType::Category,
                Fields {
                    id: category.id,
                    name: &category.name,
                    description: &category.description,
                    inside_of: category.inside_of,
                    position: category.position,
                    guild_id: category.guild_id,
                },
            ),
            Self::Text(channel) | Self::Voice(channel) => (
                self.kind(),
                Fields {
                    id: channel.id,
                    name: &channel.name,
                    description: &channel.description,
                    inside_of: channel.inside_of.map_or(0, ChannelId::get),
                    position: channel.position,
                    guild_id: channel.guild_id,
                },
            ),
        };
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("id", &known.id)?;
        map.serialize_entry("name", known.name)?;
        map.serialize_entry("description", known.description)?;
        map.serialize_entry("inside_of", &known.inside_of)?;
        map.serialize_entry("type", &kind)?;
        map.serialize_entry("position", &known.position)?;
        if let Some(guild_id) = known.guild_id {
            map.serialize_entry("guild_id", &guild_id)?;
        }
        map.end()
    }
}

/// The fields every known channel type writes.
struct Fields<'a> {
    id: ChannelId,
    name: &'a str,
    description: &'a Option<String>,
    inside_of: u64,
    position: i32,
    guild_id: Option<GuildId>,
}

impl<'de> Deserialize<'de> for Channel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ChannelVisitor)
    }
}

/// A channel object's fields, each kept as JSON until `type` (which may
/// come anywhere) says what to decode them into. Slots rather than a map:
/// no key is allocated, nothing is looked up, and each value is decoded
/// from its slot once, which made a channel cost several times its size.
#[derive(Default)]
struct ChannelFields {
    id: Option<Value>,
    name: Option<Value>,
    description: Option<Value>,
    inside_of: Option<Value>,
    kind: Option<Value>,
    position: Option<Value>,
    guild_id: Option<Value>,
    /// Fields no known type has: kept for an unknown type's `raw`.
    other: serde_json::Map<String, Value>,
}

/// A field of [`ChannelFields`].
enum ChannelKey {
    Id,
    Name,
    Description,
    InsideOf,
    Type,
    Position,
    GuildId,
    Other(String),
}

impl<'de> Deserialize<'de> for ChannelKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl de::Visitor<'_> for KeyVisitor {
            type Value = ChannelKey;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a field name")
            }

            fn visit_str<E: de::Error>(self, key: &str) -> Result<ChannelKey, E> {
                Ok(match key {
                    "id" => ChannelKey::Id,
                    "name" => ChannelKey::Name,
                    "description" => ChannelKey::Description,
                    "inside_of" => ChannelKey::InsideOf,
                    "type" => ChannelKey::Type,
                    "position" => ChannelKey::Position,
                    "guild_id" => ChannelKey::GuildId,
                    other => ChannelKey::Other(other.to_owned()),
                })
            }
        }

        deserializer.deserialize_identifier(KeyVisitor)
    }
}

struct ChannelVisitor;

impl<'de> de::Visitor<'de> for ChannelVisitor {
    type Value = Channel;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a channel object")
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Channel, A::Error> {
        let mut fields = ChannelFields::default();
        // a repeated key keeps its last value, as a JSON object read into
        // a map does
        while let Some(key) = map.next_key::<ChannelKey>()? {
            let slot = match key {
                ChannelKey::Id => &mut fields.id,
                ChannelKey::Name => &mut fields.name,
                ChannelKey::Description => &mut fields.description,
                ChannelKey::InsideOf => &mut fields.inside_of,
                ChannelKey::Type => &mut fields.kind,
                ChannelKey::Position => &mut fields.position,
                ChannelKey::GuildId => &mut fields.guild_id,
                ChannelKey::Other(key) => {
                    fields.other.insert(key, map.next_value()?);
                    continue;
                }
            };
            *slot = Some(map.next_value()?);
        }
        fields.into_channel()
    }
}

impl ChannelFields {
    fn into_channel<E: de::Error>(self) -> Result<Channel, E> {
        let kind = match &self.kind {
            None => return Err(E::missing_field("type")),
            Some(kind) => i64::deserialize(kind).map_err(E::custom)?,
        };
        Ok(match ChannelType::from(kind) {
            ChannelType::Category => Channel::Category(Category {
                id: required(self.id, "id")?,
                name: required(self.name, "name")?,
                description: optional(self.description)?,
                inside_of: optional(self.inside_of)?,
                position: required(self.position, "position")?,
                guild_id: optional(self.guild_id)?,
            }),
            ChannelType::Text => Channel::Text(self.into_text()?),
            ChannelType::Voice => Channel::Voice(self.into_text()?),
            ChannelType::Unknown(kind) => {
                let id = required(self.id.clone(), "id")?;
                let mut raw = self.other;
                let known = [
                    ("id", self.id),
                    ("name", self.name),
                    ("description", self.description),
                    ("inside_of", self.inside_of),
                    ("type", self.kind),
                    ("position", self.position),
                    ("guild_id", self.guild_id),
                ];
                for (key, value) in known {
                    if let Some(value) = value {
                        raw.insert(key.to_owned(), value);
                    }
                }
                Channel::Unknown {
                    id,
                    kind,
                    raw: Value::Object(raw),
                }
            }
        })
    }
}

impl ChannelFields {
    fn into_text<E: de::Error>(self) -> Result<TextChannel, E> {
        Ok(TextChannel {
            id: required(self.id, "id")?,
            name: required(self.name, "name")?,
            description: optional(self.description)?,
            inside_of: match self.inside_of {
                None => None,
                Some(value) => parent_id::deserialize(value).map_err(E::custom)?,
            },
            position: required(self.position, "position")?,
            guild_id: optional(self.guild_id)?,
        })
    }
}

/// A field that must be present, decoded from its JSON.
fn required<T: de::DeserializeOwned, E: de::Error>(
    value: Option<Value>,
    field: &'static str,
) -> Result<T, E> {
    match value {
        None => Err(E::missing_field(field)),
        Some(value) => T::deserialize(value).map_err(E::custom),
    }
}

/// A field with a default (`#[serde(default)]`), decoded from its JSON.
fn optional<T: de::DeserializeOwned + Default, E: de::Error>(value: Option<Value>) -> Result<T, E> {
    value.map_or_else(
        || Ok(T::default()),
        |value| T::deserialize(value).map_err(E::custom),
    )
}

/// `inside_of`: `0` (or `null`) means top level.
pub(crate) mod parent_id {
    use ayaka_snowflake::ChannelId;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(
        parent: &Option<ChannelId>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(parent.map_or(0, ChannelId::get))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<ChannelId>, D::Error> {
        let parent = Option::<ChannelId>::deserialize(deserializer)?;
        Ok(parent.filter(|id| id.get() != 0))
    }
}
