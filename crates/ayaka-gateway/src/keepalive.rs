//! When to ping, when the connection is dead, and the measured latency.
//!
//! Pure state: the shard's state machine feeds it the time and the pongs
//! it reads; it never reads a clock.

use std::time::{Duration, Instant};

use crate::latency::Latency;

/// What the shard task should do when the keepalive deadline passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeepaliveAction {
    /// Send a WebSocket Ping with this payload.
    Ping(u64),
    /// No Pong in time: the connection is dead.
    Dead,
    /// Nothing to do yet.
    Wait,
}

const SAMPLES: usize = 8;

/// A ping awaiting its Pong.
#[derive(Debug, Clone, Copy)]
struct Outstanding {
    payload: u64,
    sent_at: Instant,
    /// No Pong by then: the connection is dead.
    dead_at: Instant,
    /// Whether its round trip is a latency sample: not when reading was
    /// paused, since the Pong then waited on our side, not the network.
    measure: bool,
}

#[derive(Debug)]
pub(crate) struct Keepalive {
    interval: Duration,
    timeout: Duration,
    jitter: f64,
    next_ping_at: Instant,
    outstanding: Option<Outstanding>,
    next_payload: u64,
    samples: [Duration; SAMPLES],
    sample_count: usize,
    last: Option<Duration>,
}

impl Keepalive {
    /// `jitter` is the fraction of `interval` a ping may come early; `now`
    /// is only a placeholder until [`start`](Self::start).
    pub(crate) fn new(interval: Duration, timeout: Duration, jitter: f64, now: Instant) -> Self {
        Self {
            interval,
            timeout,
            jitter: jitter.clamp(0.0, 1.0),
            next_ping_at: now,
            outstanding: None,
            next_payload: 0,
            samples: [Duration::ZERO; SAMPLES],
            sample_count: 0,
            last: None,
        }
    }

    /// A new connection opened at `now`; `sample` is a random draw in `[0, 1)`.
    pub(crate) fn start(&mut self, now: Instant, sample: f64) {
        self.outstanding = None;
        self.schedule(now, sample);
    }

    fn schedule(&mut self, now: Instant, sample: f64) {
        let early = self.interval.mul_f64(self.jitter * sample.clamp(0.0, 1.0));
        self.next_ping_at = now + (self.interval - early);
    }

    /// When [`poll`](Self::poll) next has something to do.
    pub(crate) fn deadline(&self) -> Instant {
        match self.outstanding {
            Some(outstanding) => outstanding.dead_at,
            None => self.next_ping_at,
        }
    }

    /// When the next ping is due while reading is paused (see
    /// [`poll_paused`](Self::poll_paused)).
    pub(crate) fn next_ping_at(&self) -> Instant {
        self.next_ping_at
    }

    /// While the task cannot read (the consumer is slow), pongs cannot be
    /// seen, but the server still needs pings to keep the connection: ping
    /// on schedule even if a Pong is outstanding, without measuring it.
    pub(crate) fn poll_paused(&mut self, now: Instant, sample: f64) -> Option<u64> {
        if now < self.next_ping_at {
            return None;
        }
        let payload = self.send_ping(now, sample);
        if let Some(outstanding) = &mut self.outstanding {
            outstanding.measure = false;
        }
        Some(payload)
    }

    /// Reading resumed after a pause of `paused`: an outstanding Pong may
    /// have waited unread all along, so it gets a full timeout from now and
    /// is no latency sample. Pauses under a millisecond (the timer's
    /// resolution) change nothing, so a consumer that is merely busy still
    /// gets latency figures.
    pub(crate) fn resume_reading(&mut self, now: Instant, paused: Duration) {
        if paused < Duration::from_millis(1) {
            return;
        }
        if let Some(outstanding) = &mut self.outstanding {
            outstanding.dead_at = outstanding.dead_at.max(now + self.timeout);
            outstanding.measure = false;
        }
    }

    fn send_ping(&mut self, now: Instant, sample: f64) -> u64 {
        let payload = self.next_payload;
        self.next_payload = self.next_payload.wrapping_add(1);
        self.outstanding = Some(Outstanding {
            payload,
            sent_at: now,
            dead_at: now + self.timeout,
            measure: true,
        });
        self.schedule(now, sample);
        payload
    }

    /// Decides what to do at `now`; `sample` as in [`start`](Self::start).
    pub(crate) fn poll(&mut self, now: Instant, sample: f64) -> KeepaliveAction {
        match self.outstanding {
            Some(outstanding) if now >= outstanding.dead_at => KeepaliveAction::Dead,
            Some(_) => KeepaliveAction::Wait,
            None if now >= self.next_ping_at => KeepaliveAction::Ping(self.send_ping(now, sample)),
            None => KeepaliveAction::Wait,
        }
    }

    /// A Pong arrived; returns the round trip if it answers our ping and
    /// measures the network.
    pub(crate) fn on_pong(&mut self, payload: &[u8], now: Instant) -> Option<Duration> {
        let outstanding = self.outstanding?;
        if payload != outstanding.payload.to_be_bytes() {
            return None;
        }
        self.outstanding = None;
        if !outstanding.measure {
            return None;
        }
        let round_trip = now.saturating_duration_since(outstanding.sent_at);
        self.samples[self.sample_count % SAMPLES] = round_trip;
        self.sample_count += 1;
        self.last = Some(round_trip);
        // the next ping is due an interval after the previous one was sent
        Some(round_trip)
    }

    pub(crate) fn latency(&self) -> Latency {
        let count = self.sample_count.min(SAMPLES);
        let average = (count > 0).then(|| {
            let total: Duration = self.samples[..count].iter().sum();
            total / count as u32
        });
        Latency {
            last: self.last,
            average,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTERVAL: Duration = Duration::from_secs(15);
    const TIMEOUT: Duration = Duration::from_secs(20);

    #[test]
    fn pings_come_at_most_an_interval_apart_and_jitter_only_makes_them_earlier() {
        let start = Instant::now();
        let mut keepalive = Keepalive::new(INTERVAL, TIMEOUT, 0.2, start);
        keepalive.start(start, 0.0);
        assert_eq!(keepalive.deadline(), start + INTERVAL);
        keepalive.start(start, 0.5);
        assert_eq!(keepalive.deadline(), start + Duration::from_millis(13_500));
        assert_eq!(
            keepalive.poll(start + Duration::from_secs(1), 0.0),
            KeepaliveAction::Wait
        );
    }

    #[test]
    fn a_pong_measures_latency_and_reschedules() {
        let start = Instant::now();
        let mut keepalive = Keepalive::new(INTERVAL, TIMEOUT, 0.0, start);
        keepalive.start(start, 0.0);
        let sent = start + INTERVAL;
        let KeepaliveAction::Ping(payload) = keepalive.poll(sent, 0.0) else {
            panic!("expected a ping");
        };
        assert_eq!(keepalive.deadline(), sent + TIMEOUT);
        // a stray pong is ignored
        assert_eq!(keepalive.on_pong(b"nope", sent), None);
        let rtt = keepalive.on_pong(&payload.to_be_bytes(), sent + Duration::from_millis(40));
        assert_eq!(rtt, Some(Duration::from_millis(40)));
        assert_eq!(keepalive.deadline(), sent + INTERVAL);

        let sent = sent + INTERVAL;
        let KeepaliveAction::Ping(payload) = keepalive.poll(sent, 0.0) else {
            panic!("expected a ping");
        };
        keepalive.on_pong(&payload.to_be_bytes(), sent + Duration::from_millis(20));
        let latency = keepalive.latency();
        assert_eq!(latency.last, Some(Duration::from_millis(20)));
        assert_eq!(latency.average, Some(Duration::from_millis(30)));
    }

    #[test]
    fn no_pong_within_the_timeout_is_a_dead_connection() {
        let start = Instant::now();
        let mut keepalive = Keepalive::new(INTERVAL, TIMEOUT, 0.0, start);
        keepalive.start(start, 0.0);
        assert!(matches!(
            keepalive.poll(start + INTERVAL, 0.0),
            KeepaliveAction::Ping(_)
        ));
        // no second ping while one is unanswered
        let almost = start + INTERVAL + TIMEOUT - Duration::from_millis(1);
        assert_eq!(keepalive.poll(almost, 0.0), KeepaliveAction::Wait);
        assert_eq!(
            keepalive.poll(start + INTERVAL + TIMEOUT, 0.0),
            KeepaliveAction::Dead
        );
    }

    #[test]
    fn a_new_connection_forgets_the_unanswered_ping_but_keeps_latency() {
        let start = Instant::now();
        let mut keepalive = Keepalive::new(INTERVAL, TIMEOUT, 0.0, start);
        keepalive.start(start, 0.0);
        let KeepaliveAction::Ping(payload) = keepalive.poll(start + INTERVAL, 0.0) else {
            panic!("expected a ping");
        };
        keepalive.on_pong(&payload.to_be_bytes(), start + INTERVAL);
        keepalive.poll(start + INTERVAL * 2, 0.0);
        keepalive.start(start + INTERVAL * 3, 0.0);
        assert_eq!(keepalive.deadline(), start + INTERVAL * 4);
        assert!(keepalive.latency().last.is_some());
    }

    #[test]
    fn a_pause_under_a_millisecond_keeps_the_sample() {
        let start = Instant::now();
        let mut keepalive = Keepalive::new(INTERVAL, TIMEOUT, 0.0, start);
        keepalive.start(start, 0.0);
        let KeepaliveAction::Ping(payload) = keepalive.poll(start + INTERVAL, 0.0) else {
            panic!("expected a ping");
        };
        let later = start + INTERVAL + Duration::from_millis(5);
        keepalive.resume_reading(later, Duration::from_micros(200));
        assert_eq!(keepalive.deadline(), start + INTERVAL + TIMEOUT);
        let rtt = keepalive.on_pong(&payload.to_be_bytes(), later);
        assert_eq!(rtt, Some(Duration::from_millis(5)));
    }

    #[test]
    fn a_pause_in_reading_keeps_pinging_and_neither_kills_nor_measures() {
        let start = Instant::now();
        let mut keepalive = Keepalive::new(INTERVAL, TIMEOUT, 0.0, start);
        keepalive.start(start, 0.0);
        let KeepaliveAction::Ping(first) = keepalive.poll(start + INTERVAL, 0.0) else {
            panic!("expected a ping");
        };
        // paused: the server still gets a ping every interval
        assert_eq!(keepalive.poll_paused(start + INTERVAL, 0.0), None);
        let paused = keepalive.poll_paused(start + INTERVAL * 2, 0.0);
        assert!(paused.is_some_and(|payload| payload != first));
        // reading resumes long after the first ping's timeout
        let resumed = start + INTERVAL * 4;
        keepalive.resume_reading(resumed, INTERVAL * 3);
        assert_eq!(keepalive.poll(resumed, 0.0), KeepaliveAction::Wait);
        assert_eq!(keepalive.deadline(), resumed + TIMEOUT);
        // the stale pong is ignored; the current one answers but is no sample
        assert_eq!(keepalive.on_pong(&first.to_be_bytes(), resumed), None);
        let payload = paused.unwrap_or_default().to_be_bytes();
        assert_eq!(keepalive.on_pong(&payload, resumed), None);
        assert_eq!(keepalive.latency(), Latency::default());
        assert!(matches!(
            keepalive.poll(start + INTERVAL * 3 + Duration::from_secs(1), 0.0),
            KeepaliveAction::Ping(_)
        ));
    }
}
