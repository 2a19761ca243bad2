//! The server's state: users, sessions, guilds and invites, in
//! concurrent maps (no global lock), kept in memory only or also in a
//! SQLite file ([`Backing`]). The REST and gateway code see one [`Store`]
//! either way: reads come from memory, and every change is recorded for
//! the file, which [`Store::sync`] waits for before a response leaves.
//!
//! Lock order, to stay deadlock-free: an entry of `guilds` may be held while
//! touching `memberships`, `invites` or `users`; an entry of `users` while
//! touching `sessions`, `emails` or `handles`; the journal's queue is taken
//! last of all. Never the other way round.

mod guilds;
mod journal;
mod restore;
mod sqlite;
mod users;

use std::collections::HashSet;
use std::path::Path;

use ayaka_model::UserId;
use ayaka_snowflake::{ChannelId, Generator, GuildId, RoleId};
use dashmap::DashMap;

pub(crate) use guilds::GuildRecord;
pub(crate) use journal::Unavailable;
pub(crate) use users::{Taken, UserRecord};

use crate::error::{Error, ErrorKind};
use journal::{Change, Journal};

/// Where the state lives besides memory.
enum Backing {
    /// Nowhere: gone with the process (the default; fast tests).
    Memory,
    /// A SQLite file, written before every response.
    File(Journal),
}

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
    /// Email key → its user (see [`users::email_key`]).
    emails: DashMap<String, UserId>,
    /// Username key and separator → its user.
    handles: DashMap<(String, u16), UserId>,
    backing: Backing,
}

impl Store {
    /// An empty store in memory only.
    pub(crate) fn new(ids: Generator) -> Self {
        Self {
            ids,
            users: DashMap::new(),
            sessions: DashMap::new(),
            guilds: DashMap::new(),
            invites: DashMap::new(),
            memberships: DashMap::new(),
            emails: DashMap::new(),
            handles: DashMap::new(),
            backing: Backing::Memory,
        }
    }

    /// The store kept in the SQLite file at `path`: what it holds is
    /// loaded, and every change is written to it from now on.
    ///
    /// # Errors
    ///
    /// The data file's kinds of [`ErrorKind`] (see [`sqlite`]).
    pub(crate) fn open(path: &Path, ids: Generator) -> Result<Self, Error> {
        let database = sqlite::Database::open(path)?;
        let mut store = Self::new(ids);
        store.restore(database.snapshot()?)?;
        let journal = Journal::start(database)
            .map_err(|error| Error::with_source(ErrorKind::DataUnavailable, error))?;
        store.backing = Backing::File(journal);
        Ok(store)
    }

    /// Records the changes `changes` makes, for the file (nothing is built
    /// in memory-only mode). Called under the lock of what changed.
    fn record(&self, changes: impl FnOnce() -> Vec<Change>) {
        if let Backing::File(journal) = &self.backing {
            journal.record(changes());
        }
    }

    /// Waits until every change recorded so far is in the file (at once
    /// in memory-only mode).
    ///
    /// # Errors
    ///
    /// When the file can no longer be written.
    pub(crate) async fn sync(&self) -> Result<(), Unavailable> {
        match &self.backing {
            Backing::Memory => Ok(()),
            Backing::File(journal) => journal.sync().await,
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

/// A new user of `store` with a real (fast) hash, and its session id.
#[cfg(test)]
pub(crate) async fn test_user(store: &Store, name: &str) -> (ayaka_model::User, String) {
    use ayaka_model::request::CreateUser;

    use crate::hashing::{PasswordHasher, PasswordHashing};

    let hash = PasswordHasher::new(PasswordHashing::Fast)
        .hash("password1".to_owned())
        .await
        .unwrap_or_default();
    let body = CreateUser::new(name, 1, format!("{name}@example.com"), "password1");
    let user = store
        .create_user(body, hash)
        .unwrap_or_else(|_| panic!("{name} is taken"));
    let session = user
        .session_ids
        .clone()
        .and_then(|mut ids| ids.pop())
        .unwrap_or_default();
    (user, session)
}
