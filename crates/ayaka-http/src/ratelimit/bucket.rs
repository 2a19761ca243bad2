//! The state machine of one bucket, free of I/O and of the clock.
//!
//! Every method takes the current instant, so tests drive it with made-up
//! times. The in-memory limiter wraps one of these in a mutex per bucket and
//! holds the lock only for these short, non-async calls.
//!
//! Accounting. Each permit belongs to a *generation*, one per window the
//! client has observed. `available` is what may still be issued in the
//! current window, with requests in flight already subtracted. When a window
//! ends, requests still in flight keep a slot of the new window reserved
//! (the server may count them there) until their response shows which window
//! they landed in.

use std::collections::VecDeque;
use std::time::Duration;

use ayaka_model::is_absolute_time;
use tokio::time::Instant;

use super::headers::RateLimitHeaders;

/// Bounds that keep a hostile server from wedging the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Caps {
    /// Longest wait any header may impose.
    pub(crate) max_wait: Duration,
    /// Wait used when the bucket is exhausted and no header says for how long.
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
    window: Option<Duration>,
    available: u32,
    generation: u64,
    in_flight: u32,
    /// Requests of the previous generation still in flight, each holding a
    /// reserved slot of the current window.
    reserved: u32,
    reset_at: Option<Instant>,
    /// Whether a response of the current window has been seen yet.
    window_seen: bool,
    window_reset_raw: Option<f64>,
    previous_reset_raw: Option<f64>,
    blocked_until: Option<Instant>,
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
            available: 1,
            generation: 0,
            in_flight: 0,
            reserved: 0,
            reset_at: None,
            window_seen: false,
            window_reset_raw: None,
            previous_reset_raw: None,
            blocked_until: None,
            limited_responses: 0,
            held_back: 0,
            queue: VecDeque::new(),
        }
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
        if self.limit.is_some() {
            self.available -= 1;
        }
        self.in_flight += 1;
        Ok(self.generation)
    }

    /// Why nothing may be issued now, or `None` if something may.
    fn blocked(&mut self, now: Instant) -> Option<Blocked> {
        self.roll(now);
        if let Some(until) = self.blocked_until.filter(|&t| t > now) {
            return Some(Blocked::Until(until.max(self.reset_at.unwrap_or(until))));
        }
        // Reactive buckets (no known limit) only wait for a 429's delay.
        self.limit?;
        if self.available > 0 {
            let keep_back = self.learned && self.available <= self.held_back;
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
        }
        if self.reset_at.is_none_or(|t| t > now) {
            return;
        }
        self.start_window();
    }

    fn start_window(&mut self) {
        self.generation += 1;
        self.reserved = self.in_flight;
        self.in_flight = 0;
        if let Some(limit) = self.limit {
            self.available = limit.saturating_sub(self.reserved);
        }
        self.reset_at = None;
        self.window_seen = false;
        self.previous_reset_raw = self.window_reset_raw.take();
    }

    /// Whether the limits come from a response (the blind request is back).
    pub(crate) fn is_learned(&self) -> bool {
        self.learned
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

    /// Drops queued waiters for which `gone` holds (cancelled callers).
    pub(crate) fn purge(&mut self, gone: impl Fn(&W) -> bool) {
        self.queue.retain(|w| !gone(w));
    }

    /// Queued waiters.
    pub(crate) fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Takes every queued waiter (to move them to another bucket).
    pub(crate) fn drain_queue(&mut self) -> VecDeque<W> {
        std::mem::take(&mut self.queue)
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
            if let Some(limit) = self.limit {
                self.available = self.available.saturating_add(1).min(limit);
            }
        } else if generation + 1 == self.generation && self.reserved > 0 {
            self.reserved -= 1;
            self.release_reserved_slot();
        }
    }

    fn release_reserved_slot(&mut self) {
        if let Some(limit) = self.limit {
            self.available = self.available.saturating_add(1).min(limit);
        }
    }

    /// Records the end of a request: its response, or `None` if it has none
    /// (transport error, timeout, cancelled after sending).
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
                self.available = 1;
            }
            if !current && generation + 1 == self.generation && self.reserved > 0 {
                // It may have counted in either window: keep the slot.
                self.reserved -= 1;
            }
            self.ensure_progress(now);
            return;
        };
        if !current {
            self.complete_previous(generation, &obs);
            if obs.limited {
                // Whichever window it was meant for, the server refuses
                // now: our reset estimate was early, and its wait stands.
                self.on_limited(&obs);
            }
        } else if obs.limited {
            self.on_limited(&obs);
        } else if obs.headers.is_empty() {
            if !self.learned {
                self.become_reactive();
            }
        } else {
            self.learn_limits(obs.headers);
            self.observe_window(&obs);
        }
        self.ensure_progress(now);
    }

    /// Applies a response that another bucket's permit received (a route
    /// whose first request revealed it shares this bucket).
    pub(crate) fn observe_foreign(&mut self, now: Instant, obs: &Observation<'_>) {
        if obs.limited {
            self.on_limited(obs);
        } else if let (Some(limit), Some(remaining)) = (self.limit, obs.headers.remaining) {
            let unaccounted = self.in_flight.saturating_add(self.reserved);
            self.available = self
                .available
                .min(remaining.min(limit).saturating_sub(unaccounted));
        }
        self.ensure_progress(now);
    }

    fn complete_previous(&mut self, generation: u64, obs: &Observation<'_>) {
        if generation + 1 != self.generation || self.reserved == 0 {
            return;
        }
        self.reserved -= 1;
        let landed_in_old_window = obs.limited
            || matches!(
                (obs.headers.reset, self.previous_reset_raw),
                (Some(raw), Some(previous))
                    if is_absolute_time(raw.min(previous))
                        && !self.is_later_window(raw, previous)
            );
        if landed_in_old_window {
            self.release_reserved_slot();
        }
    }

    fn on_limited(&mut self, obs: &Observation<'_>) {
        self.limited_responses += 1;
        let headers = obs.headers;
        if !self.learned {
            self.learn_limits(headers);
        }
        let wait = headers
            .retry_after()
            .filter(|d| !d.is_zero())
            .or_else(|| headers.reset_after())
            .or(self.window)
            .unwrap_or(self.caps.fallback_wait)
            .min(self.caps.max_wait);
        let until = obs.received_at + wait;
        self.blocked_until = Some(self.blocked_until.map_or(until, |t| t.max(until)));
        if self.limit.is_some() {
            self.available = 0;
            self.reset_at = Some(self.reset_at.map_or(until, |t| t.max(until)));
        }
    }

    fn become_reactive(&mut self) {
        self.learned = true;
        self.limit = None;
        self.available = 0;
        self.reset_at = None;
    }

    fn learn_limits(&mut self, headers: &RateLimitHeaders) {
        let window = headers.window();
        if let Some((_, length)) = window {
            self.window = Some(length);
        }
        let limit = headers.limit.or(window.map(|(limit, _)| limit));
        if !self.learned {
            self.learned = true;
            match limit {
                Some(limit) => {
                    self.limit = Some(limit);
                    let remaining = headers.remaining.unwrap_or(limit.saturating_sub(1));
                    self.available = remaining.min(limit).saturating_sub(self.in_flight);
                }
                None => self.become_reactive(),
            }
            return;
        }
        match (self.limit, limit) {
            (None, Some(limit)) => {
                // A reactive bucket starts getting headers: follow them.
                self.limit = Some(limit);
                let remaining = headers.remaining.unwrap_or(0).min(limit);
                self.available = remaining.saturating_sub(self.in_flight);
            }
            (Some(known), Some(limit)) if known != limit => {
                // The server changed the limit: never exceed the new one.
                self.limit = Some(limit);
                self.available = self.available.min(limit);
            }
            _ => {}
        }
    }

    /// Updates the window from a response of the current generation.
    fn observe_window(&mut self, obs: &Observation<'_>) {
        let Some(limit) = self.limit else { return };
        let headers = obs.headers;
        if let (true, Some(raw), Some(known)) =
            (self.window_seen, headers.reset, self.window_reset_raw)
            && self.is_later_window(raw, known)
        {
            // The server's window ended before our estimate: follow it.
            self.start_window();
            self.available = limit;
        }
        if !self.window_seen {
            self.window_seen = true;
            self.window_reset_raw = headers.reset;
            self.reset_at = self.estimate_reset(obs).or(self.reset_at);
        }
        if let Some(remaining) = headers.remaining {
            let unaccounted = self.in_flight.saturating_add(self.reserved);
            self.available = self
                .available
                .min(remaining.min(limit).saturating_sub(unaccounted));
        }
    }

    /// The earliest instant the window is certain to have reset by.
    ///
    /// The window had started by the time the server answered, so it ends at
    /// most one window length after the response arrived; the server's own
    /// `Reset - Date` is another upper bound. Both hold whichever way the
    /// server aligns its windows, and the local clock only measures elapsed
    /// time, never server time.
    fn estimate_reset(&self, obs: &Observation<'_>) -> Option<Instant> {
        let by_window = self.window;
        let by_server = obs.headers.reset_after();
        let after = match (by_window, by_server) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        Some(obs.received_at + after.min(self.caps.max_wait))
    }

    /// Whether the raw `Reset` value `raw` names a later window than `known`
    /// (with slack for servers that jitter the value).
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
        let exhausted = self.limit.is_some() && self.available == 0;
        // With requests in flight, a response still due will teach us more.
        if exhausted && self.reset_at.is_none() && self.in_flight == 0 {
            let wait = self.window.unwrap_or(self.caps.fallback_wait);
            self.reset_at = Some(now + wait.min(self.caps.max_wait));
        }
    }

    /// A view for inspection.
    pub(crate) fn snapshot(&self, now: Instant) -> BucketSnapshot {
        BucketSnapshot {
            learned: self.learned,
            limit: self.limit.filter(|_| self.learned),
            window: self.window,
            remaining: self.limit.map(|_| self.available),
            in_flight: self.in_flight.saturating_add(self.reserved),
            queued: self.queue.len(),
            reset_in: self.reset_at.map(|at| at.saturating_duration_since(now)),
            limited_responses: self.limited_responses,
        }
    }
}

#[cfg(test)]
mod tests;
