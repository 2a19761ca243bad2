use ayaka_snowflake::{ChannelId, GuildId, RoleId, UserId};
use serde::{Deserialize, Serialize};

use crate::{Channel, Emoji, Member, Permission, Role};

/// A guild (a community with channels, roles and members).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guild {
    /// The guild's id.
    pub id: GuildId,
    /// The guild's name.
    pub name: String,
    /// A free-form description.
    #[serde(default)]
    pub description: Option<String>,
    /// Where the banner image is.
    #[serde(default)]
    pub banner: Option<String>,
    /// Where the banner shown on invites is.
    #[serde(default)]
    pub invite_banner: Option<String>,
    /// The custom invite code.
    #[serde(default)]
    pub vanity_url: Option<String>,
    /// Whether Ayaka verified this guild.
    #[serde(default)]
    pub verified: bool,
    /// Whether the guild is a partner.
    #[serde(default)]
    pub partnered: bool,
    /// Whether Ayaka runs this guild.
    #[serde(default)]
    pub official: bool,
    /// The owner's user id.
    pub owner: UserId,
    /// The guild's custom emojis.
    #[serde(default)]
    pub emojis: Vec<Emoji>,
    /// The guild's roles.
    #[serde(default)]
    pub roles: Vec<Role>,
    /// The guild's channels: present in GUILD_INIT and GUILD_JOIN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<Vec<Channel>>,
    /// The guild's members (**extension**: the local server includes them
    /// in GUILD_INIT and GUILD_JOIN so that caches know who is in a guild).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<Member>>,
}

impl Guild {
    /// Whether `member` may do what `permission` allows here: the owner may
    /// do anything; others need a role granting it (or
    /// [`Permission::Administrator`]). A role whose id equals the guild's
    /// applies to everyone (the `@everyone` convention).
    ///
    /// Roles the member lists but the guild does not have grant nothing.
    pub fn allows(&self, member: &Member, permission: &Permission) -> bool {
        if member.owner || member.user.id == self.owner {
            return true;
        }
        let everyone = self.id.cast();
        self.roles
            .iter()
            .filter(|role| role.id == everyone || member.roles.contains(&role.id))
            .any(|role| role.allows(permission))
    }

    /// The role with this id.
    pub fn role(&self, id: RoleId) -> Option<&Role> {
        self.roles.iter().find(|role| role.id == id)
    }

    /// The channel with this id, when the guild carries its channels.
    pub fn channel(&self, id: ChannelId) -> Option<&Channel> {
        self.channels
            .as_ref()?
            .iter()
            .find(|channel| channel.id() == id)
    }

    /// The public part of this guild, as `GET /guilds/{id}/preview` gives.
    pub fn preview(&self) -> PartialGuild {
        PartialGuild {
            id: self.id,
            name: self.name.clone(),
            description: self.description.clone(),
            banner: self.banner.clone(),
            invite_banner: self.invite_banner.clone(),
            vanity_url: self.vanity_url.clone(),
            verified: self.verified,
            partnered: self.partnered,
            official: self.official,
        }
    }
}

/// The public part of a guild, from `GET /guilds/{id}/preview`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialGuild {
    /// The guild's id.
    pub id: GuildId,
    /// The guild's name.
    pub name: String,
    /// A free-form description.
    #[serde(default)]
    pub description: Option<String>,
    /// Where the banner image is.
    #[serde(default)]
    pub banner: Option<String>,
    /// Where the banner shown on invites is.
    #[serde(default)]
    pub invite_banner: Option<String>,
    /// The custom invite code.
    #[serde(default)]
    pub vanity_url: Option<String>,
    /// Whether Ayaka verified this guild.
    #[serde(default)]
    pub verified: bool,
    /// Whether the guild is a partner.
    #[serde(default)]
    pub partnered: bool,
    /// Whether Ayaka runs this guild.
    #[serde(default)]
    pub official: bool,
}

/// The `d` of GUILD_DELETE: which guild is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GuildDeleted {
    /// The deleted guild's id.
    pub id: GuildId,
}
