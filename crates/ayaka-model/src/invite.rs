use ayaka_snowflake::{GuildId, UserId};
use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// An invite to a guild, used with `POST /invites/{code}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    /// The code to join with.
    pub code: String,
    /// The guild it leads to.
    pub guild_id: GuildId,
    /// Who made it.
    pub inviter_id: UserId,
    /// When it was made.
    pub created_at: Timestamp,
}
