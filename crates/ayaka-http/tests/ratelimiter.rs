//! The in-memory limiter driven through its public trait, on tokio's paused
//! clock: no sockets, no real waiting.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ayaka_http::ratelimit::{
    AcquireError, Exhausted, InMemoryRateLimiter, Permit, RateLimitHeaders, RateLimiter, Response,
    RouteKind,
};
use tokio::task::JoinHandle;
use tokio::time::Instant;

const ROUTE: RouteKind = RouteKind::GetGuild;
const SECOND: Duration = Duration::from_secs(1);

/// An in-memory limiter refuses only for a wait too long, never as unavailable.
fn exhausted_by(error: &AcquireError) -> Exhausted {
    match error {
        AcquireError::Exhausted(exhausted) => *exhausted,
        other => panic!("an in-memory limiter is never unavailable: {other:?}"),
    }
}

/// Headers of a server with `limit` requests per second and `remaining` left.
fn headers(bucket: &str, limit: u32, remaining: u32) -> RateLimitHeaders {
    RateLimitHeaders {
        bucket: Some(format!("LIMITER/127.0.0.1/{bucket}/{limit}/1/second").into()),
        limit: Some(limit),
        remaining: Some(remaining),
        retry_after: Some(0.0),
        ..RateLimitHeaders::default()
    }
}

fn answer(permit: Permit, headers: &RateLimitHeaders) {
    permit.complete(Response {
        limited: false,
        headers,
    });
}

async fn acquire(limiter: &InMemoryRateLimiter, route: RouteKind) -> Permit {
    limiter
        .acquire(route, Duration::from_secs(60))
        .await
        .unwrap()
}

/// [`acquire`] on a task of its own, to see whether it waits.
fn spawn_acquire(limiter: &InMemoryRateLimiter, route: RouteKind) -> JoinHandle<Permit> {
    let limiter = limiter.clone();
    tokio::spawn(async move { acquire(&limiter, route).await })
}

/// A fake server: fixed windows starting at the first request, like the
/// local server; counts what it would have refused.
#[derive(Debug)]
struct FakeServer {
    limit: u32,
    window_ends: Option<Instant>,
    used: u32,
    refused: u32,
}

impl FakeServer {
    fn new(limit: u32) -> Self {
        Self {
            limit,
            window_ends: None,
            used: 0,
            refused: 0,
        }
    }

    fn hit(&mut self) -> RateLimitHeaders {
        let now = Instant::now();
        if self.window_ends.is_none_or(|end| end <= now) {
            self.window_ends = Some(now + SECOND);
            self.used = 0;
        }
        if self.used < self.limit {
            self.used += 1;
        } else {
            self.refused += 1;
        }
        headers("route", self.limit, self.limit - self.used)
    }
}

#[tokio::test(start_paused = true)]
async fn first_request_of_a_route_goes_alone() {
    let limiter = InMemoryRateLimiter::new();
    let blind = acquire(&limiter, ROUTE).await;
    let second = spawn_acquire(&limiter, ROUTE);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        !second.is_finished(),
        "the second request waits for the first's headers"
    );
    assert_eq!(limiter.bucket(ROUTE).unwrap().queued, 1);
    answer(blind, &headers("get", 10, 9));
    let second = tokio::time::timeout(SECOND, second).await.unwrap().unwrap();
    drop(second);
    let snapshot = limiter.bucket(ROUTE).unwrap();
    assert!(snapshot.learned);
    assert_eq!(snapshot.limit, Some(10));
}

#[tokio::test(start_paused = true)]
async fn a_lost_blind_request_does_not_wedge_the_route() {
    let limiter = InMemoryRateLimiter::new();
    let blind = acquire(&limiter, ROUTE).await;
    let next = spawn_acquire(&limiter, ROUTE);
    tokio::task::yield_now().await;
    drop(blind); // transport error: no response
    let next = tokio::time::timeout(SECOND, next).await.unwrap().unwrap();
    answer(next, &headers("get", 10, 9));
    assert!(limiter.bucket(ROUTE).unwrap().learned);
}

#[tokio::test(start_paused = true)]
async fn a_burst_goes_in_fifo_order_exactly_limit_per_window() {
    const LIMIT: u32 = 5;
    const CALLERS: usize = 23;
    let limiter = InMemoryRateLimiter::new();
    let server = Arc::new(Mutex::new(FakeServer::new(LIMIT)));
    let order = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for caller in 0..CALLERS {
        let (limiter, server, order) = (limiter.clone(), server.clone(), order.clone());
        tasks.push(tokio::spawn(async move {
            let permit = acquire(&limiter, ROUTE).await;
            let sent_at = Instant::now();
            order.lock().unwrap().push((caller, sent_at));
            // A 10 ms round trip.
            tokio::time::sleep(Duration::from_millis(10)).await;
            let headers = server.lock().unwrap().hit();
            answer(permit, &headers);
        }));
        // Callers arrive in a known order.
        tokio::task::yield_now().await;
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(server.lock().unwrap().refused, 0);
    let order = order.lock().unwrap();
    let callers: Vec<_> = order.iter().map(|(caller, _)| *caller).collect();
    assert_eq!(callers, (0..CALLERS).collect::<Vec<_>>(), "FIFO");
    // The blind request, then windows of exactly LIMIT requests.
    let elapsed = order.last().unwrap().1 - start;
    let windows = (CALLERS as u32).div_ceil(LIMIT) - 1;
    let minimum = SECOND * windows;
    assert!(elapsed >= minimum, "{elapsed:?} < {minimum:?}");
    assert!(
        elapsed < minimum + Duration::from_millis(100),
        "{elapsed:?} too slow"
    );
    let mut per_window = std::collections::BTreeMap::new();
    for (_, sent_at) in order.iter() {
        let window = ((*sent_at - start).as_millis() / 1000) as u32;
        *per_window.entry(window).or_insert(0) += 1;
    }
    assert!(per_window.values().all(|&n| n <= LIMIT), "{per_window:?}");
}

#[tokio::test(start_paused = true)]
async fn routes_sharing_a_bucket_share_its_budget() {
    let limiter = InMemoryRateLimiter::new();
    let (a, b) = (RouteKind::GetGuild, RouteKind::GetGuildPreview);
    answer(acquire(&limiter, a).await, &headers("guilds.get", 3, 2));
    answer(acquire(&limiter, b).await, &headers("guilds.get", 3, 1));
    assert!(limiter.same_bucket(a, b));
    // One request left in the shared window: a takes it, b must wait.
    let _last = acquire(&limiter, a).await;
    let exhausted = limiter.acquire(b, Duration::ZERO).await.unwrap_err();
    assert!(exhausted_by(&exhausted).retry_after <= SECOND);
    assert_eq!(limiter.bucket(b).unwrap().remaining, Some(0));
}

#[tokio::test(start_paused = true)]
async fn fail_fast_when_the_wait_is_too_long() {
    let limiter = InMemoryRateLimiter::new();
    answer(acquire(&limiter, ROUTE).await, &headers("get", 1, 0));
    let error = limiter
        .acquire(ROUTE, Duration::from_millis(10))
        .await
        .unwrap_err();
    let retry_after = exhausted_by(&error).retry_after;
    assert!(retry_after > Duration::from_millis(900) && retry_after <= SECOND);
    // Willing to wait: it goes once the window resets.
    let start = Instant::now();
    let _permit = acquire(&limiter, ROUTE).await;
    assert!(start.elapsed() <= SECOND);
}

#[tokio::test(start_paused = true)]
async fn a_429_holds_the_bucket_for_retry_after() {
    let limiter = InMemoryRateLimiter::new();
    answer(acquire(&limiter, ROUTE).await, &headers("get", 10, 9));
    let permit = acquire(&limiter, ROUTE).await;
    let mut limited = headers("get", 10, 0);
    limited.retry_after = Some(3.0);
    permit.complete(Response {
        limited: true,
        headers: &limited,
    });
    let start = Instant::now();
    let _permit = acquire(&limiter, ROUTE).await;
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    assert_eq!(limiter.bucket(ROUTE).unwrap().limited_responses, 1);
}

#[tokio::test(start_paused = true)]
async fn cancelled_waiters_give_their_turn_away() {
    let limiter = InMemoryRateLimiter::new();
    answer(acquire(&limiter, ROUTE).await, &headers("get", 1, 0));
    let mut cancelled = Vec::new();
    for _ in 0..100 {
        let limiter = limiter.clone();
        cancelled.push(tokio::spawn(async move { acquire(&limiter, ROUTE).await }));
    }
    let survivor = spawn_acquire(&limiter, ROUTE);
    tokio::task::yield_now().await;
    for task in &cancelled {
        task.abort();
    }
    let permit = tokio::time::timeout(Duration::from_secs(2), survivor)
        .await
        .expect("the survivor is served in the next window")
        .unwrap();
    drop(permit);
}

#[tokio::test(start_paused = true)]
async fn hostile_headers_never_wedge() {
    let limiter = InMemoryRateLimiter::builder()
        .max_wait(Duration::from_secs(30))
        .build();
    let hostile = [
        RateLimitHeaders::default(),
        RateLimitHeaders {
            limit: Some(u32::MAX),
            remaining: Some(0),
            reset: Some(1e300),
            reset_after: Some(1e18),
            retry_after: Some(f64::MAX),
            date: Some(0),
            bucket: Some("x".into()),
        },
        RateLimitHeaders {
            limit: Some(1),
            remaining: Some(u32::MAX),
            ..RateLimitHeaders::default()
        },
        RateLimitHeaders {
            remaining: Some(0),
            ..RateLimitHeaders::default()
        },
        RateLimitHeaders {
            bucket: Some("LIMITER/x/y/0/0/second".into()),
            limit: Some(1),
            remaining: Some(0),
            reset: Some(5.0),
            ..RateLimitHeaders::default()
        },
    ];
    for (i, headers) in hostile.iter().cycle().take(40).enumerate() {
        for limited in [false, true] {
            let permit = tokio::time::timeout(Duration::from_secs(31), acquire(&limiter, ROUTE))
                .await
                .unwrap_or_else(|_| panic!("wedged at {i}: {:?}", limiter.bucket(ROUTE)));
            permit.complete(Response { limited, headers });
        }
    }
}

#[tokio::test(start_paused = true)]
async fn many_routes_and_inspection() {
    let limiter = InMemoryRateLimiter::new();
    // Every route but the last, each in a bucket of its own.
    let (used, [never]) = RouteKind::ALL.split_at(RouteKind::ALL.len() - 1) else {
        unreachable!()
    };
    for (n, &route) in used.iter().enumerate() {
        answer(
            acquire(&limiter, route).await,
            &headers(&format!("b{n}"), 10, 9),
        );
    }
    let routes = limiter.routes();
    assert_eq!(routes.len(), used.len());
    assert_eq!(
        routes.iter().map(|(route, _)| *route).collect::<Vec<_>>(),
        used
    );
    assert!(
        routes
            .iter()
            .all(|(_, s)| s.remaining == Some(9) && s.in_flight == 0)
    );
    assert!(!limiter.same_bucket(used[1], used[2]));
    assert!(limiter.bucket(*never).is_none());
}

#[tokio::test(start_paused = true)]
async fn debug_output_never_shows_bucket_ids() {
    // The deployed server once echoed the Authorization value in the bucket.
    let limiter = InMemoryRateLimiter::new();
    answer(
        acquire(&limiter, ROUTE).await,
        &headers("secret-session", 10, 9),
    );
    let permit = acquire(&limiter, ROUTE).await;
    let shown = format!("{limiter:?} {permit:?} {:?}", limiter.routes());
    assert!(!shown.contains("secret-session"), "{shown}");
}

#[tokio::test(start_paused = true)]
async fn a_server_renaming_buckets_cannot_grow_memory() {
    let limiter = InMemoryRateLimiter::new();
    for n in 0..2_000 {
        let permit = acquire(&limiter, ROUTE).await;
        answer(permit, &headers(&format!("renamed-{n}"), 10, 9));
    }
    assert!(limiter.bucket_count() <= 256, "{}", limiter.bucket_count());
    assert!(limiter.routes().len() <= 1);
}

#[tokio::test(start_paused = true)]
async fn max_wait_bounds_time_in_the_queue() {
    let limiter = InMemoryRateLimiter::new();
    let blind = acquire(&limiter, ROUTE).await;
    // Behind the blind request, allowed to wait 2 s: gives up at 2 s.
    let start = Instant::now();
    let error = limiter
        .acquire(ROUTE, Duration::from_secs(2))
        .await
        .unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    assert_eq!(exhausted_by(&error).retry_after, Duration::ZERO);
    // Nothing is left behind in the queue.
    assert_eq!(limiter.bucket(ROUTE).unwrap().queued, 0);
    answer(blind, &headers("get", 10, 9));
    // Never waiting: fine while the bucket has budget.
    let _permit = limiter.acquire(ROUTE, Duration::ZERO).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_queued_caller_hears_at_once_when_the_wait_outlasts_its_patience() {
    let limiter = InMemoryRateLimiter::new();
    let blind = acquire(&limiter, ROUTE).await;
    let patient = tokio::spawn({
        let limiter = limiter.clone();
        async move { limiter.acquire(ROUTE, Duration::from_secs(5)).await }
    });
    tokio::task::yield_now().await;
    // The blind request finds the bucket spent for a minute.
    let start = Instant::now();
    let mut spent = headers("get", 1, 0);
    spent.bucket = Some("LIMITER/127.0.0.1/get/1/1/minute".into());
    answer(blind, &spent);
    let exhausted = patient.await.unwrap().unwrap_err();
    assert_eq!(
        start.elapsed(),
        Duration::ZERO,
        "told at once, not after 5 s"
    );
    assert_eq!(
        exhausted_by(&exhausted).retry_after,
        Duration::from_secs(60)
    );
    assert_eq!(limiter.bucket(ROUTE).unwrap().queued, 0);
}

/// A small deterministic generator, so the simulation needs no dependency.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Callers arriving at random times with random latencies each way, on
/// `routes` that all share one bucket of a fake server. Returns how many
/// requests the server refused.
async fn simulate(seed: u64, routes: &[RouteKind]) -> u32 {
    let mut rng = XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let limit = 1 + rng.below(8) as u32;
    let callers = 10 + rng.below(50) as usize;
    let limiter = InMemoryRateLimiter::new();
    let server = Arc::new(Mutex::new(FakeServer::new(limit)));
    let mut tasks = Vec::new();
    for _ in 0..callers {
        let route = routes[rng.below(routes.len() as u64) as usize];
        let (to_server, from_server) = (rng.below(60), rng.below(60));
        let arrives_after = rng.below(1500);
        let (limiter, server) = (limiter.clone(), server.clone());
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(arrives_after)).await;
            let permit = acquire(&limiter, route).await;
            tokio::time::sleep(Duration::from_millis(to_server)).await;
            let (headers, limited) = {
                let mut server = server.lock().unwrap();
                let before = server.refused;
                let headers = server.hit();
                (headers, server.refused > before)
            };
            tokio::time::sleep(Duration::from_millis(from_server)).await;
            permit.complete(Response {
                limited,
                headers: &headers,
            });
            limited
        }));
    }
    let deadline = Duration::from_secs(3 + 2 * callers as u64 / u64::from(limit));
    let mut refused = 0;
    for task in tasks {
        let limited = tokio::time::timeout(deadline, task)
            .await
            .unwrap_or_else(|_| panic!("seed {seed}: a caller never got a permit"))
            .unwrap();
        refused += u32::from(limited);
    }
    refused
}

#[tokio::test(start_paused = true)]
async fn random_latencies_on_one_route_never_exceed_the_limit() {
    for seed in 1..=200 {
        assert_eq!(simulate(seed, &[ROUTE]).await, 0, "seed {seed}");
    }
}

#[tokio::test(start_paused = true)]
async fn random_latencies_on_shared_routes_cost_at_most_one_429_per_new_route() {
    let routes = [
        RouteKind::GetGuild,
        RouteKind::GetGuildPreview,
        RouteKind::UpdateCurrentUser,
    ];
    for seed in 1..=200 {
        // Only blind requests (one per route after the first) can take a
        // slot nobody could know was in the same bucket; each costs at most
        // one refusal, after which the 429 blocks the bucket.
        let refused = simulate(seed, &routes).await;
        assert!(
            refused < routes.len() as u32,
            "seed {seed}: {refused} refused"
        );
    }
}

/// A 429 naming `bucket`, full for `retry_after` more seconds.
fn refused(bucket: &str, limit: u32, retry_after: f64) -> RateLimitHeaders {
    RateLimitHeaders {
        retry_after: Some(retry_after),
        ..headers(bucket, limit, 0)
    }
}

/// The worst moment for a merge: `PATCH /guilds/{id}`'s window ends while
/// `POST /guilds`'s is still full, and the server has just moved the first
/// into the second's bucket (renaming both). The burst that finds out is
/// refused; after that, the two routes' windows reopen at the same instant,
/// and together they must not send more than one budget before their
/// answers show they share it, nor less once they do.
#[tokio::test(start_paused = true)]
async fn a_route_merged_into_a_full_bucket_pays_one_burst_not_two() {
    const LIMIT: u32 = 5;
    let (create, update) = (RouteKind::CreateGuild, RouteKind::UpdateGuild);
    let limiter = InMemoryRateLimiter::new();
    let start = Instant::now();
    answer(
        acquire(&limiter, update).await,
        &headers("guilds.update", LIMIT, LIMIT - 1),
    );
    tokio::time::sleep_until(start + SECOND / 2).await;
    // `POST /guilds` fills its window, which ends half a second after
    // `PATCH /guilds/{id}`'s.
    for remaining in (0..LIMIT).rev() {
        let permit = acquire(&limiter, create).await;
        answer(permit, &headers("guilds.create", LIMIT, remaining));
    }
    tokio::time::sleep_until(start + SECOND + SECOND / 10).await;
    let mut burst = Vec::new();
    for _ in 0..LIMIT {
        let permit = tokio::time::timeout(Duration::ZERO, acquire(&limiter, update)).await;
        burst.push(permit.expect("a fresh window of PATCH /guilds/{id}"));
    }
    // The merge: every one refused, the merged bucket full for 0.4 s more.
    for permit in burst {
        permit.complete(Response {
            limited: true,
            headers: &refused("guilds.create.v2", LIMIT, 0.4),
        });
    }
    // Callers on both routes, holding their permits: nothing is answered
    // until the server's window has reopened.
    let (sender, mut issued) = tokio::sync::mpsc::unbounded_channel();
    for caller in 0..20 {
        let route = if caller % 2 == 0 { create } else { update };
        let limiter = limiter.clone();
        let sender = sender.clone();
        tokio::spawn(async move {
            let permit = acquire(&limiter, route).await;
            let _ = sender.send((route, permit));
        });
    }
    tokio::time::sleep_until(start + SECOND + SECOND / 2 + SECOND / 20).await;
    let mut unanswered = Vec::new();
    while let Ok(permit) = issued.try_recv() {
        unanswered.push(permit);
    }
    let mut sent = unanswered.len() as u32;
    assert!(
        sent <= LIMIT,
        "{sent} requests for {LIMIT} slots before any answer"
    );
    // The server counts each in the one bucket, in the order it answers
    // them, `PATCH /guilds/{id}`'s first: its answer cannot know of
    // `POST /guilds`'s request still on its way. The budget fills up, and
    // no more.
    for answered in 1..=LIMIT {
        let next = unanswered
            .iter()
            .position(|(route, _)| *route == update)
            .unwrap_or(0);
        if unanswered.is_empty() {
            break;
        }
        let (_, permit) = unanswered.remove(next);
        answer(
            permit,
            &headers("guilds.create.v2", LIMIT, LIMIT - answered),
        );
        settle().await;
        while let Ok(permit) = issued.try_recv() {
            unanswered.push(permit);
            sent += 1;
        }
        assert!(sent <= LIMIT, "{sent} requests for {LIMIT} slots");
    }
    assert_eq!(sent, LIMIT, "the reopened window is used in full");
    assert!(limiter.same_bucket(create, update));
    drop(unanswered);
}

/// Lets every task that can run, run (the clock is paused: it only moves
/// once they all wait).
async fn settle() {
    tokio::time::sleep(Duration::from_millis(1)).await;
}
