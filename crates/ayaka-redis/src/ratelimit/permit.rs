//! The Redis limiter's side of a permit: reports the response through the
//! complete script, off the caller's task.

use std::sync::Arc;

use ayaka_http::ratelimit::{PermitHandle, RateLimitHeaders, Response};
use tokio::runtime::Handle;

use super::Inner;
use super::lanes::LaneKey;
use super::raw::{Completion, Lease, PermitId};

pub(super) struct RedisPermit {
    pub(super) inner: Arc<Inner>,
    pub(super) route: Arc<str>,
    pub(super) id: PermitId,
    pub(super) lease: Lease,
    pub(super) runtime: Handle,
}

impl std::fmt::Debug for RedisPermit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisPermit")
            .field("route", &self.route)
            .field("id", &self.id)
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

impl PermitHandle for RedisPermit {
    fn complete(&mut self, response: Option<Response<'_>>) {
        let response: Option<(RateLimitHeaders, bool)> =
            response.map(|r| (r.headers.clone(), r.limited));
        let inner = Arc::clone(&self.inner);
        let route = Arc::clone(&self.route);
        let (id, lease) = (self.id, self.lease);
        self.runtime.spawn(async move {
            inner.complete(route, id, lease, response).await;
        });
    }
}

impl Inner {
    /// Runs the complete script; on success, teaches this process the
    /// route's bucket and wakes its local lanes at once (the script's
    /// pub/sub message reaches the other processes).
    pub(super) async fn complete(
        &self,
        route: Arc<str>,
        id: PermitId,
        lease: Lease,
        response: Option<(RateLimitHeaders, bool)>,
    ) {
        let completion = Completion {
            route: &route,
            permit: id,
            lease,
            response: response
                .as_ref()
                .map(|(headers, limited)| (headers, *limited)),
        };
        match self.raw.complete(&self.redis, &completion, None).await {
            Ok(bucket) => {
                if let Some(bucket) = bucket {
                    self.learn(&route, bucket);
                    self.lanes.wake(&LaneKey::Bucket(bucket));
                }
                if let Lease::Bucket { bucket, .. } = lease {
                    self.lanes.wake(&LaneKey::Bucket(bucket));
                }
                if matches!(lease, Lease::Blind) {
                    self.lanes.wake_all();
                }
            }
            Err(error) => {
                // The lease expires by itself; the slot stays taken until
                // the window rolls, which errs on the safe side.
                tracing::debug!(%error, "could not report a response to redis");
                self.health.failed(tokio::time::Instant::now(), &error);
            }
        }
    }
}
