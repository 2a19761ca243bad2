//! `RedisRateLimiter` against a real redis-server: one budget for several
//! limiters (as several processes would hold), FIFO within a process, and
//! Redis failing under it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ayaka_http::ratelimit::{
    AcquireError, InMemoryRateLimiter, RateLimitHeaders, RateLimiter, Response, RouteKind,
};
use ayaka_http::{Client, ErrorKind as HttpErrorKind, RetryPolicy};
use ayaka_redis::{Connection, ErrorKind, Namespace, RedisRateLimiter};
use ayaka_server::{Limit, RateLimits, Server, bucket, testing};
use tokio::time::Instant;

const ROUTE: RouteKind = RouteKind::GetCurrentUser;

/// A bucket that counts like the server's: a fixed window started by the
/// first request. Its headers carry only durations (no Date), as a server
/// with `X-RateLimit-Reset-After` would.
struct FakeBucket {
    name: String,
    limit: u32,
    window: Duration,
    state: Mutex<Option<(Instant, u32)>>,
    refused: Mutex<u32>,
}

impl FakeBucket {
    fn new(limit: u32, window: Duration) -> Self {
        Self {
            // The name spells the window when it is whole seconds.
            name: if window.subsec_nanos() == 0 {
                format!("LIMITER/127.0.0.1/fake/{limit}/{}/second", window.as_secs())
            } else {
                format!("fake-{limit}")
            },
            limit,
            window,
            state: Mutex::new(None),
            refused: Mutex::new(0),
        }
    }

    fn hit(&self) -> (RateLimitHeaders, bool) {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap();
        let (started, used) = match *state {
            Some((started, used)) if now < started + self.window => (started, used),
            _ => (now, 0),
        };
        let allowed = used < self.limit;
        let used = used + u32::from(allowed);
        *state = Some((started, used));
        if !allowed {
            *self.refused.lock().unwrap() += 1;
        }
        let left = (started + self.window).saturating_duration_since(now);
        let headers = RateLimitHeaders {
            bucket: Some(self.name.as_str().into()),
            limit: Some(self.limit),
            remaining: Some(self.limit - used),
            reset_after: Some(left.as_secs_f64()),
            retry_after: Some(if allowed { 0.0 } else { left.as_secs_f64() }),
            ..RateLimitHeaders::default()
        };
        (headers, !allowed)
    }

    /// Acquires, "sends" and completes one request.
    async fn request(
        &self,
        limiter: &RedisRateLimiter,
        max_wait: Duration,
    ) -> Result<(), ayaka_redis::Error> {
        let permit = limiter.acquire_permit(ROUTE, max_wait).await?;
        let (headers, limited) = self.hit();
        permit.complete(Response {
            limited,
            headers: &headers,
        });
        Ok(())
    }
}

fn limiter(connection: Connection, namespace: &Namespace) -> RedisRateLimiter {
    RedisRateLimiter::builder(connection, namespace.clone())
        .cooldown(Duration::from_millis(300))
        .build()
}

/// Script calls the server has run (EVALSHA, and EVAL for first loads).
async fn script_calls(redis: &support::TestRedis) -> u64 {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut connection)
        .await
        .unwrap();
    info.lines()
        .filter(|line| line.starts_with("cmdstat_evalsha:") || line.starts_with("cmdstat_eval:"))
        .filter_map(|line| {
            line.split("calls=")
                .nth(1)?
                .split(',')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

async fn local_server(limit: Limit) -> (Server, String) {
    let server = testing::builder()
        .rate_limits(RateLimits::default().limit(bucket::USERS_ME, limit))
        .spawn()
        .await
        .unwrap();
    let user = testing::user_with_session(&server, "budget").await;
    (server, user.session)
}

/// Sends `per_client` `GET /users/@me` from each client at once; the 429s
/// they got.
async fn burst(clients: &[Client], per_client: usize) -> u32 {
    let mut tasks = Vec::new();
    for client in clients {
        for _ in 0..per_client {
            let client = client.clone();
            tasks.push(tokio::spawn(async move { client.current_user().await }));
        }
    }
    let mut limited = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => {}
            Err(error) if error.kind() == HttpErrorKind::RateLimited => {
                limited += error.limited_responses().unwrap_or(0);
            }
            Err(error) => panic!("unexpected error {error}"),
        }
    }
    limited
}

fn http_client(server: &Server, session: &str, limiter: impl RateLimiter) -> Client {
    Client::builder()
        .base_url(server.rest_url())
        .session(session)
        .ratelimiter(limiter)
        // Wait for the limiter, but report a 429 instead of retrying it.
        .retry_policy(
            RetryPolicy::new()
                .max_retries(0)
                .max_wait(Duration::from_secs(30)),
        )
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_limiters_share_one_budget_against_the_local_server() {
    let redis = redis_or_skip!("two_limiters_share_one_budget_against_the_local_server");
    let (server, session) = local_server(Limit::per_second(10)).await;
    let namespace = support::namespace("shared-budget");
    // Two limiters with their own connections, as two processes would have.
    let clients: Vec<_> = (0..2)
        .map(|_| http_client(&server, &session, limiter(redis.connection(), &namespace)))
        .collect();
    let start = Instant::now();
    let limited = burst(&clients, 15).await;
    let elapsed = start.elapsed();
    assert_eq!(limited, 0, "the server refused requests");
    // 30 requests at 10 a window: the last go in the third window.
    assert!(elapsed >= Duration::from_millis(1_900), "{elapsed:?}");

    // The control: two in-memory limiters each spend the whole budget.
    let (server, session) = local_server(Limit::per_second(10)).await;
    let clients: Vec<_> = (0..2)
        .map(|_| http_client(&server, &session, InMemoryRateLimiter::new()))
        .collect();
    let limited = burst(&clients, 15).await;
    assert!(
        limited > 0,
        "the control saw no 429: the test proves nothing"
    );
}

#[tokio::test]
async fn callers_in_one_process_go_in_order_and_only_the_head_asks_redis() {
    let Some(redis) =
        support::own("callers_in_one_process_go_in_order_and_only_the_head_asks_redis")
    else {
        return;
    };
    let connection = redis.connection();
    let limiter = limiter(connection.clone(), &support::namespace("fifo"));
    let bucket = Arc::new(FakeBucket::new(4, Duration::from_millis(300)));
    // Learn the bucket first. The completion runs on a task of its own:
    // until it has, callers would line up by route, not by bucket, and
    // move lanes when it lands.
    bucket
        .request(&limiter, Duration::from_secs(5))
        .await
        .unwrap();
    let mut polls = 0;
    while limiter.bucket(ROUTE).await.unwrap().is_none() {
        polls += 1;
        assert!(polls < 2_000, "the first response was never learned");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }

    const CALLERS: usize = 24;
    let before = script_calls(&redis).await;
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for i in 0..CALLERS {
        let (limiter, bucket, order) = (limiter.clone(), Arc::clone(&bucket), Arc::clone(&order));
        tasks.push(tokio::spawn(async move {
            let permit = limiter
                .acquire_permit(ROUTE, Duration::from_secs(30))
                .await
                .unwrap();
            order.lock().unwrap().push(i);
            let (headers, limited) = bucket.hit();
            permit.complete(Response {
                limited,
                headers: &headers,
            });
        }));
        // Each caller is in line before the next one comes.
        tokio::task::yield_now().await;
    }
    for task in tasks {
        task.await.unwrap();
    }
    let order = order.lock().unwrap().clone();
    assert_eq!(order, (0..CALLERS).collect::<Vec<_>>());
    assert_eq!(*bucket.refused.lock().unwrap(), 0);
    // Let the last completions land before counting.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let calls = script_calls(&redis).await - before;
    // One acquire and one complete per caller, plus the head's waits: a few
    // per window (7 windows), not one per waiting caller and window.
    let windows = CALLERS as u64 / 4 + 1;
    eprintln!("{calls} script calls for {CALLERS} callers over {windows} windows");
    assert!(
        calls <= 2 * CALLERS as u64 + 4 * windows,
        "{calls} script calls for {CALLERS} callers"
    );
}

#[tokio::test]
async fn exhausted_when_the_wait_is_longer_than_allowed() {
    let redis = redis_or_skip!("exhausted_when_the_wait_is_longer_than_allowed");
    let limiter = limiter(redis.connection(), &support::namespace("exhausted"));
    let bucket = FakeBucket::new(1, Duration::from_secs(5));
    bucket
        .request(&limiter, Duration::from_secs(1))
        .await
        .unwrap();
    // Completions are reported in the background: wait until it landed.
    let deadline = Instant::now() + Duration::from_secs(5);
    while limiter.bucket(ROUTE).await.unwrap().is_none() {
        assert!(Instant::now() < deadline, "the completion never landed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let error = bucket
        .request(&limiter, Duration::from_millis(100))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Exhausted);
    let retry_after = error.retry_after().unwrap();
    assert!(retry_after > Duration::from_secs(3), "{retry_after:?}");
    // Through the trait, the same is `Exhausted`.
    let refused = RateLimiter::acquire(&limiter, ROUTE, Duration::ZERO)
        .await
        .unwrap_err();
    let AcquireError::Exhausted(exhausted) = refused else {
        panic!("a long wait is a rate limit, not {refused:?}");
    };
    assert!(exhausted.retry_after > Duration::from_secs(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_mid_run_falls_back_and_comes_back() {
    let Some(redis) = support::own("redis_killed_mid_run_falls_back_and_comes_back") else {
        return;
    };
    let connection = redis.connection().call_timeout(Duration::from_millis(200));
    let limiter = limiter(connection, &support::namespace("killed"));
    let bucket = FakeBucket::new(50, Duration::from_millis(200));
    let bounded = |limiter: RedisRateLimiter| {
        let bucket = &bucket;
        async move {
            tokio::time::timeout(
                Duration::from_secs(3),
                bucket.request(&limiter, Duration::from_secs(2)),
            )
            .await
            .expect("a request hung")
        }
    };

    for _ in 0..5 {
        bounded(limiter.clone()).await.unwrap();
    }
    assert!(limiter.is_using_redis());
    assert!(limiter.bucket(ROUTE).await.unwrap().is_some());

    redis.kill();
    for _ in 0..10 {
        // The in-process limiter takes over; nothing fails or hangs.
        bounded(limiter.clone()).await.unwrap();
    }
    assert!(!limiter.is_using_redis());
    assert!(
        limiter.fallback().bucket(ROUTE).is_some(),
        "the fallback learned the bucket"
    );

    redis.restart().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !limiter.is_using_redis() {
        assert!(Instant::now() < deadline, "never went back to redis");
        bounded(limiter.clone()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Back on Redis, which was restarted empty and learns the bucket again.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        bounded(limiter.clone()).await.unwrap();
        if limiter.bucket(ROUTE).await.unwrap().is_some() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "redis never learned the bucket again"
        );
    }
    assert_eq!(*bucket.refused.lock().unwrap(), 0);
}

#[tokio::test]
async fn fail_closed_refuses_while_redis_is_down() {
    let Some(redis) = support::own("fail_closed_refuses_while_redis_is_down") else {
        return;
    };
    let connection = redis.connection().call_timeout(Duration::from_millis(200));
    let limiter = RedisRateLimiter::builder(connection, support::namespace("closed"))
        .fail_closed(true)
        .cooldown(Duration::from_secs(2))
        .build();
    let bucket = FakeBucket::new(5, Duration::from_secs(1));
    bucket
        .request(&limiter, Duration::from_secs(1))
        .await
        .unwrap();
    redis.kill();
    let start = Instant::now();
    let error = bucket
        .request(&limiter, Duration::from_secs(1))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unavailable);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    // During the cooldown it refuses at once, without asking Redis.
    let error = bucket
        .request(&limiter, Duration::from_secs(1))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unavailable);
    assert!(error.retry_after().unwrap() <= Duration::from_secs(2));
    // Through the trait it is `Unavailable`, not a rate limit, with the
    // Redis error as its source.
    let refused = RateLimiter::acquire(&limiter, ROUTE, Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(refused.retry_after() <= Duration::from_secs(2));
    let AcquireError::Unavailable { source, .. } = refused else {
        panic!("Redis down is not a rate limit: {refused:?}");
    };
    let source = source.downcast::<ayaka_redis::Error>().unwrap();
    assert_eq!(source.kind(), ErrorKind::Unavailable);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_on_a_fail_closed_limiter_reports_redis_down_apart_from_rate_limits() {
    let Some(redis) =
        support::own("a_client_on_a_fail_closed_limiter_reports_redis_down_apart_from_rate_limits")
    else {
        return;
    };
    let (server, session) = local_server(Limit::per_second(50)).await;
    let connection = redis.connection().call_timeout(Duration::from_millis(200));
    let limiter = RedisRateLimiter::builder(connection, support::namespace("client-closed"))
        .fail_closed(true)
        .cooldown(Duration::from_secs(2))
        .build();
    let client = http_client(&server, &session, limiter);
    client.current_user().await.unwrap();
    let served = server.stats().requests;
    redis.kill();
    let error = client.current_user().await.unwrap_err();
    assert_eq!(
        error.kind(),
        HttpErrorKind::RateLimiterUnavailable,
        "{error}"
    );
    assert!(error.retry_after().unwrap() <= Duration::from_secs(2));
    let source = std::error::Error::source(&error).expect("the limiter's error");
    let redis_error = source
        .downcast_ref::<ayaka_redis::Error>()
        .expect("the source is the Redis error");
    assert_eq!(redis_error.kind(), ErrorKind::Unavailable);
    assert_eq!(
        server.stats().requests,
        served,
        "nothing is sent while the limiter cannot decide"
    );
}
