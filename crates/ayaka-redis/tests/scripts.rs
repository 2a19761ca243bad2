//! The rate-limit scripts against a real redis-server, with the Redis
//! clock injected (`now`), so windows and lease expiry need no sleeping.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use ayaka_http::ratelimit::RateLimitHeaders;
use ayaka_redis::Connection;
use ayaka_redis::keys::{BucketHash, Keyspace};
use ayaka_redis::ratelimit::raw::{
    Acquired, BucketState, Completion, Lease, PermitId, RawLimiter, Settings,
};

/// An arbitrary Redis-clock origin, in ms.
const T0: u64 = 5_000_000;
/// The server's clock (Unix seconds), unrelated to the Redis clock.
const SERVER_EPOCH: u64 = 1_700_000_000;
const BUCKET: &str = "LIMITER/127.0.0.1/users.me/3/1/second";
const ROUTE: &str = "GET /users/@me";
const LEASE: u64 = 5_000;

fn settings() -> Settings {
    Settings {
        lease: Duration::from_millis(LEASE),
        margin: Duration::ZERO,
        ..Settings::default()
    }
}

fn raw(test: &str) -> RawLimiter {
    RawLimiter::new(Keyspace::new(support::namespace(test)), settings())
}

/// Headers as the local server sends them: Reset (absolute, rounded up)
/// and Date (truncated) on the server's own clock.
fn server_headers(limit: u32, remaining: u32, date: u64, reset: u64) -> RateLimitHeaders {
    RateLimitHeaders {
        bucket: Some(BUCKET.into()),
        limit: Some(limit),
        remaining: Some(remaining),
        reset: Some(reset as f64),
        reset_after: None,
        retry_after: Some(0.0),
        date: Some(date),
    }
}

struct Fixture {
    raw: RawLimiter,
    redis: Connection,
    bucket: BucketHash,
}

impl Fixture {
    fn new(test: &str, server: &support::TestRedis) -> Self {
        let raw = raw(test);
        let bucket = raw.keys().bucket_hash(BUCKET);
        Self {
            raw,
            redis: server.connection(),
            bucket,
        }
    }

    async fn acquire(
        &self,
        route: &str,
        declared: Option<BucketHash>,
        now: u64,
    ) -> (PermitId, Acquired) {
        let id = PermitId::random();
        let reply = self
            .raw
            .acquire(&self.redis, route, id, declared, Some(now))
            .await
            .unwrap();
        (id, reply)
    }

    /// Acquires on the known bucket and expects a grant; returns the lease.
    async fn grant(&self, now: u64) -> (PermitId, Lease) {
        match self.acquire(ROUTE, Some(self.bucket), now).await {
            (id, Acquired::Granted { bucket, seq }) => {
                assert_eq!(bucket, self.bucket);
                (id, Lease::granted(bucket, seq))
            }
            (_, other) => panic!("expected a grant at {now}, got {other:?}"),
        }
    }

    async fn wait(&self, now: u64) -> Duration {
        match self.acquire(ROUTE, Some(self.bucket), now).await {
            (_, Acquired::Wait(wait)) => wait,
            (_, other) => panic!("expected a wait at {now}, got {other:?}"),
        }
    }

    async fn complete(
        &self,
        route: &str,
        id: PermitId,
        lease: Lease,
        response: Option<(&RateLimitHeaders, bool)>,
        now: u64,
    ) {
        let completion = Completion {
            route,
            permit: id,
            lease,
            response,
        };
        self.raw
            .complete(&self.redis, &completion, Some(now))
            .await
            .unwrap();
    }

    /// A request on [`ROUTE`] answered, not with a 429, with `headers`.
    async fn answered(&self, id: PermitId, lease: Lease, headers: &RateLimitHeaders, now: u64) {
        self.complete(ROUTE, id, lease, Some((headers, false)), now)
            .await;
    }

    /// A request on [`ROUTE`] refused with a 429 carrying `headers`.
    async fn refused(&self, id: PermitId, lease: Lease, headers: &RateLimitHeaders, now: u64) {
        self.complete(ROUTE, id, lease, Some((headers, true)), now)
            .await;
    }

    /// The blind request of the still unknown [`ROUTE`], sent and answered
    /// with `headers` at `now`.
    async fn blind(&self, headers: &RateLimitHeaders, now: u64) {
        let (id, reply) = self.acquire(ROUTE, None, now).await;
        assert_eq!(reply, Acquired::Blind);
        self.answered(id, Lease::Blind, headers, now).await;
    }

    async fn state(&self) -> BucketState {
        self.raw
            .bucket(&self.redis, self.bucket)
            .await
            .unwrap()
            .expect("the bucket is known")
    }

    /// Learns the bucket through a blind request answered at `now` with
    /// `remaining` left in a window that resets `reset_in` server seconds
    /// after `date`.
    async fn learn(&self, now: u64, remaining: u32, date: u64, reset_in: u64) {
        let headers = server_headers(3, remaining, date, date + reset_in);
        self.blind(&headers, now).await;
        let (_, reply) = self.acquire(ROUTE, None, now).await;
        assert_eq!(reply, Acquired::Moved(self.bucket));
    }
}

#[tokio::test]
async fn one_blind_request_per_unknown_route_across_processes() {
    let server = redis_or_skip!("one_blind_request_per_unknown_route_across_processes");
    let f = Fixture::new("blind", server);
    // Two processes: the same scripts and namespace.
    let other = RawLimiter::new(f.raw.keys().clone(), settings());

    let (blind, reply) = f.acquire(ROUTE, None, T0).await;
    assert_eq!(reply, Acquired::Blind);
    let reply = other
        .acquire(&f.redis, ROUTE, PermitId::random(), None, Some(T0 + 1))
        .await
        .unwrap();
    let Acquired::Wait(wait) = reply else {
        panic!("a second blind request went: {reply:?}");
    };
    assert!(wait <= settings().caps.fallback_wait, "{wait:?}");

    // Its answer teaches every process the route's bucket.
    let headers = server_headers(3, 2, SERVER_EPOCH, SERVER_EPOCH + 1);
    f.complete(ROUTE, blind, Lease::Blind, Some((&headers, false)), T0 + 10)
        .await;
    let reply = other
        .acquire(&f.redis, ROUTE, PermitId::random(), None, Some(T0 + 11))
        .await
        .unwrap();
    assert_eq!(reply, Acquired::Moved(f.bucket));
    let state = f.state().await;
    assert_eq!(state.limit, Some(3));
    assert_eq!(state.used, 1, "the blind request counted");
    assert_eq!(state.window, Some(Duration::from_secs(1)));
    // One window of the name (1 s), which is shorter than Reset - Date.
    assert_eq!(state.deadline_ms, Some(T0 + 10 + 1_000));

    // Two more fit in the window, then it waits for the reset.
    f.grant(T0 + 12).await;
    f.grant(T0 + 13).await;
    assert_eq!(f.wait(T0 + 14).await, Duration::from_millis(1_000 - 4));
}

#[tokio::test]
async fn a_failed_blind_request_lets_the_next_one_go() {
    let server = redis_or_skip!("a_failed_blind_request_lets_the_next_one_go");
    let f = Fixture::new("blind-failed", server);
    let (blind, _) = f.acquire(ROUTE, None, T0).await;
    f.complete(ROUTE, blind, Lease::Blind, None, T0 + 5).await;
    assert_eq!(f.acquire(ROUTE, None, T0 + 6).await.1, Acquired::Blind);
}

#[tokio::test]
async fn a_killed_holders_leases_expire() {
    let server = redis_or_skip!("a_killed_holders_leases_expire");
    let f = Fixture::new("killed", server);

    // A process takes the blind request and dies: after its lease, another
    // may go blind.
    let (_, reply) = f.acquire(ROUTE, None, T0).await;
    assert_eq!(reply, Acquired::Blind);
    assert!(matches!(
        f.acquire(ROUTE, None, T0 + LEASE - 1).await.1,
        Acquired::Wait(_)
    ));
    let headers = server_headers(3, 3, SERVER_EPOCH, SERVER_EPOCH + 1);
    f.blind(&headers, T0 + LEASE).await;
    let t = T0 + LEASE;

    // Two leases held by a process that then dies; one answered.
    let (_dead_1, _) = f.grant(t + 1).await;
    let (_dead_2, _) = f.grant(t + 2).await;
    let (alive, lease) = f.grant(t + 3).await;
    let headers = server_headers(3, 0, SERVER_EPOCH, SERVER_EPOCH + 1);
    f.answered(alive, lease, &headers, t + 10).await;
    assert_eq!(f.state().await.in_flight, 2);

    // Next window: the dead leases may still count there, so they keep
    // their slots; the window reset is learned from its first response.
    let next = t + 1_000 + 1;
    let (id, lease) = f.grant(next).await;
    assert_eq!(f.state().await.used, 3);
    let headers = server_headers(3, 2, SERVER_EPOCH + 1, SERVER_EPOCH + 2);
    f.answered(id, lease, &headers, next + 5).await;
    f.wait(next + 6).await;

    // Once the leases expire, their slots come back with the next window.
    let after = t + LEASE + 2_000;
    f.grant(after).await;
    let state = f.state().await;
    assert_eq!(state.in_flight, 1, "only the new lease");
    assert_eq!(state.used, 1);
}

#[tokio::test]
async fn rollover_with_requests_in_flight() {
    let server = redis_or_skip!("rollover_with_requests_in_flight");
    let f = Fixture::new("rollover", server);
    f.learn(T0, 3, SERVER_EPOCH, 1).await;
    // The blind request left 3 (the server's window had not counted it).
    let (a, lease_a) = f.grant(T0 + 1).await;
    let (b, lease_b) = f.grant(T0 + 2).await;
    let (c, lease_c) = f.grant(T0 + 3).await;
    f.wait(T0 + 4).await;
    let window_1 = server_headers(3, 0, SERVER_EPOCH, SERVER_EPOCH + 1);
    f.answered(a, lease_a, &window_1, T0 + 20).await;

    // The window rolls with b and c in flight: each keeps a slot.
    let t = T0 + 2_000;
    let (d, lease_d) = f.grant(t).await;
    let state = f.state().await;
    assert_eq!((state.used, state.in_flight), (3, 3), "{state:?}");
    f.wait(t + 1).await;

    // b landed in the old window (its Reset says so): its slot frees up,
    // and its remaining = 0 describes a window that is gone.
    f.answered(b, lease_b, &window_1, t + 2).await;
    assert_eq!(f.state().await.used, 2);
    let (e, lease_e) = f.grant(t + 3).await;
    f.wait(t + 4).await;

    // c landed in the new window: its slot stays taken.
    let window_2 = server_headers(3, 2, SERVER_EPOCH + 2, SERVER_EPOCH + 3);
    f.answered(c, lease_c, &window_2, t + 5).await;
    let state = f.state().await;
    assert_eq!(state.used, 3, "{state:?}");
    f.wait(t + 6).await;
    for (id, lease) in [(d, lease_d), (e, lease_e)] {
        f.answered(id, lease, &window_2, t + 7).await;
    }
}

#[tokio::test]
async fn responses_from_older_windows_are_ignored() {
    let server = redis_or_skip!("responses_from_older_windows_are_ignored");
    let f = Fixture::new("older", server);
    f.learn(T0, 2, SERVER_EPOCH, 1).await;
    let (a, lease_a) = f.grant(T0 + 1).await;
    let (b, lease_b) = f.grant(T0 + 2).await;
    let window_1 = server_headers(3, 0, SERVER_EPOCH, SERVER_EPOCH + 1);
    f.answered(a, lease_a, &window_1, T0 + 3).await;

    // A new window, learned from its first response.
    let t = T0 + 1_500;
    let (c, lease_c) = f.grant(t).await;
    let window_2 = server_headers(3, 2, SERVER_EPOCH + 2, SERVER_EPOCH + 3);
    f.answered(c, lease_c, &window_2, t + 1).await;
    let before = f.state().await;

    // b's late answer is from window 1 (remaining 0): not a word of it
    // applies to window 2, except that b's slot there frees up.
    f.answered(b, lease_b, &window_1, t + 2).await;
    let after = f.state().await;
    assert_eq!(after.seq, before.seq);
    assert_eq!(after.used, before.used - 1, "{before:?} -> {after:?}");
    assert_eq!(after.deadline_ms, before.deadline_ms);

    // In one window, a stale count never lowers what we know is used.
    let (d, lease_d) = f.grant(t + 3).await;
    let (e, lease_e) = f.grant(t + 4).await;
    let fresh = server_headers(3, 0, SERVER_EPOCH + 2, SERVER_EPOCH + 3);
    f.answered(e, lease_e, &fresh, t + 5).await;
    let used = f.state().await.used;
    assert!(used >= 3, "{used}");
    let stale = server_headers(3, 2, SERVER_EPOCH + 2, SERVER_EPOCH + 3);
    f.answered(d, lease_d, &stale, t + 6).await;
    assert_eq!(f.state().await.used, used);
    f.wait(t + 7).await;
}

#[tokio::test]
async fn the_servers_earlier_reset_starts_a_window() {
    let server = redis_or_skip!("the_servers_earlier_reset_starts_a_window");
    let f = Fixture::new("earlier-reset", server);
    f.learn(T0, 2, SERVER_EPOCH, 1).await;
    let (a, lease_a) = f.grant(T0 + 1).await;
    let (b, lease_b) = f.grant(T0 + 2).await;
    f.wait(T0 + 3).await;
    // a answers from the server's next window before our estimate ended.
    let next = server_headers(3, 2, SERVER_EPOCH + 1, SERVER_EPOCH + 2);
    f.answered(a, lease_a, &next, T0 + 500).await;
    let state = f.state().await;
    // limit - remaining + b still in flight.
    assert_eq!(state.used, 2, "{state:?}");
    f.grant(T0 + 501).await;
    f.wait(T0 + 502).await;
    f.answered(b, lease_b, &next, T0 + 503).await;
}

#[tokio::test]
async fn a_429_blocks_every_process() {
    let server = redis_or_skip!("a_429_blocks_every_process");
    let f = Fixture::new("429", server);
    f.learn(T0, 2, SERVER_EPOCH, 1).await;
    let (a, lease) = f.grant(T0 + 1).await;
    let mut limited = server_headers(3, 0, SERVER_EPOCH, SERVER_EPOCH + 1);
    limited.retry_after = Some(4.0);
    f.refused(a, lease, &limited, T0 + 10).await;
    let state = f.state().await;
    assert_eq!(state.limited_responses, 1);
    assert_eq!(state.blocked_until_ms, Some(T0 + 10 + 4_000));
    assert_eq!(f.wait(T0 + 11).await, Duration::from_millis(3_999));
    assert_eq!(f.wait(T0 + 4_009).await, Duration::from_millis(1));
    // The block ends; the first response of the next window sets its reset.
    let (b, lease) = f.grant(T0 + 4_010).await;
    let window = server_headers(3, 2, SERVER_EPOCH + 5, SERVER_EPOCH + 6);
    f.answered(b, lease, &window, T0 + 4_020).await;
    f.grant(T0 + 4_021).await;
}

#[tokio::test]
async fn hostile_headers_do_not_wedge_or_overgrant() {
    let server = redis_or_skip!("hostile_headers_do_not_wedge_or_overgrant");

    // A Reset at (or before) Date is no window: the bucket name's window
    // (1 s) bounds the wait instead.
    let f = Fixture::new("hostile-reset-le-date", server);
    let headers = server_headers(3, 0, SERVER_EPOCH, SERVER_EPOCH);
    f.blind(&headers, T0).await;
    assert_eq!(f.state().await.deadline_ms, Some(T0 + 1_000));
    assert_eq!(f.wait(T0 + 1).await, Duration::from_millis(999));

    // A far-future Reset without a window in the name: not an hour's block,
    // the fallback wait.
    let f = Fixture::new("hostile-far-future", server);
    let mut headers = server_headers(2, 0, SERVER_EPOCH, SERVER_EPOCH * 50);
    headers.bucket = Some("opaque-bucket".into());
    let bucket = f.raw.keys().bucket_hash("opaque-bucket");
    f.blind(&headers, T0).await;
    let reply = f.acquire(ROUTE, Some(bucket), T0 + 1).await.1;
    let fallback = settings().caps.fallback_wait;
    assert_eq!(reply, Acquired::Wait(fallback - Duration::from_millis(1)));

    // Garbage everywhere but the name: the name's limit and window rule.
    let f = Fixture::new("hostile-garbage", server);
    let headers = RateLimitHeaders {
        bucket: Some(BUCKET.into()),
        limit: None,
        remaining: None,
        reset: Some(f64::NAN),
        reset_after: Some(-3.0),
        retry_after: Some(f64::INFINITY),
        date: None,
    };
    f.blind(&headers, T0).await;
    let state = f.state().await;
    assert_eq!(state.limit, Some(3));
    assert_eq!(state.deadline_ms, Some(T0 + 1_000));
    // Remaining unknown: nothing counted yet, so three may go.
    for i in 1..=3 {
        f.grant(T0 + i).await;
    }
    f.wait(T0 + 4).await;

    // An absolute epoch in Reset-After (a deployed-server quirk) is read
    // against Date; a huge Retry-After on a 429 is capped.
    let f = Fixture::new("hostile-epoch", server);
    let mut headers = server_headers(3, 2, SERVER_EPOCH, SERVER_EPOCH + 1);
    headers.bucket = Some("LIMITER/x/users.me/3/1/minute".into());
    headers.reset = None;
    headers.reset_after = Some((SERVER_EPOCH + 2) as f64);
    let bucket = f.raw.keys().bucket_hash("LIMITER/x/users.me/3/1/minute");
    f.blind(&headers, T0).await;
    let state = f.raw.bucket(&f.redis, bucket).await.unwrap().unwrap();
    assert_eq!(state.deadline_ms, Some(T0 + 2_000));
    let reply = f.acquire(ROUTE, Some(bucket), T0 + 1).await;
    let Acquired::Granted { seq, .. } = reply.1 else {
        panic!("{reply:?}");
    };
    let mut limited = headers.clone();
    limited.retry_after = Some(1e8);
    let lease = Lease::granted(bucket, seq);
    f.refused(reply.0, lease, &limited, T0 + 2).await;
    let state = f.raw.bucket(&f.redis, bucket).await.unwrap().unwrap();
    let cap = u64::try_from(settings().caps.max_wait.as_millis()).unwrap();
    assert_eq!(state.blocked_until_ms, Some(T0 + 2 + cap));
}

#[tokio::test]
async fn a_route_moving_to_another_bucket_is_followed() {
    let server = redis_or_skip!("a_route_moving_to_another_bucket_is_followed");
    let f = Fixture::new("moved", server);
    f.learn(T0, 3, SERVER_EPOCH, 1).await;
    let (id, lease) = f.grant(T0 + 1).await;
    let mut headers = server_headers(3, 2, SERVER_EPOCH, SERVER_EPOCH + 1);
    headers.bucket = Some("LIMITER/127.0.0.1/elsewhere/3/1/second".into());
    f.answered(id, lease, &headers, T0 + 2).await;
    let elsewhere = f
        .raw
        .keys()
        .bucket_hash("LIMITER/127.0.0.1/elsewhere/3/1/second");
    let reply = f.acquire(ROUTE, Some(f.bucket), T0 + 3).await.1;
    assert_eq!(reply, Acquired::Moved(elsewhere));
}

#[tokio::test]
async fn lost_bucket_state_is_learned_again() {
    let server = redis_or_skip!("lost_bucket_state_is_learned_again");
    let f = Fixture::new("lost", server);
    f.learn(T0, 3, SERVER_EPOCH, 1).await;
    // As after a Redis restart or an expired bucket.
    let client = redis::Client::open(server.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("DEL")
        .arg(f.raw.keys().bucket(f.bucket))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(
        f.acquire(ROUTE, Some(f.bucket), T0 + 1).await.1,
        Acquired::Blind
    );
}

#[tokio::test]
async fn a_blind_request_in_flight_keeps_a_slot_back() {
    let server = redis_or_skip!("a_blind_request_in_flight_keeps_a_slot_back");
    let f = Fixture::new("hold-back", server);
    f.learn(T0, 2, SERVER_EPOCH, 1).await;
    f.grant(T0 + 1).await;
    // Another route, not known yet, may share this bucket: while its blind
    // request is out, the bucket's last slot waits for its answer.
    let other = "PATCH /users/@me";
    let (blind, reply) = f.acquire(other, None, T0 + 2).await;
    assert_eq!(reply, Acquired::Blind);
    f.wait(T0 + 3).await;
    let headers = server_headers(3, 0, SERVER_EPOCH, SERVER_EPOCH + 1);
    f.complete(other, blind, Lease::Blind, Some((&headers, false)), T0 + 4)
        .await;
    // It did share the bucket, and took that slot.
    assert_eq!(
        f.acquire(other, None, T0 + 5).await.1,
        Acquired::Moved(f.bucket)
    );
    f.wait(T0 + 5).await;
}

#[tokio::test]
async fn a_blind_request_of_another_bucket_frees_the_slot_it_kept() {
    let server = redis_or_skip!("a_blind_request_of_another_bucket_frees_the_slot_it_kept");
    let f = Fixture::new("hold-back-elsewhere", server);
    f.learn(T0, 2, SERVER_EPOCH, 1).await;
    f.grant(T0 + 1).await;
    let other = "GET /guilds/{id}";
    let (blind, _) = f.acquire(other, None, T0 + 2).await;
    f.wait(T0 + 3).await;
    let mut headers = server_headers(3, 2, SERVER_EPOCH, SERVER_EPOCH + 1);
    headers.bucket = Some("LIMITER/127.0.0.1/guilds.get/3/1/second".into());
    f.complete(other, blind, Lease::Blind, Some((&headers, false)), T0 + 4)
        .await;
    f.grant(T0 + 5).await;
}

/// Commands scripts run that name no key (`PUBLISH` names a channel).
const KEYLESS: [&str; 2] = ["TIME", "PUBLISH"];

#[tokio::test]
async fn scripts_touch_only_keys_of_their_namespace() {
    use futures_util::StreamExt;
    let Some(server) = support::own("scripts_touch_only_keys_of_their_namespace") else {
        return;
    };
    let client = redis::Client::open(server.url()).unwrap();
    let mut monitor = client
        .get_async_monitor()
        .await
        .unwrap()
        .into_on_message::<String>();

    // Every path of both scripts, and the identify scripts.
    let f = Fixture::new("monitor", &server);
    f.learn(T0, 2, SERVER_EPOCH, 1).await;
    let (id, lease) = f.grant(T0 + 1).await;
    let mut limited = server_headers(3, 0, SERVER_EPOCH, SERVER_EPOCH + 1);
    limited.retry_after = Some(1.0);
    f.refused(id, lease, &limited, T0 + 2).await;
    f.wait(T0 + 3).await;
    let (id, lease) = f.grant(T0 + 5_000).await;
    let mut moved = server_headers(3, 2, SERVER_EPOCH + 5, SERVER_EPOCH + 6);
    moved.bucket = Some("LIMITER/x/elsewhere/3/1/second".into());
    f.answered(id, lease, &moved, T0 + 5_001).await;
    f.complete(ROUTE, PermitId::random(), lease, None, T0 + 5_002)
        .await;
    let leases = ayaka_redis::RedisIdentifyLeases::builder(
        f.redis.clone(),
        f.raw.keys().namespace().clone(),
    )
    .build()
    .unwrap();
    leases.acquire().await.release().await;
    let mut marker = client.get_multiplexed_async_connection().await.unwrap();
    let _: String = redis::cmd("ECHO")
        .arg("end-of-test")
        .query_async(&mut marker)
        .await
        .unwrap();

    let prefix = format!("\"{}", f.raw.keys().prefix());
    let mut checked = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let line = tokio::time::timeout_at(deadline, monitor.next())
            .await
            .expect("the monitor never saw the end")
            .expect("the monitor closed");
        if line.contains("\"end-of-test\"") {
            break;
        }
        if !line.contains(" lua] ") {
            continue;
        }
        let mut tokens = line.split(" lua] ").nth(1).unwrap().split(' ');
        let command = tokens
            .next()
            .unwrap()
            .trim_matches('"')
            .to_ascii_uppercase();
        if KEYLESS.contains(&command.as_str()) {
            continue;
        }
        let key = tokens.next().unwrap_or_default();
        assert!(key.starts_with(&prefix), "{command} touched {key}: {line}");
        checked += 1;
    }
    assert!(checked > 20, "only {checked} script commands seen");
}
