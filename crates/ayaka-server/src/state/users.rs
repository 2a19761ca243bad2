//! Users and their sessions.

use ayaka_model::User;
use ayaka_model::request::{CreateUser, UpdateUser};
use ayaka_snowflake::UserId;

use super::Store;
use crate::auth::SessionId;

/// A user as stored: the public object, the password hash, the sessions.
pub(crate) struct UserRecord {
    /// Always with `session_ids: None`; they are added for the owner only.
    user: User,
    /// The argon2id PHC string. Never sent, never logged. No documented
    /// route checks a password yet, so only tests read it.
    #[cfg_attr(not(test), allow(dead_code))]
    password_hash: String,
    session_ids: Vec<String>,
}

/// Who a session belongs to, and its secret.
pub(super) struct Session {
    user: UserId,
    id: SessionId,
}

impl Store {
    /// Stores a new user whose password hashed to `password_hash`, with one
    /// new session. Returns the user as its owner sees it.
    pub(crate) fn create_user(&self, body: CreateUser, password_hash: String) -> User {
        let id = self.next_user_id();
        let session = self.open_session(id);
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
        let record = UserRecord {
            user,
            password_hash,
            session_ids: vec![session],
        };
        let own_view = record.own_view();
        self.users.insert(id, record);
        own_view
    }

    fn open_session(&self, user: UserId) -> String {
        let id = SessionId::generate(self.ids.generate().get());
        let wire = id.to_wire();
        self.sessions.insert(id.name, Session { user, id });
        wire
    }

    /// The user a session id belongs to, if it is valid.
    pub(crate) fn authenticate(&self, session_id: &str) -> Option<UserId> {
        let presented = SessionId::parse(session_id)?;
        let session = self.sessions.get(&presented.name)?;
        session
            .id
            .secret_matches(&presented.secret)
            .then_some(session.user)
    }

    /// The user as its owner sees it (email and session ids included).
    pub(crate) fn own_user(&self, id: UserId) -> Option<User> {
        self.users.get(&id).map(|record| record.own_view())
    }

    /// The user as others see it (no email, no session ids).
    pub(crate) fn public_user(&self, id: UserId) -> Option<User> {
        self.users.get(&id).map(|record| record.public_view())
    }

    /// Applies an update; `password_hash` is the new password's hash when
    /// the body changes it.
    pub(crate) fn update_user(
        &self,
        id: UserId,
        body: UpdateUser,
        password_hash: Option<String>,
    ) -> Option<User> {
        let mut record = self.users.get_mut(&id)?;
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
        if let Some(hash) = password_hash {
            record.password_hash = hash;
        }
        Some(record.own_view())
    }

    /// How many users exist.
    pub(crate) fn user_count(&self) -> usize {
        self.users.len()
    }
}

impl UserRecord {
    fn own_view(&self) -> User {
        User {
            session_ids: Some(self.session_ids.clone()),
            ..self.user.clone()
        }
    }

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
}
