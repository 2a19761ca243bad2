use std::sync::{Arc, RwLock};

use ayaka_model::{Channel, Emoji, Invite, Member, Presence, Role, User};
use ayaka_snowflake::{ChannelId, EmojiId, GuildId, RoleId, UserId};

use crate::cached::{CachedGuild, CachedMember};
use crate::config::{CacheBuilder, Config, ResourceType};
use crate::feeds::{FeedId, FeedState, Feeds};
use crate::members::Members;
use crate::store::{Index, Store};
use crate::update::UpdateCache;

/// An in-memory cache of Ayaka state, kept current from gateway events.
///
/// Feed it every event with [`update`](Cache::update) (REST results too:
/// a fetched guild, a joined member); read it from any task. Reads return
/// `Arc`s or owned values, never guards into the maps, so holding a result
/// across an `.await` blocks nobody.
///
/// A cache follows sessions through *feeds* ([`FeedId`]): each shard
/// feeding it is one, and plain [`update`](Cache::update) is
/// [`FeedId::DEFAULT`]. The cache knows which feeds hold each guild:
///
/// - READY on a feed marks what it holds as stale, the GUILD_INIT events
///   that follow refresh it, and the feed's first other event (or
///   [`finish_resync`](Cache::finish_resync)) drops the guilds it did not
///   refresh (deleted while disconnected) unless another feed holds them.
/// - A session that ends ([`end_feed`](Cache::end_feed), or, with the
///   `gateway` feature, the shard's `ShardMessage::Closed` passed to
///   [`update`](Cache::update)) marks the feed [`FeedState::Ended`] and
///   drops what only it held: nothing will keep that data current any
///   more. Once every feed has ended, the current user goes too.
///
/// ```
/// use ayaka_cache::Cache;
/// use ayaka_model::gateway::Event;
///
/// let cache = Cache::new();
/// let event = Event::from_json(br#"{"t": "GUILD_CREATE", "d": {
///     "id": 1, "name": "Rustaceans", "owner": 2, "roles": [], "emojis": []}}"#)?;
/// cache.update(&event);
/// assert_eq!(cache.guild(1.into()).map(|g| g.name.clone()).as_deref(), Some("Rustaceans"));
/// # Ok::<(), ayaka_model::Error>(())
/// ```
#[derive(Debug)]
pub struct Cache {
    pub(crate) config: Config,
    pub(crate) current_user: RwLock<Option<Arc<User>>>,
    pub(crate) feeds: Feeds,
    pub(crate) guilds: Store<GuildId, CachedGuild>,
    pub(crate) channels: Store<ChannelId, Channel>,
    pub(crate) guild_channels: Index<GuildId, ChannelId>,
    pub(crate) roles: Store<RoleId, Role>,
    pub(crate) emojis: Store<EmojiId, Emoji>,
    pub(crate) users: Store<UserId, User>,
    pub(crate) user_guilds: Index<UserId, GuildId>,
    pub(crate) members: Members,
    pub(crate) presences: Store<UserId, Presence>,
    pub(crate) invites: Store<String, Invite>,
    pub(crate) guild_invites: Index<GuildId, String>,
}

/// How many of each kind the cache holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Guilds.
    pub guilds: usize,
    /// Channels.
    pub channels: usize,
    /// Roles.
    pub roles: usize,
    /// Emojis.
    pub emojis: usize,
    /// Distinct users (each stored once).
    pub users: usize,
    /// Members, over all guilds.
    pub members: usize,
    /// Presences.
    pub presences: usize,
    /// Invites.
    pub invites: usize,
    /// New entries not cached because a size bound was reached.
    pub dropped: u64,
}

impl Default for Cache {
    fn default() -> Self {
        Self::new()
    }
}

impl Cache {
    /// A cache keeping everything, without bounds.
    pub fn new() -> Self {
        Self::with_config(Config::default())
    }

    /// A builder to choose what to keep and how much.
    pub fn builder() -> CacheBuilder {
        CacheBuilder::default()
    }

    pub(crate) fn with_config(config: Config) -> Self {
        Self {
            guilds: Store::new(None),
            channels: Store::new(None),
            guild_channels: Index::new(),
            roles: Store::new(None),
            emojis: Store::new(None),
            users: Store::new(None),
            user_guilds: Index::new(),
            members: Members::new(config.max_members),
            presences: Store::new(config.max_presences),
            invites: Store::new(config.max_invites),
            guild_invites: Index::new(),
            current_user: RwLock::new(None),
            feeds: Feeds::new(),
            config,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    pub(crate) fn wants(&self, kind: ResourceType) -> bool {
        self.config.resources.contains(kind)
    }

    /// Applies an event or REST result (anything implementing
    /// [`UpdateCache`]).
    pub fn update(&self, value: &impl UpdateCache) {
        if !self.config.resources.is_empty() {
            value.update(self);
        }
    }

    /// Empties the cache.
    pub fn clear(&self) {
        *self
            .current_user
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        self.feeds.clear();
        self.guilds.clear();
        self.channels.clear();
        self.guild_channels.clear();
        self.roles.clear();
        self.emojis.clear();
        self.users.clear();
        self.user_guilds.clear();
        self.members.clear();
        self.presences.clear();
        self.invites.clear();
        self.guild_invites.clear();
    }

    /// Ends the refreshes that READYs started: every guild a feed held
    /// before its READY and that no GUILD_INIT refreshed since is removed
    /// (unless another feed still holds it).
    ///
    /// The protocol has no marker for the last GUILD_INIT, so the cache
    /// ends the refresh itself on the first other event. Call this when you
    /// know sooner (say, after a quiet moment following READY), so a session
    /// without live traffic does not keep serving guilds deleted while it
    /// was disconnected. Without a refresh under way it does nothing.
    pub fn finish_resync(&self) {
        for guild in self.feeds.end_all_resyncs() {
            self.remove_guild(guild);
        }
    }

    /// Whether a READY's refresh is under way on any feed (see
    /// [`finish_resync`](Self::finish_resync)).
    pub fn is_resyncing(&self) -> bool {
        self.feeds.any_resyncing()
    }

    /// The session behind `feed` has ended (a fatal close, the shard closed
    /// for good): its data is stale. Marks the feed
    /// [`FeedState::Ended`] and drops every guild only it held, with their
    /// channels, roles, emojis, members and invites (and the users only
    /// they held); once no feed runs, the current user too. A later READY
    /// on the feed starts it again.
    ///
    /// ```
    /// use ayaka_cache::{Cache, FeedId, FeedState};
    /// use ayaka_model::gateway::Event;
    ///
    /// let cache = Cache::new();
    /// let guild = br#"{"t": "GUILD_CREATE", "d": {"id": 1, "name": "g", "owner": 2, "roles": [], "emojis": []}}"#;
    /// cache.update_from(FeedId(7), &Event::from_json(guild)?);
    /// cache.end_feed(FeedId(7));
    /// assert_eq!(cache.feed_state(FeedId(7)), Some(FeedState::Ended));
    /// assert!(cache.guild(1.into()).is_none());
    /// # Ok::<(), ayaka_model::Error>(())
    /// ```
    pub fn end_feed(&self, feed: FeedId) {
        let (orphans, still_running) = self.feeds.end(feed);
        let current = if still_running {
            None
        } else {
            self.current_user
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take()
        };
        for guild in orphans {
            self.remove_guild(guild);
        }
        if let Some(user) = current
            && self.user_guilds.get(&user.id).is_empty()
        {
            self.users.remove(&user.id);
        }
    }

    /// Where `feed` is in its session (`None`: it never fed this cache).
    pub fn feed_state(&self, feed: FeedId) -> Option<FeedState> {
        self.feeds.state(feed)
    }

    /// Every feed this cache has heard from, by id, with its state.
    pub fn feeds(&self) -> Vec<(FeedId, FeedState)> {
        self.feeds.all()
    }

    /// The user this session is logged in as, from READY.
    pub fn current_user(&self) -> Option<Arc<User>> {
        self.current_user
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// A guild by id.
    pub fn guild(&self, id: GuildId) -> Option<Arc<CachedGuild>> {
        self.guilds.get(&id)
    }

    /// Every cached guild, in no particular order.
    pub fn guilds(&self) -> Vec<Arc<CachedGuild>> {
        self.guilds.values()
    }

    /// Every cached guild id.
    pub fn guild_ids(&self) -> Vec<GuildId> {
        self.guilds.keys()
    }

    /// A channel by id.
    pub fn channel(&self, id: ChannelId) -> Option<Arc<Channel>> {
        self.channels.get(&id)
    }

    /// The channels of a guild, ordered by id.
    pub fn guild_channels(&self, guild: GuildId) -> Vec<Arc<Channel>> {
        let mut ids = self.guild_channels.get(&guild);
        ids.sort_unstable();
        ids.iter().filter_map(|id| self.channels.get(id)).collect()
    }

    /// A role by id.
    pub fn role(&self, id: RoleId) -> Option<Arc<Role>> {
        self.roles.get(&id)
    }

    /// The roles of a guild, in the guild's order.
    pub fn guild_roles(&self, guild: GuildId) -> Vec<Arc<Role>> {
        self.guild(guild)
            .map(|g| {
                g.role_ids
                    .iter()
                    .filter_map(|id| self.roles.get(id))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// An emoji by id.
    pub fn emoji(&self, id: EmojiId) -> Option<Arc<Emoji>> {
        self.emojis.get(&id)
    }

    /// The emojis of a guild, in the guild's order.
    pub fn guild_emojis(&self, guild: GuildId) -> Vec<Arc<Emoji>> {
        self.guild(guild)
            .map(|g| {
                g.emoji_ids
                    .iter()
                    .filter_map(|id| self.emojis.get(id))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A user by id (members' users and the current user).
    pub fn user(&self, id: UserId) -> Option<Arc<User>> {
        self.users.get(&id)
    }

    /// The guilds a user is known to be in, ordered by id.
    pub fn user_guilds(&self, user: UserId) -> Vec<GuildId> {
        let mut ids = self.user_guilds.get(&user);
        ids.sort_unstable();
        ids
    }

    /// A member of a guild.
    pub fn member(&self, guild: GuildId, user: UserId) -> Option<Arc<CachedMember>> {
        self.members.get(guild, user)
    }

    /// A member with its user, as the model's [`Member`] (an owned snapshot).
    pub fn member_with_user(&self, guild: GuildId, user: UserId) -> Option<Member> {
        let member = self.member(guild, user)?;
        let user = self.user(user)?;
        Some(member.to_member(User::clone(&user)))
    }

    /// The members of a guild, ordered by user id.
    pub fn guild_members(&self, guild: GuildId) -> Vec<Arc<CachedMember>> {
        self.members.of_guild(guild)
    }

    /// A user's presence.
    pub fn presence(&self, user: UserId) -> Option<Arc<Presence>> {
        self.presences.get(&user)
    }

    /// An invite by code.
    pub fn invite(&self, code: &str) -> Option<Arc<Invite>> {
        self.invites.get(code)
    }

    /// The invites of a guild, ordered by code.
    pub fn guild_invites(&self, guild: GuildId) -> Vec<Arc<Invite>> {
        let mut codes = self.guild_invites.get(&guild);
        codes.sort_unstable();
        codes
            .iter()
            .filter_map(|code| self.invites.get(code))
            .collect()
    }

    /// How many of each kind are cached.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            guilds: self.guilds.len(),
            channels: self.channels.len(),
            roles: self.roles.len(),
            emojis: self.emojis.len(),
            users: self.users.len(),
            members: self.members.len(),
            presences: self.presences.len(),
            invites: self.invites.len(),
            dropped: self.members.dropped() + self.presences.dropped() + self.invites.dropped(),
        }
    }
}
