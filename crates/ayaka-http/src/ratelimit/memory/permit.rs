//! The in-memory limiter's [`PermitHandle`], and what finishing a permit
//! does: report the answer to the bucket it counts in, which may no longer
//! be the one that issued it.

use std::sync::Arc;

use tokio::time::Instant;

use super::Shared;
use super::queue::{Bucket, Ticket, lock};
use crate::ratelimit::bucket::Observation;
use crate::ratelimit::{PermitHandle, Response};

pub(super) struct MemoryPermit {
    pub(super) shared: Arc<Shared>,
    pub(super) ticket: Option<Ticket>,
}

impl std::fmt::Debug for MemoryPermit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ticket = self.ticket.as_ref();
        f.debug_struct("MemoryPermit")
            .field("route", &ticket.map(|t| t.route))
            .field("generation", &ticket.map(|t| t.generation))
            .field("provisional", &ticket.map(|t| t.provisional))
            .finish_non_exhaustive()
    }
}

impl PermitHandle for MemoryPermit {
    fn complete(&mut self, response: Option<Response<'_>>) {
        if let Some(ticket) = self.ticket.take() {
            self.shared.finish(ticket, response);
        }
    }
}

/// How a request that moved with its route ended, for the bucket it
/// moved to.
#[derive(Clone, Copy)]
pub(super) enum Carried<'a> {
    /// It counted elsewhere (its answer names the bucket it left), or was
    /// never sent.
    NotHere,
    /// Its answer, if it belongs to this bucket.
    Ended(Option<Observation<'a>>),
}

impl Shared {
    /// Reports a permit's answer (`None`: it got none).
    pub(super) fn finish(self: &Arc<Self>, ticket: Ticket, response: Option<Response<'_>>) {
        let now = Instant::now();
        let observation = response.map(|r| Observation {
            limited: r.limited,
            headers: r.headers,
            received_at: now,
        });
        let id = response.and_then(|r| r.headers.bucket.as_deref());
        let home = &ticket.bucket;
        let mut state = lock(&home.state);
        if state.is_native(&ticket) {
            match (id, observation) {
                (Some(id), Some(observation)) if state.id.as_deref() != Some(id) => {
                    // The answer names another bucket than the one it was
                    // issued in: the route has moved at the server.
                    drop(state);
                    self.relocate(&ticket, id, observation, now);
                }
                _ => {
                    state.end_native(ticket.route);
                    state.core.complete(ticket.generation, now, observation);
                    Bucket::grant(home, state);
                }
            }
        } else {
            // The route moved while this request was out: its slot moved
            // with it.
            let counted_here = id.is_some() && id == state.id.as_deref();
            let here = observation.filter(|_| counted_here);
            state.core.complete(ticket.generation, now, here);
            Bucket::grant(home, state);
            self.finish_carried(&ticket, now, |target_id| {
                if counted_here {
                    Carried::NotHere
                } else {
                    Carried::Ended(observation.filter(|_| id.is_some() && id == target_id))
                }
            });
        }
        if ticket.provisional {
            home.blind.finished();
        }
    }

    /// Returns a permit that was granted but never used.
    pub(super) fn undo(self: &Arc<Self>, ticket: Ticket) {
        let home = Arc::clone(&ticket.bucket);
        let mut state = lock(&home.state);
        let native = state.is_native(&ticket);
        if native {
            state.end_native(ticket.route);
        }
        state.core.undo(ticket.generation);
        Bucket::grant(&home, state);
        if !native {
            self.finish_carried(&ticket, Instant::now(), |_| Carried::NotHere);
        }
        if ticket.provisional {
            home.blind.finished();
        }
    }

    /// Settles a request that moved with its route, in the bucket the route
    /// uses now; `outcome` is told that bucket's id.
    pub(super) fn finish_carried<'a>(
        &self,
        ticket: &Ticket,
        now: Instant,
        outcome: impl Fn(Option<&str>) -> Carried<'a>,
    ) {
        // The route's bucket only changes under both buckets' locks, so one
        // look again is enough; the bound is only belt and braces.
        for _ in 0..4 {
            let Some(bucket) = self.route(ticket.route) else {
                return;
            };
            let mut state = lock(&bucket.state);
            if !state.members.contains(ticket.route) {
                continue;
            }
            let account = &mut state.accounts[ticket.route.index()];
            if account.carried == 0 {
                return;
            }
            account.carried -= 1;
            match outcome(state.id.as_deref()) {
                Carried::NotHere => state.core.uncarry(now),
                Carried::Ended(observation) => state.core.complete_carried(now, observation),
            }
            Bucket::grant(&bucket, state);
            return;
        }
    }
}
