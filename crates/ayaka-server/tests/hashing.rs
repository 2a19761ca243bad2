//! Password hashing stays bounded in threads and work, whatever clients do:
//! hung-up sign-ups do not pile up hashes, and work beyond the queue is
//! refused with 503 and `Retry-After`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use ayaka_server::{PasswordHashing, Server, testing};
use common::{WAIT, abandoned_sign_up, request, sign_up};
use futures_util::StreamExt as _;
use http::{Method, StatusCode};
use serde_json::Value;

/// The thread count is the whole process's: the tests of this binary take
/// turns, so one test's hashing workers never show up in another's count.
static ONE_SERVER_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The threads of this process (the server runs in it).
fn threads() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

async fn stats(server: &Server) -> Value {
    let response = request(server, Method::GET, "/_local/stats", None, None).await;
    assert_eq!(response.status, StatusCode::OK);
    response.body
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn abandoned_sign_ups_never_run_more_hashes_than_the_bound() {
    let _turn = ONE_SERVER_AT_A_TIME.lock().await;
    let server = testing::builder()
        .password_hashing(PasswordHashing::Secure)
        .hashing_concurrency(2)
        .hashing_queue(256)
        .spawn()
        .await
        .unwrap();
    let threads_before = threads();
    for index in 0..120 {
        abandoned_sign_up(&server, index).await;
    }
    let deadline = tokio::time::Instant::now() + WAIT * 3;
    let mut most_running = 0;
    let mut most_threads = threads_before;
    loop {
        let stats = stats(&server).await;
        let hashing = stats["hashing"].clone();
        most_running = most_running.max(hashing["running"].as_u64().unwrap());
        most_threads = most_threads.max(threads());
        // Every sign-up's connection is over (this request's aside), and
        // so is every hash. (A request cut before its handler queued a
        // hash never counts as one.)
        let idle = stats["rest_connections"] == 1;
        if idle && hashing["running"] == 0 && hashing["queued"] == 0 {
            // Hung-up clients' waiting hashes were dropped, not computed.
            assert!(hashing["abandoned"].as_u64().unwrap() > 0, "{hashing}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{stats}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(most_running <= 2, "{most_running} hashes ran at once");
    assert!(
        most_threads <= threads_before + 1,
        "threads grew from {threads_before} to {most_threads}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn sign_ups_beyond_the_hashing_queue_get_503_with_retry_after() {
    let _turn = ONE_SERVER_AT_A_TIME.lock().await;
    let server = testing::builder()
        .password_hashing(PasswordHashing::Secure)
        .hashing_concurrency(1)
        .hashing_queue(1)
        .spawn()
        .await
        .unwrap();
    let responses: Vec<_> = futures_util::stream::iter(0..24)
        .map(|index| {
            let server = &server;
            async move {
                request(
                    server,
                    Method::POST,
                    "/users/@me",
                    None,
                    Some(sign_up(index)),
                )
                .await
            }
        })
        .buffer_unordered(24)
        .collect()
        .await;
    let mut refused = 0;
    for response in &responses {
        match response.status {
            StatusCode::CREATED => {}
            StatusCode::SERVICE_UNAVAILABLE => {
                refused += 1;
                assert_eq!(response.header("retry-after"), "1");
                assert_eq!(response.body["code"], 503);
                assert!(response.body["retry_after"].as_f64().unwrap() > 0.0);
            }
            other => panic!("unexpected {other}: {}", response.body),
        }
    }
    // 24 at once against one worker and one queue slot: most are refused,
    // and at least the first is hashed.
    assert!((1..24).contains(&refused), "{refused} refused");
    let hashing = stats(&server).await["hashing"].clone();
    assert_eq!(hashing["refused"], refused);
    assert_eq!(hashing["concurrency"], 1);
    assert_eq!(server.stats().users, 24 - refused as usize);
    server.shutdown().await;
}
