//! The in-memory [`RateLimiter`]: per-bucket state behind short mutexes.
//!
//! The fast path (a known bucket with budget left and nobody queued) takes a
//! read lock on the route map and one bucket mutex, never across an await.
//! Waiters queue in the bucket in FIFO order and are handed their permit
//! directly by whoever frees capacity: a response, or a timer spawned for the
//! window's reset.

mod moves;
mod permit;
mod queue;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use ayaka_model::route::RouteKind;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::bucket::{Blocked, BucketCore, BucketSnapshot, Caps};
use super::{AcquireError, BoxFuture, Exhausted, Permit, RateLimiter};
use permit::MemoryPermit;
use queue::{Blind, Bucket, Grant, Ticket, Waiter, lock};

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
/// use ayaka_model::route::RouteKind;
///
/// let limiter = InMemoryRateLimiter::builder()
///     .max_wait(Duration::from_secs(600))
///     .build();
/// assert!(limiter.bucket(RouteKind::GetCurrentUser).is_none());
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

    /// How long an exhausted bucket waits when no header says, and no bucket
    /// name spells a window (default one second). It is a first guess: the
    /// window after it sends one request first, and a bucket whose guess
    /// proves short waits twice as long the next time.
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
    /// Each route's bucket, indexed by [`RouteKind::index`] (provisional
    /// until the route's first response).
    routes: RwLock<Routes>,
    /// Server bucket ids, and how often each route moved. Every move holds
    /// this lock, so moves never interleave.
    registry: Mutex<Registry>,
}

#[derive(Default)]
struct Registry {
    /// Server bucket id to bucket, so routes sharing one share state.
    ids: HashMap<Box<str>, Arc<Bucket>>,
    /// Per route, how many times it moved: permits carry the count, so a
    /// permit of an earlier stay knows its route moved since.
    epochs: [u32; RouteKind::ALL.len()],
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Bucket ids are left out: the deployed server once put credentials in them.
        let routes = self
            .routes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .flatten()
            .count();
        f.debug_struct("InMemoryRateLimiter")
            .field("caps", &self.caps)
            .field("routes", &routes)
            .field("buckets", &lock(&self.registry).ids.len())
            .finish()
    }
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
    pub fn bucket(&self, route: RouteKind) -> Option<BucketSnapshot> {
        let bucket = self.shared.route(route)?;
        let now = Instant::now();
        Some(lock(&bucket.state).core.snapshot(now))
    }

    /// Every route used so far with the state of its bucket, in
    /// [`RouteKind::ALL`] order.
    pub fn routes(&self) -> Vec<(RouteKind, BucketSnapshot)> {
        let routes: Vec<_> = {
            let routes = self
                .shared
                .routes
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            RouteKind::ALL
                .into_iter()
                .zip(routes.iter())
                .filter_map(|(route, bucket)| Some((route, Arc::clone(bucket.as_ref()?))))
                .collect()
        };
        let now = Instant::now();
        routes
            .into_iter()
            .map(|(route, bucket)| (route, lock(&bucket.state).core.snapshot(now)))
            .collect()
    }

    /// How many server buckets are known.
    pub fn bucket_count(&self) -> usize {
        lock(&self.shared.registry).ids.len()
    }

    /// Whether two routes have been learned to share one server bucket.
    pub fn same_bucket(&self, a: RouteKind, b: RouteKind) -> bool {
        match (self.shared.route(a), self.shared.route(b)) {
            (Some(a), Some(b)) => Arc::ptr_eq(&a, &b),
            _ => false,
        }
    }

    async fn acquire_inner(
        &self,
        route: RouteKind,
        max_wait: Duration,
    ) -> Result<Permit, Exhausted> {
        let mut bucket = self.shared.route_or_insert(route);
        // Set when first queued (the fast path never reads the clock for it);
        // `None` inside (an unrepresentable instant) means no limit.
        let mut deadline = None;
        loop {
            let mut waiting = match self.try_acquire(route, &mut bucket, max_wait)? {
                Attempt::Issued {
                    generation,
                    epoch,
                    provisional,
                } => {
                    let ticket = Ticket {
                        bucket,
                        route,
                        generation,
                        epoch,
                        provisional,
                    };
                    return Ok(self.permit(ticket));
                }
                Attempt::Queued(waiting) => {
                    tracing::trace!(route = route.as_str(), "waiting for the rate limiter");
                    waiting
                }
                Attempt::Moved => continue,
            };
            let deadline = *deadline.get_or_insert_with(|| Instant::now().checked_add(max_wait));
            let received = match deadline {
                Some(deadline) => {
                    let waited = tokio::time::timeout_at(deadline, &mut waiting.receiver).await;
                    let Ok(received) = waited else {
                        drop(waiting);
                        return Err(self.give_up(route));
                    };
                    received
                }
                None => (&mut waiting.receiver).await,
            };
            if let Ok(grant) = received {
                waiting.disarm();
                return grant.map(|ticket| self.permit(ticket));
            }
            // The queue was dropped without granting (cannot happen while the
            // bucket lives); start over rather than hang.
            bucket = self.shared.route_or_insert(route);
        }
    }

    /// The synchronous part of acquiring: issue now, or queue.
    fn try_acquire(
        &self,
        route: RouteKind,
        bucket: &mut Arc<Bucket>,
        max_wait: Duration,
    ) -> Result<Attempt, Exhausted> {
        let now = Instant::now();
        let mut state = lock(&bucket.state);
        if !state.members.contains(route) {
            // The route moved since we looked it up.
            drop(state);
            *bucket = self.shared.route_or_insert(route);
            return Ok(Attempt::Moved);
        }
        let blind = state.core.is_blind();
        state.core.hold_back(bucket.blind.held_back());
        let blocked = match state.core.try_issue(now) {
            Ok(generation) => {
                if blind {
                    bucket.blind.started();
                }
                let epoch = state.issued(route);
                return Ok(Attempt::Issued {
                    generation,
                    epoch,
                    provisional: blind,
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
            state.core.purge(|waiter| waiter.sender.is_closed());
        }
        state.core.enqueue(Waiter {
            route,
            sender,
            since: now,
            deadline: now.checked_add(max_wait),
        });
        Bucket::grant(bucket, state);
        Ok(Attempt::Queued(Waiting {
            receiver,
            shared: Some(Arc::clone(&self.shared)),
        }))
    }

    /// A caller waited as long as it would: leave the queue, say how long
    /// the bucket would still take.
    fn give_up(&self, route: RouteKind) -> Exhausted {
        let Some(bucket) = self.shared.route(route) else {
            return Exhausted {
                retry_after: Duration::ZERO,
            };
        };
        let mut state = lock(&bucket.state);
        state.core.purge(|waiter| waiter.sender.is_closed());
        let retry_after = state.core.wait_hint(Instant::now());
        Exhausted { retry_after }
    }

    fn permit(&self, ticket: Ticket) -> Permit {
        Permit::new(MemoryPermit {
            shared: Arc::clone(&self.shared),
            ticket: Some(ticket),
        })
    }
}

impl RateLimiter for InMemoryRateLimiter {
    fn acquire(
        &self,
        route: RouteKind,
        max_wait: Duration,
    ) -> BoxFuture<'_, Result<Permit, AcquireError>> {
        Box::pin(async move { Ok(self.acquire_inner(route, max_wait).await?) })
    }
}

impl Shared {
    fn route(&self, route: RouteKind) -> Option<Arc<Bucket>> {
        let routes = self.routes.read().unwrap_or_else(PoisonError::into_inner);
        routes.get(route).cloned()
    }

    fn route_or_insert(&self, route: RouteKind) -> Arc<Bucket> {
        if let Some(bucket) = self.route(route) {
            return bucket;
        }
        let mut routes = self.routes.write().unwrap_or_else(PoisonError::into_inner);
        let slot = routes.slot(route);
        if let Some(bucket) = slot {
            return Arc::clone(bucket);
        }
        // A route's slot is filled once and only ever replaced by a move,
        // so its first stay is epoch 0.
        let bucket = Arc::new(Bucket::provisional(
            BucketCore::provisional(self.caps),
            Arc::clone(&self.blind),
            route,
            0,
        ));
        *slot = Some(Arc::clone(&bucket));
        tracing::trace!(route = route.as_str(), "learning the bucket of a new route");
        bucket
    }
}

/// One bucket slot per route of the table: the key is a small `Copy` enum,
/// so a lookup is an index, not a hash of a string.
#[derive(Default)]
struct Routes([Option<Arc<Bucket>>; RouteKind::ALL.len()]);

// `RouteKind::index` is below `RouteKind::ALL.len()` by construction, so
// indexing cannot fail.
impl Routes {
    fn get(&self, route: RouteKind) -> Option<&Arc<Bucket>> {
        self.0[route.index()].as_ref()
    }

    fn slot(&mut self, route: RouteKind) -> &mut Option<Arc<Bucket>> {
        &mut self.0[route.index()]
    }

    fn iter(&self) -> impl Iterator<Item = &Option<Arc<Bucket>>> {
        self.0.iter()
    }
}

/// The outcome of [`InMemoryRateLimiter::try_acquire`].
enum Attempt {
    /// A permit for the bucket tried, in this window and stay of the route.
    Issued {
        generation: u64,
        epoch: u32,
        provisional: bool,
    },
    Queued(Waiting),
    /// The route moved to another bucket: try that.
    Moved,
}

/// A queued caller; if it is cancelled after being granted, the permit is
/// returned unused.
struct Waiting {
    receiver: oneshot::Receiver<Grant>,
    shared: Option<Arc<Shared>>,
}

impl Waiting {
    /// The grant was taken: nothing to return on drop.
    fn disarm(&mut self) {
        self.shared = None;
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        let Some(shared) = self.shared.take() else {
            return;
        };
        self.receiver.close();
        if let Ok(Ok(ticket)) = self.receiver.try_recv() {
            shared.undo(ticket);
        }
    }
}
