//! A bucket's shared state: its core behind a mutex, the FIFO hand-off of
//! permits to queued waiters, reset timers, and the count of blind requests
//! that every bucket holds slots back for.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::ratelimit::bucket::BucketCore;

/// Blind requests in flight across all routes. Until one answers, nobody
/// knows which bucket it counts against, so every bucket keeps that many
/// slots back (only ever the last few of a window, and only while routes
/// are being learned).
#[derive(Debug, Default)]
pub(super) struct Blind {
    in_flight: AtomicU32,
    /// Buckets with waiters held back for blind requests.
    waiting: Mutex<Vec<Weak<Bucket>>>,
}

impl Blind {
    pub(super) fn held_back(&self) -> u32 {
        self.in_flight.load(Ordering::Acquire)
    }

    pub(super) fn started(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
    }

    /// A blind request answered or was lost: wake what it held back.
    pub(super) fn finished(&self) {
        let _ = self
            .in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
        let waiting = std::mem::take(&mut *lock(&self.waiting));
        for bucket in waiting.iter().filter_map(Weak::upgrade) {
            let state = lock(&bucket.state);
            Bucket::grant(&bucket, state);
        }
    }
}

#[derive(Debug)]
pub(super) struct Bucket {
    pub(super) state: Mutex<BucketState>,
    pub(super) blind: Arc<Blind>,
}

pub(super) struct BucketState {
    pub(super) core: BucketCore<oneshot::Sender<Grant>>,
    /// Set when a provisional bucket turned out to be a known one.
    pub(super) forward: Option<Arc<Bucket>>,
    /// The server's id, once known. Never logged.
    pub(super) id: Option<Box<str>>,
    timer_at: Option<Instant>,
}

impl std::fmt::Debug for BucketState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The id is left out: the deployed server once put credentials in it.
        f.debug_struct("BucketState")
            .field("core", &self.core)
            .field("forwarded", &self.forward.is_some())
            .field("timer_at", &self.timer_at)
            .finish_non_exhaustive()
    }
}

/// A permit handed to a queued waiter.
#[derive(Debug)]
pub(super) struct Grant {
    pub(super) bucket: Arc<Bucket>,
    pub(super) generation: u64,
    /// Whether the bucket's limits were known when the permit was issued.
    pub(super) learned: bool,
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while these locks are held; if it ever did, the state
    // is still consistent enough to keep going.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Follows forwarding from provisional buckets to the real one.
pub(super) fn resolve(mut bucket: Arc<Bucket>) -> Arc<Bucket> {
    loop {
        let next = lock(&bucket.state).forward.clone();
        match next {
            Some(next) => bucket = next,
            None => return bucket,
        }
    }
}

impl Bucket {
    pub(super) fn new(core: BucketCore<oneshot::Sender<Grant>>, blind: Arc<Blind>) -> Self {
        Self {
            blind,
            state: Mutex::new(BucketState {
                core,
                forward: None,
                id: None,
                timer_at: None,
            }),
        }
    }

    /// Hands permits to queued waiters while the bucket allows, then makes
    /// sure a timer will wake the rest.
    pub(super) fn grant(this: &Arc<Self>, mut state: MutexGuard<'_, BucketState>) {
        if state.core.queued() == 0 {
            // Nobody waits: nothing to hand out, no timer needed.
            return;
        }
        let now = Instant::now();
        state.core.hold_back(this.blind.held_back());
        while let Some((sender, generation)) = state.core.grant_next(now) {
            let learned = state.core.is_learned();
            let grant = Grant {
                bucket: Arc::clone(this),
                generation,
                learned,
            };
            match sender.send(grant) {
                Ok(()) if !learned => this.blind.started(),
                Ok(()) => {}
                // The waiter left: the permit goes to the next one.
                Err(grant) => state.core.undo(grant.generation),
            }
        }
        Self::arm_timer(this, &mut state, now);
        Self::wait_for_blind(this, &state);
    }

    /// Asks to be woken when blind requests finish, if they hold us back.
    pub(super) fn wait_for_blind(this: &Arc<Self>, state: &BucketState) {
        if state.core.queued() > 0 && this.blind.held_back() > 0 {
            let mut waiting = lock(&this.blind.waiting);
            if !waiting.iter().any(|w| w.as_ptr() == Arc::as_ptr(this)) {
                waiting.push(Arc::downgrade(this));
            }
        }
    }

    pub(super) fn arm_timer(this: &Arc<Self>, state: &mut BucketState, now: Instant) {
        let Some(at) = state.core.next_wake(now) else {
            return;
        };
        if state.timer_at.is_some_and(|armed| armed <= at) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("no tokio runtime to wake rate-limited requests");
            return;
        };
        state.timer_at = Some(at);
        let bucket = Arc::downgrade(this);
        runtime.spawn(Self::wake_at(bucket, at));
    }

    pub(super) async fn wake_at(bucket: Weak<Self>, at: Instant) {
        tokio::time::sleep_until(at).await;
        let Some(bucket) = bucket.upgrade() else {
            return;
        };
        let mut state = lock(&bucket.state);
        if state.timer_at == Some(at) {
            state.timer_at = None;
        }
        Self::grant(&bucket, state);
    }

    pub(super) fn undo(this: &Arc<Self>, generation: u64) {
        let mut state = lock(&this.state);
        state.core.undo(generation);
        Self::grant(this, state);
    }
}

/// A queued caller; if it is cancelled after being granted, the permit is
/// returned unused.
pub(super) struct Waiting {
    pub(super) receiver: oneshot::Receiver<Grant>,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.receiver.close();
        if let Ok(grant) = self.receiver.try_recv() {
            Bucket::undo(&grant.bucket, grant.generation);
            if !grant.learned {
                grant.bucket.blind.finished();
            }
        }
    }
}
