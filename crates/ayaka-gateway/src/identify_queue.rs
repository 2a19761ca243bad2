//! Whose turn it is to identify: a trait, so that shards in several
//! processes can share one queue, and the in-process default.

use std::{fmt, future::Future, pin::Pin, sync::Arc};

use tokio::sync::Semaphore;

use crate::shard_id::ShardId;

/// The error an [`IdentifyQueue`] gives when it cannot grant a turn.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The future [`IdentifyQueue::acquire`] returns.
pub type Acquire<'a> = Pin<Box<dyn Future<Output = Result<IdentifyLease, BoxError>> + Send + 'a>>;

/// Decides when a shard may identify.
///
/// A shard acquires a lease before every identify (before it even looks
/// up the port) and holds it until READY, so that only so many sessions
/// start at once. The lease ends on READY, when the attempt fails, or when
/// it is dropped (the shard was closed while it waited); an implementation
/// can tell these apart through [`LeaseEnd`].
///
/// The trait is object-safe: shards hold an `Arc<dyn IdentifyQueue>`, so
/// one queue (the in-process [`LocalIdentifyQueue`], or one shared across
/// processes) serves every shard it is given to.
///
/// The future [`acquire`](Self::acquire) returns may be dropped before it
/// completes, when the shard is closed meanwhile: it must then give back
/// anything it took. An error makes the shard count the attempt as failed
/// and try again after its backoff; an implementation that should wait
/// instead (say, while its backing store is down) keeps the future pending.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use ayaka_gateway::{Acquire, IdentifyLease, IdentifyQueue, ShardId};
///
/// /// Lets everyone through, counting the identifies.
/// #[derive(Debug, Default)]
/// struct Counting(Arc<AtomicUsize>);
///
/// impl IdentifyQueue for Counting {
///     fn acquire(&self, _shard: ShardId) -> Acquire<'_> {
///         let count = Arc::clone(&self.0);
///         Box::pin(async move {
///             count.fetch_add(1, Ordering::Relaxed);
///             Ok(IdentifyLease::new(|_end| {}))
///         })
///     }
/// }
/// ```
pub trait IdentifyQueue: fmt::Debug + Send + Sync + 'static {
    /// Waits for `shard`'s turn to identify.
    fn acquire(&self, shard: ShardId) -> Acquire<'_>;
}

/// How an [`IdentifyLease`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LeaseEnd {
    /// READY arrived: the identify succeeded.
    Ready,
    /// The attempt failed (no connection, a close before READY, a timeout).
    Failed,
    /// The lease was dropped without either (the shard was closed).
    Dropped,
}

/// A turn to identify, from an [`IdentifyQueue`]. Ends once: on READY, on
/// failure, or when dropped, calling the release it was made with.
pub struct IdentifyLease {
    release: Option<Box<dyn FnOnce(LeaseEnd) + Send>>,
}

impl IdentifyLease {
    /// A lease that calls `release` once when it ends.
    pub fn new(release: impl FnOnce(LeaseEnd) + Send + 'static) -> Self {
        Self {
            release: Some(Box::new(release)),
        }
    }

    /// Ends the lease now, saying how.
    pub fn end(mut self, how: LeaseEnd) {
        if let Some(release) = self.release.take() {
            release(how);
        }
    }
}

impl Drop for IdentifyLease {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            release(LeaseEnd::Dropped);
        }
    }
}

impl fmt::Debug for IdentifyLease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentifyLease")
            .field("held", &self.release.is_some())
            .finish()
    }
}

/// The in-process [`IdentifyQueue`]: at most `concurrency` shards between
/// acquiring a lease and READY (or failure), served first come, first
/// served. What a [`ShardManager`](crate::ShardManager) uses unless given
/// another queue.
#[derive(Debug, Clone)]
pub struct LocalIdentifyQueue {
    permits: Arc<Semaphore>,
}

impl LocalIdentifyQueue {
    /// A queue letting `concurrency` shards (at least one) identify at once.
    pub fn new(concurrency: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
        }
    }
}

impl IdentifyQueue for LocalIdentifyQueue {
    fn acquire(&self, _shard: ShardId) -> Acquire<'_> {
        let permits = Arc::clone(&self.permits);
        Box::pin(async move {
            // the semaphore is never closed
            let permit = permits.acquire_owned().await?;
            Ok(IdentifyLease::new(move |_| drop(permit)))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[test]
    fn a_lease_ends_once_saying_how() {
        let ends = Arc::new(Mutex::new(Vec::new()));
        let lease = |ends: &Arc<Mutex<Vec<LeaseEnd>>>| {
            let ends = Arc::clone(ends);
            IdentifyLease::new(move |end| ends.lock().unwrap_or_else(|e| e.into_inner()).push(end))
        };
        lease(&ends).end(LeaseEnd::Ready);
        lease(&ends).end(LeaseEnd::Failed);
        drop(lease(&ends));
        let ends = ends.lock().unwrap_or_else(|e| e.into_inner()).clone();
        assert_eq!(ends, [LeaseEnd::Ready, LeaseEnd::Failed, LeaseEnd::Dropped]);
    }

    #[tokio::test]
    async fn the_local_queue_admits_its_concurrency_and_the_next_after_a_release() {
        let queue = LocalIdentifyQueue::new(2);
        let first = queue.acquire(ShardId(0)).await;
        let second = queue.acquire(ShardId(1)).await;
        assert!(first.is_ok() && second.is_ok());
        let mut third = queue.acquire(ShardId(2));
        assert!(futures_util::poll!(&mut third).is_pending());
        if let Ok(lease) = first {
            lease.end(LeaseEnd::Ready);
        }
        assert!(matches!(
            futures_util::poll!(&mut third),
            std::task::Poll::Ready(Ok(_))
        ));
    }
}
