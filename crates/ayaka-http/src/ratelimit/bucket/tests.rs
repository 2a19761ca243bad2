#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use tokio::time::Instant;

use super::{Blocked, BucketCore, Caps, Observation};
use crate::ratelimit::RateLimitHeaders;

const SECOND: Duration = Duration::from_secs(1);

fn caps() -> Caps {
    Caps {
        max_wait: Duration::from_secs(60),
        fallback_wait: SECOND,
    }
}

fn headers(limit: u32, remaining: u32, reset: f64) -> RateLimitHeaders {
    RateLimitHeaders {
        bucket: Some(format!("LIMITER/127.0.0.1/route/{limit}/1/second").into()),
        limit: Some(limit),
        remaining: Some(remaining),
        reset: Some(reset),
        retry_after: Some(0.0),
        date: Some(1_700_000_000),
        ..RateLimitHeaders::default()
    }
}

fn ok(headers: &RateLimitHeaders, at: Instant) -> Option<Observation<'_>> {
    Some(Observation {
        limited: false,
        headers,
        received_at: at,
    })
}

fn limited(headers: &RateLimitHeaders, at: Instant) -> Option<Observation<'_>> {
    Some(Observation {
        limited: true,
        headers,
        received_at: at,
    })
}

/// A 429's headers for a [`learned`] bucket: none left, retry after
/// `retry_after` seconds.
fn too_many(retry_after: f64) -> RateLimitHeaders {
    let mut headers = headers(10, 0, 1_700_000_001.0);
    headers.retry_after = Some(retry_after);
    headers
}

/// A bucket learned from one blind request answered at `t0` with `headers`.
fn learned_from(t0: Instant, headers: &RateLimitHeaders) -> BucketCore<u32> {
    let mut bucket = BucketCore::provisional(caps());
    let blind = bucket.try_issue(t0).unwrap();
    bucket.complete(blind, t0, ok(headers, t0));
    bucket
}

/// A bucket learned from one blind request: limit 10 per second, 9 left.
fn learned(t0: Instant) -> BucketCore<u32> {
    learned_from(t0, &headers(10, 9, 1_700_000_001.0))
}

/// A [`learned`] bucket whose next request, sent at `t0`, is refused with
/// a 429 asking to retry after `retry_after` seconds.
fn refused(t0: Instant, retry_after: f64) -> BucketCore<u32> {
    let mut bucket = learned(t0);
    let generation = bucket.try_issue(t0).unwrap();
    bucket.complete(generation, t0, limited(&too_many(retry_after), t0));
    bucket
}

#[test]
fn only_one_blind_request_until_the_bucket_is_known() {
    let t0 = Instant::now();
    let mut bucket = BucketCore::<u32>::provisional(caps());
    let blind = bucket.try_issue(t0).unwrap();
    assert_eq!(bucket.try_issue(t0), Err(Blocked::ForResponse));
    bucket.enqueue(1);
    bucket.enqueue(2);
    assert!(bucket.grant_next(t0).is_none());
    bucket.complete(blind, t0, ok(&headers(10, 9, 1_700_000_001.0), t0));
    assert!(bucket.is_learned());
    assert_eq!(bucket.grant_next(t0).map(|(w, _)| w), Some(1));
    assert_eq!(bucket.grant_next(t0).map(|(w, _)| w), Some(2));
    let snapshot = bucket.snapshot(t0);
    assert_eq!(snapshot.limit, Some(10));
    assert_eq!(snapshot.remaining, Some(7));
    assert_eq!(snapshot.in_flight, 2);
}

#[test]
fn a_failed_blind_request_lets_the_next_one_try() {
    let t0 = Instant::now();
    let mut bucket = BucketCore::<u32>::provisional(caps());
    let blind = bucket.try_issue(t0).unwrap();
    bucket.enqueue(1);
    bucket.complete(blind, t0, None);
    assert!(!bucket.is_learned());
    assert_eq!(bucket.grant_next(t0).map(|(w, _)| w), Some(1));
    assert!(bucket.try_issue(t0).is_err());
}

#[test]
fn no_headers_means_reactive() {
    let t0 = Instant::now();
    let mut bucket = learned_from(t0, &RateLimitHeaders::default());
    for _ in 0..1000 {
        bucket.try_issue(t0).unwrap();
    }
    assert_eq!(bucket.snapshot(t0).remaining, None);
}

#[test]
fn in_flight_requests_count_against_remaining() {
    let t0 = Instant::now();
    let mut bucket = learned(t0);
    for _ in 0..9 {
        bucket.try_issue(t0).unwrap();
    }
    // Window length is known from the bucket name: reset one second after
    // the first response at the latest.
    assert_eq!(bucket.try_issue(t0), Err(Blocked::Until(t0 + SECOND)));
}

#[test]
fn exactly_the_limit_per_window_in_fifo_order() {
    let t0 = Instant::now();
    let mut bucket = learned(t0);
    for waiter in 0..25 {
        bucket.enqueue(waiter);
    }
    let mut granted = Vec::new();
    let mut now = t0;
    for window in 0..3 {
        let mut this_window = Vec::new();
        while let Some((waiter, generation)) = bucket.grant_next(now) {
            this_window.push((waiter, generation));
        }
        let expected = if window == 0 { 9 } else { 10 };
        assert_eq!(
            this_window.len(),
            expected.min(25 - granted.len()),
            "window {window}"
        );
        // Every request of the window answers right away.
        let left = this_window.len() as u32;
        for (i, (waiter, generation)) in this_window.into_iter().enumerate() {
            let reset = 1_700_000_001.0 + f64::from(window);
            let remaining = 10 - (10 - expected as u32) - i as u32 - 1;
            bucket.complete(
                generation,
                now,
                ok(&headers(10, remaining.min(left), reset), now),
            );
            granted.push(waiter);
        }
        let wake = bucket.next_wake(now);
        if granted.len() < 25 {
            now = wake.expect("a timer for the next window");
        }
    }
    assert_eq!(granted, (0..25).collect::<Vec<_>>());
}

#[test]
fn too_many_requests_blocks_for_retry_after() {
    let t0 = Instant::now();
    let mut bucket = refused(t0, 2.5);
    let until = t0 + Duration::from_millis(2500);
    assert_eq!(bucket.try_issue(t0), Err(Blocked::Until(until)));
    assert_eq!(bucket.snapshot(t0).limited_responses, 1);
    // After the wait a fresh window starts.
    assert!(bucket.try_issue(until).is_ok());
}

#[test]
fn absurd_retry_after_is_capped() {
    let t0 = Instant::now();
    let mut bucket = refused(t0, 999_999_999.0);
    assert_eq!(
        bucket.try_issue(t0),
        Err(Blocked::Until(t0 + caps().max_wait))
    );
}

#[test]
fn epoch_in_retry_after_is_converted_with_date() {
    let t0 = Instant::now();
    let mut bucket = refused(t0, 1_700_000_003.0);
    assert_eq!(bucket.try_issue(t0), Err(Blocked::Until(t0 + 3 * SECOND)));
}

#[test]
fn exhausted_without_reset_information_falls_back() {
    let t0 = Instant::now();
    let h = RateLimitHeaders {
        limit: Some(1),
        remaining: Some(0),
        ..RateLimitHeaders::default()
    };
    let mut bucket = learned_from(t0, &h);
    assert_eq!(bucket.try_issue(t0), Err(Blocked::Until(t0 + SECOND)));
    assert!(bucket.try_issue(t0 + SECOND).is_ok());
}

#[test]
fn server_reset_tightens_the_window_estimate() {
    let t0 = Instant::now();
    let mut h = headers(2, 0, 1_700_000_001.0);
    // A minute-long window whose server clock says it resets in a second.
    h.bucket = Some("LIMITER/x/route/2/1/minute".into());
    let mut bucket = learned_from(t0, &h);
    assert_eq!(bucket.try_issue(t0), Err(Blocked::Until(t0 + SECOND)));
    assert!(bucket.try_issue(t0 + SECOND).is_ok());
}

#[test]
fn a_reset_at_or_before_date_is_no_window() {
    for reset in [1_700_000_000.0, 1_699_999_990.0] {
        let t0 = Instant::now();
        // `Reset - Date` is zero or negative: the window the bucket name
        // spells stands.
        let mut h = headers(2, 0, reset);
        h.bucket = Some("LIMITER/x/route/2/1/minute".into());
        let mut bucket = learned_from(t0, &h);
        let minute = Duration::from_secs(60);
        assert_eq!(bucket.try_issue(t0), Err(Blocked::Until(t0 + minute)));
        assert!(bucket.try_issue(t0 + minute).is_ok());
    }
}

#[test]
fn a_reset_at_date_without_a_named_window_guesses_and_probes() {
    let t0 = Instant::now();
    let opaque = |remaining: u32| RateLimitHeaders {
        bucket: Some("opaque".into()),
        ..headers(3, remaining, 1_700_000_000.0)
    };
    let mut bucket = learned_from(t0, &opaque(2));
    for remaining in [1, 0] {
        let generation = bucket.try_issue(t0).unwrap();
        bucket.complete(generation, t0, ok(&opaque(remaining), t0));
    }
    // Nothing names the window: the conservative default.
    assert_eq!(bucket.try_issue(t0), Err(Blocked::Until(t0 + SECOND)));
    // The guessed window goes one request at a time until a response says
    // it has begun.
    let t1 = t0 + SECOND;
    let probe = bucket.try_issue(t1).unwrap();
    assert_eq!(bucket.try_issue(t1), Err(Blocked::ForResponse));
    bucket.complete(probe, t1, ok(&opaque(2), t1));
    assert!(bucket.try_issue(t1).is_ok());
}

#[test]
fn a_probe_that_finds_the_old_window_doubles_the_guess() {
    let t0 = Instant::now();
    let mut h = headers(2, 1, 1_700_000_000.0);
    h.bucket = Some("opaque".into());
    let mut bucket = learned_from(t0, &h);
    let second = bucket.try_issue(t0).unwrap();
    h.remaining = Some(0);
    bucket.complete(second, t0, ok(&h, t0));
    let t1 = t0 + SECOND;
    let probe = bucket.try_issue(t1).unwrap();
    // The server has not reset: nothing left, and the next guess is longer.
    bucket.complete(probe, t1, ok(&h, t1));
    assert_eq!(bucket.try_issue(t1), Err(Blocked::Until(t1 + 2 * SECOND)));
}

#[test]
fn answers_overtaking_each_other_waste_no_slot() {
    // Requests the server has counted are in flight and in `Remaining` at
    // once: subtracting them twice would lose slots for the whole window.
    let t0 = Instant::now();
    let mut bucket = learned_from(t0, &headers(20, 19, 1_700_000_060.0));
    let issued: Vec<_> = (0..10).map(|_| bucket.try_issue(t0).unwrap()).collect();
    // The server counted all ten; the last one's answer comes back first.
    bucket.complete(issued[9], t0, ok(&headers(20, 9, 1_700_000_060.0), t0));
    assert_eq!(bucket.snapshot(t0).remaining, Some(9));
    for (n, &generation) in issued[..9].iter().enumerate() {
        let remaining = 18 - n as u32;
        bucket.complete(
            generation,
            t0,
            ok(&headers(20, remaining, 1_700_000_060.0), t0),
        );
    }
    assert_eq!(bucket.snapshot(t0).remaining, Some(9));
    for _ in 0..9 {
        bucket.try_issue(t0).unwrap();
    }
    assert!(bucket.try_issue(t0).is_err());
}

#[test]
fn a_bucket_used_by_someone_else_counts_what_is_in_flight() {
    let t0 = Instant::now();
    let mut bucket = learned(t0);
    let issued: Vec<_> = (0..4).map(|_| bucket.try_issue(t0).unwrap()).collect();
    // The server counted seven: two more than we sent. The three still in
    // flight may all be counted on top.
    bucket.complete(issued[0], t0, ok(&headers(10, 3, 1_700_000_001.0), t0));
    assert_eq!(bucket.snapshot(t0).remaining, Some(0));
}

#[test]
fn moved_requests_count_in_their_new_bucket() {
    let t0 = Instant::now();
    let mut bucket = learned(t0);
    // A route moves here with three requests in flight; the answer that
    // showed the move says the server has counted five in this window.
    let h = headers(10, 5, 1_700_000_001.0);
    let moved = Observation {
        limited: false,
        headers: &h,
        received_at: t0,
    };
    bucket.adopt(t0, 3, &moved);
    // Ours: the blind, the mover and three in flight (five), all counted.
    assert_eq!(bucket.snapshot(t0).remaining, Some(5));
    assert_eq!(bucket.snapshot(t0).in_flight, 3);
    // One answers: the server had already counted it.
    bucket.complete_carried(t0, ok(&headers(10, 5, 1_700_000_001.0), t0));
    assert_eq!(bucket.snapshot(t0).remaining, Some(5));
    // One was never counted here after all (its answer came from the old
    // bucket): its slot comes back.
    bucket.uncarry(t0);
    assert_eq!(bucket.snapshot(t0).remaining, Some(6));
    bucket.carry_away(1);
    assert_eq!(bucket.snapshot(t0).in_flight, 0);
    assert_eq!(bucket.snapshot(t0).remaining, Some(6));
}

#[test]
fn remaining_lower_than_expected_is_followed() {
    let t0 = Instant::now();
    let mut bucket = learned(t0);
    let generation = bucket.try_issue(t0).unwrap();
    // Another client used the bucket: only 2 left after ours.
    bucket.complete(generation, t0, ok(&headers(10, 2, 1_700_000_001.0), t0));
    assert!(bucket.try_issue(t0).is_ok());
    assert!(bucket.try_issue(t0).is_ok());
    assert!(bucket.try_issue(t0).is_err());
}

#[test]
fn a_later_server_window_resets_early() {
    let t0 = Instant::now();
    let mut bucket = learned(t0);
    let issued: Vec<_> = (0..9).map(|_| bucket.try_issue(t0).unwrap()).collect();
    // The server has already moved on to the next window.
    let later = t0 + Duration::from_millis(200);
    bucket.complete(
        issued[0],
        later,
        ok(&headers(10, 9, 1_700_000_002.0), later),
    );
    assert!(bucket.try_issue(later).is_ok());
}

#[test]
fn requests_in_flight_at_reset_hold_a_slot_until_answered() {
    let t0 = Instant::now();
    let mut bucket = learned(t0);
    let issued: Vec<_> = (0..9).map(|_| bucket.try_issue(t0).unwrap()).collect();
    let t1 = t0 + SECOND;
    // Nine in flight from the old window: only one slot free.
    assert!(bucket.try_issue(t1).is_ok());
    assert!(bucket.try_issue(t1).is_err());
    assert_eq!(bucket.snapshot(t1).remaining, Some(0));
    // One of them is answered as part of the old window: its slot frees.
    bucket.complete(issued[0], t1, ok(&headers(10, 0, 1_700_000_001.0), t1));
    assert_eq!(bucket.snapshot(t1).remaining, Some(1));
    // One lost without an answer: its slot stays taken.
    bucket.complete(issued[1], t1, None);
    assert_eq!(bucket.snapshot(t1).remaining, Some(1));
}

#[test]
fn undo_returns_an_unused_permit() {
    let t0 = Instant::now();
    let mut bucket = learned(t0);
    let generation = bucket.try_issue(t0).unwrap();
    assert_eq!(bucket.snapshot(t0).remaining, Some(8));
    bucket.undo(generation);
    assert_eq!(bucket.snapshot(t0).remaining, Some(9));
    assert_eq!(bucket.snapshot(t0).in_flight, 0);
}

#[test]
fn queued_callers_keep_their_turn() {
    let t0 = Instant::now();
    let mut bucket = learned(t0);
    bucket.enqueue(7);
    // A newcomer may not overtake a queued caller even with budget left.
    assert!(bucket.try_issue(t0).is_err());
    assert_eq!(bucket.grant_next(t0).map(|(w, _)| w), Some(7));
    assert!(bucket.try_issue(t0).is_ok());
}

#[test]
fn purge_drops_cancelled_waiters() {
    let t0 = Instant::now();
    let mut bucket = learned(t0);
    for waiter in 0..10 {
        bucket.enqueue(waiter);
    }
    bucket.purge(|w| w % 2 == 0);
    assert_eq!(bucket.queued(), 5);
    assert_eq!(bucket.grant_next(t0).map(|(w, _)| w), Some(1));
}

#[test]
fn a_lower_limit_is_followed_at_once() {
    let t0 = Instant::now();
    let mut bucket = learned(t0);
    let generation = bucket.try_issue(t0).unwrap();
    let mut h = headers(2, 1, 1_700_000_001.0);
    h.bucket = Some("LIMITER/x/route/2/1/second".into());
    bucket.complete(generation, t0, ok(&h, t0));
    assert!(bucket.try_issue(t0).is_ok());
    assert!(bucket.try_issue(t0).is_err());
}

#[test]
fn a_reactive_bucket_that_starts_getting_headers_follows_them() {
    let t0 = Instant::now();
    let mut bucket = learned_from(t0, &RateLimitHeaders::default());
    let generation = bucket.try_issue(t0).unwrap();
    bucket.complete(generation, t0, ok(&headers(3, 2, 1_700_000_001.0), t0));
    assert!(bucket.try_issue(t0).is_ok());
    assert!(bucket.try_issue(t0).is_ok());
    assert_eq!(bucket.try_issue(t0), Err(Blocked::Until(t0 + SECOND)));
}

#[test]
fn a_saturated_limit_never_overflows_when_a_slot_comes_back() {
    // A hostile server claims u32::MAX requests per window and never sends
    // `Remaining`; a request of the previous window landing late hands its
    // reserved slot back to a budget that is already full.
    const MAX: u32 = u32::MAX;
    let headers_at = |reset: f64| RateLimitHeaders {
        bucket: Some(format!("LIMITER/127.0.0.1/route/{MAX}/1/second").into()),
        limit: Some(MAX),
        reset: Some(reset),
        date: Some(1_700_000_000),
        ..RateLimitHeaders::default()
    };
    let t0 = Instant::now();
    let mut bucket = learned_from(t0, &headers_at(1_700_000_001.0));

    let t1 = t0 + SECOND;
    let first = bucket.try_issue(t1).unwrap();
    bucket.complete(first, t1, ok(&headers_at(1_700_000_002.0), t1));
    let late = bucket.try_issue(t1).unwrap();
    let next = bucket.try_issue(t1).unwrap();
    // The server's window moved on before our estimate: a fresh, full budget.
    bucket.complete(next, t1, ok(&headers_at(1_700_000_003.0), t1));
    // The late one turns out to have counted in the old window.
    bucket.complete(late, t1, ok(&headers_at(1_700_000_002.0), t1));
    assert_eq!(bucket.snapshot(t1).remaining, Some(MAX));
    let after_undo = bucket.try_issue(t1).unwrap();
    bucket.undo(after_undo);
    assert_eq!(bucket.snapshot(t1).remaining, Some(MAX));
}

#[test]
fn a_429_for_the_previous_window_still_blocks() {
    let t0 = Instant::now();
    let mut bucket = learned(t0);
    let late = bucket.try_issue(t0).unwrap();
    // Our estimate says the window has reset: a new one starts.
    let t1 = t0 + SECOND;
    let fresh = bucket.try_issue(t1).unwrap();
    assert_ne!(late, fresh);
    // The server disagrees: the late request is refused for another 500 ms.
    bucket.complete(late, t1, limited(&too_many(0.5), t1));
    let until = t1 + Duration::from_millis(500);
    assert_eq!(bucket.try_issue(t1), Err(Blocked::Until(until)));
    assert_eq!(bucket.snapshot(t1).limited_responses, 1);
    assert!(bucket.try_issue(until).is_ok());
}

#[test]
fn moved_waiters_keep_their_turn() {
    let t0 = Instant::now();
    let mut bucket = learned(t0);
    for waiter in [1, 4, 5, 9] {
        bucket.enqueue(waiter);
    }
    // Waiters of a route that moves here, ordered by when they arrived.
    bucket.enqueue_moved(vec![0, 2, 3, 6, 10], |&w| w);
    let order: Vec<_> = std::iter::from_fn(|| bucket.grant_next(t0).map(|(w, _)| w)).collect();
    assert_eq!(order, [0, 1, 2, 3, 4, 5, 6, 9, 10]);
}

#[test]
fn the_window_after_a_429_opens_with_one_request() {
    let t0 = Instant::now();
    let mut bucket = refused(t0, 2.5);
    let reopened = t0 + Duration::from_millis(2500);
    let probe = bucket.try_issue(reopened).unwrap();
    assert!(!bucket.is_blind(), "it counts here, whatever the answer");
    // Budget is left, but nothing more goes until the probe answers.
    assert_eq!(bucket.try_issue(reopened), Err(Blocked::ForResponse));
    bucket.complete(
        probe,
        reopened,
        ok(&headers(10, 9, 1_700_000_002.0), reopened),
    );
    for _ in 0..9 {
        assert!(bucket.try_issue(reopened).is_ok());
    }
    assert!(bucket.try_issue(reopened).is_err());
}

#[test]
fn a_doubted_bucket_sends_one_blind_request_until_an_answer() {
    let t0 = Instant::now();
    let mut bucket = learned(t0);
    bucket.doubt();
    assert!(bucket.is_blind(), "nobody knows where it counts now");
    let probe = bucket.try_issue(t0).unwrap();
    assert_eq!(bucket.try_issue(t0), Err(Blocked::ForResponse));
    bucket.complete(probe, t0, ok(&headers(10, 7, 1_700_000_001.0), t0));
    assert!(!bucket.is_blind());
    // 10 a window, 2 sent by this client, the server counted 3: 7 left.
    assert_eq!(bucket.snapshot(t0).remaining, Some(7));
    assert!(bucket.try_issue(t0).is_ok());
}

#[test]
fn an_answer_moved_in_after_the_429_wait_belongs_to_the_next_window() {
    let t0 = Instant::now();
    // A bucket first seen through a route that moved in, refused.
    let mut bucket = BucketCore::<u32>::provisional(caps());
    bucket.adopt(t0, 0, &limited(&too_many(2.5), t0).unwrap());
    // Another route moves in, with an answer after the wait ended and
    // nobody asking in between: the server's window is a new one.
    let later = t0 + Duration::from_millis(2600);
    bucket.adopt(
        later,
        0,
        &ok(&headers(10, 9, 1_700_000_003.0), later).unwrap(),
    );
    assert_eq!(bucket.snapshot(later).remaining, Some(9));
    assert!(bucket.try_issue(later).is_ok());
}

/// Headers of a bucket of 10 per quarter second, whose windows' `Reset`
/// values are closer than a second.
fn quarter_second(remaining: u32, reset: f64) -> RateLimitHeaders {
    RateLimitHeaders {
        bucket: Some("LIMITER/127.0.0.1/route/10/0.25/second".into()),
        ..headers(10, remaining, reset)
    }
}

#[test]
fn an_answer_of_the_next_window_before_the_429_wait_ends_counts_there() {
    let t0 = Instant::now();
    let window = 1_700_000_000.25;
    let mut bucket = learned_from(t0, &quarter_second(9, window));
    let late = bucket.try_issue(t0).unwrap();
    // A route that moved in is refused: 200 ms to wait, from the 429's
    // arrival, which is later than the server's reset by its transit.
    let mut refused = quarter_second(0, window);
    refused.retry_after = Some(0.2);
    bucket.adopt(t0, 0, &limited(&refused, t0).unwrap());
    // Just before the wait ends, `late` comes back allowed, counted in the
    // server's next window (its Reset is a window later).
    let almost = t0 + Duration::from_millis(199);
    let next = quarter_second(9, window + 0.25);
    bucket.complete(late, almost, ok(&next, almost));
    // The server's window has reset: nothing to wait for, and `late` holds
    // one of its slots, now and once the wait would have ended.
    assert_eq!(bucket.snapshot(almost).remaining, Some(9));
    let ended = t0 + Duration::from_millis(200);
    for _ in 0..9 {
        assert!(bucket.try_issue(ended).is_ok());
    }
    assert!(bucket.try_issue(ended).is_err());
}
