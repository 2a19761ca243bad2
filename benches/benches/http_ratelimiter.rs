//! ayaka-http: what the proactive rate limiter costs per request.
//!
//! Real requests to the local server over loopback, through a client with
//! the in-memory limiter and through one with the limiter switched off (the
//! baseline), uncontended and 64-way contended on one bucket. The server's
//! limits are set so high they never bite, so every response carries the
//! rate-limit headers and the limiter runs its full path (learned bucket,
//! in-flight accounting, header parsing).
//!
//! A second group isolates the limiter from the network: acquire and
//! complete a permit, against a `tokio::sync::Semaphore` (the cheapest FIFO
//! permit) as the baseline.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;

use ayaka_benches::limiter::{CONTENDED, permit, runtime};
use ayaka_http::Client;
use ayaka_http::ratelimit::{InMemoryRateLimiter, RateLimitHeaders};
use ayaka_server::{Limit, RateLimits, Server, testing};
use criterion::{Criterion, Throughput, criterion_group};
use tokio::runtime::Runtime;
use tokio::task::JoinSet;

/// The server and two logged-in clients: with and without the limiter.
fn setup(rt: &Runtime) -> (Server, Client, Client) {
    rt.block_on(async {
        let server = testing::builder()
            .rate_limits(RateLimits::off().everywhere(Limit::per_second(u32::MAX)))
            .spawn()
            .await
            .unwrap();
        let session = testing::user_with_session(&server, "bench").await.session;
        let limited = Client::builder()
            .base_url(server.rest_url())
            .session(&session)
            .build()
            .unwrap();
        let unlimited = Client::builder()
            .base_url(server.rest_url())
            .session(&session)
            .without_ratelimiter()
            .build()
            .unwrap();
        // Learn the bucket and open as many pooled connections as the
        // contended runs use.
        for client in [&limited, &unlimited] {
            burst(client).await;
        }
        (server, limited, unlimited)
    })
}

async fn burst(client: &Client) {
    let mut tasks = JoinSet::new();
    for _ in 0..CONTENDED {
        let client = client.clone();
        tasks.spawn(async move { client.current_user().await.unwrap() });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
}

fn requests(c: &mut Criterion) {
    let rt = runtime();
    let (server, limited, unlimited) = setup(&rt);

    let mut group = c.benchmark_group("http_ratelimiter/request");
    group.throughput(Throughput::Elements(1));
    group.bench_function("baseline: limiter off", |b| {
        b.to_async(&rt)
            .iter(|| async { unlimited.current_user().await.unwrap() });
    });
    group.bench_function("in-memory limiter", |b| {
        b.to_async(&rt)
            .iter(|| async { limited.current_user().await.unwrap() });
    });
    group.finish();

    let mut group = c.benchmark_group("http_ratelimiter/request_64_way");
    group.sample_size(30);
    group.throughput(Throughput::Elements(CONTENDED));
    group.bench_function("baseline: limiter off", |b| {
        b.to_async(&rt).iter(|| burst(&unlimited));
    });
    group.bench_function("in-memory limiter", |b| {
        b.to_async(&rt).iter(|| burst(&limited));
    });
    group.finish();

    rt.block_on(server.shutdown());
}

/// The limiter alone: acquire a permit and complete it with headers.
fn permits(c: &mut Criterion) {
    let rt = runtime();
    let limiter = InMemoryRateLimiter::new();
    let headers = RateLimitHeaders {
        bucket: Some("LIMITER/127.0.0.1/users.me/4294967295/1/second".into()),
        limit: Some(u32::MAX),
        remaining: Some(u32::MAX - 1),
        reset: Some(1_700_000_001.0),
        retry_after: Some(0.0),
        date: Some(1_700_000_000),
        ..RateLimitHeaders::default()
    };
    let headers = Arc::new(headers);
    let semaphore = Arc::new(tokio::sync::Semaphore::new(1 << 20));
    rt.block_on(permit(&limiter, &headers));

    let mut group = c.benchmark_group("http_ratelimiter/permit");
    group.throughput(Throughput::Elements(1));
    group.bench_function("baseline: tokio Semaphore", |b| {
        b.to_async(&rt)
            .iter(|| async { drop(semaphore.acquire().await.unwrap()) });
    });
    group.bench_function("in-memory limiter", |b| {
        b.to_async(&rt).iter(|| permit(&limiter, &headers));
    });
    group.finish();

    let mut group = c.benchmark_group("http_ratelimiter/permit_64_way");
    group.throughput(Throughput::Elements(CONTENDED));
    group.bench_function("baseline: tokio Semaphore", |b| {
        b.to_async(&rt).iter(|| async {
            let mut tasks = JoinSet::new();
            for _ in 0..CONTENDED {
                let semaphore = Arc::clone(&semaphore);
                tasks.spawn(async move { drop(semaphore.acquire().await.unwrap()) });
            }
            while tasks.join_next().await.is_some() {}
        });
    });
    group.bench_function("in-memory limiter", |b| {
        b.to_async(&rt).iter(|| async {
            let mut tasks = JoinSet::new();
            for _ in 0..CONTENDED {
                let (limiter, headers) = (limiter.clone(), Arc::clone(&headers));
                tasks.spawn(async move { permit(&limiter, &headers).await });
            }
            while tasks.join_next().await.is_some() {}
        });
    });
    group.finish();
}

criterion_group!(benches, requests, permits);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
