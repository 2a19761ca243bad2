//! A shard's figures, shared between its task and its handles lock-free.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU8, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use crate::{latency::Latency, read_ahead::Budget, shard_state::ShardState};

/// A shard's figures since it started (see
/// [`ShardHandle::stats`](crate::ShardHandle::stats)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShardStats {
    /// Complete (decompressed) messages received.
    pub messages_received: u64,
    /// Bytes of those messages.
    pub bytes_received: u64,
    /// Events the consumer has taken.
    pub events_delivered: u64,
    /// Bytes waiting in the read-ahead buffer for the consumer now (each
    /// message counted as its raw JSON plus 128 bytes).
    pub bytes_buffered: u64,
    /// How long, in all, the consumer was so far behind that the shard
    /// stopped reading (the read-ahead bound was reached).
    pub time_behind: Duration,
    /// Connections opened (the first one and every reconnect).
    pub connections: u64,
}

const NONE: u64 = u64::MAX;

/// The shard's clock (tokio's, as the shard task's).
fn clock() -> Instant {
    tokio::time::Instant::now().into_std()
}

#[derive(Debug)]
pub(crate) struct SharedStatus {
    state: AtomicU8,
    last_latency_us: AtomicU64,
    average_latency_us: AtomicU64,
    bytes_in: AtomicU64,
    messages: AtomicU64,
    time_behind_us: AtomicU64,
    /// Since when the consumer is behind, as micros after `epoch` (NONE: it is not).
    behind_since_us: AtomicU64,
    epoch: Instant,
    connections: AtomicU64,
    budget: Arc<Budget>,
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros())
        .unwrap_or(NONE - 1)
        .min(NONE - 1)
}

impl SharedStatus {
    pub(crate) fn new(budget: Arc<Budget>) -> Self {
        Self {
            state: AtomicU8::new(ShardState::Connecting.to_u8()),
            last_latency_us: AtomicU64::new(NONE),
            average_latency_us: AtomicU64::new(NONE),
            bytes_in: AtomicU64::new(0),
            messages: AtomicU64::new(0),
            time_behind_us: AtomicU64::new(0),
            behind_since_us: AtomicU64::new(NONE),
            epoch: clock(),
            connections: AtomicU64::new(0),
            budget,
        }
    }

    pub(crate) fn state(&self) -> ShardState {
        ShardState::from_u8(self.state.load(Ordering::Acquire))
    }

    pub(crate) fn set_state(&self, state: ShardState) {
        self.state.store(state.to_u8(), Ordering::Release);
    }

    pub(crate) fn latency(&self) -> Latency {
        let read = |value: &AtomicU64| match value.load(Ordering::Relaxed) {
            NONE => None,
            micros => Some(Duration::from_micros(micros)),
        };
        Latency {
            last: read(&self.last_latency_us),
            average: read(&self.average_latency_us),
        }
    }

    pub(crate) fn set_latency(&self, latency: Latency) {
        let write = |value: &AtomicU64, duration: Option<Duration>| {
            value.store(duration.map_or(NONE, micros), Ordering::Relaxed);
        };
        write(&self.last_latency_us, latency.last);
        write(&self.average_latency_us, latency.average);
    }

    pub(crate) fn add_received(&self, bytes: usize) {
        self.bytes_in.fetch_add(bytes as u64, Ordering::Relaxed);
        self.messages.fetch_add(1, Ordering::Relaxed);
    }

    /// The consumer fell behind at `since`.
    pub(crate) fn set_behind_since(&self, since: Instant) {
        let since = micros(since.saturating_duration_since(self.epoch));
        self.behind_since_us.store(since, Ordering::Relaxed);
    }

    /// The consumer caught up; `total` is the time behind so far.
    pub(crate) fn set_caught_up(&self, total: Duration) {
        self.time_behind_us.store(micros(total), Ordering::Relaxed);
        self.behind_since_us.store(NONE, Ordering::Relaxed);
    }

    pub(crate) fn set_connections(&self, connections: u64) {
        self.connections.store(connections, Ordering::Relaxed);
    }

    pub(crate) fn stats(&self) -> ShardStats {
        let mut time_behind = Duration::from_micros(self.time_behind_us.load(Ordering::Relaxed));
        match self.behind_since_us.load(Ordering::Relaxed) {
            NONE => {}
            since => {
                let now = clock().saturating_duration_since(self.epoch);
                time_behind += now.saturating_sub(Duration::from_micros(since));
            }
        }
        ShardStats {
            messages_received: self.messages.load(Ordering::Relaxed),
            bytes_received: self.bytes_in.load(Ordering::Relaxed),
            events_delivered: self.budget.delivered(),
            bytes_buffered: self.budget.used() as u64,
            time_behind,
            connections: self.connections.load(Ordering::Relaxed),
        }
    }
}
