//! ayaka-gateway and ayaka-server: memory per idle identified connection,
//! `json` and `zlib`, against the 64 KiB goal, client and server apart.
//!
//! The bench runs itself three ways: as the orchestrator (no argument), as
//! the local server (`--serve`) and as a client holding the shards
//! (`--clients`), each its own process so that each figure is one side's
//! memory alone. Per encoding, a fresh server and a fresh client process:
//! the client opens 1,000 shards over loopback, waits until every one is
//! READY, and reports the growth of its RSS and of its live heap (a
//! counting allocator); the orchestrator reads the server's RSS growth
//! meanwhile. Printed as figures for `cargo xtask bench`.
//!
//! Linux only (RSS comes from `/proc`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::{
    alloc::System,
    io::{BufRead, BufReader, Write as _},
    process::{Command, Stdio},
    time::Duration,
};

use ayaka_gateway::{GatewayEndpoint, InflateBackend, Shard, ShardConfig, ShardId, ShardMessage};
use ayaka_model::gateway::Encoding;
use ayaka_server::testing;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Shards per measurement (bounded; each is a socket on both sides).
const SHARDS: usize = 1_000;
/// The goal per idle connection.
const GOAL: u64 = 64 * 1024;
/// [`SHARDS`], or `AYAKA_MEMORY_SHARDS` (to profile with fewer).
fn shard_count() -> usize {
    std::env::var("AYAKA_MEMORY_SHARDS")
        .ok()
        .and_then(|count| count.parse().ok())
        .unwrap_or(SHARDS)
}

/// How long to wait for every shard to be ready.
const READY_WITHIN: Duration = Duration::from_secs(120);

/// Runs this binary again with `args`, its file limit raised to the hard
/// limit (1,000 sockets and more need it where the soft limit is 1,024).
fn spawn_self(args: &[&str]) -> std::process::Child {
    let exe = std::env::current_exe().unwrap();
    Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -n "$(ulimit -Hn)"; exec "$0" "$@""#)
        .arg(exe)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

fn read_line(reader: &mut impl BufRead) -> String {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    line.trim().to_owned()
}

/// `--serve`: the local server until stdin closes.
fn serve() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let server = testing::builder()
            .max_connections(100_000)
            .spawn()
            .await
            .unwrap();
        let user = testing::user_with_session(&server, "idle").await;
        println!("{}", server.gateway_url());
        println!("{}", user.session);
        tokio::task::spawn_blocking(|| std::io::stdin().read_line(&mut String::new()))
            .await
            .unwrap()
            .unwrap();
        server.shutdown().await;
    });
}

/// `--clients URL SESSION ENCODING`: opens the shards, reports, waits for
/// stdin to close. The encoding is `json` or `zlib/<inflate backend>`.
fn clients(url: &str, session: &str, encoding: &str) {
    let backend = InflateBackend::ALL
        .iter()
        .copied()
        .find(|backend| encoding.ends_with(backend.name()))
        .unwrap_or_default();
    let encoding = if encoding.starts_with("zlib") {
        Encoding::Zlib
    } else {
        Encoding::Json
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let config = ShardConfig::builder(session)
        .endpoint(GatewayEndpoint::Url(url.to_owned()))
        .encoding(encoding)
        .inflate_backend(backend)
        .build();
    runtime.block_on(async {
        // one shard first, so that what every process sets up once
        // (runtime, TLS roots, tables) is not counted per shard
        let mut warm = Shard::spawn(ShardId(u32::MAX), config.clone());
        ready(&mut warm).await;
        let pid = std::process::id().to_string();
        let rss_before = testing::rss_bytes_of(&pid);
        let region = Region::new(GLOBAL);
        let count = shard_count();
        let mut shards = Vec::with_capacity(count);
        for index in 0..count {
            shards.push(Shard::spawn(ShardId(index as u32), config.clone()));
        }
        let waiting = futures_util::future::join_all(shards.iter_mut().map(ready));
        tokio::time::timeout(READY_WITHIN, waiting).await.unwrap();
        let change = region.change();
        let heap = change
            .bytes_allocated
            .saturating_sub(change.bytes_deallocated) as u64;
        let rss = testing::rss_bytes_of(&pid).saturating_sub(rss_before);
        println!("{} {}", rss / count as u64, heap / count as u64);
        std::io::stdout().flush().unwrap();
        tokio::task::spawn_blocking(|| std::io::stdin().read_line(&mut String::new()))
            .await
            .unwrap()
            .unwrap();
        drop(shards);
        drop(warm);
    });
}

/// Reads a shard's messages until READY; then it is idle.
async fn ready(shard: &mut Shard) {
    while let Some(message) = shard.next_message().await {
        match message {
            ShardMessage::Ready { .. } => return,
            ShardMessage::Closed { error, .. } => panic!("shard closed: {error:?}"),
            _ => {}
        }
    }
    panic!("shard ended before READY");
}

fn figure(what: &str, bytes: u64) {
    println!(
        "ayaka-figure: gateway/memory | {what} | {bytes} B | goal: 64 KiB per idle connection | {GOAL} B"
    );
}

fn main() {
    if !cfg!(target_os = "linux") {
        println!("gateway_memory: skipped (reads RSS from /proc)");
        return;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--serve") => return serve(),
        Some("--clients") => return clients(&args[1], &args[2], &args[3]),
        _ => {}
    }
    for encoding in ["json", "zlib/miniz_oxide", "zlib/zlib-rs"] {
        let mut server = spawn_self(&["--serve"]);
        let mut server_out = BufReader::new(server.stdout.take().unwrap());
        let url = read_line(&mut server_out);
        let session = read_line(&mut server_out);
        let server_pid = server.id().to_string();
        // the server's own first connection, for the same reason as the
        // client's warm-up shard: counted in `before`
        let server_before = testing::rss_bytes_of(&server_pid);
        let mut client = spawn_self(&["--clients", &url, &session, encoding]);
        let mut client_out = BufReader::new(client.stdout.take().unwrap());
        let report = read_line(&mut client_out);
        let server_after = testing::rss_bytes_of(&server_pid);
        let mut figures = report.split(' ').map(|n| n.parse::<u64>().unwrap());
        let (client_rss, client_heap) = (figures.next().unwrap(), figures.next().unwrap());
        // +1: the client's warm-up shard connected after `server_before`
        let server_rss = server_after.saturating_sub(server_before) / (SHARDS as u64 + 1);
        figure(
            &format!("client RSS per idle {encoding} shard ({SHARDS} shards)"),
            client_rss,
        );
        figure(
            &format!("client heap per idle {encoding} shard ({SHARDS} shards)"),
            client_heap,
        );
        let server_encoding = encoding.split('/').next().unwrap_or(encoding);
        figure(
            &format!(
                "server RSS per idle {server_encoding} connection ({SHARDS} connections, beside {encoding} clients)"
            ),
            server_rss,
        );
        drop(client.stdin.take());
        client.wait().unwrap();
        drop(server.stdin.take());
        server.wait().unwrap();
    }
}
