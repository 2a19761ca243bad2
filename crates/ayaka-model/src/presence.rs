use ayaka_snowflake::EmojiId;
use serde::{Deserialize, Serialize};

use crate::macros::int_enum;

int_enum! {
    /// A presence's `type`.
    ///
    /// The documents give only the numbers 1 to 4; the names are this
    /// library's. Other numbers are kept in [`PresenceType::Unknown`].
    PresenceType {
        /// `1`: online.
        Online = 1,
        /// `2`: idle.
        Idle = 2,
        /// `3`: do not disturb.
        DoNotDisturb = 3,
        /// `4`: invisible (shown as offline).
        Invisible = 4,
    }
}

/// A user's presence: a status and an optional rich embed.
///
/// Sent by the server in PRESENCE_UPDATE and by clients to set their own
/// (**extension**).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    /// The status.
    #[serde(rename = "type")]
    pub kind: PresenceType,
    /// A custom status text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A custom status emoji.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emoji: Option<EmojiId>,
    /// A rich card shown on the profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embed: Option<PresenceEmbed>,
}

impl Presence {
    /// A presence with only a status.
    pub const fn new(kind: PresenceType) -> Self {
        Self {
            kind,
            description: None,
            emoji: None,
            embed: None,
        }
    }

    /// Sets the custom status text.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the custom status emoji.
    #[must_use]
    pub fn emoji(mut self, emoji: EmojiId) -> Self {
        self.emoji = Some(emoji);
        self
    }

    /// Sets the rich card.
    #[must_use]
    pub fn embed(mut self, embed: PresenceEmbed) -> Self {
        self.embed = Some(embed);
        self
    }
}

/// The rich card of a [`Presence`].
///
/// ```
/// use ayaka_model::{Presence, PresenceEmbed, PresenceType};
///
/// let presence = Presence::new(PresenceType::Online)
///     .description("Tea ceremony")
///     .embed(PresenceEmbed::new("Genshin").lines("Inazuma", "AR 60"));
/// assert_eq!(
///     serde_json::to_string(&presence)?,
///     r#"{"type":1,"description":"Tea ceremony","embed":{"name":"Genshin","text":{"top":"Inazuma","bottom":"AR 60"}}}"#,
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceEmbed {
    /// The title.
    pub name: String,
    /// A description below the title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Where the banner image is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub banner_url: Option<String>,
    /// Two extra lines of text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<EmbedText>,
}

impl PresenceEmbed {
    /// A card with only a title.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: None,
            banner_url: None,
            text: None,
        }
    }

    /// Sets the description.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the banner image.
    #[must_use]
    pub fn banner_url(mut self, banner_url: impl Into<String>) -> Self {
        self.banner_url = Some(banner_url.into());
        self
    }

    /// Sets both extra lines.
    #[must_use]
    pub fn lines(mut self, top: impl Into<String>, bottom: impl Into<String>) -> Self {
        self.text = Some(EmbedText {
            top: Some(top.into()),
            bottom: Some(bottom.into()),
        });
        self
    }
}

/// The two lines of text of a [`PresenceEmbed`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbedText {
    /// The upper line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top: Option<String>,
    /// The lower line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bottom: Option<String>,
}
