use ayaka_snowflake::EmojiId;
use serde::{Deserialize, Serialize};

/// A custom emoji of a guild.
///
/// The documents name the Emoji object without describing it; these fields
/// are this library's reading (id and name, as everywhere else).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Emoji {
    /// The emoji's id.
    pub id: EmojiId,
    /// The name used as `:name:`.
    pub name: String,
    /// Whether the image is animated.
    #[serde(default)]
    pub animated: bool,
    /// Where the image is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}
