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

use ayaka_server::testing::{self, rss_bytes_of};
use ayaka_server::{PasswordHashing, Server};
use common::{WAIT, request, sign_up};
use futures_util::StreamExt as _;
use http::{Method, StatusCode};
use serde_json::json;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

const MIB: u64 = 1024 * 1024;

/// This process's resident set size.
fn rss_bytes() -> u64 {
    rss_bytes_of("self")
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
    testing::builder()
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
        common::abandoned_sign_up(&server, index).await;
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

/// The real binary as a child process, so that only the server's memory
/// is measured.
struct Child {
    process: std::process::Child,
    rest: String,
    gateway: String,
}

impl Child {
    fn start(args: &[&str]) -> Self {
        use std::io::{BufRead as _, BufReader};
        let mut process = std::process::Command::new(env!("CARGO_BIN_EXE_ayaka-server"))
            .args(["--bind", "127.0.0.1:0", "--rate-limit", "off"])
            .args(["--password-hashing", "fast"])
            .args(args)
            .env("RUST_LOG", "error")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let lines: Vec<String> = BufReader::new(process.stdout.take().unwrap())
            .lines()
            .take(3)
            .map(Result::unwrap)
            .collect();
        let rest = lines[0].trim_start_matches("REST:").trim().to_owned();
        let gateway = lines[2].trim_start_matches("gateway:").trim().to_owned();
        Self {
            process,
            rest,
            gateway,
        }
    }

    fn rss_bytes(&self) -> u64 {
        rss_bytes_of(&self.process.id().to_string())
    }

    /// `GET /_local/stats` of the child.
    async fn stats(&self) -> serde_json::Value {
        let address = self.rest.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream
            .write_all(b"GET /_local/stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut answer)
            .await
            .unwrap();
        let text = String::from_utf8(answer).unwrap();
        let body = text.split("\r\n\r\n").nth(1).unwrap();
        serde_json::from_str(body).unwrap()
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// A small client configuration: the test's own memory is not measured,
/// but 2,000 default 128 KiB buffers would still be a waste.
fn small_client() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(4096)
}

async fn connections_become(child: &Child, expected: u64) {
    let deadline = tokio::time::Instant::now() + WAIT * 6;
    while child.stats().await["connections"] != expected {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{}",
            child.stats().await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measures memory; run alone with --ignored"]
async fn a_handshake_flood_stays_small_and_rest_answers() {
    let child = Child::start(&["--max-connections", "100000", "--identify-timeout", "600"]);
    let before = child.rss_bytes();
    let flood = futures_util::stream::iter(0..2_000)
        .map(|_| {
            let url = child.gateway.clone();
            async move {
                tokio_tungstenite::connect_async_with_config(url, Some(small_client()), false)
                    .await
                    .unwrap()
                    .0
            }
        })
        .buffer_unordered(200)
        .collect::<Vec<_>>();
    // A REST request in the middle of the flood.
    let probe = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = std::time::Instant::now();
        let stats = child.stats().await;
        (started.elapsed(), stats)
    };
    let (sockets, (latency, _)) = tokio::join!(flood, probe);
    connections_become(&child, 2_000).await;
    let started = std::time::Instant::now();
    child.stats().await;
    let latency_after = started.elapsed();
    let after = child.rss_bytes();
    println!(
        "2000 handshake-only connections: server RSS {} MiB -> {} MiB (+{} KiB each); \
         REST during the flood {latency:?}, with all connected {latency_after:?}",
        before / MIB,
        after / MIB,
        (after - before) / 1024 / 2_000
    );
    assert!(after - before < 150 * MIB);
    assert!(latency < Duration::from_secs(1) && latency_after < Duration::from_secs(1));
    drop(sockets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measures memory; run alone with --ignored"]
async fn idle_identified_connections_cost_at_most_64_kib() {
    use futures_util::SinkExt as _;
    use tokio_tungstenite::tungstenite::Message;

    for encoding in ["json", "zlib"] {
        let child = Child::start(&["--max-connections", "100000"]);
        // Every connection identifies as one user and reads its READY.
        let body = json!({"username": "idle", "separator": 1, "email": "idle@example.com",
                          "password": "correct horse battery"});
        let address = child.rest.trim_start_matches("http://").to_owned();
        let session = {
            let mut stream = TcpStream::connect(&address).await.unwrap();
            let body = body.to_string();
            let head = format!(
                "POST /users/@me HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(head.as_bytes()).await.unwrap();
            let mut answer = Vec::new();
            tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut answer)
                .await
                .unwrap();
            let text = String::from_utf8(answer).unwrap();
            let user: serde_json::Value =
                serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap()).unwrap();
            user["session_ids"][0].as_str().unwrap().to_owned()
        };
        let count = 1_000;
        let before = child.rss_bytes();
        let sockets = futures_util::stream::iter(0..count)
            .map(|_| {
                let (url, session) = (child.gateway.clone(), session.clone());
                async move {
                    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(
                        url,
                        Some(small_client()),
                        false,
                    )
                    .await
                    .unwrap();
                    let identify = json!({"session_id": session, "encoding": encoding});
                    socket
                        .send(Message::text(identify.to_string()))
                        .await
                        .unwrap();
                    // READY
                    socket.next().await.unwrap().unwrap();
                    socket
                }
            })
            .buffer_unordered(100)
            .collect::<Vec<_>>()
            .await;
        connections_become(&child, count as u64).await;
        let after = child.rss_bytes();
        let each = (after - before) / count as u64;
        println!(
            "{count} idle identified {encoding} connections: server RSS {} MiB -> {} MiB ({} KiB each)",
            before / MIB,
            after / MIB,
            each / 1024
        );
        assert!(each <= 64 * 1024, "{each} bytes per connection");
        drop(sockets);
    }
}
