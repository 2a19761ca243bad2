//! What the server counts, in process ([`Stats`]) and as JSON at
//! `GET /_local/stats`.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use serde_json::{Value, json};

use crate::server::Shared;

/// Counters the REST layer updates.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Requests answered, `/_local/stats` itself excluded.
    pub(crate) requests: AtomicU64,
    /// 429s sent.
    pub(crate) rate_limited: AtomicU64,
    /// Open REST connections.
    pub(crate) rest_connections: AtomicUsize,
}

/// Counts of what the server holds and has done, for monitoring and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Accounts.
    pub users: usize,
    /// Guilds.
    pub guilds: usize,
    /// Live invite codes.
    pub invites: usize,
    /// Users who are a member of at least one guild.
    pub users_in_guilds: usize,
    /// Open gateway connections, counted from the TCP accept (handshaking,
    /// identifying or identified).
    pub connections: usize,
    /// Open REST connections.
    pub rest_connections: usize,
    /// REST requests answered since start (`/_local/stats` excluded).
    pub requests: u64,
    /// 429 responses sent since start.
    pub rate_limited: u64,
    /// Password hashes running now (at most the hashing concurrency).
    pub hashes_running: usize,
    /// Password hashes waiting for a worker now.
    pub hashes_queued: usize,
    /// Hashes finished since start.
    pub hashes_completed: u64,
    /// Waiting hashes dropped because their client hung up.
    pub hashes_abandoned: u64,
    /// Sign-ups and password changes refused with 503 (queue full).
    pub hashes_refused: u64,
}

impl Stats {
    pub(crate) fn of(shared: &Shared) -> Self {
        let (guilds, invites, users_in_guilds) = shared.store.guild_counts();
        let hashing = shared.hasher.figures();
        Self {
            users: shared.store.user_count(),
            guilds,
            invites,
            users_in_guilds,
            connections: shared.hub.open_connections(),
            rest_connections: shared.counters.rest_connections.load(Ordering::Relaxed),
            requests: shared.counters.requests.load(Ordering::Relaxed),
            rate_limited: shared.counters.rate_limited.load(Ordering::Relaxed),
            hashes_running: hashing.running,
            hashes_queued: hashing.queued,
            hashes_completed: hashing.completed,
            hashes_abandoned: hashing.abandoned,
            hashes_refused: hashing.refused,
        }
    }
}

/// The body of `GET /_local/stats`.
pub(crate) fn to_json(shared: &Shared) -> Value {
    let stats = Stats::of(shared);
    let hashing = shared.hasher.figures();
    json!({
        "requests": stats.requests,
        "rate_limited": stats.rate_limited,
        "connections": stats.connections,
        "rest_connections": stats.rest_connections,
        "users": stats.users,
        "guilds": stats.guilds,
        "invites": stats.invites,
        "hashing": {
            "running": hashing.running,
            "queued": hashing.queued,
            "completed": hashing.completed,
            "abandoned": hashing.abandoned,
            "refused": hashing.refused,
            "concurrency": hashing.concurrency,
            "queue": hashing.queue,
        },
    })
}
