//! One FIFO lane per bucket (or per route whose bucket is unknown): callers
//! of one process line up, and only the head talks to Redis, so Redis sees
//! one caller per process and bucket however many tasks wait.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::keys::BucketHash;
pub(super) use crate::sync::lock;

/// Dead lanes are swept when the map reaches a multiple of this.
const SWEEP_EVERY: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum LaneKey {
    /// A route whose bucket this process does not know (its key part).
    Route(Arc<str>),
    /// A known bucket.
    Bucket(BucketHash),
}

#[derive(Debug, Default)]
pub(super) struct Lane {
    /// Held by the head of the lane; tokio's mutex queues waiters FIFO.
    pub(super) turn: tokio::sync::Mutex<()>,
    /// Wakes the head when the bucket may have capacity.
    pub(super) wake: Notify,
    /// Until when the head expects to wait, for callers that give up.
    ready_at: Mutex<Option<Instant>>,
}

impl Lane {
    pub(super) fn expect_ready_at(&self, at: Option<Instant>) {
        *lock(&self.ready_at) = at;
    }

    /// How long until the head expects to go.
    pub(super) fn wait_hint(&self, now: Instant) -> Duration {
        lock(&self.ready_at).map_or(Duration::ZERO, |at| at.saturating_duration_since(now))
    }
}

#[derive(Debug, Default)]
pub(super) struct Lanes {
    map: Mutex<HashMap<LaneKey, Weak<Lane>>>,
}

impl Lanes {
    /// The lane for `key`, created if nobody holds it.
    pub(super) fn get(&self, key: LaneKey) -> Arc<Lane> {
        let mut map = lock(&self.map);
        if let Some(lane) = map.get(&key).and_then(Weak::upgrade) {
            return lane;
        }
        if map.len() % SWEEP_EVERY == SWEEP_EVERY - 1 {
            map.retain(|_, lane| lane.strong_count() > 0);
        }
        let lane = Arc::new(Lane::default());
        map.insert(key, Arc::downgrade(&lane));
        lane
    }

    /// Wakes the head of `key`'s lane, if anyone waits there.
    pub(super) fn wake(&self, key: &LaneKey) {
        let lane = lock(&self.map).get(key).and_then(Weak::upgrade);
        if let Some(lane) = lane {
            lane.wake.notify_waiters();
        }
    }

    /// Wakes every lane's head (a blind request answered: any bucket may
    /// have been keeping a slot back for it).
    pub(super) fn wake_all(&self) {
        let lanes: Vec<_> = lock(&self.map).values().filter_map(Weak::upgrade).collect();
        for lane in lanes {
            lane.wake.notify_waiters();
        }
    }
}
