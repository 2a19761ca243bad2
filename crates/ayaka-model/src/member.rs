use ayaka_snowflake::{GuildId, RoleId};
use serde::{Deserialize, Serialize};

use crate::{Timestamp, User};

/// A user's membership of a guild.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The member's user.
    pub user: User,
    /// The name shown in this guild instead of the username.
    #[serde(default)]
    pub nick: Option<String>,
    /// An avatar for this guild only (`null` when none).
    #[serde(default)]
    pub avatar_url: Option<String>,
    /// A banner for this guild only (`null` when none).
    #[serde(default)]
    pub banner_url: Option<String>,
    /// When the user joined.
    pub joined_at: Timestamp,
    /// Whether the member is deafened.
    #[serde(default)]
    pub deaf: bool,
    /// Whether the member is muted.
    #[serde(default)]
    pub mute: bool,
    /// Whether the member owns the guild.
    #[serde(default)]
    pub owner: bool,
    /// The member's roles.
    #[serde(default)]
    pub roles: Vec<RoleId>,
    /// The guild (**extension**, absent from the documents: written when
    /// the context does not say which guild, for example in `POST
    /// /invites/{code}`'s answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<GuildId>,
}
