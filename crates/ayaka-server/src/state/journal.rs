//! Durability: every change to the state, in the order it happened, for
//! the data file.
//!
//! The state is served from memory; with a data file, each change is also
//! recorded here, under the lock of what it changes (so changes to one
//! thing reach the file in the order they happened), and a writer thread
//! commits them to SQLite, many requests' changes in one transaction
//! (group commit: one fsync for a burst). A response leaves only once
//! everything recorded before it is committed ([`Journal::sync`]), so what
//! the server acknowledged survives `kill -9`, and nothing a response
//! showed can be lost either.
//!
//! If a commit fails (disk full, I/O error), the file keeps what it had
//! and the journal stops: every later [`Journal::sync`] fails, so the
//! server answers 503 until it is restarted, rather than acknowledge what
//! it cannot keep.

use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Mutex, PoisonError};

use ayaka_model::User;
use ayaka_snowflake::{GuildId, UserId};
use tokio::sync::watch;

use super::sqlite::Database;
use super::users::{UserRecord, email_key, handle_key};

/// One change, as the file stores it.
#[derive(Debug, Clone)]
pub(crate) enum Change {
    /// A user, new or changed.
    User(UserRow),
    /// A new session.
    Session {
        name: u64,
        user: UserId,
        secret: [u8; 16],
    },
    /// Sessions that ended.
    SessionsEnded(Vec<u64>),
    /// A guild (its roles included), new or changed.
    Guild(GuildRow),
    /// A membership, new or changed.
    Member {
        guild: GuildId,
        user: UserId,
        /// RFC 3339.
        joined_at: String,
        /// JSON array of role ids.
        roles: String,
    },
    /// A new channel, `ordinal` its place in the guild's list.
    Channel {
        guild: GuildId,
        id: u64,
        ordinal: usize,
        json: String,
    },
    /// A new invite code.
    Invite { code: String, guild: GuildId },
    /// A guild gone, with everything in it.
    GuildDeleted(GuildId),
}

/// A user's row.
#[derive(Debug, Clone)]
pub(crate) struct UserRow {
    pub(crate) id: UserId,
    pub(crate) email_key: String,
    pub(crate) username_key: String,
    pub(crate) separator: u16,
    pub(crate) password_hash: String,
    /// The `User` as JSON, without session ids.
    pub(crate) json: String,
}

impl UserRow {
    pub(super) fn of(record: &UserRecord) -> Self {
        let user: &User = &record.user;
        let (username_key, separator) = handle_key(&user.username, user.separator);
        Self {
            id: user.id,
            email_key: user.email.as_deref().map(email_key).unwrap_or_default(),
            username_key,
            separator,
            password_hash: record.password_hash.clone(),
            // A model object always serialises.
            json: serde_json::to_string(user).unwrap_or_default(),
        }
    }
}

/// A guild's row and its roles' rows.
#[derive(Debug, Clone)]
pub(crate) struct GuildRow {
    pub(crate) id: GuildId,
    /// The `Guild` as JSON, without roles, channels or members.
    pub(crate) json: String,
    /// Each role's id and JSON, in order.
    pub(crate) roles: Vec<(u64, String)>,
}

/// The file stopped accepting changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unavailable;

#[derive(Debug, Clone, Copy, Default)]
struct Progress {
    /// The last sequence number committed.
    committed: u64,
    failed: bool,
}

struct Queue {
    /// The last sequence number recorded.
    recorded: u64,
    /// `None` once the journal is dropped.
    sender: Option<Sender<(u64, Vec<Change>)>>,
}

/// The changes on their way to the file.
pub(crate) struct Journal {
    queue: Mutex<Queue>,
    progress: watch::Receiver<Progress>,
    writer: Option<std::thread::JoinHandle<()>>,
}

/// Most changes in one transaction.
const MAX_GROUP: usize = 512;

impl Journal {
    /// Starts the writer thread over `database`.
    pub(crate) fn start(database: Database) -> std::io::Result<Self> {
        let (sender, receiver) = std::sync::mpsc::channel();
        let (progress_sender, progress) = watch::channel(Progress::default());
        let writer = std::thread::Builder::new()
            .name("ayaka-data".to_owned())
            .spawn(move || write(database, &receiver, &progress_sender))?;
        Ok(Self {
            queue: Mutex::new(Queue {
                recorded: 0,
                sender: Some(sender),
            }),
            progress,
            writer: Some(writer),
        })
    }

    /// Queues `changes`, in order after everything recorded before.
    pub(crate) fn record(&self, changes: Vec<Change>) {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        queue.recorded += 1;
        let sequence = queue.recorded;
        // A send fails only if the writer is gone; `sync` then fails too.
        if let Some(sender) = &queue.sender {
            let _ = sender.send((sequence, changes));
        }
    }

    /// Waits until everything recorded so far is in the file.
    pub(crate) async fn sync(&self) -> Result<(), Unavailable> {
        let target = self
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .recorded;
        let mut progress = self.progress.clone();
        let reached = progress
            .wait_for(|progress| progress.committed >= target || progress.failed)
            .await
            .map_err(|_| Unavailable)?;
        if reached.committed >= target {
            Ok(())
        } else {
            Err(Unavailable)
        }
    }
}

impl Drop for Journal {
    /// Lets the writer commit what is queued and close the file, so that
    /// the file is free (its lock released) once the store is gone.
    fn drop(&mut self) {
        self.queue
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .sender
            .take();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

/// The writer thread: commits groups of changes until every sender is
/// gone (the store dropped), or a commit fails.
fn write(
    mut database: Database,
    receiver: &Receiver<(u64, Vec<Change>)>,
    progress: &watch::Sender<Progress>,
) {
    while let Ok(first) = receiver.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match receiver.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let last = group.last().map_or(0, |(sequence, _)| *sequence);
        let changes = group.iter().flat_map(|(_, changes)| changes);
        match database.apply(changes) {
            Ok(()) => {
                progress.send_modify(|progress| progress.committed = last);
            }
            Err(error) => {
                tracing::error!(%error, "cannot write the data file; refusing every request from now on");
                progress.send_modify(|progress| progress.failed = true);
                return;
            }
        }
    }
}
