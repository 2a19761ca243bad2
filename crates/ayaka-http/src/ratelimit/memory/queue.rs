//! A bucket's shared state: its core behind a mutex, the routes using it,
//! the FIFO hand-off of permits to queued waiters, reset timers, and the
//! count of blind requests that every bucket holds slots back for.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use ayaka_model::route::RouteKind;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::ratelimit::Exhausted;
use crate::ratelimit::bucket::BucketCore;

/// Blind requests in flight across all routes. Until one answers, nobody
/// knows which bucket it counts against, so every bucket keeps that many
/// slots back (only ever the last few of a window, and only while routes
/// are being learned, or buckets checked after the server renamed one).
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
    ///
    /// The count drops before the list is taken, and a bucket joins the
    /// list before it checks the count again ([`Bucket::grant`]): whichever
    /// order the two run in, a held-back bucket is woken or sees the drop.
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

    fn wait(&self, bucket: &Arc<Bucket>) {
        let mut waiting = lock(&self.waiting);
        if !waiting.iter().any(|w| w.as_ptr() == Arc::as_ptr(bucket)) {
            waiting.push(Arc::downgrade(bucket));
        }
    }
}

/// A set of routes, one bit per [`RouteKind::index`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct RouteSet(u32);

// One bit per route must fit.
const _: () = assert!(RouteKind::ALL.len() <= 32);

impl RouteSet {
    pub(super) fn one(route: RouteKind) -> Self {
        Self(1 << route.index())
    }

    pub(super) fn contains(self, route: RouteKind) -> bool {
        self.0 & (1 << route.index()) != 0
    }

    pub(super) fn insert(&mut self, route: RouteKind) {
        self.0 |= 1 << route.index();
    }

    pub(super) fn remove(&mut self, route: RouteKind) {
        self.0 &= !(1 << route.index());
    }

    pub(super) fn iter(self) -> impl Iterator<Item = RouteKind> {
        RouteKind::ALL
            .into_iter()
            .filter(move |&r| self.contains(r))
    }
}

/// One route's requests in flight as a bucket counts them.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct RouteAccount {
    /// Which move of the route brought it here: permits issued here carry
    /// it, so a permit of an earlier stay knows its route has moved since.
    pub(super) epoch: u32,
    /// Permits issued here during this stay, not yet finished.
    pub(super) native: u32,
    /// Permits of earlier buckets that moved here with the route.
    pub(super) carried: u32,
}

#[derive(Debug)]
pub(super) struct Bucket {
    pub(super) state: Mutex<BucketState>,
    pub(super) blind: Arc<Blind>,
}

pub(super) struct BucketState {
    pub(super) core: BucketCore<Waiter>,
    /// The server's id, once known. Never logged.
    pub(super) id: Option<Box<str>>,
    /// The routes using this bucket now; a waiter for another route looks
    /// its route up again.
    pub(super) members: RouteSet,
    pub(super) accounts: [RouteAccount; RouteKind::ALL.len()],
    timer_at: Option<Instant>,
    /// The reset the queue was last checked against for waiters whose
    /// deadline comes first.
    checked_until: Option<Instant>,
}

impl std::fmt::Debug for BucketState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The id is left out: the deployed server once put credentials in it.
        f.debug_struct("BucketState")
            .field("core", &self.core)
            .field("members", &self.members)
            .field("timer_at", &self.timer_at)
            .finish_non_exhaustive()
    }
}

/// A caller waiting in a bucket's queue.
#[derive(Debug)]
pub(super) struct Waiter {
    pub(super) route: RouteKind,
    pub(super) sender: oneshot::Sender<Grant>,
    /// When it started waiting, to keep its turn if its route moves.
    pub(super) since: Instant,
    /// When it stops waiting (`None`: never).
    pub(super) deadline: Option<Instant>,
}

/// What a waiter is told: its permit, or that the bucket will stay shut
/// past its deadline.
pub(super) type Grant = Result<Ticket, Exhausted>;

/// Everything a permit needs to report back: where it was issued, for which
/// route and window, and during which stay of the route there.
#[derive(Debug)]
pub(super) struct Ticket {
    pub(super) bucket: Arc<Bucket>,
    pub(super) route: RouteKind,
    pub(super) generation: u64,
    pub(super) epoch: u32,
    /// Sent blind: before the bucket's limits were known, or while it
    /// checks what it is after a rename elsewhere. Until it answers, nobody
    /// knows which bucket it counts in.
    pub(super) provisional: bool,
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while these locks are held; if it ever did, the state
    // is still consistent enough to keep going.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl BucketState {
    /// Records a permit issued here for `route`; returns the route's epoch
    /// for the ticket.
    pub(super) fn issued(&mut self, route: RouteKind) -> u32 {
        let account = &mut self.accounts[route.index()];
        account.native += 1;
        account.epoch
    }

    /// Records a permit issued here for `route`.
    pub(super) fn ticket(
        &mut self,
        bucket: &Arc<Bucket>,
        route: RouteKind,
        generation: u64,
        provisional: bool,
    ) -> Ticket {
        Ticket {
            bucket: Arc::clone(bucket),
            route,
            generation,
            epoch: self.issued(route),
            provisional,
        }
    }

    /// A permit issued here during its route's current stay is over.
    pub(super) fn end_native(&mut self, route: RouteKind) {
        let account = &mut self.accounts[route.index()];
        account.native = account.native.saturating_sub(1);
    }

    /// Whether `ticket` was issued during its route's current stay here.
    pub(super) fn is_native(&self, ticket: &Ticket) -> bool {
        self.members.contains(ticket.route)
            && self.accounts[ticket.route.index()].epoch == ticket.epoch
    }
}

impl Bucket {
    /// A bucket for `route` whose limits are unknown.
    pub(super) fn provisional(
        core: BucketCore<Waiter>,
        blind: Arc<Blind>,
        route: RouteKind,
        epoch: u32,
    ) -> Self {
        let mut accounts = [RouteAccount::default(); RouteKind::ALL.len()];
        accounts[route.index()].epoch = epoch;
        Self::with(core, blind, None, RouteSet::one(route), accounts)
    }

    /// An empty bucket under a server id, for routes to move into.
    pub(super) fn named(core: BucketCore<Waiter>, blind: Arc<Blind>, id: &str) -> Self {
        let accounts = [RouteAccount::default(); RouteKind::ALL.len()];
        Self::with(core, blind, Some(id.into()), RouteSet::default(), accounts)
    }

    fn with(
        core: BucketCore<Waiter>,
        blind: Arc<Blind>,
        id: Option<Box<str>>,
        members: RouteSet,
        accounts: [RouteAccount; RouteKind::ALL.len()],
    ) -> Self {
        Self {
            blind,
            state: Mutex::new(BucketState {
                core,
                id,
                members,
                accounts,
                timer_at: None,
                checked_until: None,
            }),
        }
    }

    /// Hands permits to queued waiters while the bucket allows, then makes
    /// sure a timer or a blind request's answer will wake the rest.
    pub(super) fn grant(this: &Arc<Self>, mut state: MutexGuard<'_, BucketState>) {
        if state.core.queued() == 0 {
            // Nobody waits: nothing to hand out, no timer needed.
            return;
        }
        let now = Instant::now();
        loop {
            let held = this.blind.held_back();
            state.core.hold_back(held);
            while let Some((waiter, generation)) = state.core.grant_next(now) {
                let blind = state.core.is_blind();
                let ticket = state.ticket(this, waiter.route, generation, blind);
                match waiter.sender.send(Ok(ticket)) {
                    Ok(()) if blind => this.blind.started(),
                    Ok(()) => {}
                    // The waiter left: the permit goes to the next one.
                    Err(grant) => {
                        if let Ok(ticket) = grant {
                            state.core.undo(ticket.generation);
                            state.end_native(ticket.route);
                        }
                    }
                }
            }
            if state.core.queued() == 0 || held == 0 {
                break;
            }
            // Held back for blind requests: be woken when one finishes, and
            // look again in case it finished before we asked.
            this.blind.wait(this);
            if this.blind.held_back() >= held {
                break;
            }
        }
        Self::turn_away(&mut state, now);
        Self::arm_timer(this, &mut state, now);
    }

    /// Tells waiters who would give up before the bucket opens again so
    /// now, rather than at their deadline. Checked once per reset instant:
    /// callers arriving later are told on arrival.
    fn turn_away(state: &mut BucketState, now: Instant) {
        let Some(at) = state.core.next_wake(now) else {
            return;
        };
        if state.checked_until == Some(at) {
            return;
        }
        state.checked_until = Some(at);
        let late = state
            .core
            .drain_queue(|waiter| waiter.deadline.is_some_and(|deadline| deadline < at));
        let retry_after = at.saturating_duration_since(now);
        for waiter in late {
            // A waiter already gone needs no answer.
            let _ = waiter.sender.send(Err(Exhausted { retry_after }));
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
}
