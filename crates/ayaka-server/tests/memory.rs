//! Memory under abuse, measured (ignored by default: they measure, they
//! are not quick). Run them alone, one at a time, so that nothing else
//! shares the process:
//!
//! ```text
//! cargo test --release -p ayaka-server --test memory -- --ignored --test-threads=1 --nocapture
//! ```
//!
//! The figures go to docs/benchmarks.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(target_os = "linux")]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use ayaka_server::{PasswordHashing, Server};
use common::{WAIT, request};
use futures_util::StreamExt as _;
use http::{Method, StatusCode};
use serde_json::json;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

const MIB: u64 = 1024 * 1024;

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .unwrap()
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kib * 1024
}

/// Samples RSS every millisecond until dropped, keeping the peak.
struct PeakRss {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl PeakRss {
    fn start() -> Self {
        let peak = Arc::new(AtomicU64::new(rss_bytes()));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (Arc::clone(&peak), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(rss_bytes(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        Self { peak, stop }
    }

    fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed).max(rss_bytes())
    }
}

impl Drop for PeakRss {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn sign_up(index: usize) -> serde_json::Value {
    json!({
        "username": format!("user{index}"),
        "separator": 1,
        "email": format!("user{index}@example.com"),
        "password": "correct horse battery",
    })
}

async fn hashing_idle(server: &Server) {
    let deadline = tokio::time::Instant::now() + WAIT * 6;
    loop {
        let stats = request(server, Method::GET, "/_local/stats", None, None)
            .await
            .body;
        if stats["rest_connections"] == 1
            && stats["hashing"]["running"] == 0
            && stats["hashing"]["queued"] == 0
        {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{stats}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn secure_server() -> Server {
    // Default hashing bounds: one worker per core, a queue of 64.
    common::builder()
        .password_hashing(PasswordHashing::Secure)
        .spawn()
        .await
        .unwrap()
}

fn report(what: &str, before: u64, peak: u64, after: u64) {
    println!(
        "{what}: RSS before {} MiB, peak {} MiB, after {} MiB",
        before / MIB,
        peak / MIB,
        after / MIB
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measures memory; run alone with --ignored"]
async fn sign_ups_keep_memory_bounded() {
    let server = secure_server().await;
    let before = rss_bytes();

    let sampler = PeakRss::start();
    for index in 0..120 {
        let body = sign_up(index).to_string();
        let head = format!(
            "POST /users/@me HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        );
        let mut stream = TcpStream::connect(server.rest_addr()).await.unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(body.as_bytes()).await.unwrap();
    }
    hashing_idle(&server).await;
    let (peak, after) = (sampler.peak(), rss_bytes());
    drop(sampler);
    report("120 abandoned sign-ups", before, peak, after);
    assert!(peak < 400 * MIB && after < 100 * MIB);

    let sampler = PeakRss::start();
    let created = futures_util::stream::iter(1_000..1_120)
        .map(|index| {
            let server = &server;
            async move {
                loop {
                    let response = request(
                        server,
                        Method::POST,
                        "/users/@me",
                        None,
                        Some(sign_up(index)),
                    )
                    .await;
                    match response.status {
                        StatusCode::CREATED => return,
                        // A full queue: wait as told.
                        StatusCode::SERVICE_UNAVAILABLE => {
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                        other => panic!("{other}: {}", response.body),
                    }
                }
            }
        })
        .buffer_unordered(60)
        .count()
        .await;
    assert_eq!(created, 120);
    hashing_idle(&server).await;
    let (peak, after) = (sampler.peak(), rss_bytes());
    drop(sampler);
    report("120 completed sign-ups", before, peak, after);
    assert!(peak < 400 * MIB && after < 100 * MIB);
    server.shutdown().await;
}
