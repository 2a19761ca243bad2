//! Which sources of events (feeds: shards, usually) hold each guild, so
//! that a session that ends takes with it what only it saw.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use ayaka_snowflake::GuildId;

use crate::store::Index;

/// One source of events feeding a cache: a shard (with the `gateway`
/// feature, `FeedId::from(shard_id)`), or anything else that delivers a
/// session's events in order, such as a stream consumer.
///
/// Plain [`Cache::update`](crate::Cache::update) feeds [`FeedId::DEFAULT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FeedId(pub u64);

impl FeedId {
    /// The feed of [`Cache::update`](crate::Cache::update) (the same id as
    /// shard 0's).
    pub const DEFAULT: Self = Self(0);
}

/// Where a feed is in its session (see [`Cache::feed_state`](crate::Cache::feed_state)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FeedState {
    /// READY arrived; GUILD_INITs are refreshing what the feed holds, and
    /// the guilds they do not refresh go when the refresh ends.
    Resyncing,
    /// Events flow.
    Live,
    /// The session ended (a fatal close, or the shard was closed for
    /// good): what only this feed held is gone, until a new READY.
    Ended,
}

#[derive(Debug)]
enum Feed {
    /// The guilds the feed held at READY and not refreshed since.
    Resyncing(HashSet<GuildId>),
    Live,
    Ended,
}

impl Feed {
    fn state(&self) -> FeedState {
        match self {
            Self::Resyncing(_) => FeedState::Resyncing,
            Self::Live => FeedState::Live,
            Self::Ended => FeedState::Ended,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Feeds {
    feeds: Mutex<HashMap<FeedId, Feed>>,
    /// How many feeds are resyncing: every live event checks this rather
    /// than take the lock.
    resyncing: AtomicUsize,
    /// The feeds that hold each guild, and the other way round.
    holders: Index<GuildId, FeedId>,
    held: Index<FeedId, GuildId>,
}

impl Feeds {
    pub(crate) fn new() -> Self {
        Self {
            feeds: Mutex::new(HashMap::new()),
            resyncing: AtomicUsize::new(0),
            holders: Index::new(),
            held: Index::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<FeedId, Feed>> {
        self.feeds.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets a feed's entry, keeping the resync count in step.
    fn set(feeds: &mut HashMap<FeedId, Feed>, count: &AtomicUsize, feed: FeedId, new: Feed) {
        let was_resyncing = matches!(feeds.get(&feed), Some(Feed::Resyncing(_)));
        let resyncing = matches!(new, Feed::Resyncing(_));
        feeds.insert(feed, new);
        match (was_resyncing, resyncing) {
            (false, true) => {
                count.fetch_add(1, Ordering::AcqRel);
            }
            (true, false) => {
                count.fetch_sub(1, Ordering::AcqRel);
            }
            _ => {}
        }
    }

    pub(crate) fn state(&self, feed: FeedId) -> Option<FeedState> {
        self.lock().get(&feed).map(Feed::state)
    }

    pub(crate) fn all(&self) -> Vec<(FeedId, FeedState)> {
        let mut all: Vec<_> = self
            .lock()
            .iter()
            .map(|(id, feed)| (*id, feed.state()))
            .collect();
        all.sort_unstable_by_key(|(id, _)| *id);
        all
    }

    pub(crate) fn any_resyncing(&self) -> bool {
        self.resyncing.load(Ordering::Acquire) > 0
    }

    /// READY on `feed`: what it holds is stale until refreshed.
    pub(crate) fn begin_resync(&self, feed: FeedId) {
        let held: HashSet<GuildId> = self.held.get(&feed).into_iter().collect();
        Self::set(
            &mut self.lock(),
            &self.resyncing,
            feed,
            Feed::Resyncing(held),
        );
    }

    /// GUILD_INIT on `feed`.
    pub(crate) fn refreshed(&self, feed: FeedId, guild: GuildId) {
        if let Some(Feed::Resyncing(stale)) = self.lock().get_mut(&feed) {
            stale.remove(&guild);
        }
        self.link(feed, guild);
    }

    /// Ends `feed`'s refresh if one is under way, returning the guilds it
    /// no longer holds that no other feed holds either.
    pub(crate) fn end_resync(&self, feed: FeedId) -> Vec<GuildId> {
        if !self.any_resyncing() {
            return Vec::new();
        }
        let stale = {
            let mut feeds = self.lock();
            match feeds.get(&feed) {
                Some(Feed::Resyncing(_)) => {}
                _ => return Vec::new(),
            }
            let Some(Feed::Resyncing(stale)) = feeds.remove(&feed) else {
                return Vec::new();
            };
            self.resyncing.fetch_sub(1, Ordering::AcqRel);
            feeds.insert(feed, Feed::Live);
            stale
        };
        self.unlink_all(feed, stale)
    }

    /// Ends every refresh under way (see `Cache::finish_resync`).
    pub(crate) fn end_all_resyncs(&self) -> Vec<GuildId> {
        let resyncing: Vec<FeedId> = self
            .lock()
            .iter()
            .filter(|(_, feed)| matches!(feed, Feed::Resyncing(_)))
            .map(|(id, _)| *id)
            .collect();
        resyncing
            .into_iter()
            .flat_map(|feed| self.end_resync(feed))
            .collect()
    }

    /// `feed` holds `guild` (it sent it); an unknown feed becomes live.
    pub(crate) fn link(&self, feed: FeedId, guild: GuildId) {
        {
            let mut feeds = self.lock();
            if !matches!(feeds.get(&feed), Some(Feed::Resyncing(_) | Feed::Live)) {
                Self::set(&mut feeds, &self.resyncing, feed, Feed::Live);
            }
        }
        self.holders.add(guild, feed);
        self.held.add(feed, guild);
    }

    /// The guild is gone for every feed.
    pub(crate) fn forget_guild(&self, guild: GuildId) {
        for feed in self.holders.take(&guild) {
            self.held.remove(&feed, &guild);
        }
    }

    /// The session behind `feed` ended: returns the guilds no other feed
    /// holds, and whether any feed is still running.
    pub(crate) fn end(&self, feed: FeedId) -> (Vec<GuildId>, bool) {
        let still_running = {
            let mut feeds = self.lock();
            Self::set(&mut feeds, &self.resyncing, feed, Feed::Ended);
            feeds.values().any(|feed| !matches!(feed, Feed::Ended))
        };
        let held = self.held.take(&feed);
        (self.unlink_all(feed, held), still_running)
    }

    /// Unlinks `feed` from `guilds`, returning those left without a holder.
    fn unlink_all(&self, feed: FeedId, guilds: impl IntoIterator<Item = GuildId>) -> Vec<GuildId> {
        let mut orphans = Vec::new();
        for guild in guilds {
            self.held.remove(&feed, &guild);
            let mut orphaned = false;
            self.holders.remove_with(&guild, &feed, || orphaned = true);
            if orphaned {
                orphans.push(guild);
            }
        }
        orphans
    }

    pub(crate) fn clear(&self) {
        self.lock().clear();
        self.resyncing.store(0, Ordering::Release);
        self.holders.clear();
        self.held.clear();
    }
}
