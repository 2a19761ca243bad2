//! The client against an in-test hyper server that lies, stalls or floods:
//! typed errors, never a panic or a hang.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use ayaka_http::ratelimit::{InMemoryRateLimiter, RouteKind};
use ayaka_http::{Client, ErrorKind, RetryPolicy};
use ayaka_model::GuildId;
use ayaka_model::request::{CreateGuild, UpdateGuild, UpdateUser};
use support::hostile::{Hostile, HostileServer, Lie};
use support::{Seen, reply, serve, serve_counted};

const USER: &str = r#"{"id": 1, "username": "ayaka", "separator": 1}"#;
const GUARD: Duration = Duration::from_secs(10);

fn client(addr: std::net::SocketAddr) -> ayaka_http::ClientBuilder {
    Client::builder()
        .base_url(format!("http://{addr}"))
        .session("opaque.session-id")
        .timeout(Duration::from_secs(2))
}

/// The error a default client gets asking `addr` for the current user.
async fn current_user_error(addr: std::net::SocketAddr) -> ayaka_http::Error {
    let client = client(addr).build().unwrap();
    client.current_user().await.unwrap_err()
}

#[tokio::test]
async fn sends_user_agent_authorization_and_json() {
    let seen = Arc::new(std::sync::Mutex::new(None::<Seen>));
    let addr = serve(None, {
        let seen = seen.clone();
        move |request: Seen| {
            *seen.lock().unwrap() = Some(request);
            async { reply(200, &[], r#"{"id": 5, "name": "g", "owner": 1}"#) }
        }
    })
    .await;
    let client = client(addr).build().unwrap();
    let result = client
        .update_guild(GuildId::new(5), &UpdateGuild::new().name("new name"))
        .await;
    let request = seen.lock().unwrap().clone().unwrap();
    assert_eq!(request.method, http::Method::PATCH);
    assert_eq!(request.path, "/guilds/5");
    assert_eq!(request.headers["authorization"], "opaque.session-id");
    assert_eq!(request.headers["user-agent"], ayaka_http::USER_AGENT);
    assert_eq!(request.headers["content-type"], "application/json");
    assert_eq!(&request.body[..], br#"{"name":"new name"}"#);
    // Whatever the guild decoding says, the request was right.
    let _ = result;
}

#[tokio::test]
async fn garbage_rate_limit_headers_change_nothing() {
    let hostile: &[&[(&str, &str)]] = &[
        &[
            ("x-ratelimit-limit", "-5"),
            ("x-ratelimit-remaining", "abc"),
        ],
        &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "NaN")],
        &[
            ("x-ratelimit-limit", "99999999999999999999999"),
            ("x-ratelimit-remaining", "0"),
        ],
        &[
            ("x-ratelimit-bucket", "LIMITER/x/y/10/1/second"),
            ("x-ratelimit-reset-after", "1e999"),
        ],
        &[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "4102444800"),
            ("date", "Thu, 01 Jan 1970 00:00:00 GMT"),
        ],
        &[("x-ratelimit-retry-after", "-1"), ("retry-after", "soon")],
        &[("x-ratelimit-bucket", ""), ("x-ratelimit-limit", "0")],
    ];
    let (addr, _) = serve_counted(move |n, _| {
        let headers = hostile[n as usize % hostile.len()];
        async move { reply(204, headers, "") }
    })
    .await;
    let limiter = InMemoryRateLimiter::builder()
        .max_wait(Duration::from_millis(300))
        .build();
    let client = client(addr).ratelimiter(limiter).build().unwrap();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            client.delete_guild(GuildId::new(i)).await
        }));
    }
    for task in tasks {
        tokio::time::timeout(GUARD, task)
            .await
            .expect("no hang")
            .unwrap()
            .unwrap();
    }
    // Waits are capped at 300 ms each; even serialised that is bounded.
    assert!(start.elapsed() < GUARD);
}

/// A server that claims a generous limit but enforces 3 requests per 300 ms.
/// Each window opens with the first request after the previous one ended
/// (not when the server starts), so how fast the test gets going does not
/// matter.
async fn lying_server() -> (std::net::SocketAddr, Arc<AtomicU32>) {
    let refused = Arc::new(AtomicU32::new(0));
    let window = Arc::new(std::sync::Mutex::new(None::<(Instant, u32)>));
    let addr = serve(None, {
        let refused = refused.clone();
        move |_| {
            let mut guard = window.lock().unwrap();
            let window = match &mut *guard {
                Some(window) if window.0.elapsed() < Duration::from_millis(300) => window,
                stale => stale.insert((Instant::now(), 0)),
            };
            window.1 += 1;
            let lie = [
                (
                    "x-ratelimit-bucket",
                    "LIMITER/127.0.0.1/users.me/1000/1/second",
                ),
                ("x-ratelimit-limit", "1000"),
                ("x-ratelimit-remaining", "999"),
            ];
            let response = if window.1 <= 3 {
                reply(200, &lie, USER)
            } else {
                refused.fetch_add(1, Ordering::SeqCst);
                let left = Duration::from_millis(300).saturating_sub(window.0.elapsed());
                let body = format!(
                    r#"{{"code": 429, "message": "slow down", "retry_after": {}}}"#,
                    left.as_secs_f64()
                );
                reply(429, &lie, &body)
            };
            async move { response }
        }
    })
    .await;
    (addr, refused)
}

#[tokio::test]
async fn lying_headers_fall_back_to_retry_after() {
    let (addr, refused) = lying_server().await;
    let client = client(addr)
        .retry_policy(RetryPolicy::new().max_retries(20))
        .build()
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..9 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move { client.current_user().await }));
    }
    for task in tasks {
        let user = tokio::time::timeout(GUARD, task)
            .await
            .expect("no hang")
            .unwrap()
            .unwrap();
        assert_eq!(user.username, "ayaka");
    }
    assert!(
        refused.load(Ordering::SeqCst) > 0,
        "the server really limited"
    );
}

#[tokio::test]
async fn fail_fast_turns_a_429_into_an_error() {
    let (addr, _) = lying_server().await;
    let client = client(addr)
        .retry_policy(RetryPolicy::fail_fast())
        .build()
        .unwrap();
    let mut limited = None;
    // Normally the fourth request; a few more in case a slow machine lets
    // a window end between them.
    for _ in 0..12 {
        if let Err(error) = client.current_user().await {
            limited = Some(error);
            break;
        }
    }
    let error = limited.expect("the fourth request is refused");
    assert_eq!(error.kind(), ErrorKind::RateLimited, "{error:?}");
    let (Some(retry_after), Some(limited_responses)) =
        (error.retry_after(), error.limited_responses())
    else {
        panic!("{error:?}");
    };
    assert_eq!(limited_responses, 1);
    assert!(retry_after <= Duration::from_millis(300));
}

#[tokio::test]
async fn absurd_retry_after_is_an_error_not_a_hang() {
    let addr = serve(None, |_| async {
        reply(
            429,
            &[("x-ratelimit-retry-after", "99999999999")],
            r#"{"code": 429, "message": "no", "retry_after": 1e300}"#,
        )
    })
    .await;
    let client = client(addr)
        .retry_policy(RetryPolicy::new().max_wait(Duration::from_secs(5)))
        .build()
        .unwrap();
    let error = tokio::time::timeout(GUARD, client.current_user())
        .await
        .expect("no hang")
        .unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::RateLimited), "{error:?}");
}

#[tokio::test]
async fn a_silent_server_times_out_and_the_route_recovers() {
    let (addr, _) = serve_counted(|n, _| async move {
        if n == 0 {
            std::future::pending::<()>().await;
        }
        reply(200, &[], USER)
    })
    .await;
    let client = client(addr)
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let start = Instant::now();
    let error = client.current_user().await.unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::Timeout), "{error:?}");
    assert!(start.elapsed() < Duration::from_secs(2));
    // The lost blind request does not block the route.
    let user = tokio::time::timeout(GUARD, client.current_user())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.id.get(), 1);
}

#[tokio::test]
async fn a_closed_port_is_a_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let error = current_user_error(addr).await;
    assert!(matches!(error.kind(), ErrorKind::Transport), "{error:?}");
}

#[tokio::test]
async fn an_oversized_body_is_refused() {
    let addr = serve(None, |_| async { reply(200, &[], &"x".repeat(64 * 1024)) }).await;
    let client = client(addr).max_response_bytes(1024).build().unwrap();
    let error = client.current_user().await.unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::Transport), "{error:?}");
}

#[tokio::test]
async fn an_undecodable_body_is_kept() {
    let addr = serve(None, |_| async { reply(200, &[], "<html>oops</html>") }).await;
    let error = current_user_error(addr).await;
    match (error.kind(), error.status(), error.raw_body()) {
        (ErrorKind::Decode, Some(status), Some(body)) => {
            assert_eq!(status, 200);
            assert_eq!(&body[..], b"<html>oops</html>");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn odd_codes_and_error_bodies_are_typed() {
    let addr = serve(None, |request: Seen| async move {
        match (request.method.as_str(), request.path.as_str()) {
            ("DELETE", "/guilds/1") => reply(201, &[], ""),
            ("DELETE", "/guilds/2") => reply(203, &[], ""),
            ("DELETE", "/guilds/3") => reply(204, &[], ""),
            ("PATCH", _) => reply(203, &[], ""),
            // The deployed server's error shape.
            _ => reply(404, &[], r#"{"message": "404: Not Found", "code": 0}"#),
        }
    })
    .await;
    let client = client(addr).build().unwrap();
    let kind = |r: Result<(), ayaka_http::Error>| r.unwrap_err().kind();
    assert!(matches!(
        kind(client.delete_guild(GuildId::new(1)).await),
        ErrorKind::NotAMember
    ));
    assert!(matches!(
        kind(client.delete_guild(GuildId::new(2)).await),
        ErrorKind::MissingPermissions
    ));
    client.delete_guild(GuildId::new(3)).await.unwrap();
    let error = client
        .update_guild(GuildId::new(3), &UpdateGuild::new())
        .await
        .unwrap_err();
    assert_eq!(
        error.status(),
        Some(http::StatusCode::NON_AUTHORITATIVE_INFORMATION)
    );
    let error = client.guild_preview(GuildId::new(9)).await.unwrap_err();
    assert_eq!(error.status(), Some(http::StatusCode::NOT_FOUND));
    assert_eq!(error.body().unwrap().message, "404: Not Found");
}

#[tokio::test]
async fn nothing_is_sent_without_a_session_or_with_an_invalid_body() {
    let (addr, calls) = serve_counted(|_, _| async { reply(200, &[], USER) }).await;
    let client = Client::builder()
        .base_url(format!("http://{addr}"))
        .build()
        .unwrap();
    let error = client.current_user().await.unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::NoSession));
    client.set_session("s").unwrap();
    let error = client
        .update_guild(GuildId::new(1), &UpdateGuild::new().name(""))
        .await
        .unwrap_err();
    let (ErrorKind::Validation, Some(validation)) = (error.kind(), error.validation()) else {
        panic!("{error:?}")
    };
    assert!(validation.violation("name").is_some());
    assert!(matches!(
        client.join_invite("").await.unwrap_err().kind(),
        ErrorKind::Validation
    ));
    assert!(client.set_session("bad\nsession").is_err());
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn the_session_is_shared_by_clones_and_never_shown() {
    let addr = serve(None, |request: Seen| async move {
        match request.headers.get("authorization") {
            Some(value) if value == "opaque.secret-session" => reply(200, &[], USER),
            _ => reply(401, &[], r#"{"code": 401, "message": "unauthorized"}"#),
        }
    })
    .await;
    let client = Client::builder()
        .base_url(format!("http://{addr}"))
        .build()
        .unwrap();
    let clone = client.clone();
    client.set_session("opaque.secret-session").unwrap();
    assert!(clone.has_session());
    clone.current_user().await.unwrap();
    let builder = Client::builder().session("opaque.secret-session");
    let shown = format!("{client:?} {builder:?}");
    assert!(!shown.contains("secret"), "{shown}");
    clone.clear_session();
    let error = client.current_user().await.unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::NoSession));
}

#[tokio::test]
async fn https_with_a_trusted_self_signed_certificate() {
    let (cert, acceptor) = support::self_signed();
    let addr = serve(Some(acceptor), |_| async { reply(200, &[], USER) }).await;
    let url = format!("https://localhost:{}", addr.port());
    let client = Client::builder()
        .base_url(&url)
        .session("s")
        .tls_config(support::trusting(cert))
        .build()
        .unwrap();
    assert_eq!(client.current_user().await.unwrap().username, "ayaka");
    // The default roots do not trust it.
    let untrusting = Client::builder()
        .base_url(&url)
        .session("s")
        .build()
        .unwrap();
    let error = untrusting.current_user().await.unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::Transport), "{error:?}");
}

#[tokio::test]
async fn a_429_saying_retry_after_zero_still_waits() {
    let (addr, calls) = serve_counted(|n, _| async move {
        if n == 0 {
            reply(
                429,
                &[("x-ratelimit-retry-after", "0")],
                r#"{"code": 429, "message": "slow down", "retry_after": 0}"#,
            )
        } else {
            reply(200, &[], USER)
        }
    })
    .await;
    let client = client(addr).without_ratelimiter().build().unwrap();
    let start = Instant::now();
    let user = tokio::time::timeout(GUARD, client.current_user())
        .await
        .expect("no hang")
        .unwrap();
    assert_eq!(user.username, "ayaka");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // The default one-second wait, not an immediate retry.
    assert!(
        start.elapsed() >= Duration::from_millis(900),
        "{:?}",
        start.elapsed()
    );
}

// ---------------------------------------------------------------------------
// The limiter against a server that enforces a true limit per bucket and
// lies about it: 200 callers, 429s counted at the server.
// ---------------------------------------------------------------------------

/// Short windows keep the runs fast; the server spells them in the bucket
/// name as decimal seconds (`5/0.25/second`).
const WINDOW: Duration = Duration::from_millis(250);
const LIMIT: u32 = 5;
const CALLERS: usize = 200;
const LOAD: Duration = Duration::from_secs(3);

/// Buckets of [`LOAD_ROUTES`] that hold more than one route: each may
/// refuse the first, blind request of its second route once, if the first
/// route spent the window before that request was sent (see
/// `HostileServer::blind_refusals_since`).
const SHARED_BUCKETS: usize = 2;

/// Eight routes in six true buckets: `users.me` and `guilds.get` hold two
/// routes each.
const LOAD_ROUTES: [RouteKind; 8] = [
    RouteKind::GetCurrentUser,
    RouteKind::UpdateCurrentUser,
    RouteKind::CreateGuild,
    RouteKind::UpdateGuild,
    RouteKind::GetGuild,
    RouteKind::GetGuildPreview,
    RouteKind::DeleteGuild,
    RouteKind::GetGuildChannels,
];

async fn call(client: &Client, route: RouteKind) -> Result<(), ayaka_http::Error> {
    let id = GuildId::new(1);
    match route {
        RouteKind::GetCurrentUser => client.current_user().await.map(drop),
        RouteKind::UpdateCurrentUser => client
            .update_current_user(&UpdateUser::new().bio("hostile"))
            .await
            .map(drop),
        RouteKind::CreateGuild => client.create_guild(&CreateGuild::new("g")).await.map(drop),
        RouteKind::UpdateGuild => client
            .update_guild(id, &UpdateGuild::new().name("g"))
            .await
            .map(drop),
        RouteKind::GetGuild => client.guild(id).await.map(drop),
        RouteKind::GetGuildPreview => client.guild_preview(id).await.map(drop),
        RouteKind::DeleteGuild => client.delete_guild(id).await,
        RouteKind::GetGuildChannels => client.guild_channels(id).await.map(drop),
        other => unreachable!("{other} is not in the load"),
    }
}

/// A client that waits for the limiter but never retries a 429, so each
/// 429 the server sends is one the limiter failed to prevent.
fn load_client(addr: std::net::SocketAddr) -> Client {
    client(addr)
        .retry_policy(
            RetryPolicy::new()
                .max_retries(0)
                .max_wait(Duration::from_secs(5)),
        )
        .build()
        .unwrap()
}

/// `CALLERS` callers, spread evenly over `LOAD_ROUTES`, each sending one
/// request after another until `until`.
async fn load(client: &Client, until: Instant) {
    let mut tasks = Vec::new();
    for caller in 0..CALLERS {
        let route = LOAD_ROUTES[caller % LOAD_ROUTES.len()];
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            // Cancelled at the end, waiting or in flight, like a caller
            // that gives up.
            let deadline = tokio::time::Instant::from_std(until);
            while Instant::now() < until {
                let call = tokio::time::timeout_at(deadline, call(&client, route));
                if let Ok(Err(error)) = call.await
                    && let Some(wait) = error.retry_after()
                {
                    // Told to wait longer than the caller would: come back then.
                    tokio::time::sleep_until(deadline.min(tokio::time::Instant::now() + wait))
                        .await;
                }
            }
        }));
    }
    for task in tasks {
        tokio::time::timeout(LOAD + GUARD, task)
            .await
            .expect("every caller stops")
            .unwrap();
    }
}

/// What the server saw of a bucket between two instants.
#[derive(Debug)]
struct BucketReport {
    bucket: &'static str,
    /// Windows that opened and ended in the span.
    windows: usize,
    /// Allowed requests over what those windows allowed.
    used: f64,
    /// Allowed requests over `limit` per window length of time, from the
    /// first window's opening to the last one's end: what the stalls
    /// between windows cost on top.
    rate: f64,
    /// The longest time from one window's end to the next one's opening.
    longest_stall: Duration,
    refused: u32,
}

fn report(server: &HostileServer, since: Instant, until: Instant) -> Vec<BucketReport> {
    let mut reports: Vec<_> = server
        .windows()
        .into_iter()
        .map(|(bucket, windows)| {
            let rule = server.rule(bucket);
            let windows: Vec<_> = windows
                .into_iter()
                .filter(|w| w.opened >= since && w.opened < until)
                .collect();
            let complete: Vec<_> = windows
                .iter()
                .filter(|w| w.opened + rule.window <= until)
                .collect();
            let allowed: u32 = complete.iter().map(|w| w.allowed).sum();
            let span = match (complete.first(), complete.last()) {
                (Some(first), Some(last)) => last.opened + rule.window - first.opened,
                _ => rule.window,
            };
            let windows_of_time = span.as_secs_f64() / rule.window.as_secs_f64();
            let longest_stall = windows
                .windows(2)
                .map(|pair| {
                    pair[1]
                        .opened
                        .saturating_duration_since(pair[0].opened + rule.window)
                })
                .max()
                .unwrap_or_default();
            BucketReport {
                bucket,
                windows: complete.len(),
                used: f64::from(allowed) / f64::from(rule.limit * complete.len().max(1) as u32),
                rate: f64::from(allowed) / (f64::from(rule.limit) * windows_of_time),
                longest_stall,
                refused: windows.iter().map(|w| w.refused).sum(),
            }
        })
        .filter(|report| report.windows > 0 || report.refused > 0)
        .collect();
    reports.sort_by_key(|r| r.bucket);
    reports
}

/// The longest time each route of the load went without an allowed request.
fn route_gaps(
    server: &HostileServer,
    since: Instant,
    until: Instant,
) -> Vec<(RouteKind, Duration)> {
    let events = server.events();
    LOAD_ROUTES
        .into_iter()
        .map(|route| {
            let mut last = since;
            let mut longest = Duration::ZERO;
            let allowed = events
                .iter()
                .filter(|e| e.route == route && e.allowed && e.at >= since && e.at < until);
            for event in allowed {
                longest = longest.max(event.at - last);
                last = event.at;
            }
            (route, longest.max(until.saturating_duration_since(last)))
        })
        .collect()
}

/// What a pattern must achieve, the issue's goal by default: no 429 the
/// limiter could have avoided, no stall longer than one window, at least
/// 0.95 of the allowed throughput on every bucket, and every route served
/// within a few windows (25 callers per route, up to 50 on a bucket of 5 a
/// window, each waiting its turn).
///
/// The server opens a window with the first request after the last one
/// ended, so what it allows is `limit` per window it opened (`used`); over
/// time (`rate`) the round trip between two windows costs a little more,
/// and how much depends on the machine's load: that bound is looser.
#[derive(Debug, Clone, Copy)]
struct Goal {
    max_refused: usize,
    min_used: f64,
    min_rate: f64,
    max_stall: Duration,
    max_route_gap: Duration,
}

impl Default for Goal {
    fn default() -> Self {
        Self {
            max_refused: 0,
            min_used: 0.95,
            min_rate: 0.8,
            max_stall: WINDOW,
            max_route_gap: WINDOW * 4,
        }
    }
}

fn assert_holds(server: &HostileServer, since: Instant, until: Instant, goal: Goal, pattern: &str) {
    let reports = report(server, since, until);
    let blind = server.blind_refusals_since(since);
    let refused = server.refused_since(since) - blind.len();
    let gaps = route_gaps(server, since, until);
    let trace = || {
        let refusals: Vec<_> = server
            .events()
            .iter()
            .filter(|e| !e.allowed && e.at >= since)
            .map(|e| (e.route, e.at - since))
            .collect();
        format!("{pattern}: {refused} refused {refusals:?}\n{reports:#?}\nlongest gaps {gaps:?}")
    };
    eprintln!("{}", trace());
    assert!(refused <= goal.max_refused, "{}", trace());
    assert!(
        blind.len() <= SHARED_BUCKETS,
        "blind {blind:?}\n{}",
        trace()
    );
    for report in &reports {
        assert!(report.windows >= 3, "{}", trace());
        assert!(report.used >= goal.min_used, "{}", trace());
        assert!(report.rate >= goal.min_rate, "{}", trace());
        assert!(report.longest_stall <= goal.max_stall, "{}", trace());
    }
    for &(_, gap) in &gaps {
        assert!(gap <= goal.max_route_gap, "{}", trace());
    }
}

async fn hold_under(lie: Lie) {
    let server = Hostile::new(lie, LIMIT, WINDOW).serve().await;
    let client = load_client(server.addr);
    let start = Instant::now();
    load(&client, start + LOAD).await;
    assert_holds(
        &server,
        start,
        start + LOAD,
        Goal::default(),
        &format!("{lie:?}"),
    );
}

/// One test per row: `name: lie`, each a run of `$check(lie)`.
macro_rules! one_test_per_lie {
    ($check:ident { $($name:ident: $lie:expr,)* }) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            $check($lie).await;
        }
    )*};
}

one_test_per_lie!(hold_under {
    holds_under_honest_headers: Lie::Honest,
    holds_under_a_date_an_hour_behind: Lie::DateSkew(-3600),
    holds_under_a_date_an_hour_ahead: Lie::DateSkew(3600),
    holds_under_a_reset_before_date: Lie::ResetBeforeDate,
    holds_under_a_reset_equal_to_date: Lie::ResetAtDate,
    holds_under_a_far_future_reset: Lie::FarFutureReset,
    holds_under_garbage_values: Lie::Garbage,
    holds_with_retry_after_only_in_the_body: Lie::RetryAfterOnlyInBody,
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holds_when_buckets_are_renamed_and_merged_mid_run() {
    let server = Hostile::new(Lie::Honest, LIMIT, WINDOW).serve().await;
    let client = load_client(server.addr);
    let start = Instant::now();
    let changed = tokio::spawn({
        let server = server.clone();
        async move {
            tokio::time::sleep(LOAD / 3).await;
            server.rename()
        }
    });
    let until = start + LOAD + LOAD / 3;
    load(&client, until).await;
    let changed = changed.await.unwrap();
    let blind = server.blind_refusals_since(start);
    let before: Vec<_> = server
        .events()
        .iter()
        .filter(|e| !e.allowed && e.at < changed)
        .filter(|e| !blind.iter().any(|b| b.route == e.route && b.at == e.at))
        .map(|e| (e.route, e.at - start))
        .collect();
    assert_eq!(before, [], "refused before the change");
    assert!(blind.len() <= SHARED_BUCKETS, "blind: {blind:?}");
    // Only the requests sent before any answer could show the merge.
    let goal = Goal {
        max_refused: 5,
        ..Goal::default()
    };
    assert_holds(&server, changed, until, goal, "renamed and merged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_any_window_the_default_is_conservative() {
    // Nothing names the window (an opaque bucket id, `Reset` before `Date`):
    // the limiter waits its one-second default per window, one request
    // first to see the window has begun, and is never refused.
    let lie = Lie::OpaqueBucketResetBeforeDate;
    let server = Hostile::new(lie, LIMIT, WINDOW).serve().await;
    let client = load_client(server.addr);
    let start = Instant::now();
    let until = start + LOAD * 2;
    load(&client, until).await;
    let fallback = Duration::from_secs(1);
    let goal = Goal {
        // A window of 250 ms, waited out as one second.
        min_rate: 0.2,
        max_stall: fallback,
        max_route_gap: fallback * 8,
        ..Goal::default()
    };
    assert_holds(&server, start, until, goal, &format!("{lie:?}"));
}

/// A per-minute bucket among short ones: its first window's 20 slots all go
/// at once, under lies that would end a long window early.
async fn first_minute_under(lie: Lie) {
    const PER_MINUTE: u32 = 20;
    let minute = Duration::from_secs(60);
    let server = Hostile::new(lie, LIMIT, WINDOW)
        .bucket_limit(RouteKind::CreateGuild, PER_MINUTE, minute)
        .serve()
        .await;
    let client = load_client(server.addr);
    let start = Instant::now();
    load(&client, start + LOAD).await;
    let windows = server.windows();
    let first = &windows[RouteKind::CreateGuild.bucket()];
    assert_eq!(first.len(), 1, "{lie:?}: {first:?}");
    assert_eq!(first[0].allowed, PER_MINUTE, "{lie:?}: {first:?}");
    assert_eq!(first[0].refused, 0, "{lie:?}: {first:?}");
    // Every slot went in the first window's first moments.
    let events = server.events();
    let last = events
        .iter()
        .filter(|e| e.route == RouteKind::CreateGuild && e.allowed)
        .map(|e| e.at - first[0].opened)
        .max()
        .unwrap();
    assert!(last < WINDOW, "{lie:?}: the 20th slot went after {last:?}");
    let goal = Goal {
        // The per-minute bucket's callers wait out the minute.
        max_route_gap: LOAD,
        ..Goal::default()
    };
    assert_holds(
        &server,
        start,
        start + LOAD,
        goal,
        &format!("{lie:?}, per minute"),
    );
}

one_test_per_lie!(first_minute_under {
    a_per_minute_first_window_is_used_in_full: Lie::Honest,
    a_per_minute_first_window_survives_a_reset_before_date: Lie::ResetBeforeDate,
    a_per_minute_first_window_survives_a_far_future_reset: Lie::FarFutureReset,
    a_per_minute_first_window_survives_a_skewed_date: Lie::DateSkew(-3600),
});
