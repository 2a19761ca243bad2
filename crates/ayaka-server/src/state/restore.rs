//! Rebuilding the in-memory state from the data file's rows.

use std::collections::HashMap;
use std::fmt;

use ayaka_model::{Channel, Guild, Role, Timestamp, User};
use ayaka_snowflake::{GuildId, RoleId, UserId};

use super::Store;
use super::guilds::{GuildRecord, MemberRecord};
use super::sqlite::Snapshot;
use super::users::{Session, UserRecord, email_key, handle_key};
use crate::auth::SessionId;
use crate::error::{Error, ErrorKind};

/// A row the file holds that cannot be what it claims to be.
#[derive(Debug)]
struct BadRow(String);

impl fmt::Display for BadRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a row cannot be read: {}", self.0)
    }
}

impl std::error::Error for BadRow {}

fn corrupt(what: impl fmt::Display) -> Error {
    Error::with_source(ErrorKind::DataCorrupt, BadRow(what.to_string()))
}

fn json<T: serde::de::DeserializeOwned>(table: &str, text: &str) -> Result<T, Error> {
    serde_json::from_str(text).map_err(|error| corrupt(format!("{table}: {error}")))
}

impl Store {
    /// Fills an empty store with `snapshot`.
    pub(super) fn restore(&mut self, snapshot: Snapshot) -> Result<(), Error> {
        for (body, password_hash) in snapshot.users {
            let user: User = json("users", &body)?;
            if let Some(email) = &user.email {
                self.emails.insert(email_key(email), user.id);
            }
            self.handles
                .insert(handle_key(&user.username, user.separator), user.id);
            self.users.insert(
                user.id,
                UserRecord {
                    user,
                    password_hash,
                    sessions: Vec::new(),
                },
            );
        }
        for (name, user, secret) in snapshot.sessions {
            let user = UserId::new(user);
            let secret = <[u8; 16]>::try_from(secret.as_slice())
                .map_err(|_| corrupt("sessions: a secret of the wrong length"))?;
            let mut record = self
                .users
                .get_mut(&user)
                .ok_or_else(|| corrupt("sessions: a session of no user"))?;
            record.sessions.push(name);
            self.sessions.insert(
                name,
                Session {
                    user,
                    id: SessionId { name, secret },
                },
            );
        }
        let mut guilds: HashMap<u64, GuildRecord> = HashMap::new();
        for (id, body) in snapshot.guilds {
            let guild: Guild = json("guilds", &body)?;
            guilds.insert(
                id,
                GuildRecord {
                    guild,
                    members: HashMap::new(),
                    channels: Vec::new(),
                    invite_codes: Vec::new(),
                },
            );
        }
        for (id, body) in snapshot.roles {
            let role: Role = json("roles", &body)?;
            record_of(&mut guilds, id, "roles")?.guild.roles.push(role);
        }
        for (id, user, joined_at, roles) in snapshot.members {
            let joined_at = Timestamp::parse(&joined_at)
                .map_err(|error| corrupt(format!("members: {error}")))?;
            let roles: Vec<RoleId> = json("members", &roles)?;
            let user = UserId::new(user);
            record_of(&mut guilds, id, "members")?
                .members
                .insert(user, MemberRecord { joined_at, roles });
            self.memberships
                .entry(user)
                .or_default()
                .insert(GuildId::new(id));
        }
        for (id, body) in snapshot.channels {
            let channel: Channel = json("channels", &body)?;
            record_of(&mut guilds, id, "channels")?
                .channels
                .push(channel);
        }
        for (code, id) in snapshot.invites {
            record_of(&mut guilds, id, "invites")?
                .invite_codes
                .push(code.clone());
            self.invites.insert(code, GuildId::new(id));
        }
        for (id, record) in guilds {
            self.guilds.insert(GuildId::new(id), record);
        }
        Ok(())
    }
}

fn record_of<'a>(
    guilds: &'a mut HashMap<u64, GuildRecord>,
    id: u64,
    table: &str,
) -> Result<&'a mut GuildRecord, Error> {
    guilds
        .get_mut(&id)
        .ok_or_else(|| corrupt(format!("{table}: a row of no guild")))
}
