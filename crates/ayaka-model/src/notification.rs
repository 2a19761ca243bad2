use serde::{Deserialize, Serialize};

use crate::macros::string_enum;

string_enum! {
    /// What a [`Notification`] is about, as the documents list them.
    NotificationType {
        /// A message.
        Message = "MESSAGE",
        /// A guild.
        Guild = "GUILD",
        /// A mention of everyone.
        Everyone = "EVERYONE",
        /// A mention of everyone online.
        Here = "HERE",
    }
}

/// A NOTIFICATION event's content, which sits at the envelope's top level
/// (`{"t": "NOTIFICATION", "type": ..., "excerpt": ...}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// What the notification is about.
    #[serde(rename = "type")]
    pub kind: NotificationType,
    /// A preview of the content; its shape is undocumented, so it is kept
    /// as JSON (`null` when absent).
    #[serde(default)]
    pub excerpt: serde_json::Value,
}
