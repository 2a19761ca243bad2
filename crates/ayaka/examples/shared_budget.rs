//! Sends `REQUESTS` `GET /users/@me` as fast as the rate limiter allows and
//! prints one summary line. Copies of it running at once with the same
//! `AYAKA_REDIS_URL` share one rate-limit budget; without it each has its
//! own (the in-memory limiter), and together they draw 429s.
//!
//! ```sh
//! AYAKA_SESSION=... AYAKA_REDIS_URL=unix:///run/redis/redis.sock REQUESTS=100 \
//!     cargo run --example shared_budget --features redis
//! ```
//!
//! - `AYAKA_API_URL`: the REST base (default: the deployed API).
//! - `AYAKA_SESSION`: the session id.
//! - `AYAKA_REDIS_URL`: `redis://host:port` or `unix:///path/to/socket`;
//!   without it, the in-memory limiter.
//! - `AYAKA_REDIS_NAMESPACE`: the processes sharing one budget (default
//!   `shared-budget`): one per egress address and session.
//! - `REQUESTS`: how many requests (default 50).
//!
//! A 429 is counted, not retried, so that the summary shows every one the
//! server sent. Exits 0 once every request was answered (200 or 429), 1 if
//! some failed otherwise, 2 on bad configuration.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;
use std::time::{Duration, Instant};

use ayaka::http::ratelimit::InMemoryRateLimiter;
use ayaka::http::{Client, ErrorKind, RetryPolicy};
use ayaka::redis::{Connection, Namespace, RedisRateLimiter};
use tokio::task::{JoinError, JoinSet};

/// Requests in flight at once (the rest wait their turn here, not in the
/// limiter, so memory stays flat however many are asked for).
const IN_FLIGHT: usize = 32;

#[derive(Default)]
struct Tally {
    ok: usize,
    rate_limited: usize,
    failed: usize,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let (client, limiter, requests) = match configure() {
        Ok(configured) => configured,
        Err(message) => {
            eprintln!("shared_budget: {message}");
            return ExitCode::from(2);
        }
    };

    let start = Instant::now();
    let tally = send(&client, requests).await;
    println!(
        "shared_budget: {requests} requests in {:.2} s with the {limiter} limiter: \
         {} ok, {} rate limited, {} failed",
        start.elapsed().as_secs_f64(),
        tally.ok,
        tally.rate_limited,
        tally.failed,
    );
    if tally.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The client, the limiter's name and the number of requests.
fn configure() -> Result<(Client, &'static str, usize), String> {
    let session = std::env::var("AYAKA_SESSION").map_err(|_| "set AYAKA_SESSION")?;
    let requests = match std::env::var("REQUESTS") {
        Err(_) => 50,
        Ok(text) => text
            .parse()
            .map_err(|_| format!("REQUESTS must be a number, not {text:?}"))?,
    };
    let mut builder = Client::builder().session(session).retry_policy(
        RetryPolicy::new()
            .max_retries(0)
            .max_wait(Duration::from_secs(120)),
    );
    if let Ok(url) = std::env::var("AYAKA_API_URL") {
        builder = builder.base_url(url);
    }
    let (builder, limiter) = match std::env::var("AYAKA_REDIS_URL") {
        Ok(url) => {
            let namespace = std::env::var("AYAKA_REDIS_NAMESPACE")
                .unwrap_or_else(|_| "shared-budget".to_owned());
            // The URL may hold a password: never printed.
            let redis = Connection::open(&url).map_err(|e| format!("AYAKA_REDIS_URL: {e}"))?;
            let namespace =
                Namespace::new(&namespace).map_err(|e| format!("AYAKA_REDIS_NAMESPACE: {e}"))?;
            let limiter = RedisRateLimiter::builder(redis, namespace).build();
            (builder.ratelimiter(limiter), "redis")
        }
        Err(_) => (builder.ratelimiter(InMemoryRateLimiter::new()), "in-memory"),
    };
    let client = builder.build().map_err(|e| e.to_string())?;
    Ok((client, limiter, requests))
}

/// Sends `requests` requests, at most [`IN_FLIGHT`] at once.
async fn send(client: &Client, requests: usize) -> Tally {
    let mut tally = Tally::default();
    let mut running = JoinSet::new();
    for _ in 0..requests {
        if running.len() >= IN_FLIGHT
            && let Some(done) = running.join_next().await
        {
            record(done, &mut tally);
        }
        let client = client.clone();
        running.spawn(async move { client.current_user().await });
    }
    while let Some(done) = running.join_next().await {
        record(done, &mut tally);
    }
    tally
}

fn record<T>(done: Result<Result<T, ayaka::http::Error>, JoinError>, tally: &mut Tally) {
    match done {
        Ok(Ok(_)) => tally.ok += 1,
        Ok(Err(error)) if error.kind() == ErrorKind::RateLimited => tally.rate_limited += 1,
        Ok(Err(error)) => {
            eprintln!("shared_budget: {error}");
            tally.failed += 1;
        }
        Err(panic) => {
            eprintln!("shared_budget: a request task failed: {panic}");
            tally.failed += 1;
        }
    }
}
