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
    /// Gateway connections not sent READY yet, and the most at once.
    pub(crate) identifying: AtomicUsize,
    pub(crate) identifying_peak: AtomicUsize,
}

/// Counts a gateway connection as identifying until dropped (after its
/// READY went out, or when it ended before).
pub(crate) struct Identifying<'a>(&'a Counters);

impl<'a> Identifying<'a> {
    pub(crate) fn start(counters: &'a Counters) -> Self {
        let now = counters.identifying.fetch_add(1, Ordering::AcqRel) + 1;
        counters.identifying_peak.fetch_max(now, Ordering::AcqRel);
        Self(counters)
    }
}

impl Drop for Identifying<'_> {
    fn drop(&mut self) {
        self.0.identifying.fetch_sub(1, Ordering::AcqRel);
    }
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
    /// Gateway connections accepted and not sent READY yet (handshaking
    /// or identifying).
    pub identifying: usize,
    /// The most gateway connections ever identifying at once: 1 when
    /// clients took turns to identify.
    pub identifying_peak: usize,
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
            identifying: shared.counters.identifying.load(Ordering::Acquire),
            identifying_peak: shared.counters.identifying_peak.load(Ordering::Acquire),
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
        "identifying": stats.identifying,
        "identifying_peak": stats.identifying_peak,
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
