//! The data file: one SQLite database (bundled SQLite, WAL, full
//! synchronous commits).
//!
//! Opening checks before it writes anything: a file that is not a
//! database, fails SQLite's quick check, belongs to another application or
//! has an unknown schema version is refused with its own
//! [`ErrorKind`](crate::ErrorKind) and left exactly as it was. A missing
//! or empty file becomes a new database. The file is held with an
//! exclusive lock for the life of the server, so a second server cannot
//! open it meanwhile (a killed server's lock goes with its process).
//!
//! Model objects are stored as their JSON (the wire format, which the
//! model round-trips); ids, uniqueness keys and the links between rows
//! are columns, with foreign keys and `UNIQUE` constraints as a second
//! line behind the server's own checks.

use std::path::Path;

use rusqlite::{Connection, ErrorCode, OpenFlags, params};

use super::journal::Change;
use crate::error::{Error, ErrorKind};

/// "AYKS": marks a file as this server's (`PRAGMA application_id`).
const APPLICATION_ID: i64 = 0x4159_4B53;
/// The schema below (`PRAGMA user_version`).
pub(crate) const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email_key TEXT NOT NULL UNIQUE,
    username_key TEXT NOT NULL,
    separator INTEGER NOT NULL,
    password_hash TEXT NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (username_key, separator)
);
CREATE TABLE sessions (
    name INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    secret BLOB NOT NULL
);
CREATE TABLE guilds (
    id INTEGER PRIMARY KEY,
    body TEXT NOT NULL
);
CREATE TABLE roles (
    id INTEGER PRIMARY KEY,
    guild_id INTEGER NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE members (
    guild_id INTEGER NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id),
    joined_at TEXT NOT NULL,
    roles TEXT NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);
CREATE TABLE channels (
    id INTEGER PRIMARY KEY,
    guild_id INTEGER NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE invites (
    code TEXT PRIMARY KEY,
    guild_id INTEGER NOT NULL REFERENCES guilds (id) ON DELETE CASCADE
);
CREATE INDEX roles_by_guild ON roles (guild_id, ordinal);
CREATE INDEX channels_by_guild ON channels (guild_id, ordinal);
CREATE INDEX invites_by_guild ON invites (guild_id);
";

/// An open data file.
pub(crate) struct Database {
    connection: Connection,
}

/// Everything the file holds, as rows.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    /// User JSON and password hash.
    pub(crate) users: Vec<(String, String)>,
    /// Session name, user id, secret.
    pub(crate) sessions: Vec<(u64, u64, Vec<u8>)>,
    /// Guild JSON (without roles), by id.
    pub(crate) guilds: Vec<(u64, String)>,
    /// Guild id and role JSON, in each guild's order.
    pub(crate) roles: Vec<(u64, String)>,
    /// Guild id, user id, joined_at, role ids as JSON.
    pub(crate) members: Vec<(u64, u64, String, String)>,
    /// Guild id and channel JSON, in each guild's order.
    pub(crate) channels: Vec<(u64, String)>,
    /// Invite code and guild id.
    pub(crate) invites: Vec<(String, u64)>,
}

/// Snowflakes are u64; SQLite integers are i64. The cast is a bijection,
/// so ids past `i64::MAX` (none today) would still round-trip.
#[allow(clippy::cast_possible_wrap)]
fn to_sql(id: u64) -> i64 {
    id as i64
}

#[allow(clippy::cast_sign_loss)]
fn from_sql(id: i64) -> u64 {
    id as u64
}

/// The error kind of a SQLite failure while opening or reading.
fn classify(error: &rusqlite::Error) -> ErrorKind {
    match error.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => ErrorKind::DataCorrupt,
        _ => ErrorKind::DataUnavailable,
    }
}

fn failed(error: rusqlite::Error) -> Error {
    Error::with_source(classify(&error), error)
}

/// Why a file was refused, in words.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

fn refused(kind: ErrorKind, path: &Path, why: &str) -> Error {
    Error::with_source(kind, Refused(format!("{}: {why}", path.display())))
}

impl Database {
    /// Opens (or creates) the data file at `path` and checks it.
    pub(crate) fn open(path: &Path) -> Result<Self, Error> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection = Connection::open_with_flags(path, flags).map_err(failed)?;
        // A file held by another server is refused at once, not waited for.
        connection
            .busy_timeout(std::time::Duration::ZERO)
            .map_err(failed)?;
        // Nothing is written before the file is known to be ours: these
        // reads are the first thing that touches it.
        let application_id: i64 = connection
            .pragma_query_value(None, "application_id", |row| row.get(0))
            .map_err(failed)?;
        let version: i64 = connection
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(failed)?;
        let objects: i64 = connection
            .query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get(0))
            .map_err(failed)?;
        let fresh = application_id == 0 && version == 0 && objects == 0;
        if !fresh {
            if application_id != APPLICATION_ID {
                return Err(refused(
                    ErrorKind::DataForeign,
                    path,
                    "a SQLite database of another application",
                ));
            }
            if version != SCHEMA_VERSION {
                return Err(refused(
                    ErrorKind::DataVersion,
                    path,
                    &format!("schema version {version}; this server knows {SCHEMA_VERSION}"),
                ));
            }
            let check: String = connection
                .query_row("PRAGMA quick_check", [], |row| row.get(0))
                .map_err(failed)?;
            if check != "ok" {
                return Err(refused(ErrorKind::DataCorrupt, path, &check));
            }
        }
        connection
            .execute_batch(
                "PRAGMA locking_mode = EXCLUSIVE;
                 PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = FULL;
                 PRAGMA foreign_keys = ON;",
            )
            .map_err(failed)?;
        // Takes the exclusive lock now, not at the first change: a second
        // server is refused at start.
        connection
            .execute_batch("BEGIN IMMEDIATE; COMMIT;")
            .map_err(|error| match error.sqlite_error_code() {
                Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                    refused(ErrorKind::DataUnavailable, path, "in use by another server")
                }
                _ => failed(error),
            })?;
        if fresh {
            let create = format!(
                "BEGIN; {SCHEMA} PRAGMA application_id = {APPLICATION_ID}; \
                 PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
            );
            connection.execute_batch(&create).map_err(failed)?;
            restrict_permissions(path);
        }
        Ok(Self { connection })
    }

    /// Every row.
    pub(crate) fn snapshot(&self) -> Result<Snapshot, Error> {
        let read = || -> rusqlite::Result<Snapshot> {
            let c = &self.connection;
            let mut snapshot = Snapshot::default();
            let mut users = c.prepare("SELECT body, password_hash FROM users ORDER BY id")?;
            snapshot.users = users
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut sessions =
                c.prepare("SELECT name, user_id, secret FROM sessions ORDER BY name")?;
            snapshot.sessions = sessions
                .query_map([], |row| {
                    Ok((from_sql(row.get(0)?), from_sql(row.get(1)?), row.get(2)?))
                })?
                .collect::<rusqlite::Result<_>>()?;
            let mut guilds = c.prepare("SELECT id, body FROM guilds ORDER BY id")?;
            snapshot.guilds = guilds
                .query_map([], |row| Ok((from_sql(row.get(0)?), row.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut roles =
                c.prepare("SELECT guild_id, body FROM roles ORDER BY guild_id, ordinal")?;
            snapshot.roles = roles
                .query_map([], |row| Ok((from_sql(row.get(0)?), row.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut members =
                c.prepare("SELECT guild_id, user_id, joined_at, roles FROM members")?;
            snapshot.members = members
                .query_map([], |row| {
                    Ok((
                        from_sql(row.get(0)?),
                        from_sql(row.get(1)?),
                        row.get(2)?,
                        row.get(3)?,
                    ))
                })?
                .collect::<rusqlite::Result<_>>()?;
            let mut channels =
                c.prepare("SELECT guild_id, body FROM channels ORDER BY guild_id, ordinal")?;
            snapshot.channels = channels
                .query_map([], |row| Ok((from_sql(row.get(0)?), row.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut invites = c.prepare("SELECT code, guild_id FROM invites")?;
            snapshot.invites = invites
                .query_map([], |row| Ok((row.get(0)?, from_sql(row.get(1)?))))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(snapshot)
        };
        read().map_err(failed)
    }

    /// Applies `changes` in one transaction, committed (and synced) on
    /// return.
    pub(crate) fn apply<'a>(
        &mut self,
        changes: impl IntoIterator<Item = &'a Change>,
    ) -> rusqlite::Result<()> {
        let transaction = self.connection.transaction()?;
        for change in changes {
            apply_one(&transaction, change)?;
        }
        transaction.commit()
    }
}

fn apply_one(c: &Connection, change: &Change) -> rusqlite::Result<()> {
    match change {
        Change::User(row) => {
            c.prepare_cached(
                "INSERT INTO users (id, email_key, username_key, separator, password_hash, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (id) DO UPDATE SET email_key = ?2, username_key = ?3,
                     separator = ?4, password_hash = ?5, body = ?6",
            )?
            .execute(params![
                to_sql(row.id.get()),
                row.email_key,
                row.username_key,
                row.separator,
                row.password_hash,
                row.json
            ])?;
        }
        Change::Session { name, user, secret } => {
            c.prepare_cached("INSERT INTO sessions (name, user_id, secret) VALUES (?1, ?2, ?3)")?
                .execute(params![to_sql(*name), to_sql(user.get()), &secret[..]])?;
        }
        Change::SessionsEnded(names) => {
            let mut delete = c.prepare_cached("DELETE FROM sessions WHERE name = ?1")?;
            for name in names {
                delete.execute([to_sql(*name)])?;
            }
        }
        Change::Guild(row) => {
            let id = to_sql(row.id.get());
            c.prepare_cached(
                "INSERT INTO guilds (id, body) VALUES (?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET body = ?2",
            )?
            .execute(params![id, row.json])?;
            c.prepare_cached("DELETE FROM roles WHERE guild_id = ?1")?
                .execute([id])?;
            let mut insert = c.prepare_cached(
                "INSERT INTO roles (id, guild_id, ordinal, body) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (ordinal, (role, json)) in row.roles.iter().enumerate() {
                insert.execute(params![to_sql(*role), id, ordinal, json])?;
            }
        }
        Change::Member {
            guild,
            user,
            joined_at,
            roles,
        } => {
            c.prepare_cached(
                "INSERT INTO members (guild_id, user_id, joined_at, roles) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (guild_id, user_id) DO UPDATE SET joined_at = ?3, roles = ?4",
            )?
            .execute(params![
                to_sql(guild.get()),
                to_sql(user.get()),
                joined_at,
                roles
            ])?;
        }
        Change::Channel {
            guild,
            id,
            ordinal,
            json,
        } => {
            c.prepare_cached(
                "INSERT INTO channels (id, guild_id, ordinal, body) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![to_sql(*id), to_sql(guild.get()), ordinal, json])?;
        }
        Change::Invite { code, guild } => {
            c.prepare_cached("INSERT INTO invites (code, guild_id) VALUES (?1, ?2)")?
                .execute(params![code, to_sql(guild.get())])?;
        }
        Change::GuildDeleted(guild) => {
            c.prepare_cached("DELETE FROM guilds WHERE id = ?1")?
                .execute([to_sql(guild.get())])?;
        }
    }
    Ok(())
}

/// The file holds session ids: readable by its owner only.
fn restrict_permissions(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Err(error) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
            tracing::warn!(%error, "cannot make the data file private");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}
