//! Members, held per guild: a guild's whole member list sits behind one
//! map entry, so GUILD_INIT replaces it in one step instead of touching a
//! shared map once per member, and listing a guild's members is one lookup.

use std::collections::HashMap;
use std::sync::Arc;

use ayaka_model::Member;
use ayaka_snowflake::{GuildId, UserId};
use foldhash::fast::RandomState;

use crate::cached::CachedMember;
use crate::store::Bound;

type GuildMembers = HashMap<UserId, Arc<CachedMember>, RandomState>;

/// Every cached member, by guild, with an optional bound on the total.
#[derive(Debug)]
pub(crate) struct Members {
    by_guild: dashmap::DashMap<GuildId, GuildMembers, RandomState>,
    bound: Bound,
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
            bound: Bound::new(max),
        }
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
        let held = members.get(&user);
        if held.is_none() && !self.bound.admit() {
            let emptied = members.is_empty();
            drop(members);
            if emptied {
                self.by_guild.remove_if(&guild, |_, m| m.is_empty());
            }
            return false;
        }
        let value = Self::reuse_or_new(held, guild, member);
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
            if held.is_none() && !fresh.contains_key(&user) && !self.bound.admit() {
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
        self.bound.release(removed.len());
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
        self.bound.release(members.len());
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
        self.bound.len()
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.bound.dropped()
    }

    pub(crate) fn clear(&self) {
        // Guild by guild, uncounting each: a writer racing `clear` keeps
        // the count exact (see `Store::clear`).
        self.by_guild.retain(|_, members| {
            self.bound.release(members.len());
            false
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use ayaka_model::Member;
    use ayaka_snowflake::{GuildId, UserId};

    use super::Members;

    fn member(user: u64) -> Member {
        serde_json::from_value(serde_json::json!({
            "user": {"id": user, "username": "u", "separator": 1},
            "joined_at": "2024-05-01T12:00:00Z", "roles": []
        }))
        .unwrap()
    }

    fn list(users: &[u64]) -> Vec<Member> {
        users.iter().copied().map(member).collect()
    }

    #[test]
    fn replacing_a_list_counts_exactly_and_reports_who_left() {
        let members = Members::new(None);
        let guild = GuildId::new(1);
        let first = members.replace_guild(guild, &list(&[1, 2, 3]));
        assert_eq!(first.stored, vec![0, 1, 2]);
        assert_eq!(members.len(), 3);

        let held = members.get(guild, UserId::new(2)).unwrap();
        let second = members.replace_guild(guild, &list(&[2, 4]));
        assert_eq!(second.stored, vec![0, 1]);
        let mut removed = second.removed;
        removed.sort_unstable();
        assert_eq!(removed, vec![UserId::new(1), UserId::new(3)]);
        assert_eq!(members.len(), 2);
        let again = members.get(guild, UserId::new(2)).unwrap();
        assert!(std::sync::Arc::ptr_eq(&held, &again), "unchanged: reused");

        assert_eq!(members.take_guild(guild).len(), 2);
        assert_eq!(members.len(), 0);
        assert!(members.of_guild(guild).is_empty());
    }

    #[test]
    fn the_bound_holds_across_guilds_and_replacements() {
        let members = Members::new(Some(4));
        let replaced = members.replace_guild(GuildId::new(1), &list(&[1, 2, 3]));
        assert_eq!(replaced.stored.len(), 3);
        let replaced = members.replace_guild(GuildId::new(2), &list(&[1, 2, 3]));
        assert_eq!(replaced.stored, vec![0], "only one slot was left");
        assert_eq!(members.len(), 4);
        assert_eq!(members.dropped(), 2);
        // Members already held are replaced whatever the bound.
        assert!(members.upsert(GuildId::new(1), &member(1)));
        assert!(!members.upsert(GuildId::new(3), &member(9)));
        // Shrinking a guild frees slots for others.
        members.replace_guild(GuildId::new(1), &list(&[1]));
        assert!(members.upsert(GuildId::new(3), &member(9)));
        assert_eq!(members.len(), 3);
        members.clear();
        assert_eq!(members.len(), 0);
    }
}
