//! The state machine of one bucket, free of I/O and of the clock.
//!
//! Every method takes the current instant, so tests drive it with made-up
//! times. The in-memory limiter wraps one of these in a mutex per bucket and
//! holds the lock only for these short, non-async calls.
//!
//! Accounting. Each permit belongs to a *generation*, one per window the
//! client has observed. `issued` counts the requests that may count against
//! the server's current window: those sent in this generation, the previous
//! generation's still in flight (the server may count them in either window,
//! until their response shows which), and those moved here with a route
//! whose bucket changed. `used` is the server's count once everything in
//! flight has arrived, as far as the client can tell; the budget left is
//! `limit - used`.
//!
//! While the server's `Remaining` agrees with what this client sent, `used`
//! is `issued`: the requests in flight are already in `issued`, and
//! subtracting them from `Remaining` as well would count those the server
//! has seen twice (responses overtake each other) and waste the slots. Once
//! the server has counted more than the client sent, someone else shares the
//! bucket, or the window is not the one the client thinks: then every
//! request in flight is assumed still to come on top of `Remaining`.

use std::collections::VecDeque;
use std::time::Duration;

use ayaka_model::is_absolute_time;
use tokio::time::Instant;

use super::headers::RateLimitHeaders;

/// `Date` has one-second resolution, so `Reset - Date` may exceed the time
/// left by up to this much.
const DATE_RESOLUTION: Duration = Duration::from_secs(1);

/// What a bucket name spells: `<limit>` and the `<time>/<per>` window.
type Named = (u32, Duration);

/// Bounds that keep a hostile server from wedging the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Caps {
    /// Longest wait any header may impose.
    pub(crate) max_wait: Duration,
    /// Wait used when the bucket is exhausted and no header says for how
    /// long: the first guess at a window nobody named.
    pub(crate) fallback_wait: Duration,
}

/// One response, as the bucket sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Observation<'a> {
    /// The server answered 429.
    pub(crate) limited: bool,
    /// Its parsed rate-limit headers.
    pub(crate) headers: &'a RateLimitHeaders,
    /// When the response head arrived.
    pub(crate) received_at: Instant,
}

/// Why a request cannot go now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Blocked {
    /// Until this instant (the window resets or a 429 wait ends).
    Until(Instant),
    /// Until a request in flight answers (the bucket is still being learned).
    ForResponse,
}

/// The state of one bucket; `W` is whatever the shell queues for waiters.
#[derive(Debug)]
pub(crate) struct BucketCore<W> {
    caps: Caps,
    /// `false` while the first, blind request of a route is out.
    learned: bool,
    /// Requests per window; `None` means reactive (no limit known).
    limit: Option<u32>,
    /// The window length the bucket name spells.
    window: Option<Duration>,
    /// The bucket name last read, and what it spells: parsed once, not on
    /// every response.
    name: Option<(Box<str>, Option<Named>)>,
    /// The window length assumed when nothing names one; doubled each time
    /// it proves too short.
    window_guess: Duration,
    generation: u64,
    /// Requests of this generation in flight.
    in_flight: u32,
    /// Requests of the previous generation still in flight.
    reserved: u32,
    /// Requests moved here from another bucket (their route's bucket
    /// changed at the server), still in flight.
    carried: u32,
    /// Requests that may count against the server's current window.
    issued: u32,
    /// The server's count once every request in flight arrives (`>= issued`).
    used: u32,
    reset_at: Option<Instant>,
    /// `reset_at` is a guess (no header named the window): the window that
    /// starts there sends one request until a response confirms it.
    reset_guessed: bool,
    probing: bool,
    /// Until an answer counted here arrives, one request at a time: the
    /// server refused what this bucket thought it allowed, in the window
    /// before.
    rechecking: bool,
    /// The next window starts rechecking (after a 429).
    recheck_next: bool,
    /// Until an answer counted here arrives, one request at a time, and it
    /// is blind: the server renamed or merged another bucket, and may have
    /// moved this one's routes too.
    doubted: bool,
    /// Whether a response of the current window has been seen yet.
    window_seen: bool,
    window_reset_raw: Option<f64>,
    previous_reset_raw: Option<f64>,
    blocked_until: Option<Instant>,
    /// The raw `Reset` of the 429 that set `blocked_until`, if sane: the
    /// server window that refused.
    refused_in: Option<f64>,
    limited_responses: u64,
    /// Slots kept back for blind requests of other routes, which may turn
    /// out to belong to this bucket.
    held_back: u32,
    queue: VecDeque<W>,
}

/// A read-only view of a bucket for inspection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BucketSnapshot {
    /// Whether the bucket's limits come from a response (`false` while its
    /// first request is out).
    pub learned: bool,
    /// Requests per window, if known; `None` means the bucket is reactive.
    pub limit: Option<u32>,
    /// The window length, if known.
    pub window: Option<Duration>,
    /// Requests that may still start in this window (`None` if reactive).
    pub remaining: Option<u32>,
    /// Requests sent and not yet answered.
    pub in_flight: u32,
    /// Callers waiting for a permit.
    pub queued: usize,
    /// Time until the current window resets, if known.
    pub reset_in: Option<Duration>,
    /// 429 responses seen on this bucket.
    pub limited_responses: u64,
}

impl<W> BucketCore<W> {
    /// A bucket for a route whose limits are unknown: one blind request may go.
    pub(crate) fn provisional(caps: Caps) -> Self {
        Self {
            caps,
            learned: false,
            limit: Some(1),
            window: None,
            name: None,
            window_guess: caps.fallback_wait,
            generation: 0,
            in_flight: 0,
            reserved: 0,
            carried: 0,
            issued: 0,
            used: 0,
            reset_at: None,
            reset_guessed: false,
            probing: false,
            rechecking: false,
            recheck_next: false,
            doubted: false,
            window_seen: false,
            window_reset_raw: None,
            previous_reset_raw: None,
            blocked_until: None,
            refused_in: None,
            limited_responses: 0,
            held_back: 0,
            queue: VecDeque::new(),
        }
    }

    fn available(&self) -> Option<u32> {
        self.limit.map(|limit| limit.saturating_sub(self.used))
    }

    /// Requests in flight that were sent for this window or may land in it.
    fn unanswered(&self) -> u32 {
        self.in_flight
            .saturating_add(self.reserved)
            .saturating_add(self.carried)
    }

    /// Issues a permit now if the bucket allows it and nobody queues ahead.
    pub(crate) fn try_issue(&mut self, now: Instant) -> Result<u64, Blocked> {
        if !self.queue.is_empty() {
            return Err(self.blocked(now).unwrap_or(Blocked::ForResponse));
        }
        self.issue(now)
    }

    fn issue(&mut self, now: Instant) -> Result<u64, Blocked> {
        if let Some(blocked) = self.blocked(now) {
            return Err(blocked);
        }
        self.count(1);
        self.in_flight += 1;
        Ok(self.generation)
    }

    /// Counts `n` requests against the current window.
    fn count(&mut self, n: u32) {
        self.issued = self.issued.saturating_add(n);
        self.used = self.used.saturating_add(n);
    }

    /// Takes back `n` requests that turned out not to count in this window.
    fn uncount(&mut self, n: u32) {
        self.issued = self.issued.saturating_sub(n);
        self.used = self.used.saturating_sub(n);
    }

    /// Why nothing may be issued now, or `None` if something may.
    fn blocked(&mut self, now: Instant) -> Option<Blocked> {
        self.roll(now);
        if let Some(until) = self.blocked_until.filter(|&t| t > now) {
            return Some(Blocked::Until(until.max(self.reset_at.unwrap_or(until))));
        }
        // Reactive buckets (no known limit) only wait for a 429's delay.
        let available = self.available()?;
        if (self.probing || self.rechecking || self.doubted) && self.in_flight > 0 {
            // Nobody said this window had begun, or that the bucket is
            // still what it was: one request finds out.
            return Some(Blocked::ForResponse);
        }
        if available > 0 {
            let keep_back = self.learned && available <= self.held_back;
            return keep_back.then_some(Blocked::ForResponse);
        }
        Some(match self.reset_at {
            Some(at) => Blocked::Until(at),
            None => Blocked::ForResponse,
        })
    }

    /// Starts a new window if the current one has ended.
    fn roll(&mut self, now: Instant) {
        if self.blocked_until.is_some_and(|t| t <= now) {
            self.blocked_until = None;
            self.refused_in = None;
        }
        if self.reset_at.is_none_or(|t| t > now) {
            return;
        }
        self.probing = self.reset_guessed;
        self.start_window();
    }

    fn start_window(&mut self) {
        self.generation += 1;
        self.reserved = self.in_flight;
        self.in_flight = 0;
        self.issued = 0;
        self.used = 0;
        self.count(self.reserved.saturating_add(self.carried));
        self.reset_at = None;
        self.reset_guessed = false;
        self.window_seen = false;
        self.previous_reset_raw = self.window_reset_raw.take();
        self.rechecking |= std::mem::take(&mut self.recheck_next);
    }

    /// The server renamed or merged another bucket: this one may have
    /// changed too, unseen. Until an answer says what it is now, it sends
    /// one request at a time (a merged bucket's other routes are learned
    /// within one round trip, rather than both sides spending one budget).
    pub(crate) fn doubt(&mut self) {
        self.doubted = true;
    }

    /// Whether the limits come from a response (the blind request is back).
    pub(crate) fn is_learned(&self) -> bool {
        self.learned
    }

    /// Whether a request issued now is blind: the bucket is still being
    /// learned, or checks what it is after a rename elsewhere, so nobody
    /// knows which bucket the request counts in until it answers.
    pub(crate) fn is_blind(&self) -> bool {
        !self.learned || self.doubted
    }

    /// Keeps `slots` of the budget back (for blind requests in flight on
    /// routes whose bucket is not known yet).
    pub(crate) fn hold_back(&mut self, slots: u32) {
        self.held_back = slots;
    }

    /// Queues a waiter, behind everyone already waiting.
    pub(crate) fn enqueue(&mut self, waiter: W) {
        self.queue.push_back(waiter);
    }

    /// Queues waiters moved here from another bucket, among those already
    /// waiting by `arrived` (both queues are in that order), so the merged
    /// queue serves callers as if they had always waited in one.
    pub(crate) fn enqueue_moved<K: Ord>(&mut self, moved: Vec<W>, arrived: impl Fn(&W) -> K) {
        if moved.is_empty() {
            return;
        }
        let mut waiting = std::mem::take(&mut self.queue).into_iter().peekable();
        let mut moved = moved.into_iter().peekable();
        let mut merged = VecDeque::with_capacity(waiting.len() + moved.len());
        loop {
            let take_moved = match (waiting.peek(), moved.peek()) {
                (Some(w), Some(m)) => arrived(m) < arrived(w),
                (None, Some(_)) => true,
                (_, None) => false,
            };
            let next = if take_moved {
                moved.next()
            } else {
                waiting.next()
            };
            match next {
                Some(waiter) => merged.push_back(waiter),
                None => break,
            }
        }
        self.queue = merged;
    }

    /// Drops queued waiters for which `gone` holds (cancelled callers).
    pub(crate) fn purge(&mut self, gone: impl Fn(&W) -> bool) {
        self.queue.retain(|w| !gone(w));
    }

    /// Queued waiters.
    pub(crate) fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Takes the queued waiters for which `take` holds, in order (to move
    /// them to another bucket).
    pub(crate) fn drain_queue(&mut self, take: impl Fn(&W) -> bool) -> Vec<W> {
        let (taken, kept): (VecDeque<W>, VecDeque<W>) = std::mem::take(&mut self.queue)
            .into_iter()
            .partition(|w| take(w));
        self.queue = kept;
        taken.into()
    }

    /// Issues a permit to the first waiter if the bucket allows it.
    pub(crate) fn grant_next(&mut self, now: Instant) -> Option<(W, u64)> {
        if self.queue.is_empty() {
            return None;
        }
        let generation = self.issue(now).ok()?;
        match self.queue.pop_front() {
            Some(waiter) => Some((waiter, generation)),
            None => {
                self.undo(generation);
                None
            }
        }
    }

    /// When a timer must fire for queued waiters to make progress.
    pub(crate) fn next_wake(&mut self, now: Instant) -> Option<Instant> {
        if self.queue.is_empty() {
            return None;
        }
        match self.blocked(now) {
            Some(Blocked::Until(at)) => Some(at),
            _ => None,
        }
    }

    /// How long until the bucket could issue, as far as it knows (zero when
    /// it waits for a response rather than a time).
    pub(crate) fn wait_hint(&mut self, now: Instant) -> Duration {
        match self.blocked(now) {
            Some(Blocked::Until(at)) => at.saturating_duration_since(now),
            _ => Duration::ZERO,
        }
    }

    /// Returns a permit that was issued but never used to send a request.
    pub(crate) fn undo(&mut self, generation: u64) {
        if generation == self.generation {
            self.in_flight = self.in_flight.saturating_sub(1);
            self.uncount(1);
        } else if generation + 1 == self.generation && self.reserved > 0 {
            self.reserved -= 1;
            self.uncount(1);
        }
    }

    /// Records the end of a request: its response, or `None` if it has none
    /// (transport error, timeout, cancelled after sending, or an answer
    /// that belongs to another bucket).
    pub(crate) fn complete(
        &mut self,
        generation: u64,
        now: Instant,
        observation: Option<Observation<'_>>,
    ) {
        let current = generation == self.generation;
        if current {
            self.in_flight = self.in_flight.saturating_sub(1);
        }
        let Some(obs) = observation else {
            if !self.learned {
                // The blind request failed: let the next caller try.
                self.uncount(1);
            }
            if !current && generation + 1 == self.generation && self.reserved > 0 {
                // It may have counted in either window: keep the slot.
                self.reserved -= 1;
            }
            self.ensure_progress(now);
            return;
        };
        if current {
            self.observe(&obs);
        } else {
            self.complete_previous(generation, &obs);
            if obs.limited {
                // Whichever window it was meant for, the server refuses
                // now: our reset estimate was early, and its wait stands.
                self.on_limited(&obs);
            }
        }
        self.ensure_progress(now);
    }

    /// Takes over requests of a route that moved here from another bucket:
    /// `in_flight` still out, plus the one whose answer `obs` revealed the
    /// move, all counting in this bucket's window.
    pub(crate) fn adopt(&mut self, now: Instant, in_flight: u32, obs: &Observation<'_>) {
        // A window that ended while nobody asked is over: the answer that
        // comes in belongs to the next one, and must not set the old one's
        // reset.
        self.roll(now);
        self.carried = self.carried.saturating_add(in_flight);
        self.count(in_flight.saturating_add(1));
        self.observe(obs);
        self.ensure_progress(now);
    }

    /// A request moved here ended: with its answer for this bucket, or
    /// `None` (no answer, or one from yet another bucket).
    pub(crate) fn complete_carried(&mut self, now: Instant, observation: Option<Observation<'_>>) {
        self.carried = self.carried.saturating_sub(1);
        if let Some(obs) = observation {
            self.observe(&obs);
        }
        self.ensure_progress(now);
    }

    /// A request moved here turned out to count elsewhere (its answer names
    /// the bucket it came from), or was never sent.
    pub(crate) fn uncarry(&mut self, now: Instant) {
        self.carried = self.carried.saturating_sub(1);
        self.uncount(1);
        self.ensure_progress(now);
    }

    /// `n` requests moved here move on to another bucket. They keep their
    /// place in this window: they may have counted here first.
    pub(crate) fn carry_away(&mut self, n: u32) {
        self.carried = self.carried.saturating_sub(n);
    }

    /// Applies a response counted in the current window.
    fn observe(&mut self, obs: &Observation<'_>) {
        self.rechecking = false;
        self.doubted = false;
        if obs.limited {
            self.on_limited(obs);
        } else if obs.headers.is_empty() {
            if !self.learned {
                self.become_reactive();
            }
        } else {
            self.learn_limits(obs.headers);
            self.follow_reset_during_wait(obs);
            self.observe_window(obs);
        }
    }

    /// An allowed answer while a 429's wait still runs, naming a later
    /// window than the 429 did: the server's window reset before the wait
    /// ends (the wait runs from when the 429 arrived, so it overshoots the
    /// reset by the 429's transit), and the answer counts in the new
    /// window. Rolling only when the wait ends would forget it there, and
    /// the new window would spend one slot more than the server allows.
    fn follow_reset_during_wait(&mut self, obs: &Observation<'_>) {
        let (Some(until), Some(refused)) = (self.blocked_until, self.refused_in) else {
            return;
        };
        let Some(raw) = self.sane_reset(obs.headers) else {
            return;
        };
        if until <= obs.received_at || raw <= refused || self.is_same_window(raw, refused) {
            return;
        }
        self.blocked_until = None;
        self.refused_in = None;
        self.start_window();
        // This answer is the new window's first word on it: no recheck.
        self.rechecking = false;
        self.count(1);
    }

    fn complete_previous(&mut self, generation: u64, obs: &Observation<'_>) {
        if generation + 1 != self.generation || self.reserved == 0 {
            return;
        }
        self.reserved -= 1;
        let landed_in_old_window = obs.limited
            || matches!(
                (self.sane_reset(obs.headers), self.previous_reset_raw),
                (Some(raw), Some(previous)) if self.is_same_window(raw, previous)
            );
        if landed_in_old_window {
            self.uncount(1);
        }
    }

    fn on_limited(&mut self, obs: &Observation<'_>) {
        self.limited_responses += 1;
        // The bucket is not what this client thought (someone else uses it,
        // or a route merged into it): the next window starts with one
        // request, whose answer says how much is left.
        self.recheck_next = true;
        let headers = obs.headers;
        if !self.learned {
            self.learn_limits(headers);
        }
        let nonzero = |wait: &Duration| !wait.is_zero();
        let told = headers
            .retry_after()
            .filter(nonzero)
            .or_else(|| headers.reset_after().filter(nonzero))
            .or(self.window);
        let wait = told.unwrap_or(self.window_guess).min(self.caps.max_wait);
        let until = obs.received_at + wait;
        self.blocked_until = Some(self.blocked_until.map_or(until, |t| t.max(until)));
        self.refused_in = self.sane_reset(headers);
        if let Some(limit) = self.limit {
            self.used = self.used.max(limit);
            if self.reset_at.is_none_or(|at| at < until) {
                self.reset_at = Some(until);
                self.reset_guessed = told.is_none();
            }
        }
    }

    fn become_reactive(&mut self) {
        self.learned = true;
        self.limit = None;
        self.reset_at = None;
        self.probing = false;
    }

    /// What the response's bucket name spells (`<limit>`, `<time>/<per>`).
    fn named(&mut self, headers: &RateLimitHeaders) -> Option<Named> {
        let bucket = headers.bucket.as_deref()?;
        match &self.name {
            Some((name, named)) if **name == *bucket => *named,
            _ => {
                let named = headers.window();
                self.name = Some((bucket.into(), named));
                named
            }
        }
    }

    fn learn_limits(&mut self, headers: &RateLimitHeaders) {
        let named = self.named(headers);
        if let Some((_, length)) = named {
            self.window = Some(length);
        }
        // Both are the server's word; the smaller one is safe to follow.
        let limit = match (headers.limit, named.map(|(limit, _)| limit)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if !self.learned {
            self.learned = true;
            match limit {
                // The blind request itself is already counted.
                Some(limit) => self.limit = Some(limit),
                None => self.become_reactive(),
            }
            return;
        }
        match (self.limit, limit) {
            (None, Some(limit)) => {
                // A reactive bucket starts getting headers: follow them, and
                // without a `Remaining` assume nothing is left.
                self.limit = Some(limit);
                self.issued = self.in_flight;
                let counted = headers
                    .remaining
                    .map_or(limit, |remaining| limit - remaining.min(limit));
                self.used = counted.saturating_add(self.unanswered());
            }
            (Some(known), Some(limit)) if known != limit => {
                // The server changed the limit: its `Remaining` is the only
                // count that means anything against the new one.
                self.limit = Some(limit);
                if let Some(remaining) = headers.remaining {
                    let counted = limit - remaining.min(limit);
                    self.issued = counted;
                    self.used = counted.saturating_add(self.unanswered());
                }
            }
            _ => {}
        }
    }

    /// Updates the window from a response of the current generation.
    fn observe_window(&mut self, obs: &Observation<'_>) {
        let Some(limit) = self.limit else { return };
        let headers = obs.headers;
        let reset = self.sane_reset(headers);
        if let (true, Some(raw), Some(known)) = (self.window_seen, reset, self.window_reset_raw)
            && self.is_later_window(raw, known)
        {
            // The server's window ended before our estimate: follow it.
            self.start_window();
        }
        if !self.window_seen {
            self.window_seen = true;
            self.window_reset_raw = reset;
            if let Some(at) = self.estimate_reset(obs) {
                self.reset_at = Some(at);
                self.reset_guessed = false;
            }
        }
        let probed = std::mem::take(&mut self.probing);
        if let Some(remaining) = headers.remaining {
            let counted = limit - remaining.min(limit);
            if counted > self.issued {
                // More than this client sent: assume everything in flight
                // is still to be counted on top.
                self.used = self.used.max(counted.saturating_add(self.unanswered()));
                if probed {
                    // The guessed window had not begun: guess longer.
                    self.window_guess = (self.window_guess * 2).min(self.caps.max_wait);
                }
            }
        }
    }

    /// The server's raw `Reset`, if it can tell one window from the next:
    /// after `Date` (a reset at or before the response's own time is no
    /// window), and within two named windows of it (a far-future or skewed
    /// value grows with the clock, and would look like a new window every
    /// few seconds).
    fn sane_reset(&self, headers: &RateLimitHeaders) -> Option<f64> {
        // Plain arithmetic: this runs on every response. Only absolute
        // values can tell windows apart.
        let raw = headers.reset.filter(|&raw| is_absolute_time(raw))?;
        let after = raw - headers.date? as f64;
        let longest = self
            .window
            .map_or(self.caps.max_wait, |w| w * 2 + DATE_RESOLUTION);
        (after > 0.0 && after <= longest.as_secs_f64()).then_some(raw)
    }

    /// The earliest instant the window is certain to have reset by.
    ///
    /// The window had started by the time the server answered, so it ends at
    /// most one window length after the response arrived; the server's own
    /// `Reset - Date` is another upper bound, when it is one (positive). Both
    /// hold whichever way the server aligns its windows, and the local clock
    /// only measures elapsed time, never server time.
    fn estimate_reset(&self, obs: &Observation<'_>) -> Option<Instant> {
        let by_window = self.window;
        let by_server = obs.headers.reset_after().filter(|after| !after.is_zero());
        let after = match (by_window, by_server) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        Some(obs.received_at + after.min(self.caps.max_wait))
    }

    /// Whether the raw `Reset` value `raw` names the same window as `known`.
    /// Strict, since a wrong "yes" hands back a slot the server counted:
    /// the values of two windows differ by a window length at least.
    fn is_same_window(&self, raw: f64, known: f64) -> bool {
        if !is_absolute_time(raw) || !is_absolute_time(known) {
            return false;
        }
        let tolerance = self
            .window
            .map_or(0.25, |w| (w.as_secs_f64() / 4.0).min(0.25));
        (raw - known).abs() <= tolerance
    }

    /// Whether the raw `Reset` value `raw` names a later window than `known`
    /// (with slack for servers that jitter the value: a wrong "yes" starts
    /// a fresh budget early).
    fn is_later_window(&self, raw: f64, known: f64) -> bool {
        if !is_absolute_time(raw) || !is_absolute_time(known) {
            // Not absolute times: they say nothing about which window.
            return false;
        }
        let slack = self.window.map_or(0.5, |w| w.as_secs_f64() / 2.0).max(0.5);
        raw > known + slack
    }

    /// Makes sure an exhausted bucket has a reset time so it cannot wedge.
    fn ensure_progress(&mut self, now: Instant) {
        let exhausted = self.available() == Some(0);
        // With requests in flight, a response still due will teach us more.
        if exhausted && self.reset_at.is_none() && self.in_flight == 0 {
            let wait = self.window.unwrap_or(self.window_guess);
            self.reset_at = Some(now + wait.min(self.caps.max_wait));
            self.reset_guessed = self.window.is_none();
        }
    }

    /// A view for inspection.
    pub(crate) fn snapshot(&self, now: Instant) -> BucketSnapshot {
        BucketSnapshot {
            learned: self.learned,
            limit: self.limit.filter(|_| self.learned),
            window: self.window,
            remaining: self.available(),
            in_flight: self.unanswered(),
            queued: self.queue.len(),
            reset_in: self.reset_at.map(|at| at.saturating_duration_since(now)),
            limited_responses: self.limited_responses,
        }
    }
}

#[cfg(test)]
mod tests;
