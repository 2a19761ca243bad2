//! The `shared_budget` example as a user runs it: two copies at once
//! against the local server with a tight bucket, sharing a budget through a
//! real redis-server, then each with its own in-memory limiter.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use ayaka_redis::testing::TestRedis;
use ayaka_server::{RateLimits, Server, testing};

use common::example;

/// Requests per copy of the example.
const REQUESTS: usize = 15;
/// Copies of the example in the control, without Redis.
const CONTROL_COPIES: usize = 4;
/// The server's bucket: two copies send 30, three windows' worth.
const RULE: &str = "users.me=10/1/second";

async fn server_and_session() -> (Server, String) {
    let limits = RateLimits::default().parse_rule(RULE).unwrap();
    let server = testing::builder()
        .rate_limits(limits)
        .spawn()
        .await
        .unwrap();
    let session = testing::user_with_session(&server, "budget").await.session;
    (server, session)
}

fn start(server: &Server, session: &str, redis: Option<&TestRedis>) -> Child {
    let mut command = Command::new(example("shared_budget"));
    command
        .env("AYAKA_API_URL", server.rest_url())
        .env("AYAKA_SESSION", session)
        .env("REQUESTS", REQUESTS.to_string())
        .env("RUST_LOG", "warn")
        .env_remove("AYAKA_REDIS_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(redis) = redis {
        command
            .env("AYAKA_REDIS_URL", redis.url())
            .env("AYAKA_REDIS_NAMESPACE", "shared-budget-test");
    }
    command.spawn().expect("the example is built with the test")
}

/// Waits for a copy to exit, failing after 60 s.
async fn finish(mut child: Child) -> Output {
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("shared_budget did not finish within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.wait_with_output().unwrap()
}

/// The summary's counts: (ok, rate limited, failed).
fn summary(output: &Output, limiter: &str) -> (usize, usize, usize) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let line = stdout
        .lines()
        .find(|line| line.starts_with("shared_budget: "))
        .unwrap_or_else(|| panic!("no summary line in {stdout}\n{stderr}"));
    assert!(
        line.contains(&format!("{REQUESTS} requests in "))
            && line.contains(&format!("with the {limiter} limiter")),
        "{line}"
    );
    let count = |what: &str| -> usize {
        let before = line.split(what).next().unwrap();
        before
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap_or_else(|_| panic!("no count before {what:?} in {line}"))
    };
    (count(" ok,"), count(" rate limited,"), count(" failed"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_copies_share_one_budget_through_redis_and_not_without() {
    let Some(redis) =
        TestRedis::start_or_skip("two_copies_share_one_budget_through_redis_and_not_without")
    else {
        return;
    };

    // With Redis: one budget for both, the server refuses none.
    let (server, session) = server_and_session().await;
    let copies = [
        start(&server, &session, Some(&redis)),
        start(&server, &session, Some(&redis)),
    ];
    let mut ok = 0;
    for copy in copies {
        let (done, limited, failed) = summary(&finish(copy).await, "redis");
        assert_eq!((limited, failed), (0, 0));
        ok += done;
    }
    assert_eq!(ok, 2 * REQUESTS);
    let stats = server.stats();
    assert!(stats.rate_limited <= 1, "{} refused", stats.rate_limited);
    server.shutdown().await;

    // Without: a budget each, spent at once in the same window. The
    // in-memory limiter also follows the server's Remaining, so copies that
    // start apart barely collide: four copies make sure some start together.
    let (server, session) = server_and_session().await;
    let copies: Vec<Child> = (0..CONTROL_COPIES)
        .map(|_| start(&server, &session, None))
        .collect();
    let mut limited = 0;
    for copy in copies {
        let (done, refused, failed) = summary(&finish(copy).await, "in-memory");
        assert_eq!(failed, 0);
        assert_eq!(done + refused, REQUESTS);
        limited += refused;
    }
    assert!(limited > 1, "the control saw {limited} 429s");
    assert_eq!(server.stats().rate_limited, limited as u64);
    server.shutdown().await;
}

#[test]
fn without_a_session_it_says_what_to_set() {
    let output = Command::new(example("shared_budget"))
        .env_remove("AYAKA_SESSION")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("set AYAKA_SESSION"));
}
