//! [`RedisIdentifyLeases`]: at most N identifies in flight across every
//! process of a namespace.
//!
//! An identify lease is taken before a shard identifies and given back on
//! READY or on failure; a process that dies holding one frees it when the
//! lease expires. While Redis is down, acquiring waits and retries (it
//! fails closed): an identify that nobody coordinated can cost a 4003.

use std::sync::{Arc, LazyLock, OnceLock};
use std::time::Duration;

use redis::{Script, Value};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::connection::Connection;
use crate::error::{Error, ErrorKind};
use crate::keys::{Keyspace, Namespace};
use crate::subscribe::{self, Listener};

static ACQUIRE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        include_str!("../lua/clock.lua"),
        include_str!("../lua/identify_acquire.lua")
    ))
});

static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        include_str!("../lua/clock.lua"),
        include_str!("../lua/identify_release.lua")
    ))
});

/// Identify leases shared by every process of a namespace.
///
/// Cheap to clone: clones share state. Every process must use the same
/// capacity.
///
/// ```no_run
/// use ayaka_redis::{Connection, Namespace, RedisIdentifyLeases};
/// use std::time::Duration;
///
/// # async fn demo() -> Result<(), ayaka_redis::Error> {
/// let leases = RedisIdentifyLeases::builder(
///     Connection::open("unix:///run/redis/redis.sock")?,
///     Namespace::new("my-bot")?,
/// )
/// .capacity(1)
/// .lease(Duration::from_secs(30))
/// .build()?;
/// let lease = leases.acquire().await;
/// // ... identify, wait for READY ...
/// lease.release().await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RedisIdentifyLeases {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    redis: Connection,
    keys: Keyspace,
    capacity: u32,
    lease: Duration,
    retry: Duration,
    freed: Notify,
    listener: OnceLock<Listener>,
}

/// Builds [`RedisIdentifyLeases`].
#[derive(Debug, Clone)]
#[must_use]
pub struct RedisIdentifyLeasesBuilder {
    redis: Connection,
    namespace: Namespace,
    capacity: u32,
    lease: Duration,
    retry: Duration,
}

impl RedisIdentifyLeasesBuilder {
    /// How many identifies may be in flight at once across all processes
    /// (default 1).
    pub fn capacity(mut self, capacity: u32) -> Self {
        self.capacity = capacity;
        self
    }

    /// How long a lease lives unless released or renewed (default 30 s):
    /// longer than an identify takes to reach READY, short enough that a
    /// dead process does not hold up the others for long.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// The longest a waiter sleeps before asking again, wake-up or not
    /// (default 1 s); also the pause between tries while Redis is down.
    pub fn retry_interval(mut self, retry: Duration) -> Self {
        self.retry = retry;
        self
    }

    /// Builds the leases. Fails on a zero capacity or a lease under 1 ms.
    pub fn build(self) -> Result<RedisIdentifyLeases, Error> {
        if self.capacity == 0 {
            return Err(Error::config("identify capacity must be at least 1"));
        }
        if self.lease < Duration::from_millis(1) {
            return Err(Error::config("an identify lease must last at least 1 ms"));
        }
        Ok(RedisIdentifyLeases {
            inner: Arc::new(Inner {
                redis: self.redis,
                keys: Keyspace::new(self.namespace),
                capacity: self.capacity,
                lease: self.lease,
                retry: self.retry.max(Duration::from_millis(1)),
                freed: Notify::new(),
                listener: OnceLock::new(),
            }),
        })
    }
}

/// One identify lease. Release it on READY or on failure; dropping it
/// releases it in the background (or, without a runtime, lets it expire).
#[derive(Debug)]
#[must_use = "a lease is held until released or dropped"]
pub struct IdentifyLease {
    leases: Arc<Inner>,
    id: String,
    held: bool,
}

/// The outcome of one try.
enum Try {
    Held,
    Wait(Duration),
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

impl RedisIdentifyLeases {
    /// A builder for the processes sharing `namespace` on `redis`.
    pub fn builder(redis: Connection, namespace: Namespace) -> RedisIdentifyLeasesBuilder {
        RedisIdentifyLeasesBuilder {
            redis,
            namespace,
            capacity: 1,
            lease: Duration::from_secs(30),
            retry: Duration::from_secs(1),
        }
    }

    /// The number of leases.
    pub fn capacity(&self) -> u32 {
        self.inner.capacity
    }

    /// Waits for a lease, however long it takes; while Redis is down it
    /// keeps trying (fail closed). Cancel-safe.
    pub async fn acquire(&self) -> IdentifyLease {
        loop {
            match self.acquire_within(Duration::MAX).await {
                Ok(lease) => return lease,
                // Only a deadline ends the wait, and there is none.
                Err(_) => continue,
            }
        }
    }

    /// Waits at most `max_wait` for a lease. Fails with
    /// [`ErrorKind::Exhausted`] when every lease stayed taken, and with
    /// [`ErrorKind::Unavailable`] when Redis could not be reached in time.
    pub async fn acquire_within(&self, max_wait: Duration) -> Result<IdentifyLease, Error> {
        self.start_listener();
        let deadline = Instant::now().checked_add(max_wait);
        let id = format!("{:016x}", rand::random::<u64>());
        let mut lease = IdentifyLease {
            leases: Arc::clone(&self.inner),
            id,
            // Armed from the first try: the script may grant a lease whose
            // reply never reaches us (a timeout, a cancelled caller).
            held: true,
        };
        let mut backoff = Duration::from_millis(50);
        let mut failing = false;
        loop {
            let freed = self.inner.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            let pause = match self.try_once(&lease.id).await {
                Ok(Try::Held) => {
                    if failing {
                        tracing::info!("redis is back; identify leases work again");
                    }
                    return Ok(lease);
                }
                Ok(Try::Wait(wait)) => {
                    failing = false;
                    wait.min(self.inner.retry)
                }
                Err(error) => {
                    if !failing {
                        tracing::warn!(%error, "identify leases unavailable; retrying");
                        failing = true;
                    }
                    backoff = (backoff * 2).min(self.inner.retry);
                    backoff
                }
            };
            let now = Instant::now();
            let wake_at = now + pause;
            if let Some(deadline) = deadline
                && wake_at > deadline
            {
                let kind = if failing {
                    ErrorKind::Unavailable
                } else {
                    ErrorKind::Exhausted
                };
                lease.held = failing;
                return Err(Error::waiting(kind, pause));
            }
            tokio::select! {
                () = tokio::time::sleep_until(wake_at) => {}
                () = &mut freed, if !failing => {}
            }
        }
    }

    /// Takes a lease if one is free now.
    pub async fn try_acquire(&self) -> Result<Option<IdentifyLease>, Error> {
        let id = format!("{:016x}", rand::random::<u64>());
        let lease = IdentifyLease {
            leases: Arc::clone(&self.inner),
            id,
            held: true,
        };
        match self.try_once(&lease.id).await {
            Ok(Try::Held) => Ok(Some(lease)),
            Ok(Try::Wait(_)) => {
                let mut lease = lease;
                lease.held = false;
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    /// How many leases are held now, as far as Redis knows (expired ones
    /// not counted).
    pub async fn held(&self) -> Result<u32, Error> {
        // Scores are expiries on the Redis clock: count those still ahead.
        let (secs, micros): (u64, u64) = self.inner.redis.query(&redis::cmd("TIME")).await?;
        let now = secs * 1000 + micros / 1000;
        let mut cmd = redis::cmd("ZCOUNT");
        cmd.arg(self.inner.keys.identify_holders())
            .arg(format!("({now}"))
            .arg("+inf");
        self.inner.redis.query(&cmd).await
    }

    /// One script call.
    async fn try_once(&self, id: &str) -> Result<Try, Error> {
        let mut invocation = ACQUIRE.prepare_invoke();
        invocation
            .key(self.inner.keys.identify_holders())
            .arg("")
            .arg(id)
            .arg(self.inner.capacity)
            .arg(millis(self.inner.lease));
        let reply: Value = self.inner.redis.invoke(&invocation).await?;
        let bad = || Error::protocol("the identify script answered something unexpected");
        let Value::Array(items) = reply else {
            return Err(bad());
        };
        match (items.first(), items.get(1)) {
            (Some(Value::Int(1)), _) => Ok(Try::Held),
            (Some(Value::Int(0)), Some(Value::Int(wait))) if *wait > 0 => {
                Ok(Try::Wait(Duration::from_millis(wait.unsigned_abs())))
            }
            _ => Err(bad()),
        }
    }

    fn start_listener(&self) {
        self.inner.listener.get_or_init(|| {
            let inner = Arc::downgrade(&self.inner);
            subscribe::listen(
                self.inner.redis.clone(),
                self.inner.keys.identify_wake_channel(),
                move |_| {
                    let Some(inner) = inner.upgrade() else {
                        return false;
                    };
                    inner.freed.notify_waiters();
                    true
                },
            )
        });
    }
}

impl Inner {
    async fn release(&self, id: &str, renew: Option<Duration>) -> Result<bool, Error> {
        let mut invocation = RELEASE.prepare_invoke();
        invocation
            .key(self.keys.identify_holders())
            .arg("")
            .arg(id)
            .arg(renew.map_or(0, millis))
            .arg(self.keys.identify_wake_channel());
        let held: i64 = self.redis.invoke(&invocation).await?;
        if renew.is_none() {
            // Waiters in this process need not wait for the round trip
            // through pub/sub.
            self.freed.notify_waiters();
        }
        Ok(held == 1)
    }
}

impl IdentifyLease {
    /// The lease's random id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Gives the lease back (on READY, or when the identify failed). If
    /// Redis cannot be reached the lease expires by itself.
    pub async fn release(mut self) {
        self.held = false;
        if let Err(error) = self.leases.release(&self.id, None).await {
            tracing::debug!(%error, "could not release an identify lease; it will expire");
        }
    }

    /// Extends the lease by its full length from now (for an identify that
    /// takes long). `false` if it had already expired.
    pub async fn renew(&self) -> Result<bool, Error> {
        self.leases.release(&self.id, Some(self.leases.lease)).await
    }
}

impl Drop for IdentifyLease {
    fn drop(&mut self) {
        if !self.held {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let leases = Arc::clone(&self.leases);
        let id = std::mem::take(&mut self.id);
        runtime.spawn(async move {
            let _ = leases.release(&id, None).await;
        });
    }
}
