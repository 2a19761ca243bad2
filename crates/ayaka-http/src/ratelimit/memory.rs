//! The in-memory [`RateLimiter`]: per-bucket state behind short mutexes.
//!
//! The fast path (a known bucket with budget left and nobody queued) takes a
//! read lock on the route map and one bucket mutex, never across an await.
//! Waiters queue in the bucket in FIFO order and are handed their permit
//! directly by whoever frees capacity: a response, or a timer spawned for the
//! window's reset.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, Weak};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::bucket::{Blocked, BucketCore, BucketSnapshot, Caps, Observation};
use super::{BoxFuture, Exhausted, Permit, PermitHandle, RateLimiter, Response};

/// Unused buckets are dropped when the id map reaches this size.
const PRUNE_BUCKETS_AT: usize = 256;

/// Cancelled waiters are purged when the queue reaches a multiple of this.
const PURGE_EVERY: usize = 64;

/// A rate limiter keeping every bucket in this process's memory.
///
/// Cheap to clone: clones share state.
///
/// ```
/// use ayaka_http::ratelimit::InMemoryRateLimiter;
/// use std::time::Duration;
///
/// let limiter = InMemoryRateLimiter::builder()
///     .max_wait(Duration::from_secs(600))
///     .build();
/// assert!(limiter.bucket("GET /users/@me").is_none());
/// ```
#[derive(Debug, Clone, Default)]
pub struct InMemoryRateLimiter {
    shared: Arc<Shared>,
}

/// Builds an [`InMemoryRateLimiter`].
#[derive(Debug, Clone)]
#[must_use]
pub struct InMemoryRateLimiterBuilder {
    caps: Caps,
}

impl Default for Caps {
    fn default() -> Self {
        Self {
            max_wait: Duration::from_secs(3600),
            fallback_wait: Duration::from_secs(1),
        }
    }
}

impl InMemoryRateLimiterBuilder {
    /// The longest wait any header may impose (default one hour); longer
    /// values from the server are clamped to it.
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.caps.max_wait = max_wait;
        self
    }

    /// How long an exhausted bucket waits when no header says (default one
    /// second).
    pub fn fallback_wait(mut self, wait: Duration) -> Self {
        self.caps.fallback_wait = wait;
        self
    }

    /// Builds the limiter.
    pub fn build(self) -> InMemoryRateLimiter {
        InMemoryRateLimiter {
            shared: Arc::new(Shared {
                caps: self.caps,
                ..Shared::default()
            }),
        }
    }
}

#[derive(Default)]
struct Shared {
    caps: Caps,
    blind: Arc<Blind>,
    /// Route name to its bucket (provisional until its first response).
    routes: RwLock<HashMap<Arc<str>, Arc<Bucket>>>,
    /// Server bucket id to bucket, so routes sharing one share state.
    buckets: Mutex<HashMap<Box<str>, Arc<Bucket>>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Bucket ids are left out: the deployed server once put credentials in them.
        let routes = self
            .routes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("InMemoryRateLimiter")
            .field("caps", &self.caps)
            .field("routes", &routes)
            .field("buckets", &lock(&self.buckets).len())
            .finish()
    }
}

/// Blind requests in flight across all routes. Until one answers, nobody
/// knows which bucket it counts against, so every bucket keeps that many
/// slots back (only ever the last few of a window, and only while routes
/// are being learned).
#[derive(Debug, Default)]
struct Blind {
    in_flight: AtomicU32,
    /// Buckets with waiters held back for blind requests.
    waiting: Mutex<Vec<Weak<Bucket>>>,
}

impl Blind {
    fn held_back(&self) -> u32 {
        self.in_flight.load(Ordering::Acquire)
    }

    fn started(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
    }

    /// A blind request answered or was lost: wake what it held back.
    fn finished(&self) {
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
struct Bucket {
    state: Mutex<BucketState>,
    blind: Arc<Blind>,
}

struct BucketState {
    core: BucketCore<oneshot::Sender<Grant>>,
    /// Set when a provisional bucket turned out to be a known one.
    forward: Option<Arc<Bucket>>,
    /// The server's id, once known. Never logged.
    id: Option<Box<str>>,
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
struct Grant {
    bucket: Arc<Bucket>,
    generation: u64,
    /// Whether the bucket's limits were known when the permit was issued.
    learned: bool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while these locks are held; if it ever did, the state
    // is still consistent enough to keep going.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl InMemoryRateLimiter {
    /// A limiter with default caps.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder to set caps.
    pub fn builder() -> InMemoryRateLimiterBuilder {
        InMemoryRateLimiterBuilder {
            caps: Caps::default(),
        }
    }

    /// The state of the bucket `route` uses, if the route has been used.
    pub fn bucket(&self, route: &str) -> Option<BucketSnapshot> {
        let bucket = self.shared.route(route)?;
        let now = Instant::now();
        Some(lock(&resolve(bucket).state).core.snapshot(now))
    }

    /// Every route used so far with the state of its bucket.
    pub fn routes(&self) -> Vec<(String, BucketSnapshot)> {
        let routes: Vec<_> = self
            .shared
            .routes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(route, bucket)| (route.to_string(), Arc::clone(bucket)))
            .collect();
        let now = Instant::now();
        routes
            .into_iter()
            .map(|(route, bucket)| {
                let snapshot = lock(&resolve(bucket).state).core.snapshot(now);
                (route, snapshot)
            })
            .collect()
    }

    /// How many server buckets are known.
    pub fn bucket_count(&self) -> usize {
        lock(&self.shared.buckets).len()
    }

    /// Whether two routes have been learned to share one server bucket.
    pub fn same_bucket(&self, a: &str, b: &str) -> bool {
        match (self.shared.route(a), self.shared.route(b)) {
            (Some(a), Some(b)) => Arc::ptr_eq(&resolve(a), &resolve(b)),
            _ => false,
        }
    }

    async fn acquire_inner(&self, route: &str, max_wait: Duration) -> Result<Permit, Exhausted> {
        let (route, mut bucket) = self.shared.route_or_insert(route);
        // `None` (an unrepresentable instant) means no limit on waiting.
        let deadline = Instant::now().checked_add(max_wait);
        loop {
            let mut waiting = match Self::try_acquire(&mut bucket, max_wait)? {
                Attempt::Issued {
                    generation,
                    learned,
                } => {
                    return Ok(self.permit(route, bucket, generation, learned));
                }
                Attempt::Queued(waiting) => {
                    tracing::trace!(route = &*route, "waiting for the rate limiter");
                    waiting
                }
                Attempt::Forwarded => continue,
            };
            let received = match deadline {
                Some(deadline) => {
                    let waited = tokio::time::timeout_at(deadline, &mut waiting.receiver).await;
                    let Ok(received) = waited else {
                        drop(waiting);
                        let bucket = resolve(bucket);
                        let mut state = lock(&bucket.state);
                        state.core.purge(oneshot::Sender::is_closed);
                        let retry_after = state.core.wait_hint(Instant::now());
                        return Err(Exhausted { retry_after });
                    };
                    received
                }
                None => (&mut waiting.receiver).await,
            };
            if let Ok(grant) = received {
                return Ok(self.permit(route, grant.bucket, grant.generation, grant.learned));
            }
            // The queue was dropped without granting (cannot happen while the
            // bucket lives); start over rather than hang.
        }
    }

    /// The synchronous part of acquiring: issue now, or queue.
    fn try_acquire(bucket: &mut Arc<Bucket>, max_wait: Duration) -> Result<Attempt, Exhausted> {
        let now = Instant::now();
        let mut state = lock(&bucket.state);
        if let Some(next) = state.forward.clone() {
            drop(state);
            *bucket = next;
            return Ok(Attempt::Forwarded);
        }
        let learned = state.core.is_learned();
        state.core.hold_back(bucket.blind.held_back());
        let blocked = match state.core.try_issue(now) {
            Ok(generation) => {
                if !learned {
                    bucket.blind.started();
                }
                return Ok(Attempt::Issued {
                    generation,
                    learned,
                });
            }
            Err(blocked) => blocked,
        };
        if let Blocked::Until(at) = blocked {
            let wait = at.saturating_duration_since(now);
            if wait > max_wait {
                return Err(Exhausted { retry_after: wait });
            }
        }
        let (sender, receiver) = oneshot::channel();
        if state.core.queued() % PURGE_EVERY == PURGE_EVERY - 1 {
            state.core.purge(oneshot::Sender::is_closed);
        }
        state.core.enqueue(sender);
        Bucket::arm_timer(bucket, &mut state, now);
        Bucket::wait_for_blind(bucket, &state);
        Ok(Attempt::Queued(Waiting { receiver }))
    }

    fn permit(
        &self,
        route: Arc<str>,
        bucket: Arc<Bucket>,
        generation: u64,
        learned: bool,
    ) -> Permit {
        Permit::new(MemoryPermit {
            shared: Arc::clone(&self.shared),
            route,
            bucket,
            generation,
            provisional: !learned,
        })
    }
}

impl RateLimiter for InMemoryRateLimiter {
    fn acquire<'a>(
        &'a self,
        route: &'a str,
        max_wait: Duration,
    ) -> BoxFuture<'a, Result<Permit, Exhausted>> {
        Box::pin(self.acquire_inner(route, max_wait))
    }
}

/// Follows forwarding from provisional buckets to the real one.
fn resolve(mut bucket: Arc<Bucket>) -> Arc<Bucket> {
    loop {
        let next = lock(&bucket.state).forward.clone();
        match next {
            Some(next) => bucket = next,
            None => return bucket,
        }
    }
}

impl Shared {
    fn route(&self, route: &str) -> Option<Arc<Bucket>> {
        let routes = self.routes.read().unwrap_or_else(PoisonError::into_inner);
        routes.get(route).cloned()
    }

    fn route_or_insert(&self, route: &str) -> (Arc<str>, Arc<Bucket>) {
        {
            let routes = self.routes.read().unwrap_or_else(PoisonError::into_inner);
            if let Some((key, bucket)) = routes.get_key_value(route) {
                return (Arc::clone(key), Arc::clone(bucket));
            }
        }
        let mut routes = self.routes.write().unwrap_or_else(PoisonError::into_inner);
        if let Some((key, bucket)) = routes.get_key_value(route) {
            return (Arc::clone(key), Arc::clone(bucket));
        }
        let key: Arc<str> = route.into();
        let bucket = Arc::new(Bucket::new(
            BucketCore::provisional(self.caps),
            Arc::clone(&self.blind),
        ));
        routes.insert(Arc::clone(&key), Arc::clone(&bucket));
        tracing::trace!(route, "learning the bucket of a new route");
        (key, bucket)
    }

    /// After a route's first response named bucket `id`: make the route use
    /// the bucket already known under that id, or register this one.
    fn register(
        &self,
        route: &Arc<str>,
        permit: &MemoryPermit,
        id: &str,
        observation: Observation<'_>,
    ) {
        let provisional = &permit.bucket;
        let mut buckets = lock(&self.buckets);
        match buckets.get(id).cloned() {
            Some(existing) if !Arc::ptr_eq(&existing, provisional) => {
                drop(buckets);
                // The provisional bucket never learns its own budget: it
                // forwards to the known bucket and hands over its queue.
                let waiters = {
                    let mut state = lock(&provisional.state);
                    state.forward = Some(Arc::clone(&existing));
                    state.core.drain_queue()
                };
                self.routes
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(Arc::clone(route), Arc::clone(&existing));
                tracing::debug!(route = &**route, "route shares a known bucket");
                let mut state = lock(&existing.state);
                state
                    .core
                    .observe_foreign(observation.received_at, &observation);
                for waiter in waiters {
                    state.core.enqueue(waiter);
                }
                Bucket::grant(&existing, state);
            }
            _ => {
                // Learn under the map lock, so a route sharing this bucket
                // never sees it registered but not yet learned.
                let mut state = lock(&provisional.state);
                state.core.complete(
                    permit.generation,
                    observation.received_at,
                    Some(observation),
                );
                state.id = Some(id.into());
                if buckets.len() >= PRUNE_BUCKETS_AT {
                    // A server that renames buckets must not grow the map
                    // forever: drop buckets no route or permit uses.
                    buckets.retain(|_, bucket| Arc::strong_count(bucket) > 1);
                }
                buckets.insert(id.into(), Arc::clone(provisional));
                drop(buckets);
                tracing::debug!(route = &**route, "learned a new bucket");
                Bucket::grant(provisional, state);
            }
        }
    }

    /// A route's bucket changed at the server: relearn it on the next request.
    fn forget_route(&self, route: &Arc<str>, bucket: &Arc<Bucket>) {
        let mut routes = self.routes.write().unwrap_or_else(PoisonError::into_inner);
        if routes.get(route).is_some_and(|b| Arc::ptr_eq(b, bucket)) {
            routes.remove(route);
            tracing::debug!(
                route = &**route,
                "route moved to another bucket; relearning"
            );
        }
    }
}

impl Bucket {
    fn new(core: BucketCore<oneshot::Sender<Grant>>, blind: Arc<Blind>) -> Self {
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
    fn grant(this: &Arc<Self>, mut state: MutexGuard<'_, BucketState>) {
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
    fn wait_for_blind(this: &Arc<Self>, state: &BucketState) {
        if state.core.queued() > 0 && this.blind.held_back() > 0 {
            let mut waiting = lock(&this.blind.waiting);
            if !waiting.iter().any(|w| w.as_ptr() == Arc::as_ptr(this)) {
                waiting.push(Arc::downgrade(this));
            }
        }
    }

    fn arm_timer(this: &Arc<Self>, state: &mut BucketState, now: Instant) {
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

    async fn wake_at(bucket: Weak<Self>, at: Instant) {
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

    fn undo(this: &Arc<Self>, generation: u64) {
        let mut state = lock(&this.state);
        state.core.undo(generation);
        Self::grant(this, state);
    }
}

/// The outcome of [`InMemoryRateLimiter::try_acquire`].
enum Attempt {
    Issued {
        generation: u64,
        learned: bool,
    },
    Queued(Waiting),
    /// The bucket was merged into another one: try that.
    Forwarded,
}

/// A queued caller; if it is cancelled after being granted, the permit is
/// returned unused.
struct Waiting {
    receiver: oneshot::Receiver<Grant>,
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

struct MemoryPermit {
    shared: Arc<Shared>,
    route: Arc<str>,
    bucket: Arc<Bucket>,
    generation: u64,
    /// Issued before the route's bucket was known (the blind request).
    provisional: bool,
}

impl std::fmt::Debug for MemoryPermit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryPermit")
            .field("route", &self.route)
            .field("generation", &self.generation)
            .field("provisional", &self.provisional)
            .finish_non_exhaustive()
    }
}

impl PermitHandle for MemoryPermit {
    fn complete(&mut self, response: Option<Response<'_>>) {
        let now = Instant::now();
        let observation = response.map(|r| Observation {
            limited: r.limited,
            headers: r.headers,
            received_at: now,
        });
        let id = response.and_then(|r| r.headers.bucket.as_deref());
        if self.provisional
            && let (Some(id), Some(observation)) = (id, observation)
        {
            self.shared
                .register(&Arc::clone(&self.route), self, id, observation);
            self.bucket.blind.finished();
            return;
        }
        let mut state = lock(&self.bucket.state);
        state.core.complete(self.generation, now, observation);
        let moved = matches!((id, state.id.as_deref()), (Some(id), Some(known)) if id != known);
        Bucket::grant(&self.bucket, state);
        if self.provisional {
            self.bucket.blind.finished();
        }
        if moved {
            self.shared.forget_route(&self.route, &self.bucket);
        }
    }
}
