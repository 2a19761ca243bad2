//! How each event and REST result changes the cache.

use std::collections::HashSet;
use std::sync::{Arc, PoisonError};

use ayaka_model::gateway::{Event, PresenceUpdate};
use ayaka_model::{Channel, Guild, Invite, Member, User};
use ayaka_snowflake::{GuildId, UserId};

use crate::Cache;
use crate::cached::CachedGuild;
use crate::config::ResourceType;
use crate::feeds::FeedId;

/// Something the cache can learn from: gateway events and REST results.
///
/// Implemented for [`Event`], [`Guild`], [`Member`] (with its `guild_id`),
/// [`Channel`] (with its `guild_id`), [`Invite`], [`PresenceUpdate`] and
/// the current [`User`]; with the `gateway` feature, for ayaka-gateway's
/// `ShardMessage` and `ReceivedEvent` too (each shard its own feed). Sealed: what each of them does to the cache is
/// the cache's business, and it keeps invariants (users stored once,
/// indices in step) that code outside could not.
pub trait UpdateCache: sealed::Sealed {
    /// Applies `self` to `cache`.
    fn update(&self, cache: &Cache);
}

mod sealed {
    /// Keeps [`UpdateCache`](super::UpdateCache) implemented here only.
    pub trait Sealed {}

    impl Sealed for ayaka_model::gateway::Event {}
    impl Sealed for ayaka_model::gateway::PresenceUpdate {}
    impl Sealed for ayaka_model::User {}
    impl Sealed for ayaka_model::Guild {}
    impl Sealed for ayaka_model::Channel {}
    impl Sealed for ayaka_model::Member {}
    impl Sealed for ayaka_model::Invite {}
    #[cfg(feature = "gateway")]
    impl Sealed for ayaka_gateway::ShardMessage {}
    #[cfg(feature = "gateway")]
    impl Sealed for ayaka_gateway::ReceivedEvent {}
}

impl UpdateCache for Event {
    /// An event of [`FeedId::DEFAULT`].
    fn update(&self, cache: &Cache) {
        cache.apply(FeedId::DEFAULT, self);
    }
}

impl UpdateCache for User {
    /// The current user (READY, `GET /users/@me`).
    fn update(&self, cache: &Cache) {
        if !cache.wants(ResourceType::CURRENT_USER) {
            return;
        }
        let user = Arc::new(self.clone());
        *cache
            .current_user
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&user));
        cache.users.upsert(self.id, self);
    }
}

impl UpdateCache for Guild {
    /// Replaces the guild, its roles and emojis, and its channels and
    /// members when the payload carries them.
    fn update(&self, cache: &Cache) {
        if !cache.wants(ResourceType::GUILD) {
            return;
        }
        let previous = cache.guilds.get(&self.id);
        if cache.wants(ResourceType::ROLE) {
            let held = previous.iter().flat_map(|g| g.role_ids.iter().copied());
            for old in gone(held, self.roles.iter().map(|role| role.id)) {
                cache.roles.remove(&old);
            }
            for role in &self.roles {
                cache.roles.upsert(role.id, role);
            }
        }
        if cache.wants(ResourceType::EMOJI) {
            let held = previous.iter().flat_map(|g| g.emoji_ids.iter().copied());
            for old in gone(held, self.emojis.iter().map(|emoji| emoji.id)) {
                cache.emojis.remove(&old);
            }
            for emoji in &self.emojis {
                cache.emojis.upsert(emoji.id, emoji);
            }
        }
        cache.guilds.insert(self.id, CachedGuild::from_guild(self));
        if let Some(user) = cache.current_user() {
            cache.user_guilds.add(user.id, self.id);
        }
        if let Some(channels) = &self.channels {
            cache.replace_channels(self.id, channels);
        }
        if let Some(members) = &self.members {
            cache.replace_members(self.id, members);
        }
    }
}

/// The ids in `held` that `now` no longer has. Builds no set when nothing
/// was held, as on a first sync.
fn gone<T: Eq + std::hash::Hash>(
    held: impl IntoIterator<Item = T>,
    now: impl Iterator<Item = T>,
) -> Vec<T> {
    let mut held = held.into_iter().peekable();
    if held.peek().is_none() {
        return Vec::new();
    }
    let kept: HashSet<T> = now.collect();
    held.filter(|id| !kept.contains(id)).collect()
}

impl UpdateCache for Channel {
    /// Inserts or replaces a channel; it is linked to its guild when it
    /// carries a `guild_id`.
    fn update(&self, cache: &Cache) {
        if !cache.wants(ResourceType::CHANNEL) {
            return;
        }
        let id = self.id();
        cache.channels.insert(id, self.clone());
        if let Some(guild) = self.guild_id() {
            cache.guild_channels.add(guild, id);
        }
    }
}

impl UpdateCache for Member {
    /// Inserts or replaces a member; needs its `guild_id` (set by
    /// `POST /invites/{code}` results and the local server).
    fn update(&self, cache: &Cache) {
        if let Some(guild) = self.guild_id {
            cache.upsert_member(guild, self);
        }
    }
}

impl UpdateCache for Invite {
    fn update(&self, cache: &Cache) {
        if cache.wants(ResourceType::INVITE)
            && cache.invites.insert(self.code.clone(), self.clone())
        {
            cache.guild_invites.add(self.guild_id, self.code.clone());
        }
    }
}

impl UpdateCache for PresenceUpdate {
    fn update(&self, cache: &Cache) {
        if cache.wants(ResourceType::PRESENCE) {
            cache.presences.insert(self.user_id, self.presence.clone());
        }
    }
}

impl Cache {
    /// Applies an event that came from `feed` (see [`FeedId`]).
    pub fn update_from(&self, feed: FeedId, event: &Event) {
        if !self.config.resources.is_empty() {
            self.apply(feed, event);
        }
    }

    pub(crate) fn apply(&self, feed: FeedId, event: &Event) {
        let guilds = self.wants(ResourceType::GUILD);
        match event {
            Event::Ready(user) => {
                self.feeds.begin_resync(feed);
                user.update(self);
                return;
            }
            Event::GuildInit(guild) => {
                if guilds {
                    self.feeds.refreshed(feed, guild.id);
                }
                guild.update(self);
                return;
            }
            Event::Hello(_) | Event::HeartbeatAck => return,
            _ => {}
        }
        // the feed's first event after its GUILD_INITs: what they did not
        // refresh no longer exists for this session
        for guild in self.feeds.end_resync(feed) {
            self.remove_guild(guild);
        }
        match event {
            Event::GuildCreate(guild) | Event::GuildJoin(guild) | Event::GuildUpdate(guild) => {
                if guilds {
                    self.feeds.link(feed, guild.id);
                }
                guild.update(self);
            }
            Event::GuildDelete(deleted) => self.remove_guild(deleted.id),
            Event::InviteCreate(invite) => invite.update(self),
            Event::ChannelCreate(channel) => channel.update(self),
            Event::PresenceUpdate(update) => update.update(self),
            _ => {}
        }
    }

    /// Removes a guild and everything that belonged only to it.
    pub(crate) fn remove_guild(&self, id: GuildId) {
        self.feeds.forget_guild(id);
        let removed = self.guilds.remove(&id);
        for role in removed.iter().flat_map(|g| g.role_ids.iter()) {
            self.roles.remove(role);
        }
        for emoji in removed.iter().flat_map(|g| g.emoji_ids.iter()) {
            self.emojis.remove(emoji);
        }
        for channel in self.guild_channels.take(&id) {
            self.channels.remove(&channel);
        }
        for user in self.members.take_guild(id) {
            self.unlink_user(user, id);
        }
        for code in self.guild_invites.take(&id) {
            self.invites.remove(&code);
        }
        if let Some(user) = self.current_user() {
            self.user_guilds.remove(&user.id, &id);
        }
    }

    fn replace_channels(&self, guild: GuildId, channels: &[Channel]) {
        if !self.wants(ResourceType::CHANNEL) {
            return;
        }
        let held = self.guild_channels.take(&guild);
        for old in gone(held, channels.iter().map(Channel::id)) {
            self.channels.remove(&old);
        }
        for channel in channels {
            let id = channel.id();
            let mut channel = channel.clone();
            channel.set_guild_id(guild);
            self.channels.insert(id, channel);
            self.guild_channels.add(guild, id);
        }
    }

    fn replace_members(&self, guild: GuildId, members: &[Member]) {
        if !self.wants(ResourceType::MEMBER) {
            return;
        }
        let replaced = self.members.replace_guild(guild, members);
        for user in replaced.removed {
            self.unlink_user(user, guild);
        }
        for index in replaced.stored {
            if let Some(member) = members.get(index) {
                self.link_user(guild, member);
            }
        }
    }

    fn upsert_member(&self, guild: GuildId, member: &Member) {
        if self.wants(ResourceType::MEMBER) && self.members.upsert(guild, member) {
            self.link_user(guild, member);
        }
    }

    /// Records that the member's user is in `guild`, and stores the user.
    fn link_user(&self, guild: GuildId, member: &Member) {
        let user = member.user.id;
        // Under the user's lock in `user_guilds`: another writer dropping
        // the user's last other guild cannot remove the user we store here.
        self.user_guilds.add_with(user, guild, || {
            self.users.upsert(user, &member.user);
        });
    }

    /// Drops the user (and presence) once no cached guild holds them.
    fn unlink_user(&self, user: UserId, guild: GuildId) {
        let is_current = self
            .current_user()
            .is_some_and(|current| current.id == user);
        self.user_guilds.remove_with(&user, &guild, || {
            if !is_current {
                self.users.remove(&user);
                self.presences.remove(&user);
            }
        });
    }
}
