//! Routes changing buckets: a route's first answer names the bucket it
//! shares, or a later answer shows the server renamed or merged buckets.
//!
//! A move happens under the registry lock, with both buckets locked, so a
//! route's bucket, its members and its accounts change together. The route
//! takes its queued waiters and its requests in flight along: they count in
//! the new bucket's window from the moment the move is known, and the
//! bucket that gains a route keeps one budget for all of its routes.

use std::sync::{Arc, PoisonError};

use tokio::time::Instant;

use super::queue::{Bucket, RouteAccount, RouteSet, Ticket, lock};
use super::{PRUNE_BUCKETS_AT, Registry, Shared};
use crate::ratelimit::bucket::{BucketCore, Observation};

impl Shared {
    /// `ticket`'s answer names bucket `id`, not the one that issued it.
    pub(super) fn relocate(
        self: &Arc<Self>,
        ticket: &Ticket,
        id: &str,
        observation: Observation<'_>,
        now: Instant,
    ) {
        let mut registry = lock(&self.registry);
        let home = &ticket.bucket;
        let (native, known_here, learned) = {
            let state = lock(&home.state);
            (
                state.is_native(ticket),
                state.id.as_deref() == Some(id),
                state.core.is_learned() || state.id.is_some(),
            )
        };
        if !native || known_here {
            // Another answer moved or named the bucket first: finish as if
            // that had happened before this answer came.
            drop(registry);
            self.finish_late(ticket, id, observation, now);
            return;
        }
        match registry.ids.get(id).cloned() {
            Some(target) => {
                // Into a bucket already known: this route alone moves (a
                // merge, or the first answer of a route that shares it).
                self.move_routes(
                    &mut registry,
                    home,
                    &target,
                    RouteSet::one(ticket.route),
                    ticket,
                    observation,
                    now,
                );
                if learned {
                    registry.doubt_all_but(&target);
                }
            }
            None if !learned => {
                // A route's first answer names a new bucket: this is it.
                let mut state = lock(&home.state);
                state.id = Some(id.into());
                state.end_native(ticket.route);
                state
                    .core
                    .complete(ticket.generation, now, Some(observation));
                registry.insert(id, Arc::clone(home));
                drop(registry);
                tracing::debug!(route = ticket.route.as_str(), "learned a new bucket");
                Bucket::grant(home, state);
            }
            None => {
                // A known bucket under a new name: every route using it
                // moves along, until an answer of its own says otherwise.
                let target = Arc::new(Bucket::named(
                    BucketCore::provisional(self.caps),
                    Arc::clone(&self.blind),
                    id,
                ));
                registry.insert(id, Arc::clone(&target));
                let movers = lock(&home.state).members;
                self.move_routes(
                    &mut registry,
                    home,
                    &target,
                    movers,
                    ticket,
                    observation,
                    now,
                );
                registry.doubt_all_but(&target);
            }
        }
    }

    /// Finishes a ticket whose move another answer already made.
    fn finish_late(
        self: &Arc<Self>,
        ticket: &Ticket,
        id: &str,
        observation: Observation<'_>,
        now: Instant,
    ) {
        let home = Arc::clone(&ticket.bucket);
        let mut state = lock(&home.state);
        if state.is_native(ticket) {
            state.end_native(ticket.route);
            state
                .core
                .complete(ticket.generation, now, Some(observation));
            Bucket::grant(&home, state);
            return;
        }
        state.core.complete(ticket.generation, now, None);
        Bucket::grant(&home, state);
        self.finish_carried(ticket, now, |target| {
            super::permit::Carried::Ended((target == Some(id)).then_some(observation))
        });
    }

    /// Moves `movers` from `from` to `to`, with their waiters and requests
    /// in flight; `ticket`'s answer, which showed the move, counts in `to`.
    #[allow(clippy::too_many_arguments)]
    fn move_routes(
        &self,
        registry: &mut Registry,
        from: &Arc<Bucket>,
        to: &Arc<Bucket>,
        movers: RouteSet,
        ticket: &Ticket,
        observation: Observation<'_>,
        now: Instant,
    ) {
        let mut to_state = lock(&to.state);
        let mut from_state = lock(&from.state);
        // The answer belongs to `to`; `from` only learns the request is over.
        from_state.end_native(ticket.route);
        from_state.core.complete(ticket.generation, now, None);
        let mut in_flight = 0u32;
        for route in movers.iter() {
            let account = std::mem::take(&mut from_state.accounts[route.index()]);
            from_state.core.carry_away(account.carried);
            from_state.members.remove(route);
            let epoch = &mut registry.epochs[route.index()];
            *epoch = epoch.wrapping_add(1);
            let moving = account.native.saturating_add(account.carried);
            to_state.accounts[route.index()] = RouteAccount {
                epoch: *epoch,
                native: 0,
                carried: moving,
            };
            to_state.members.insert(route);
            in_flight = in_flight.saturating_add(moving);
            tracing::debug!(
                route = route.as_str(),
                in_flight = moving,
                "route moved to another bucket"
            );
        }
        let waiters = from_state
            .core
            .drain_queue(|waiter| movers.contains(waiter.route));
        {
            let mut routes = self.routes.write().unwrap_or_else(PoisonError::into_inner);
            for route in movers.iter() {
                *routes.slot(route) = Some(Arc::clone(to));
            }
        }
        to_state.core.adopt(now, in_flight, &observation);
        to_state.core.enqueue_moved(waiters, |waiter| waiter.since);
        Bucket::grant(from, from_state);
        Bucket::grant(to, to_state);
    }
}

impl Registry {
    /// The server renamed or merged a bucket, so any other may have moved
    /// as well: each checks with one request before spending the rest of
    /// its budget. `confirmed` just had its name confirmed by an answer.
    fn doubt_all_but(&self, confirmed: &Arc<Bucket>) {
        for bucket in self.ids.values() {
            if !Arc::ptr_eq(bucket, confirmed) {
                lock(&bucket.state).core.doubt();
            }
        }
    }

    /// Registers a bucket under its server id. A server that renames buckets
    /// must not grow the map forever: buckets nothing uses are dropped.
    fn insert(&mut self, id: &str, bucket: Arc<Bucket>) {
        if self.ids.len() >= PRUNE_BUCKETS_AT {
            self.ids.retain(|_, bucket| Arc::strong_count(bucket) > 1);
        }
        self.ids.insert(id.into(), bucket);
    }
}
