//! [`RedisRateLimiter`]: one rate-limit budget shared by every process of a
//! namespace.
//!
//! Each decision is one atomic script in Redis ([`raw`]). Inside a process,
//! callers line up FIFO per bucket and only the head of each line talks to
//! Redis; it sleeps until the wait the script returned (plus jitter) or
//! until a pub/sub wake-up. When Redis fails the limiter falls back to an
//! [`InMemoryRateLimiter`] and probes Redis again after a cooldown, unless
//! it was built fail-closed.

mod adapter;
mod health;
mod lanes;
mod observe;
mod permit;
pub mod raw;
mod wake;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ayaka_http::ratelimit::{InMemoryRateLimiter, Permit, RouteKind};
use tokio::runtime::Handle;
use tokio::time::Instant;

pub use observe::Caps;

use crate::connection::Connection;
use crate::error::{Error, ErrorKind};
use crate::keys::{BucketHash, Keyspace, Namespace};
use health::{Health, Route};
use lanes::{LaneKey, Lanes, lock};
use permit::RedisPermit;
use raw::{Acquired, BucketState, Lease, PermitId, RawLimiter, Settings};

/// Routes this process remembers the bucket of; beyond this the map is
/// cleared (routes are a small closed set in practice).
const MAX_ROUTES: usize = 4096;

/// A rate limiter whose buckets live in Redis, shared by every process
/// built on the same [`Namespace`].
///
/// Cheap to clone: clones share state. Give it to
/// `ayaka_http::ClientBuilder::ratelimiter`.
///
/// ```no_run
/// use ayaka_redis::{Connection, Namespace, RedisRateLimiter};
/// use std::time::Duration;
///
/// # fn demo() -> Result<(), ayaka_redis::Error> {
/// let limiter = RedisRateLimiter::builder(
///     Connection::open("unix:///run/redis/redis.sock")?,
///     Namespace::new("my-bot")?,
/// )
/// .lease(Duration::from_secs(15))
/// .cooldown(Duration::from_secs(5))
/// .build();
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RedisRateLimiter {
    inner: Arc<Inner>,
}

/// Builds a [`RedisRateLimiter`].
#[derive(Debug, Clone)]
#[must_use]
pub struct RedisRateLimiterBuilder {
    redis: Connection,
    namespace: Namespace,
    settings: Settings,
    cooldown: Duration,
    fail_closed: bool,
    jitter: Duration,
    fallback: Option<InMemoryRateLimiter>,
}

impl RedisRateLimiterBuilder {
    /// How long a request may be in flight before its lease expires and
    /// its slot is freed at the next window (default 15 s: the HTTP
    /// client's 10 s timeout plus a margin). Set it above your client's
    /// request timeout; a process that dies frees its budget within it.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.settings.lease = lease;
        self
    }

    /// Added to every reset estimate (default 20 ms).
    pub fn margin(mut self, margin: Duration) -> Self {
        self.settings.margin = margin;
        self
    }

    /// The longest wait any header may impose (default one hour); a server
    /// duration beyond it is treated as garbage.
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.settings.caps.max_wait = max_wait;
        self
    }

    /// How long an exhausted bucket waits when nothing says (default 1 s).
    pub fn fallback_wait(mut self, wait: Duration) -> Self {
        self.settings.caps.fallback_wait = wait;
        self
    }

    /// How long a learned route → bucket mapping lives (default 24 h).
    pub fn route_ttl(mut self, ttl: Duration) -> Self {
        self.settings.route_ttl = ttl;
        self
    }

    /// How long an unused bucket's state lives in Redis (default 1 h).
    pub fn idle_ttl(mut self, ttl: Duration) -> Self {
        self.settings.idle = ttl;
        self
    }

    /// After Redis fails, how long to use the fallback before trying Redis
    /// again (default 5 s).
    pub fn cooldown(mut self, cooldown: Duration) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// Refuse with [`ErrorKind::Unavailable`] while Redis is down instead of
    /// falling back to the in-process limiter (default: fall back).
    pub fn fail_closed(mut self, fail_closed: bool) -> Self {
        self.fail_closed = fail_closed;
        self
    }

    /// The most random delay added to a wait, so processes woken by the
    /// same reset do not all ask at once (default 10 ms).
    pub fn jitter(mut self, jitter: Duration) -> Self {
        self.jitter = jitter;
        self
    }

    /// The limiter used while Redis is down (default: a new
    /// [`InMemoryRateLimiter`] with the same caps).
    pub fn fallback(mut self, limiter: InMemoryRateLimiter) -> Self {
        self.fallback = Some(limiter);
        self
    }

    /// Builds the limiter. Nothing connects until the first request.
    pub fn build(self) -> RedisRateLimiter {
        let caps = self.settings.caps;
        let fallback = self.fallback.unwrap_or_else(|| {
            InMemoryRateLimiter::builder()
                .max_wait(caps.max_wait)
                .fallback_wait(caps.fallback_wait)
                .build()
        });
        RedisRateLimiter {
            inner: Arc::new(Inner {
                raw: RawLimiter::new(Keyspace::new(self.namespace), self.settings),
                redis: self.redis,
                lanes: Lanes::default(),
                routes: Mutex::new(HashMap::new()),
                health: Health::new(self.cooldown),
                fallback,
                fail_closed: self.fail_closed,
                jitter: self.jitter,
                listener: std::sync::OnceLock::new(),
            }),
        }
    }
}

pub(crate) struct Inner {
    redis: Connection,
    raw: RawLimiter,
    lanes: Lanes,
    /// What this process learned of route → bucket, from Redis's replies.
    routes: Mutex<HashMap<Arc<str>, BucketHash>>,
    health: Health,
    fallback: InMemoryRateLimiter,
    fail_closed: bool,
    jitter: Duration,
    /// The wake-up listener, started by the first acquire (it needs a
    /// runtime); dropped with the limiter, which stops it.
    listener: std::sync::OnceLock<crate::subscribe::Listener>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRateLimiter")
            .field("namespace", self.raw.keys().namespace())
            .field("settings", self.raw.settings())
            .field("using_redis", &self.health.is_healthy())
            .field("fail_closed", &self.fail_closed)
            .finish_non_exhaustive()
    }
}

impl RedisRateLimiter {
    /// A builder for the processes sharing `namespace` on `redis`.
    pub fn builder(redis: Connection, namespace: Namespace) -> RedisRateLimiterBuilder {
        RedisRateLimiterBuilder {
            redis,
            namespace,
            settings: Settings::default(),
            cooldown: Duration::from_secs(5),
            fail_closed: false,
            jitter: Duration::from_millis(10),
            fallback: None,
        }
    }

    /// Waits until a request on `route` may go, for at most `max_wait`.
    /// Redis knows the route by its stable name, [`RouteKind::as_str`].
    ///
    /// Fails with [`ErrorKind::Exhausted`] when the bucket has nothing for
    /// longer (see [`Error::retry_after`]), and, when built fail-closed,
    /// with [`ErrorKind::Unavailable`] while Redis is down.
    pub async fn acquire_permit(
        &self,
        route: RouteKind,
        max_wait: Duration,
    ) -> Result<Permit, Error> {
        self.inner.acquire(route, max_wait).await
    }

    /// Whether decisions go through Redis now (`false` during a cooldown
    /// after a failure).
    pub fn is_using_redis(&self) -> bool {
        self.inner.health.is_healthy()
    }

    /// The in-process limiter used while Redis is down.
    pub fn fallback(&self) -> &InMemoryRateLimiter {
        &self.inner.fallback
    }

    /// The bucket this process knows `route` to use, as Redis holds it.
    pub async fn bucket(&self, route: RouteKind) -> Result<Option<BucketState>, Error> {
        let Some(bucket) = self.inner.known_bucket(route.as_str()) else {
            return Ok(None);
        };
        self.inner.raw.bucket(&self.inner.redis, bucket).await
    }

    /// The scripts and key schema this limiter uses.
    pub fn raw(&self) -> &RawLimiter {
        &self.inner.raw
    }
}

/// Releases a lease whose acquire call never returned its reply (the caller
/// gave up mid-call, or the call failed): the script may have granted it.
struct CancelGuard<'a> {
    inner: &'a Arc<Inner>,
    route: &'a Arc<str>,
    id: PermitId,
    declared: Option<BucketHash>,
    armed: bool,
}

impl CancelGuard<'_> {
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for CancelGuard<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let Ok(runtime) = Handle::try_current() else {
            return;
        };
        let lease = match self.declared {
            Some(bucket) => Lease::Bucket { bucket, seq: None },
            None => Lease::Blind,
        };
        let inner = Arc::clone(self.inner);
        let route = Arc::clone(self.route);
        let id = self.id;
        runtime.spawn(async move { inner.complete(route, id, lease, None).await });
    }
}

impl Inner {
    fn known_bucket(&self, route: &str) -> Option<BucketHash> {
        lock(&self.routes).get(route).copied()
    }

    fn learn(&self, route: &Arc<str>, bucket: BucketHash) {
        let mut routes = lock(&self.routes);
        if routes.len() >= MAX_ROUTES && !routes.contains_key(route) {
            routes.clear();
        }
        routes.insert(Arc::clone(route), bucket);
    }

    fn start_listener(self: &Arc<Self>) {
        self.listener.get_or_init(|| {
            wake::listen(
                Arc::downgrade(self),
                self.redis.clone(),
                self.raw.keys().wake_channel(),
            )
        });
    }

    fn jitter(&self) -> Duration {
        let most = u64::try_from(self.jitter.as_micros()).unwrap_or(u64::MAX);
        if most == 0 {
            return Duration::ZERO;
        }
        Duration::from_micros(rand::random_range(0..=most))
    }

    async fn acquire(
        self: &Arc<Self>,
        kind: RouteKind,
        max_wait: Duration,
    ) -> Result<Permit, Error> {
        let runtime = Handle::try_current()
            .map_err(|_| Error::config("the redis rate limiter needs a tokio runtime"))?;
        let deadline = Instant::now().checked_add(max_wait);
        let route: Arc<str> = kind.as_str().into();
        'lanes: loop {
            let now = Instant::now();
            if let Route::Down(retry_at) = self.health.route(now) {
                return self.without_redis(kind, deadline, retry_at).await;
            }
            self.start_listener();
            let declared = self.known_bucket(&route);
            let key = match declared {
                Some(bucket) => LaneKey::Bucket(bucket),
                None => LaneKey::Route(self.raw.keys().route_part(&route).into()),
            };
            let lane = self.lanes.get(key);
            let _turn = match deadline {
                Some(deadline) => match tokio::time::timeout_at(deadline, lane.turn.lock()).await {
                    Ok(turn) => turn,
                    Err(_) => {
                        let retry_after = lane.wait_hint(Instant::now());
                        return Err(Error::waiting(ErrorKind::Exhausted, retry_after));
                    }
                },
                None => lane.turn.lock().await,
            };
            // The head of this process's line for the bucket.
            loop {
                if self.known_bucket(&route) != declared {
                    // Someone learned where the route belongs: line up there.
                    continue 'lanes;
                }
                let notified = lane.wake.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                let id = PermitId::random();
                let cancel = CancelGuard {
                    inner: self,
                    route: &route,
                    id,
                    declared,
                    armed: true,
                };
                let reply = self
                    .raw
                    .acquire(&self.redis, &route, id, declared, None)
                    .await;
                let reply = match reply {
                    Ok(reply) => {
                        cancel.disarm();
                        self.health.succeeded();
                        reply
                    }
                    Err(error) if error.is_redis_failure() => {
                        drop(cancel);
                        self.health.failed(Instant::now(), &error);
                        lane.expect_ready_at(None);
                        let retry_at = Instant::now() + self.health.cooldown();
                        return self.without_redis(kind, deadline, retry_at).await;
                    }
                    Err(error) => return Err(error),
                };
                let lease = match reply {
                    Acquired::Granted { bucket, seq } => Lease::granted(bucket, seq),
                    Acquired::Blind => Lease::Blind,
                    Acquired::Moved(bucket) => {
                        self.learn(&route, bucket);
                        continue 'lanes;
                    }
                    Acquired::Wait(wait) => {
                        let now = Instant::now();
                        let ready = now + wait;
                        if deadline.is_some_and(|deadline| ready > deadline) {
                            lane.expect_ready_at(None);
                            return Err(Error::waiting(ErrorKind::Exhausted, wait));
                        }
                        lane.expect_ready_at(Some(ready));
                        let mut wake_at = ready + self.jitter();
                        if let Some(deadline) = deadline {
                            wake_at = wake_at.min(deadline);
                        }
                        tokio::select! {
                            () = tokio::time::sleep_until(wake_at) => {}
                            () = &mut notified => {}
                        }
                        continue;
                    }
                };
                lane.expect_ready_at(None);
                return Ok(Permit::new(RedisPermit {
                    inner: Arc::clone(self),
                    route,
                    id,
                    lease,
                    runtime,
                }));
            }
        }
    }

    /// Redis is down: the fallback decides, or, fail-closed, nobody goes.
    async fn without_redis(
        &self,
        route: RouteKind,
        deadline: Option<Instant>,
        retry_at: Instant,
    ) -> Result<Permit, Error> {
        let now = Instant::now();
        if self.fail_closed {
            return Err(Error::waiting(
                ErrorKind::Unavailable,
                retry_at.saturating_duration_since(now),
            ));
        }
        let max_wait = deadline.map_or(Duration::MAX, |d| d.saturating_duration_since(now));
        use ayaka_http::ratelimit::RateLimiter;
        self.fallback
            .acquire(route, max_wait)
            .await
            .map_err(|refused| Error::waiting(ErrorKind::Exhausted, refused.retry_after()))
    }
}
