//! ayaka-gateway: events per second through one shard over loopback from
//! the local server (presence updates fanned out to a guild member), json
//! and zlib, against a bare tokio-tungstenite reader of the same events
//! that neither decompresses nor parses, in the same run.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use ayaka_gateway::{GatewayEndpoint, Shard, ShardConfig, ShardId, ShardMessage};
use ayaka_model::{
    PresenceType,
    gateway::{Encoding, EventKind},
    request::CreateGuild,
};
use ayaka_server::{Limit, Server, testing};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures_util::{SinkExt, StreamExt};
use tokio::runtime::Runtime;
use tokio_tungstenite::tungstenite::Message;

/// Events per iteration (bounded).
const EVENTS: usize = 500;

struct Setup {
    server: Server,
    watcher: String,
    sender: Shard,
}

async fn setup() -> Setup {
    let server = testing::builder()
        .client_message_limit(Limit::per_second(1_000_000))
        .queue_capacity(1 << 16)
        .spawn()
        .await
        .unwrap();
    let rest = |session: &str| {
        ayaka_http::Client::builder()
            .base_url(server.rest_url())
            .session(session)
            .build()
            .unwrap()
    };
    let watcher_session = testing::user_with_session(&server, "watcher").await.session;
    let sender_session = testing::user_with_session(&server, "sender").await.session;
    let watcher_rest = rest(&watcher_session);
    let guild = watcher_rest
        .create_guild(&CreateGuild::new("bench"))
        .await
        .unwrap();
    let invite = watcher_rest.create_invite(guild.id).await.unwrap();
    rest(&sender_session)
        .join_invite(&invite.code)
        .await
        .unwrap();

    let config = ShardConfig::builder(sender_session)
        .endpoint(GatewayEndpoint::Url(server.gateway_url()))
        .send_limit(u32::MAX, Duration::from_secs(1), 0)
        .command_queue(EVENTS)
        .build();
    let mut sender = Shard::spawn(ShardId(1000), config);
    wait_ready(&mut sender).await;
    Setup {
        server,
        watcher: watcher_session,
        sender,
    }
}

async fn wait_ready(shard: &mut Shard) {
    while let Some(message) = shard.next_message().await {
        if matches!(message, ShardMessage::Ready { .. }) {
            return;
        }
    }
    panic!("shard ended before READY");
}

fn e2e(c: &mut Criterion) {
    let runtime = Runtime::new().unwrap();
    let Setup {
        server,
        watcher,
        mut sender,
    } = runtime.block_on(setup());
    // the sender hears its own updates too: drain them
    let drain = runtime.spawn(async move {
        let handle = sender.handle().clone();
        let drainer = tokio::spawn(async move { while sender.next_message().await.is_some() {} });
        (handle, drainer)
    });
    let (sender, drainer) = runtime.block_on(drain).unwrap();
    let sender_shard = sender;

    let mut group = c.benchmark_group("gateway_e2e");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.measurement_time(Duration::from_secs(5));
    group.sample_size(10);

    for encoding in [Encoding::Json, Encoding::Zlib] {
        let config = ShardConfig::builder(watcher.clone())
            .endpoint(GatewayEndpoint::Url(server.gateway_url()))
            .encoding(encoding)
            .build();
        let mut shard = runtime.block_on(async {
            let mut shard = Shard::spawn(ShardId(0), config);
            wait_ready(&mut shard).await;
            shard
        });
        group.bench_function(format!("shard_{}", encoding.as_str()), |b| {
            b.iter_custom(|iters| {
                rounds(&runtime, iters, &sender_shard, async || {
                    let mut received = 0;
                    while received < EVENTS {
                        let event = shard.next_event().await.unwrap().unwrap();
                        if event.kind() == EventKind::PresenceUpdate {
                            received += 1;
                        }
                    }
                })
            });
        });
        runtime.block_on(shard.close());
    }

    let (mut raw, _) = runtime
        .block_on(tokio_tungstenite::connect_async(server.gateway_url()))
        .unwrap();
    runtime
        .block_on(raw.send(Message::text(format!(r#"{{"session_id":"{watcher}"}}"#))))
        .unwrap();
    group.bench_function("baseline_raw_websocket_json", |b| {
        b.iter_custom(|iters| {
            rounds(&runtime, iters, &sender_shard, async || {
                let mut received = 0;
                while received < EVENTS {
                    if let Message::Text(text) = raw.next().await.unwrap().unwrap()
                        && text.contains("PRESENCE_UPDATE")
                    {
                        received += 1;
                    }
                }
            })
        });
    });
    group.finish();
    runtime.block_on(async {
        sender_shard.request_close();
        let _ = drainer.await;
        server.shutdown().await;
    });
}

/// How long `iters` rounds take, each [`EVENTS`] presence updates sent
/// through `sender` while `receive` takes them in.
fn rounds(
    runtime: &Runtime,
    iters: u64,
    sender: &ayaka_gateway::ShardHandle,
    mut receive: impl AsyncFnMut(),
) -> Duration {
    runtime.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            tokio::join!(send_shard(sender), receive());
        }
        start.elapsed()
    })
}

async fn send_shard(sender: &ayaka_gateway::ShardHandle) {
    for i in 0..EVENTS {
        let kind = if i % 2 == 0 {
            PresenceType::Online
        } else {
            PresenceType::Idle
        };
        sender
            .update_presence(ayaka_model::Presence::new(kind))
            .await
            .unwrap();
    }
}

criterion_group!(benches, e2e);
criterion_main!(benches);
