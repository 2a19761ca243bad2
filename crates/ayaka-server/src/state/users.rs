//! Users and their sessions.

use ayaka_model::User;
use ayaka_model::request::{CreateUser, UpdateUser};
use ayaka_snowflake::UserId;
use dashmap::DashMap;
use dashmap::mapref::entry::Entry;

use super::Store;
use super::journal::{Change, UserRow};
use crate::auth::SessionId;

/// A user as stored: the public object, the password hash, the sessions.
pub(crate) struct UserRecord {
    /// Always with `session_ids: None`; they are added for the owner only.
    pub(super) user: User,
    /// The argon2id PHC string. Never sent, never logged. No documented
    /// route checks a password yet.
    pub(super) password_hash: String,
    /// Session names (the snowflake part), oldest first.
    pub(super) sessions: Vec<u64>,
}

/// Who a session belongs to, and its secret.
pub(super) struct Session {
    pub(super) user: UserId,
    pub(super) id: SessionId,
}

/// Fields whose value another user already has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Taken {
    /// The email address (compared case-insensitively).
    pub(crate) email: bool,
    /// The username and separator pair (the username compared
    /// case-insensitively).
    pub(crate) handle: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Claim {
    /// Claimed now.
    New,
    /// Already held by the claimant.
    Ours,
    /// Held by someone else.
    Taken,
}

fn claim<K: Eq + std::hash::Hash>(index: &DashMap<K, UserId>, key: K, id: UserId) -> Claim {
    match index.entry(key) {
        Entry::Occupied(owner) if *owner.get() == id => Claim::Ours,
        Entry::Occupied(_) => Claim::Taken,
        Entry::Vacant(slot) => {
            slot.insert(id);
            Claim::New
        }
    }
}

/// The uniqueness key of an email address.
pub(super) fn email_key(email: &str) -> String {
    email.to_lowercase()
}

/// The uniqueness key of a username and separator.
pub(super) fn handle_key(username: &str, separator: u16) -> (String, u16) {
    (username.to_lowercase(), separator)
}

impl Store {
    /// Stores a new user whose password hashed to `password_hash`, with one
    /// new session, unless its email or its username and separator are
    /// taken. Returns the user as its owner sees it.
    pub(crate) fn create_user(
        &self,
        body: CreateUser,
        password_hash: String,
    ) -> Result<User, Taken> {
        let id = self.next_user_id();
        let email = email_key(&body.email);
        let handle = handle_key(&body.username, body.separator);
        self.reserve(id, Some(&email), Some(&handle))?;
        let user = User {
            id,
            username: body.username,
            separator: body.separator,
            bio: body.bio,
            avatar_url: None,
            banner_url: None,
            flags: Vec::new(),
            verified: false,
            email: Some(body.email),
            system: false,
            email_verified: false,
            session_ids: None,
        };
        let session = self.open_session(id);
        let record = UserRecord {
            user,
            password_hash,
            sessions: vec![session.name],
        };
        let view = self.own_view(&record);
        // Recorded before the user is visible: nothing can refer to it yet.
        self.record(|| {
            vec![
                Change::User(UserRow::of(&record)),
                Change::Session {
                    name: session.name,
                    user: id,
                    secret: session.secret,
                },
            ]
        });
        self.users.insert(id, record);
        Ok(view)
    }

    /// Whether a sign-up's email and handle are free now (checked before
    /// the costly hash; [`create_user`](Self::create_user) checks again).
    pub(crate) fn check_free(&self, body: &CreateUser) -> Result<(), Taken> {
        let taken = Taken {
            email: self.emails.contains_key(&email_key(&body.email)),
            handle: self
                .handles
                .contains_key(&handle_key(&body.username, body.separator)),
        };
        if taken.email || taken.handle {
            Err(taken)
        } else {
            Ok(())
        }
    }

    /// Claims `email` and `handle` for `id`: both or neither.
    fn reserve(
        &self,
        id: UserId,
        email: Option<&str>,
        handle: Option<&(String, u16)>,
    ) -> Result<(), Taken> {
        let email_claim = email.map(|email| claim(&self.emails, email.to_owned(), id));
        let handle_claim = handle.map(|handle| claim(&self.handles, handle.clone(), id));
        let taken = Taken {
            email: email_claim == Some(Claim::Taken),
            handle: handle_claim == Some(Claim::Taken),
        };
        if !(taken.email || taken.handle) {
            return Ok(());
        }
        if let (Some(Claim::New), Some(email)) = (email_claim, email) {
            self.emails.remove_if(email, |_, owner| *owner == id);
        }
        if let (Some(Claim::New), Some(handle)) = (handle_claim, handle) {
            self.handles.remove_if(handle, |_, owner| *owner == id);
        }
        Err(taken)
    }

    /// Opens one more session of `user` (no route does; a login route
    /// would), returning its id. For tests.
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn open_another_session(&self, user: UserId) -> Option<String> {
        let mut record = self.users.get_mut(&user)?;
        let session = self.open_session(user);
        record.sessions.push(session.name);
        self.record(|| {
            vec![Change::Session {
                name: session.name,
                user,
                secret: session.secret,
            }]
        });
        Some(session.to_wire())
    }

    fn open_session(&self, user: UserId) -> SessionId {
        let id = SessionId::generate(self.ids.generate().get());
        self.sessions.insert(
            id.name,
            Session {
                user,
                id: id.clone(),
            },
        );
        id
    }

    /// The user a session id belongs to, and the session's name, if it is
    /// valid.
    pub(crate) fn authenticate_session(&self, session_id: &str) -> Option<(UserId, u64)> {
        let presented = SessionId::parse(session_id)?;
        let session = self.sessions.get(&presented.name)?;
        session
            .id
            .secret_matches(&presented.secret)
            .then_some((session.user, presented.name))
    }

    /// The user a session id belongs to, if it is valid.
    #[cfg(test)]
    pub(crate) fn authenticate(&self, session_id: &str) -> Option<UserId> {
        self.authenticate_session(session_id).map(|(user, _)| user)
    }

    /// The user as its owner sees it (email and session ids included).
    pub(crate) fn own_user(&self, id: UserId) -> Option<User> {
        self.users.get(&id).map(|record| self.own_view(&record))
    }

    /// The user as others see it (no email, no session ids).
    pub(crate) fn public_user(&self, id: UserId) -> Option<User> {
        self.users.get(&id).map(|record| record.public_view())
    }

    /// Applies an update; `password_hash` is the new password's hash when
    /// the body changes it. A new password ends every session of the user
    /// but `keep` (the one that made the change): the names of the ended
    /// sessions are returned with the user.
    pub(crate) fn update_user(
        &self,
        id: UserId,
        body: UpdateUser,
        password_hash: Option<String>,
        keep: u64,
    ) -> Result<Option<(User, Vec<u64>)>, Taken> {
        let Some(mut record) = self.users.get_mut(&id) else {
            return Ok(None);
        };
        let old_email = record.user.email.as_deref().map(email_key);
        let old_handle = handle_key(&record.user.username, record.user.separator);
        let new_email = body
            .email
            .as_deref()
            .map(email_key)
            .filter(|key| Some(key) != old_email.as_ref());
        let username = body.username.as_deref().unwrap_or(&record.user.username);
        let separator = body.separator.unwrap_or(record.user.separator);
        let new_handle = Some(handle_key(username, separator)).filter(|key| *key != old_handle);
        // The user's entry is held while keys are claimed (see the lock
        // order in the module above).
        self.reserve(id, new_email.as_deref(), new_handle.as_ref())?;
        if new_email.is_some()
            && let Some(old) = &old_email
        {
            self.emails.remove_if(old, |_, owner| *owner == id);
        }
        if new_handle.is_some() {
            self.handles.remove_if(&old_handle, |_, owner| *owner == id);
        }
        let user = &mut record.user;
        if let Some(username) = body.username {
            user.username = username;
        }
        if let Some(separator) = body.separator {
            user.separator = separator;
        }
        if let Some(bio) = body.bio {
            user.bio = Some(bio);
        }
        if let Some(email) = body.email {
            user.email = Some(email);
            user.email_verified = false;
        }
        let mut revoked = Vec::new();
        if let Some(hash) = password_hash {
            record.password_hash = hash;
            record.sessions.retain(|name| {
                let ended = *name != keep;
                if ended {
                    revoked.push(*name);
                }
                !ended
            });
            for name in &revoked {
                self.sessions.remove(name);
            }
        }
        self.record(|| {
            let mut changes = vec![Change::User(UserRow::of(&record))];
            if !revoked.is_empty() {
                changes.push(Change::SessionsEnded(revoked.clone()));
            }
            changes
        });
        Ok(Some((self.own_view(&record), revoked)))
    }

    /// How many users exist.
    pub(crate) fn user_count(&self) -> usize {
        self.users.len()
    }

    fn own_view(&self, record: &UserRecord) -> User {
        let session_ids = record
            .sessions
            .iter()
            .filter_map(|name| self.sessions.get(name).map(|session| session.id.to_wire()))
            .collect();
        User {
            session_ids: Some(session_ids),
            ..record.user.clone()
        }
    }
}

impl UserRecord {
    fn public_view(&self) -> User {
        User {
            email: None,
            session_ids: None,
            ..self.user.clone()
        }
    }

    /// The stored hash (tests check it is argon2id and not the password).
    #[cfg(test)]
    pub(crate) fn password_hash(&self) -> &str {
        &self.password_hash
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use ayaka_snowflake::Generator;

    use super::*;
    use crate::state::test_user as user;

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
    async fn emails_and_handles_are_unique_whatever_their_case() {
        let store = Store::new(Generator::new());
        let (alice, _) = user(&store, "alice").await;
        let same_email = CreateUser::new("other", 2, "ALICE@example.com", "password1");
        assert_eq!(
            store.create_user(same_email, String::new()).unwrap_err(),
            Taken {
                email: true,
                handle: false
            }
        );
        let same_handle = CreateUser::new("Alice", 1, "new@example.com", "password1");
        assert_eq!(
            store.create_user(same_handle, String::new()).unwrap_err(),
            Taken {
                email: false,
                handle: true
            }
        );
        // A refused sign-up claims nothing.
        let fine = CreateUser::new("bob", 1, "new@example.com", "password1");
        let bob = store.create_user(fine, String::new()).unwrap();
        // Updates are checked too; a user may keep its own values.
        let steal = UpdateUser::new().email("alice@EXAMPLE.com");
        assert!(store.update_user(bob.id, steal, None, 0).is_err());
        let rename = UpdateUser::new().username("ALICE").separator(1);
        assert!(
            store
                .update_user(alice.id, rename, None, 0)
                .unwrap()
                .is_some()
        );
        // Alice's old handle is free once she moved away from it.
        let moved = UpdateUser::new().separator(7);
        store.update_user(alice.id, moved, None, 0).unwrap();
        let reuse = CreateUser::new("alice", 1, "carol@example.com", "password1");
        assert!(store.create_user(reuse, String::new()).is_ok());
        assert_eq!(store.user_count(), 3);
    }

    #[tokio::test]
    async fn a_new_password_ends_every_other_session() {
        let store = Store::new(Generator::new());
        let (alice, first) = user(&store, "alice").await;
        let (_, keep) = store.authenticate_session(&first).unwrap();
        // Two more sessions, as restored from a file or opened later.
        let others: Vec<String> = (0..2)
            .map(|_| {
                let session = store.open_session(alice.id);
                store
                    .users
                    .get_mut(&alice.id)
                    .unwrap()
                    .sessions
                    .push(session.name);
                session.to_wire()
            })
            .collect();
        let body = UpdateUser::new().password("another password");
        let (user, ended) = store
            .update_user(alice.id, body, Some("hash".to_owned()), keep)
            .unwrap()
            .unwrap();
        assert_eq!(ended.len(), 2);
        assert_eq!(user.session_ids, Some(vec![first.clone()]));
        assert_eq!(store.authenticate(&first), Some(alice.id));
        for other in &others {
            assert_eq!(store.authenticate(other), None);
        }
        // Without a new password nothing ends.
        let (_, ended) = store
            .update_user(alice.id, UpdateUser::new().bio("hi"), None, keep)
            .unwrap()
            .unwrap();
        assert!(ended.is_empty());
    }
}
