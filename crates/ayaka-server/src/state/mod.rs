//! The server's state: users, sessions, guilds and invites, in
//! concurrent maps (no global lock).
//!
//! Lock order, to stay deadlock-free: an entry of `guilds` may be held while
//! touching `memberships`, `invites` or `users`, never the other way round,
//! and no entry of `users` is held while touching any other map.

mod guilds;
mod users;

use std::collections::HashSet;

use ayaka_model::UserId;
use ayaka_snowflake::{ChannelId, Generator, GuildId, RoleId};
use dashmap::DashMap;

pub(crate) use guilds::GuildRecord;
pub(crate) use users::UserRecord;

/// Why a guild operation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Denied {
    /// No such guild.
    NoGuild,
    /// The caller is not a member.
    NotMember,
    /// The caller is a member without the needed permission.
    Forbidden,
    /// `inside_of` does not name a category of the guild.
    NoCategory,
}

/// Everything the server knows.
pub(crate) struct Store {
    ids: Generator,
    users: DashMap<UserId, UserRecord>,
    /// Session name (the snowflake part) → owner and secret.
    sessions: DashMap<u64, users::Session>,
    guilds: DashMap<GuildId, GuildRecord>,
    /// Invite code → guild.
    invites: DashMap<String, GuildId>,
    /// User → the guilds they are a member of.
    memberships: DashMap<UserId, HashSet<GuildId>>,
}

impl Store {
    pub(crate) fn new(ids: Generator) -> Self {
        Self {
            ids,
            users: DashMap::new(),
            sessions: DashMap::new(),
            guilds: DashMap::new(),
            invites: DashMap::new(),
            memberships: DashMap::new(),
        }
    }

    fn next_user_id(&self) -> UserId {
        self.ids.next_id()
    }

    fn next_guild_id(&self) -> GuildId {
        self.ids.next_id()
    }

    fn next_role_id(&self) -> RoleId {
        self.ids.next_id()
    }

    fn next_channel_id(&self) -> ChannelId {
        self.ids.next_id()
    }

    /// The guilds `user` is a member of.
    pub(crate) fn guilds_of(&self, user: UserId) -> Vec<GuildId> {
        self.memberships
            .get(&user)
            .map(|guilds| guilds.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Every user who shares a guild with `user`, `user` excluded.
    pub(crate) fn neighbours(&self, user: UserId) -> HashSet<UserId> {
        let mut neighbours = HashSet::new();
        for guild in self.guilds_of(user) {
            if let Some(record) = self.guilds.get(&guild) {
                neighbours.extend(record.member_ids());
            }
        }
        neighbours.remove(&user);
        neighbours
    }

    /// Whether `a` and `b` are members of a common guild.
    pub(crate) fn share_a_guild(&self, a: UserId, b: UserId) -> bool {
        let Some(mine) = self.memberships.get(&a).map(|set| set.clone()) else {
            return false;
        };
        self.memberships
            .get(&b)
            .is_some_and(|theirs| !mine.is_disjoint(&theirs))
    }
}

/// An [`Announce`](guilds::Announce) that tells nobody, for tests.
#[cfg(test)]
pub(crate) fn quiet<T>(_: &T, _: &mut dyn Iterator<Item = UserId>) {}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use ayaka_model::request::{CreateChannel, CreateGuild, CreateUser, UpdateGuild};
    use ayaka_model::{ChannelType, User};

    use super::*;
    use crate::auth::{PasswordHasher, PasswordHashing};

    async fn user(store: &Store, name: &str) -> (User, String) {
        let hash = PasswordHasher::new(PasswordHashing::Fast)
            .hash("password1".to_owned())
            .await
            .unwrap();
        let body = CreateUser::new(name, 1, format!("{name}@example.com"), "password1");
        let user = store.create_user(body, hash);
        let session = user.session_ids.clone().unwrap().remove(0);
        (user, session)
    }

    #[tokio::test]
    async fn users_authenticate_by_session_only() {
        let store = Store::new(Generator::new());
        let (alice, session) = user(&store, "alice").await;
        assert_eq!(store.authenticate(&session), Some(alice.id));
        let mut forged = session.clone();
        forged.pop();
        forged.push(if session.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(store.authenticate(&forged), None);
        assert_eq!(store.authenticate(&alice.id.to_string()), None);

        let record = store.users.get(&alice.id).unwrap();
        assert!(record.password_hash().starts_with("$argon2id$"));
        assert!(!record.password_hash().contains("password1"));
        let public = store.public_user(alice.id).unwrap();
        assert_eq!((public.email, public.session_ids), (None, None));
    }

    #[tokio::test]
    async fn permissions_gate_guild_changes() {
        let store = Store::new(Generator::new());
        let (owner, _) = user(&store, "owner").await;
        let (member, _) = user(&store, "member").await;
        let (stranger, _) = user(&store, "stranger").await;
        let guild = store.create_guild(owner.id, CreateGuild::new("g"));
        let invite = store.create_invite(guild.id, owner.id, quiet).unwrap();
        // GUILD_JOIN is announced only to a new member.
        let joined = |store: &Store| {
            let mut joined = false;
            store
                .join(&invite.code, member.id, |_| joined = true)
                .unwrap();
            joined
        };
        assert!(joined(&store));
        assert!(!joined(&store));

        let rename = || UpdateGuild::new().name("renamed");
        assert_eq!(
            store
                .update_guild(guild.id, member.id, rename(), quiet)
                .unwrap_err(),
            Denied::Forbidden
        );
        assert_eq!(
            store
                .update_guild(guild.id, stranger.id, rename(), quiet)
                .unwrap_err(),
            Denied::NotMember
        );
        assert_eq!(
            store
                .update_guild(GuildId::new(1), owner.id, rename(), quiet)
                .unwrap_err(),
            Denied::NoGuild
        );
        let mut members = Vec::new();
        let renamed = store
            .update_guild(guild.id, owner.id, rename(), |_, ids| members.extend(ids))
            .unwrap();
        assert_eq!(renamed.name, "renamed");
        assert_eq!(members.len(), 2);

        // @everyone may invite, not create channels
        assert!(store.create_invite(guild.id, member.id, quiet).is_ok());
        let text = || CreateChannel::new("general", ChannelType::Text);
        assert_eq!(
            store
                .create_channel(guild.id, member.id, text(), quiet)
                .unwrap_err(),
            Denied::Forbidden
        );
        let bogus_parent = text().inside_of(ayaka_snowflake::ChannelId::new(3));
        assert_eq!(
            store
                .create_channel(guild.id, owner.id, bogus_parent, quiet)
                .unwrap_err(),
            Denied::NoCategory
        );
        assert!(store.share_a_guild(owner.id, member.id));
        assert!(!store.share_a_guild(owner.id, stranger.id));
        assert_eq!(
            store.neighbours(owner.id).into_iter().collect::<Vec<_>>(),
            [member.id]
        );
        assert_eq!(
            store.delete_guild(guild.id, member.id).unwrap_err(),
            Denied::Forbidden
        );
    }

    #[tokio::test]
    async fn deleting_a_guild_leaves_nothing_behind() {
        let store = Store::new(Generator::new());
        let (owner, _) = user(&store, "owner").await;
        let (member, _) = user(&store, "member").await;
        let guild = store.create_guild(owner.id, CreateGuild::new("g"));
        let invite = store.create_invite(guild.id, owner.id, quiet).unwrap();
        store.join(&invite.code, member.id, |_| {}).unwrap();
        store
            .create_channel(
                guild.id,
                owner.id,
                CreateChannel::new("c", ChannelType::Category),
                quiet,
            )
            .unwrap();
        assert_eq!(store.guild_counts(), (1, 1, 2));

        let mut members = store.delete_guild(guild.id, owner.id).unwrap();
        members.sort();
        assert_eq!(members, [owner.id, member.id]);
        assert_eq!(store.guild_counts(), (0, 0, 0));
        assert!(store.join(&invite.code, member.id, |_| {}).is_none());
        assert!(store.guilds_of(member.id).is_empty());
    }
}
