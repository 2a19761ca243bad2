//! Members, held per guild: a guild's whole member list sits behind one
//! map entry, so GUILD_INIT replaces it in one step instead of touching a
//! shared map once per member, and listing a guild's members is one lookup.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use ayaka_model::Member;
use ayaka_snowflake::{GuildId, UserId};
use foldhash::fast::RandomState;

use crate::model::CachedMember;

type GuildMembers = HashMap<UserId, Arc<CachedMember>, RandomState>;

/// Every cached member, by guild, with an optional bound on the total.
#[derive(Debug)]
pub(crate) struct Members {
    by_guild: dashmap::DashMap<GuildId, GuildMembers, RandomState>,
    len: AtomicUsize,
    max: Option<usize>,
    dropped: AtomicU64,
}

/// What [`Members::replace_guild`] changed.
pub(crate) struct Replaced {
    /// Indices (into the given slice) of the members now held.
    pub(crate) stored: Vec<usize>,
    /// Users who were members and are no longer.
    pub(crate) removed: Vec<UserId>,
}

impl Members {
    pub(crate) fn new(max: Option<usize>) -> Self {
        Self {
            by_guild: dashmap::DashMap::default(),
            len: AtomicUsize::new(0),
            max,
            dropped: AtomicU64::new(0),
        }
    }

    /// Whether the bound admits one more new member; counts it if so.
    fn admit(&self) -> bool {
        if self
            .max
            .is_some_and(|max| self.len.load(Ordering::Relaxed) >= max)
        {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        self.len.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// The held value if it already says what `member` says (no allocation
    /// on replays, which mostly repeat what is held), else a new one.
    fn reuse_or_new(
        held: Option<&Arc<CachedMember>>,
        guild: GuildId,
        member: &Member,
    ) -> Arc<CachedMember> {
        match held {
            Some(held) if held.matches(member) => Arc::clone(held),
            _ => Arc::new(CachedMember::from_member(guild, member)),
        }
    }

    /// Inserts or replaces one member; `false` when the bound refused it.
    pub(crate) fn upsert(&self, guild: GuildId, member: &Member) -> bool {
        let user = member.user.id;
        let mut members = self.by_guild.entry(guild).or_default();
        let value = Self::reuse_or_new(members.get(&user), guild, member);
        if !members.contains_key(&user) && !self.admit() {
            let emptied = members.is_empty();
            drop(members);
            if emptied {
                self.by_guild.remove_if(&guild, |_, m| m.is_empty());
            }
            return false;
        }
        members.insert(user, value);
        true
    }

    /// Makes `members` the guild's whole member list.
    pub(crate) fn replace_guild(&self, guild: GuildId, members: &[Member]) -> Replaced {
        let mut entry = self.by_guild.entry(guild).or_default();
        let old = std::mem::take(&mut *entry);
        let mut fresh =
            GuildMembers::with_capacity_and_hasher(members.len(), RandomState::default());
        let mut stored = Vec::with_capacity(members.len());
        for (index, member) in members.iter().enumerate() {
            let user = member.user.id;
            let held = old.get(&user);
            if held.is_none() && !fresh.contains_key(&user) && !self.admit() {
                continue;
            }
            fresh.insert(user, Self::reuse_or_new(held, guild, member));
            stored.push(index);
        }
        let removed: Vec<UserId> = old
            .keys()
            .filter(|user| !fresh.contains_key(user))
            .copied()
            .collect();
        self.len.fetch_sub(removed.len(), Ordering::Relaxed);
        let emptied = fresh.is_empty();
        *entry = fresh;
        drop(entry);
        if emptied {
            self.by_guild.remove_if(&guild, |_, m| m.is_empty());
        }
        Replaced { stored, removed }
    }

    /// Removes a guild's members; returns their user ids.
    pub(crate) fn take_guild(&self, guild: GuildId) -> Vec<UserId> {
        let Some((_, members)) = self.by_guild.remove(&guild) else {
            return Vec::new();
        };
        self.len.fetch_sub(members.len(), Ordering::Relaxed);
        members.into_keys().collect()
    }

    pub(crate) fn get(&self, guild: GuildId, user: UserId) -> Option<Arc<CachedMember>> {
        self.by_guild
            .get(&guild)
            .and_then(|members| members.get(&user).cloned())
    }

    /// A guild's members, ordered by user id.
    pub(crate) fn of_guild(&self, guild: GuildId) -> Vec<Arc<CachedMember>> {
        let mut members: Vec<_> = self
            .by_guild
            .get(&guild)
            .map(|members| members.values().cloned().collect())
            .unwrap_or_default();
        members.sort_unstable_by_key(|member| member.user_id);
        members
    }

    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub(crate) fn clear(&self) {
        // Guild by guild, uncounting each: a writer racing `clear` keeps
        // the count exact (see `Store::clear`).
        self.by_guild.retain(|_, members| {
            self.len.fetch_sub(members.len(), Ordering::Relaxed);
            false
        });
    }
}
