//! A comparable copy of everything a cache holds.

use std::sync::Arc;

use ayaka_model::{Channel, Emoji, Invite, Presence, Role, User};
use ayaka_snowflake::{GuildId, UserId};

use crate::cache::{Cache, CacheStats};
use crate::cached::{CachedGuild, CachedMember};
use crate::feeds::{FeedId, FeedState};

/// Everything a [`Cache`] holds, from [`Cache::snapshot`], in an order that
/// depends only on what is held (never on the order of the maps), so two
/// caches fed the same events give equal snapshots: for checking that a
/// cache fed another way (replayed, filtered, through a broker) holds what
/// the original does.
///
/// Guilds, users, presences and user guilds are ordered by id; within a
/// guild, roles and emojis keep the guild's order, channels are by id,
/// members by user id and invites by code. Its `Debug` output (`{:#?}`)
/// says where two snapshots differ.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheSnapshot {
    /// The current user ([`Cache::current_user`]).
    pub current_user: Option<Arc<User>>,
    /// Every feed with its state ([`Cache::feeds`]).
    pub feeds: Vec<(FeedId, FeedState)>,
    /// Every guild with what it refers to.
    pub guilds: Vec<GuildSnapshot>,
    /// Every cached user.
    pub users: Vec<Arc<User>>,
    /// Every cached presence, by user.
    pub presences: Vec<(UserId, Arc<Presence>)>,
    /// The guilds each user is known to be in ([`Cache::user_guilds`]).
    pub user_guilds: Vec<(UserId, Vec<GuildId>)>,
    /// The counts ([`Cache::stats`]).
    pub stats: CacheStats,
}

/// One guild of a [`CacheSnapshot`], with what the cache holds of it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GuildSnapshot {
    /// The guild.
    pub guild: Arc<CachedGuild>,
    /// Its roles ([`Cache::guild_roles`]).
    pub roles: Vec<Arc<Role>>,
    /// Its emojis ([`Cache::guild_emojis`]).
    pub emojis: Vec<Arc<Emoji>>,
    /// Its channels ([`Cache::guild_channels`]).
    pub channels: Vec<Arc<Channel>>,
    /// Its members ([`Cache::guild_members`]).
    pub members: Vec<Arc<CachedMember>>,
    /// Its invites ([`Cache::guild_invites`]).
    pub invites: Vec<Arc<Invite>>,
}

impl Cache {
    /// Everything this cache holds, in a deterministic order: two caches
    /// that hold the same state give equal snapshots (see
    /// [`CacheSnapshot`]).
    ///
    /// It is read map by map, not under one lock: a snapshot taken while
    /// another task updates the cache may mix the states before and after.
    ///
    /// ```
    /// use ayaka_cache::Cache;
    /// use ayaka_model::gateway::Event;
    ///
    /// let events = [
    ///     br#"{"t": "GUILD_CREATE", "d": {"id": 1, "name": "one", "owner": 9, "roles": [], "emojis": []}}"#.as_slice(),
    ///     br#"{"t": "GUILD_CREATE", "d": {"id": 2, "name": "two", "owner": 9, "roles": [], "emojis": []}}"#,
    /// ];
    /// let (forwards, backwards) = (Cache::new(), Cache::new());
    /// for event in events {
    ///     forwards.update(&Event::from_json(event)?);
    /// }
    /// for event in events.iter().rev() {
    ///     backwards.update(&Event::from_json(event)?);
    /// }
    /// assert_eq!(forwards.snapshot(), backwards.snapshot());
    /// assert_eq!(forwards.snapshot().guilds.len(), 2);
    /// assert_ne!(forwards.snapshot(), Cache::new().snapshot());
    /// # Ok::<(), ayaka_model::Error>(())
    /// ```
    pub fn snapshot(&self) -> CacheSnapshot {
        let mut guilds = self.guilds();
        guilds.sort_unstable_by_key(|guild| guild.id);
        let guilds = guilds
            .into_iter()
            .map(|guild| GuildSnapshot {
                roles: self.guild_roles(guild.id),
                emojis: self.guild_emojis(guild.id),
                channels: self.guild_channels(guild.id),
                members: self.guild_members(guild.id),
                invites: self.guild_invites(guild.id),
                guild,
            })
            .collect();
        let mut users = self.users.values();
        users.sort_unstable_by_key(|user| user.id);
        let mut presences: Vec<_> = self
            .presences
            .keys()
            .into_iter()
            .filter_map(|user| Some((user, self.presence(user)?)))
            .collect();
        presences.sort_unstable_by_key(|(user, _)| *user);
        let mut user_guilds: Vec<_> = self
            .user_guilds
            .keys()
            .into_iter()
            .map(|user| (user, self.user_guilds(user)))
            .collect();
        user_guilds.sort_unstable_by_key(|(user, _)| *user);
        CacheSnapshot {
            current_user: self.current_user(),
            feeds: self.feeds(),
            guilds,
            users,
            presences,
            user_guilds,
            stats: self.stats(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use ayaka_model::gateway::Event;

    use crate::{Cache, FeedId};

    fn event(json: &str) -> Event {
        Event::from_json(json.as_bytes()).unwrap()
    }

    /// READY, two guilds with members, roles and channels, a presence and
    /// an invite.
    fn events() -> Vec<Event> {
        let guild = |id: u64, users: [u64; 2]| {
            let member = |user: u64| {
                format!(
                    r#"{{"user": {{"id": {user}, "username": "u{user}", "separator": 1}},
                        "joined_at": "2024-05-01T12:00:00Z", "roles": [{role}]}}"#,
                    role = id + 1
                )
            };
            event(&format!(
                r##"{{"t": "GUILD_INIT", "d": {{"id": {id}, "name": "g{id}", "owner": 1,
                    "roles": [{{"id": {role}, "name": "r", "position": 0, "color": "#000000", "permissions": []}}],
                    "emojis": [{{"id": {emoji}, "name": "e"}}],
                    "channels": [{{"id": {c1}, "name": "a", "type": 2, "position": 0}},
                                 {{"id": {c2}, "name": "b", "type": 2, "position": 1}}],
                    "members": [{m1}, {m2}]}}}}"##,
                role = id + 1,
                emoji = id + 2,
                c1 = id + 11,
                c2 = id + 10,
                m1 = member(users[0]),
                m2 = member(users[1]),
            ))
        };
        vec![
            event(r#"{"t": "READY", "d": {"id": 1, "username": "me", "separator": 1}}"#),
            guild(200, [3, 1]),
            guild(100, [1, 2]),
            event(r#"{"t": "PRESENCE_UPDATE", "id": 2, "d": {"type": 1}}"#),
            event(
                r#"{"t": "INVITE_CREATE", "d": {"code": "c", "guild_id": 100, "inviter_id": 1,
                    "created_at": "2024-05-01T12:00:00Z"}}"#,
            ),
        ]
    }

    #[test]
    fn a_snapshot_is_ordered_by_id_whatever_the_order_of_the_events() {
        let events = events();
        let forwards = Cache::new();
        for event in &events {
            forwards.update(event);
        }
        // READY first, then the rest backwards
        let backwards = Cache::new();
        backwards.update(&events[0]);
        for event in events[1..].iter().rev() {
            backwards.update(event);
        }
        let snapshot = forwards.snapshot();
        assert_eq!(snapshot, backwards.snapshot());

        assert_eq!(
            snapshot
                .guilds
                .iter()
                .map(|g| g.guild.id.get())
                .collect::<Vec<_>>(),
            [100, 200]
        );
        let first = &snapshot.guilds[0];
        assert_eq!(
            first
                .channels
                .iter()
                .map(|c| c.id().get())
                .collect::<Vec<_>>(),
            [110, 111]
        );
        assert_eq!(
            first
                .members
                .iter()
                .map(|m| m.user_id.get())
                .collect::<Vec<_>>(),
            [1, 2]
        );
        assert_eq!(first.roles.len(), 1);
        assert_eq!(first.emojis.len(), 1);
        assert_eq!(first.invites.len(), 1);
        assert_eq!(
            snapshot
                .users
                .iter()
                .map(|u| u.id.get())
                .collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert_eq!(
            snapshot
                .presences
                .iter()
                .map(|(u, _)| u.get())
                .collect::<Vec<_>>(),
            [2]
        );
        let guilds_of = |user: u64| {
            snapshot
                .user_guilds
                .iter()
                .find(|(id, _)| id.get() == user)
                .map(|(_, guilds)| guilds.iter().map(|g| g.get()).collect::<Vec<_>>())
        };
        assert_eq!(guilds_of(1), Some(vec![100, 200]));
        assert_eq!(guilds_of(3), Some(vec![200]));
        assert_eq!(snapshot.current_user.as_ref().map(|u| u.id.get()), Some(1));
        assert_eq!(snapshot.feeds.len(), 1);
        assert_eq!(snapshot.stats, forwards.stats());
    }

    #[test]
    fn a_snapshot_differs_when_the_state_does() {
        let events = events();
        let all = Cache::new();
        let fewer = Cache::new();
        for event in &events {
            all.update(event);
            fewer.update(event);
        }
        assert_eq!(all.snapshot(), fewer.snapshot());
        // one presence more
        fewer.update(&event(
            r#"{"t": "PRESENCE_UPDATE", "id": 3, "d": {"type": 1}}"#,
        ));
        assert_ne!(all.snapshot(), fewer.snapshot());
        all.update(&event(
            r#"{"t": "PRESENCE_UPDATE", "id": 3, "d": {"type": 1}}"#,
        ));
        assert_eq!(all.snapshot(), fewer.snapshot());
        // a feed counts too: the same READY on a second feed
        fewer.update_from(FeedId(7), &events[0]);
        assert_eq!(fewer.snapshot().feeds.len(), 2);
        assert_ne!(all.snapshot(), fewer.snapshot());
    }
}
