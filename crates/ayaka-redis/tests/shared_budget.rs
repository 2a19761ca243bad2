//! The headline: 4 real OS processes (the test binary re-run with
//! `--exact`), each with a `RedisRateLimiter` on the shared socket, together
//! send 100 `GET /users/@me` to the local server with a bucket of 20 a
//! second. The server refuses none of them (at most one), and the time it
//! took shows they spent one budget. The same with the in-memory limiter,
//! one budget per process, draws 429s: the test can fail.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use ayaka_http::ratelimit::InMemoryRateLimiter;
use ayaka_http::{Client, ErrorKind, RetryPolicy};
use ayaka_redis::RedisRateLimiter;
use ayaka_server::{RateLimits, testing};
use support::ChildTest;
use tokio::task::JoinSet;

const API_URL_ENV: &str = "AYAKA_TEST_API_URL";
const SESSION_ENV: &str = "AYAKA_TEST_SESSION";

const PROCESSES: usize = 4;
const REQUESTS: usize = 100;
/// The server's bucket for `GET /users/@me` in this test.
const RULE: &str = "users.me=20/1/second";
const LIMIT: usize = 20;

/// In a child: waits for the start, sends its share of the requests at
/// once (each waits for the limiter), reports how many the server refused.
fn sender(limiter: &str) {
    support::current_thread().block_on(async {
        let (redis, namespace) = support::child_redis();
        let builder = Client::builder()
            .base_url(std::env::var(API_URL_ENV).unwrap())
            .session(std::env::var(SESSION_ENV).unwrap())
            // Wait for the limiter as long as it takes, and report a 429
            // rather than retry it: every refusal counts.
            .retry_policy(
                RetryPolicy::new()
                    .max_retries(0)
                    .max_wait(Duration::from_secs(60)),
            );
        let client = match limiter {
            "redis" => builder.ratelimiter(RedisRateLimiter::builder(redis, namespace).build()),
            _ => builder.ratelimiter(InMemoryRateLimiter::new()),
        }
        .build()
        .unwrap();
        support::tell_parent("waiting");
        support::wait_for_go(0).await;
        let mut requests = JoinSet::new();
        for _ in 0..REQUESTS / PROCESSES {
            let client = client.clone();
            requests.spawn(async move { client.current_user().await });
        }
        let (mut ok, mut limited) = (0, 0);
        while let Some(done) = requests.join_next().await {
            match done.unwrap() {
                Ok(_) => ok += 1,
                Err(error) if error.kind() == ErrorKind::RateLimited => limited += 1,
                Err(error) => panic!("unexpected error: {error}"),
            }
        }
        support::tell_parent(&format!("done ok={ok} limited={limited}"));
    });
}

/// What the deployment saw: the server's count of 429s, the children's,
/// and the time from the start to the last answer.
struct Outcome {
    server_limited: u64,
    children_limited: usize,
    elapsed: Duration,
}

fn deployment(test: &str, limiter: &str) -> Option<Outcome> {
    let redis = support::shared(test)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let limits = RateLimits::default().parse_rule(RULE).unwrap();
    let server = runtime
        .block_on(testing::builder().rate_limits(limits).spawn())
        .unwrap();
    let user = runtime.block_on(testing::user_with_session(&server, "budget"));
    let namespace = support::namespace(test);
    let env = [
        (API_URL_ENV, server.rest_url()),
        (SESSION_ENV, user.session.clone()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut children: Vec<ChildTest> = (0..PROCESSES)
        .map(|_| ChildTest::spawn_with(test, limiter, redis, &namespace, &env))
        .collect();
    for child in &children {
        child.expect_line("waiting", Duration::from_secs(60));
    }
    let before = server.stats();
    let start = Instant::now();
    runtime.block_on(support::release_children(redis, &namespace, PROCESSES, 0));
    let (mut ok, mut children_limited) = (0, 0);
    for child in &children {
        let line = child
            .next_line(Duration::from_secs(120))
            .expect("a child never finished");
        let counts = line.strip_prefix("done ").expect("a summary line");
        let (ok_part, limited_part) = counts.split_once(' ').unwrap();
        ok += ok_part.trim_start_matches("ok=").parse::<usize>().unwrap();
        children_limited += limited_part
            .trim_start_matches("limited=")
            .parse::<usize>()
            .unwrap();
    }
    let elapsed = start.elapsed();
    for child in &mut children {
        assert!(child.wait(Duration::from_secs(10)), "a child failed");
    }
    assert_eq!(ok + children_limited, REQUESTS, "requests went missing");
    let after = server.stats();
    assert_eq!(after.requests - before.requests, REQUESTS as u64);
    runtime.block_on(server.shutdown());
    Some(Outcome {
        server_limited: after.rate_limited - before.rate_limited,
        children_limited,
        elapsed,
    })
}

#[test]
fn four_processes_share_one_budget_against_the_local_server() {
    const NAME: &str = "four_processes_share_one_budget_against_the_local_server";
    if let Some(limiter) = support::child_role() {
        return sender(&limiter);
    }
    let Some(outcome) = deployment(NAME, "redis") else {
        return;
    };
    eprintln!(
        "redis limiter: {} refused, {:?} for {REQUESTS} requests",
        outcome.server_limited, outcome.elapsed
    );
    assert!(
        outcome.server_limited <= 1,
        "the server refused {} requests",
        outcome.server_limited
    );
    assert_eq!(outcome.children_limited as u64, outcome.server_limited);
    // At least 99 answered at 20 a window (the server's windows start at
    // their first request): the last ones went in the fifth window, 4 s
    // after the first. Separate budgets would have been done in one.
    let windows = (REQUESTS - 1).div_ceil(LIMIT) as u32;
    let floor = Duration::from_secs(u64::from(windows - 1));
    assert!(outcome.elapsed >= floor, "{:?}", outcome.elapsed);
}

#[test]
fn the_control_with_a_budget_per_process_draws_429s() {
    const NAME: &str = "the_control_with_a_budget_per_process_draws_429s";
    if let Some(limiter) = support::child_role() {
        return sender(&limiter);
    }
    let Some(outcome) = deployment(NAME, "memory") else {
        return;
    };
    eprintln!(
        "in-memory limiters: {} refused, {:?} for {REQUESTS} requests",
        outcome.server_limited, outcome.elapsed
    );
    // Four budgets of 20 spent in the first window: the Redis test's bound
    // would have failed.
    assert!(
        outcome.server_limited > 1,
        "the control saw {} 429s: the test proves nothing",
        outcome.server_limited
    );
    assert_eq!(outcome.children_limited as u64, outcome.server_limited);
}
