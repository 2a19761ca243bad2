//! Cached forms of guilds and members: related objects are held once, by id,
//! so a user in fifty guilds is stored once, not fifty times.

use ayaka_model::{Guild, Member, Timestamp, User};
use ayaka_snowflake::{EmojiId, GuildId, RoleId, UserId};

/// A guild as cached: its own fields, with roles, emojis, channels and
/// members held separately and looked up through the [`Cache`](crate::Cache).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedGuild {
    /// The guild's id.
    pub id: GuildId,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: Option<String>,
    /// Banner URL.
    pub banner: Option<String>,
    /// Invite banner URL.
    pub invite_banner: Option<String>,
    /// Vanity URL.
    pub vanity_url: Option<String>,
    /// Whether Ayaka verified it.
    pub verified: bool,
    /// Whether it is partnered.
    pub partnered: bool,
    /// Whether it is official.
    pub official: bool,
    /// The owner's user id.
    pub owner: UserId,
    /// Ids of its roles, in the order received.
    pub role_ids: Vec<RoleId>,
    /// Ids of its emojis, in the order received.
    pub emoji_ids: Vec<EmojiId>,
}

impl CachedGuild {
    pub(crate) fn from_guild(guild: &Guild) -> Self {
        Self {
            id: guild.id,
            name: guild.name.clone(),
            description: guild.description.clone(),
            banner: guild.banner.clone(),
            invite_banner: guild.invite_banner.clone(),
            vanity_url: guild.vanity_url.clone(),
            verified: guild.verified,
            partnered: guild.partnered,
            official: guild.official,
            owner: guild.owner,
            role_ids: guild.roles.iter().map(|role| role.id).collect(),
            emoji_ids: guild.emojis.iter().map(|emoji| emoji.id).collect(),
        }
    }
}

/// A member as cached: the user is held once in the cache's users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedMember {
    /// The guild.
    pub guild_id: GuildId,
    /// The user; look it up with [`Cache::user`](crate::Cache::user).
    pub user_id: UserId,
    /// Nickname in this guild.
    pub nick: Option<String>,
    /// Guild avatar URL.
    pub avatar_url: Option<String>,
    /// Guild banner URL.
    pub banner_url: Option<String>,
    /// When the user joined.
    pub joined_at: Timestamp,
    /// Deafened.
    pub deaf: bool,
    /// Muted.
    pub mute: bool,
    /// Whether the member owns the guild.
    pub owner: bool,
    /// Ids of the member's roles.
    pub roles: Vec<RoleId>,
}

impl CachedMember {
    pub(crate) fn from_member(guild_id: GuildId, member: &Member) -> Self {
        Self {
            guild_id,
            user_id: member.user.id,
            nick: member.nick.clone(),
            avatar_url: member.avatar_url.clone(),
            banner_url: member.banner_url.clone(),
            joined_at: member.joined_at,
            deaf: member.deaf,
            mute: member.mute,
            owner: member.owner,
            roles: member.roles.clone(),
        }
    }

    /// Whether `member` says exactly what this holds.
    pub(crate) fn matches(&self, member: &Member) -> bool {
        self.user_id == member.user.id
            && self.nick == member.nick
            && self.avatar_url == member.avatar_url
            && self.banner_url == member.banner_url
            && self.joined_at == member.joined_at
            && self.deaf == member.deaf
            && self.mute == member.mute
            && self.owner == member.owner
            && self.roles == member.roles
    }

    /// The model's [`Member`] again, given its user.
    pub fn to_member(&self, user: User) -> Member {
        Member {
            user,
            nick: self.nick.clone(),
            avatar_url: self.avatar_url.clone(),
            banner_url: self.banner_url.clone(),
            joined_at: self.joined_at,
            deaf: self.deaf,
            mute: self.mute,
            owner: self.owner,
            roles: self.roles.clone(),
            guild_id: Some(self.guild_id),
        }
    }
}
