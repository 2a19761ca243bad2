//! ayaka-redis: what sharing costs, against a redis-server this bench
//! starts itself (Unix socket, in a temporary directory).
//!
//! - Permits: acquire and complete one through `RedisRateLimiter` (two
//!   script calls, one of them in the background) against the in-memory
//!   limiter as the baseline, with 1 caller and with 64 callers on one
//!   bucket (and one `PING` round trip, for scale). The bucket's limit never
//!   bites, so every permit takes the full path (learned bucket, lease,
//!   window accounting).
//! - Events per second through the broker: publishing (`publish` + `flush`)
//!   against the same `XADD ... MAXLEN ~` pipelined by hand with redis-rs,
//!   and consuming through a group (`read` + `ack`) against hand-written
//!   `XREADGROUP` + `XACK`.
//!
//! Without a `redis-server` on `PATH` (or at `AYAKA_REDIS_SERVER`) the
//! bench says so and measures nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use ayaka_benches::limiter::{CONTENDED, permit, runtime};
use ayaka_http::ratelimit::{InMemoryRateLimiter, RateLimitHeaders, RateLimiter};
use ayaka_redis::broker::StartAt;
use ayaka_redis::testing::TestRedis;
use ayaka_redis::{Namespace, RedisEventBroker, RedisRateLimiter};
use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group};
use redis::aio::MultiplexedConnection;
use tokio::task::JoinSet;

/// Events per broker iteration.
const EVENTS: usize = 1_000;
/// About how many events a stream keeps, for ours and the baseline alike.
const MAX_LEN: usize = 100_000;

fn start_redis() -> Option<TestRedis> {
    match TestRedis::start() {
        Ok(redis) => Some(redis),
        Err(error) => {
            eprintln!("redis bench: no redis-server ({error}); nothing measured");
            None
        }
    }
}

/// Headers of a bucket whose limit never bites; durations only, so every
/// window is placed by its first response.
fn headers() -> Arc<RateLimitHeaders> {
    Arc::new(RateLimitHeaders {
        bucket: Some("LIMITER/127.0.0.1/users.me/4294967295/1/second".into()),
        limit: Some(u32::MAX),
        remaining: Some(u32::MAX - 1),
        reset_after: Some(1.0),
        retry_after: Some(0.0),
        ..RateLimitHeaders::default()
    })
}

async fn permits_at_once(limiter: &Arc<dyn RateLimiter>, headers: &Arc<RateLimitHeaders>) {
    let mut tasks = JoinSet::new();
    for _ in 0..CONTENDED {
        let (limiter, headers) = (Arc::clone(limiter), Arc::clone(headers));
        tasks.spawn(async move { permit(limiter.as_ref(), &headers).await });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
}

fn permits(c: &mut Criterion) {
    let Some(redis) = start_redis() else { return };
    let rt = runtime();
    let headers = headers();
    let memory: Arc<dyn RateLimiter> = Arc::new(InMemoryRateLimiter::new());
    let shared: Arc<dyn RateLimiter> = Arc::new(
        RedisRateLimiter::builder(redis.connection(), Namespace::new("bench-permits").unwrap())
            .build(),
    );
    let raw = rt.block_on(raw_connection(&redis));
    // Learn the bucket (the first permit is the route's blind request).
    rt.block_on(async {
        for limiter in [&memory, &shared] {
            for _ in 0..3 {
                permit(limiter.as_ref(), &headers).await;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    });

    let mut group = c.benchmark_group("redis/permit");
    group.throughput(Throughput::Elements(1));
    group.bench_function("baseline: in-memory limiter", |b| {
        b.to_async(&rt).iter(|| permit(memory.as_ref(), &headers));
    });
    group.bench_function("redis limiter, unix socket", |b| {
        b.to_async(&rt).iter(|| permit(shared.as_ref(), &headers));
    });
    // What one round trip to this redis-server costs, for scale: a permit
    // is one round trip plus a completion in the background.
    group.bench_function("reference: one PING round trip", |b| {
        b.to_async(&rt).iter(|| {
            let mut raw = raw.clone();
            async move {
                let _: String = redis::cmd("PING").query_async(&mut raw).await.unwrap();
            }
        });
    });
    group.finish();

    let mut group = c.benchmark_group("redis/permit_64_way");
    group.throughput(Throughput::Elements(CONTENDED));
    group.bench_function("baseline: in-memory limiter", |b| {
        b.to_async(&rt).iter(|| permits_at_once(&memory, &headers));
    });
    group.bench_function("redis limiter, unix socket", |b| {
        b.to_async(&rt).iter(|| permits_at_once(&shared, &headers));
    });
    group.finish();
    drop(rt);
}

/// A gateway event of a realistic size (a message with an author).
fn event_json(i: usize) -> Bytes {
    Bytes::from(format!(
        r#"{{"t":"MESSAGE_CREATE","d":{{"id":{i},"channel_id":1200000000000000001,"guild_id":1100000000000000001,"author":{{"id":1000000000000000042,"username":"someone","separator":42}},"content":"hello there, this is message number {i}","created_at":"2024-05-01T12:00:00Z"}}}}"#
    ))
}

async fn raw_connection(redis: &TestRedis) -> MultiplexedConnection {
    let client = redis::Client::open(redis.url()).unwrap();
    client.get_multiplexed_async_connection().await.unwrap()
}

/// The baseline publisher: the broker's `XADD`s, pipelined by hand.
async fn raw_publish(connection: &mut MultiplexedConnection, stream: &str, events: &[Bytes]) {
    // In batches of the broker's default size, as it writes them.
    for batch in events.chunks(256) {
        let mut pipe = redis::pipe();
        for (i, data) in batch.iter().enumerate() {
            pipe.cmd("XADD")
                .arg(stream)
                .arg("MAXLEN")
                .arg("~")
                .arg(MAX_LEN)
                .arg("*")
                .arg("t")
                .arg("MESSAGE_CREATE")
                .arg("s")
                .arg(i % 4)
                .arg("d")
                .arg(data.as_ref())
                .ignore();
        }
        pipe.query_async::<()>(connection).await.unwrap();
    }
}

/// The baseline consumer: `XREADGROUP` and `XACK` by hand, until `count`.
async fn raw_consume(connection: &mut MultiplexedConnection, stream: &str, count: usize) {
    let mut read = 0;
    while read < count {
        let reply: redis::streams::StreamReadReply = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg("bench")
            .arg("bench-1")
            .arg("COUNT")
            .arg(256)
            .arg("STREAMS")
            .arg(stream)
            .arg(">")
            .query_async(connection)
            .await
            .unwrap();
        let ids: Vec<String> = reply
            .keys
            .iter()
            .flat_map(|key| key.ids.iter().map(|entry| entry.id.clone()))
            .collect();
        read += ids.len();
        if !ids.is_empty() {
            let _: u64 = redis::cmd("XACK")
                .arg(stream)
                .arg("bench")
                .arg(&ids)
                .query_async(connection)
                .await
                .unwrap();
        }
    }
}

fn broker(c: &mut Criterion) {
    let Some(redis) = start_redis() else { return };
    let rt = runtime();
    let events: Vec<Bytes> = (0..EVENTS).map(event_json).collect();
    let broker =
        RedisEventBroker::builder(redis.connection(), Namespace::new("bench-ours").unwrap())
            .max_len(MAX_LEN)
            .build()
            .unwrap();
    let consumer = broker.consumer("bench", "bench-1").unwrap();
    let raw_stream = "ayaka:v1:{bench-raw}:ev";
    let mut raw = rt.block_on(async {
        consumer.create_group(StartAt::Now).await.unwrap();
        let mut raw = raw_connection(&redis).await;
        let _: () = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(raw_stream)
            .arg("bench")
            .arg("$")
            .arg("MKSTREAM")
            .query_async(&mut raw)
            .await
            .unwrap();
        raw
    });

    let mut group = c.benchmark_group("redis/broker_publish");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.sample_size(30);
    group.bench_function("baseline: XADD pipelined with redis-rs", |b| {
        b.to_async(&rt).iter(|| {
            let (mut raw, events) = (raw.clone(), &events);
            async move { raw_publish(&mut raw, raw_stream, events).await }
        });
    });
    group.bench_function("RedisEventBroker publish + flush", |b| {
        b.to_async(&rt).iter(|| async {
            for (i, data) in events.iter().enumerate() {
                broker.publish("MESSAGE_CREATE", (i % 4) as u32, data.clone());
            }
            broker.flush(Duration::from_secs(30)).await.unwrap();
        });
    });
    group.finish();

    // Both groups have read everything published so far.
    rt.block_on(async {
        while !consumer
            .read(10_000, Duration::from_millis(1))
            .await
            .unwrap()
            .is_empty()
        {}
        let pending: usize = redis::cmd("XLEN")
            .arg(raw_stream)
            .query_async(&mut raw)
            .await
            .unwrap();
        raw_consume(&mut raw, raw_stream, pending.min(MAX_LEN)).await;
    });

    let mut group = c.benchmark_group("redis/broker_consume");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.sample_size(30);
    group.bench_function("baseline: XREADGROUP + XACK with redis-rs", |b| {
        b.to_async(&rt).iter_custom(|iterations| {
            let (mut raw, events) = (raw.clone(), &events);
            async move {
                let mut spent = Duration::ZERO;
                for _ in 0..iterations {
                    raw_publish(&mut raw, raw_stream, events).await;
                    let start = Instant::now();
                    raw_consume(&mut raw, raw_stream, EVENTS).await;
                    spent += start.elapsed();
                }
                spent
            }
        });
    });
    group.bench_function("EventConsumer read + ack", |b| {
        b.to_async(&rt).iter_custom(|iterations| {
            let (broker, consumer, events) = (&broker, &consumer, &events);
            async move {
                let mut spent = Duration::ZERO;
                for _ in 0..iterations {
                    for (i, data) in events.iter().enumerate() {
                        broker.publish("MESSAGE_CREATE", (i % 4) as u32, data.clone());
                    }
                    broker.flush(Duration::from_secs(30)).await.unwrap();
                    let start = Instant::now();
                    let mut read = 0;
                    while read < EVENTS {
                        let batch = consumer
                            .read(256, Duration::from_millis(100))
                            .await
                            .unwrap();
                        let ids: Vec<String> = batch.iter().map(|d| d.id.clone()).collect();
                        consumer.ack(&ids).await.unwrap();
                        read += batch.len();
                    }
                    spent += start.elapsed();
                }
                spent
            }
        });
    });
    group.finish();
    drop(rt);
}

criterion_group!(benches, permits, broker);

fn main() {
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
