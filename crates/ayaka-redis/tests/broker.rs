//! The event broker against a real redis-server: consumer groups, reclaim,
//! a bounded buffer while Redis is down, and commands to shards.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use ayaka_redis::broker::{Delivery, EventConsumer, StartAt};
use ayaka_redis::{Connection, ErrorKind, Namespace, RedisEventBroker};
use tokio::time::Instant;

fn broker(redis: Connection, namespace: Namespace) -> RedisEventBroker {
    RedisEventBroker::builder(redis, namespace).build().unwrap()
}

fn payload(i: usize) -> bytes::Bytes {
    format!(r#"{{"n":{i}}}"#).into()
}

/// Reads from `consumers` in turn until they got `total` events together.
async fn read_all(consumers: &[&EventConsumer], total: usize) -> Vec<Vec<Delivery>> {
    let mut got: Vec<Vec<Delivery>> = vec![Vec::new(); consumers.len()];
    let deadline = Instant::now() + Duration::from_secs(10);
    while got.iter().map(Vec::len).sum::<usize>() < total {
        assert!(Instant::now() < deadline, "events went missing");
        for (consumer, got) in consumers.iter().zip(&mut got) {
            // Small batches, so both consumers of a group get some.
            let batch = consumer.read(3, Duration::from_millis(50)).await.unwrap();
            let ids: Vec<String> = batch.iter().map(|d| d.id.clone()).collect();
            consumer.ack(&ids).await.unwrap();
            got.extend(batch);
        }
    }
    got
}

fn is_increasing(deliveries: &[Delivery]) -> bool {
    let key = |d: &Delivery| {
        let (ms, seq) = d.id.split_once('-').unwrap();
        (ms.parse::<u64>().unwrap(), seq.parse::<u64>().unwrap())
    };
    deliveries.windows(2).all(|w| key(&w[0]) < key(&w[1]))
}

#[tokio::test]
async fn groups_share_work_or_fan_out_and_keep_order() {
    let redis = redis_or_skip!("groups_share_work_or_fan_out_and_keep_order");
    let namespace = support::namespace("broker-groups");
    let publisher = broker(redis.connection(), namespace.clone());
    let consumers = broker(redis.connection(), namespace);
    let work_1 = consumers.consumer("work", "work-1").unwrap();
    let work_2 = consumers.consumer("work", "work-2").unwrap();
    let everything = consumers.consumer("all", "all-1").unwrap();
    for consumer in [&work_1, &work_2, &everything] {
        consumer.create_group(StartAt::Now).await.unwrap();
    }
    // Creating it again is fine.
    work_1.create_group(StartAt::Now).await.unwrap();

    const EVENTS: usize = 40;
    for i in 0..EVENTS {
        publisher.publish("MESSAGE", (i % 3) as u32, payload(i));
    }
    publisher.flush(Duration::from_secs(5)).await.unwrap();
    assert_eq!(publisher.stats().published, EVENTS as u64);

    // One group per service: each event to exactly one of its consumers.
    let shared = read_all(&[&work_1, &work_2], EVENTS).await;
    assert!(
        !shared[0].is_empty() && !shared[1].is_empty(),
        "the work was not shared"
    );
    let ids: BTreeSet<_> = shared.iter().flatten().map(|d| d.id.clone()).collect();
    assert_eq!(ids.len(), EVENTS, "an event went to both or to neither");
    assert!(shared.iter().all(|d| is_increasing(d)));

    // A group of its own: every event, in publishing order.
    let all = read_all(&[&everything], EVENTS).await.remove(0);
    let payloads: Vec<_> = all.iter().map(|d| d.event.data.clone()).collect();
    assert_eq!(payloads, (0..EVENTS).map(payload).collect::<Vec<_>>());
    assert_eq!(all[4].event.name, "MESSAGE");
    assert_eq!(all[4].event.shard, 1);
    assert_eq!(everything.pending().await.unwrap(), 0);
}

#[tokio::test]
async fn a_dead_consumers_entries_are_reclaimed() {
    let redis = redis_or_skip!("a_dead_consumers_entries_are_reclaimed");
    let broker = broker(redis.connection(), support::namespace("broker-reclaim"));
    let dead = broker.consumer("work", "dead").unwrap();
    let alive = broker.consumer("work", "alive").unwrap();
    dead.create_group(StartAt::Beginning).await.unwrap();
    for i in 0..5 {
        broker.publish("MESSAGE", 0, payload(i));
    }
    broker.flush(Duration::from_secs(5)).await.unwrap();
    let taken = dead.read(10, Duration::from_secs(1)).await.unwrap();
    assert_eq!(taken.len(), 5);
    assert_eq!(dead.pending().await.unwrap(), 5);
    // Nothing new for the live one, and nothing idle long enough yet.
    assert!(
        alive
            .read(10, Duration::from_millis(10))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        alive
            .reclaim(Duration::from_secs(60), 10)
            .await
            .unwrap()
            .is_empty()
    );

    tokio::time::sleep(Duration::from_millis(60)).await;
    let reclaimed = alive.reclaim(Duration::from_millis(50), 10).await.unwrap();
    assert_eq!(reclaimed, taken);
    assert_eq!(dead.pending().await.unwrap(), 0);
    let ids: Vec<_> = reclaimed.iter().map(|d| d.id.clone()).collect();
    assert_eq!(alive.ack(&ids).await.unwrap(), 5);
    assert_eq!(alive.pending().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_buffers_while_redis_is_down_and_drops_the_oldest() {
    let Some(redis) = support::own("publishing_buffers_while_redis_is_down_and_drops_the_oldest")
    else {
        return;
    };
    let connection = redis.connection().call_timeout(Duration::from_millis(200));
    let namespace = support::namespace("broker-buffer");
    let broker = RedisEventBroker::builder(connection.clone(), namespace.clone())
        .buffer(8)
        .build()
        .unwrap();
    broker.publish("MESSAGE", 0, payload(0));
    broker.flush(Duration::from_secs(5)).await.unwrap();

    redis.kill();
    for i in 1..=20 {
        broker.publish("MESSAGE", 0, payload(i));
    }
    let stats = broker.stats();
    assert_eq!((stats.buffered, stats.dropped), (8, 12), "{stats:?}");
    let error = broker.flush(Duration::from_millis(300)).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout);

    redis.restart().unwrap();
    broker.flush(Duration::from_secs(10)).await.unwrap();
    assert_eq!(broker.stats().published, 9);
    // The restarted (empty) server holds the newest 8, in order.
    let reader = broker.consumer("check", "check-1").unwrap();
    reader.create_group(StartAt::Beginning).await.unwrap();
    let events = reader.read(100, Duration::from_secs(1)).await.unwrap();
    let payloads: Vec<_> = events.iter().map(|d| d.event.data.clone()).collect();
    assert_eq!(payloads, (13..=20).map(payload).collect::<Vec<_>>());
}

#[tokio::test]
async fn the_stream_is_bounded() {
    let redis = redis_or_skip!("the_stream_is_bounded");
    let namespace = support::namespace("broker-bounded");
    let broker = RedisEventBroker::builder(redis.connection(), namespace.clone())
        .max_len(100)
        .build()
        .unwrap();
    for i in 0..2_000 {
        broker.publish("MESSAGE", 0, payload(i));
    }
    broker.flush(Duration::from_secs(10)).await.unwrap();
    let client = redis::Client::open(redis.url()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let len: u64 = redis::cmd("XLEN")
        .arg(format!("ayaka:v1:{{{namespace}}}:ev"))
        .query_async(&mut raw)
        .await
        .unwrap();
    // `MAXLEN ~` trims whole nodes: about the bound, never the history.
    assert!((100..=400).contains(&len), "{len}");
}

#[tokio::test]
async fn commands_reach_their_shard_only() {
    let redis = redis_or_skip!("commands_reach_their_shard_only");
    let broker = broker(redis.connection(), support::namespace("broker-commands"));
    broker.send_command(3, b"before").await.unwrap();
    let mut shard_3 = broker.commands(3).await.unwrap();
    let mut shard_4 = broker.commands(4).await.unwrap();
    for command in [&b"a"[..], b"b", b"c"] {
        broker.send_command(3, command).await.unwrap();
    }
    broker.send_command(4, b"other").await.unwrap();
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while got.len() < 3 {
        assert!(Instant::now() < deadline);
        got.extend(shard_3.read(10, Duration::from_millis(100)).await.unwrap());
    }
    assert_eq!(got, vec!["a", "b", "c"]);
    assert_eq!(
        shard_4.read(10, Duration::from_millis(100)).await.unwrap(),
        vec!["other"]
    );
    // Nothing more: a read that finds nothing returns empty after its block.
    assert!(
        shard_3
            .read(10, Duration::from_millis(20))
            .await
            .unwrap()
            .is_empty()
    );
}

#[test]
fn bad_names_and_bounds_are_refused() {
    let redis = Connection::open("unix:///nonexistent/r.sock").unwrap();
    let namespace = Namespace::new("config").unwrap();
    let broker = broker(redis.clone(), namespace.clone());
    for bad in ["", "has space", &"x".repeat(200)] {
        assert_eq!(
            broker.consumer(bad, "c").unwrap_err().kind(),
            ErrorKind::Config
        );
        assert_eq!(
            broker.consumer("g", bad).unwrap_err().kind(),
            ErrorKind::Config
        );
    }
    let zero = RedisEventBroker::builder(redis, namespace)
        .buffer(0)
        .build();
    assert_eq!(zero.unwrap_err().kind(), ErrorKind::Config);
}
