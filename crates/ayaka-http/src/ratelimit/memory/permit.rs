//! The in-memory limiter's [`PermitHandle`]: reports a response to its
//! bucket, and teaches the limiter a route's bucket on its blind request.

use std::sync::Arc;

use ayaka_model::route::RouteKind;
use tokio::time::Instant;

use super::Shared;
use super::queue::{Bucket, lock};
use crate::ratelimit::bucket::Observation;
use crate::ratelimit::{PermitHandle, Response};

pub(super) struct MemoryPermit {
    pub(super) shared: Arc<Shared>,
    pub(super) route: RouteKind,
    pub(super) bucket: Arc<Bucket>,
    pub(super) generation: u64,
    /// Issued before the route's bucket was known (the blind request).
    pub(super) provisional: bool,
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
            self.shared.register(self.route, self, id, observation);
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
            self.shared.forget_route(self.route, &self.bucket);
        }
    }
}
