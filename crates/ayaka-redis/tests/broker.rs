//! The event broker against a real redis-server: consumer groups, reclaim,
//! a bounded buffer while Redis is down, and commands to shards.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use ayaka_gateway::ShardId;
use ayaka_model::gateway::ClientCommand;
use ayaka_model::{Presence, PresenceType};
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

fn presence(text: &str) -> ClientCommand {
    ClientCommand::PresenceUpdate(Presence::new(PresenceType::Idle).description(text))
}

#[tokio::test]
async fn commands_reach_their_shard_only() {
    let redis = redis_or_skip!("commands_reach_their_shard_only");
    let broker = broker(redis.connection(), support::namespace("broker-commands"));
    broker
        .send_command(ShardId(3), &presence("before"))
        .await
        .unwrap();
    let mut shard_3 = broker.commands(ShardId(3)).await.unwrap();
    let mut shard_4 = broker.commands(ShardId(4)).await.unwrap();
    for text in ["a", "b", "c"] {
        broker
            .send_command(ShardId(3), &presence(text))
            .await
            .unwrap();
    }
    // Junk is skipped, never an error that wedges the reader.
    broker
        .send_raw_command(ShardId(3), b"not a command")
        .await
        .unwrap();
    broker
        .send_command(ShardId(3), &ClientCommand::Heartbeat)
        .await
        .unwrap();
    broker
        .send_command(ShardId(4), &presence("other"))
        .await
        .unwrap();
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while got.len() < 4 {
        assert!(Instant::now() < deadline);
        got.extend(shard_3.read(10, Duration::from_millis(100)).await.unwrap());
    }
    assert_eq!(
        got,
        vec![
            presence("a"),
            presence("b"),
            presence("c"),
            ClientCommand::Heartbeat
        ]
    );
    assert_eq!(
        shard_4.read(10, Duration::from_millis(100)).await.unwrap(),
        vec![presence("other")]
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

/// Events the multi-process test publishes.
const EVENTS: usize = 300;
/// Of which the dying consumer takes some of the first batch.
const FIRST_BATCH: usize = 10;

fn number(delivery: &Delivery) -> usize {
    let text = std::str::from_utf8(&delivery.event.data).unwrap();
    text.trim_start_matches(r#"{"n":"#)
        .trim_end_matches('}')
        .parse()
        .unwrap()
}

/// In a child: a consumer that reads and acknowledges (and takes over what
/// a dead consumer of its group left), telling the parent every event.
fn live_consumer(group: &str, name: &str) {
    support::current_thread().block_on(async {
        let (redis, namespace) = support::child_redis();
        let consumer = broker(redis, namespace).consumer(group, name).unwrap();
        support::tell_parent("reading");
        loop {
            let read = consumer.read(7, Duration::from_millis(100)).await.unwrap();
            let reclaimed = consumer
                .reclaim(Duration::from_millis(300), 100)
                .await
                .unwrap();
            for (how, batch) in [("got", &read), ("reclaimed", &reclaimed)] {
                for delivery in batch {
                    support::tell_parent(&format!("{how} {}", number(delivery)));
                }
                let ids: Vec<String> = batch.iter().map(|d| d.id.clone()).collect();
                consumer.ack(&ids).await.unwrap();
            }
        }
    });
}

/// In a child: reads a few events, never acknowledges them, and waits to
/// be killed.
fn dying_consumer() {
    support::current_thread().block_on(async {
        let (redis, namespace) = support::child_redis();
        let consumer = broker(redis, namespace).consumer("work", "dying").unwrap();
        let taken = consumer.read(5, Duration::from_secs(5)).await.unwrap();
        let numbers: Vec<String> = taken.iter().map(|d| number(d).to_string()).collect();
        support::tell_parent(&format!("took {}", numbers.join(",")));
        std::future::pending::<()>().await;
    });
}

/// What the parent heard from one consumer: events read in order, and
/// events taken over from a dead consumer.
#[derive(Default)]
struct Heard {
    got: Vec<usize>,
    reclaimed: Vec<usize>,
}

impl Heard {
    fn listen(&mut self, child: &support::ChildTest) -> bool {
        let Some(line) = child.next_line(Duration::from_millis(10)) else {
            return false;
        };
        let (how, n) = line.split_once(' ').unwrap();
        let n = n.parse().unwrap();
        match how {
            "got" => self.got.push(n),
            "reclaimed" => self.reclaimed.push(n),
            other => panic!("unexpected line {other}"),
        }
        true
    }
}

#[test]
fn consumers_in_other_processes_get_every_event_and_take_over_a_dead_ones() {
    const NAME: &str = "consumers_in_other_processes_get_every_event_and_take_over_a_dead_ones";
    match support::child_role().as_deref() {
        Some("dying") => return dying_consumer(),
        Some(role) => {
            let (group, name) = role.split_once('/').unwrap();
            return live_consumer(group, name);
        }
        None => {}
    }
    let redis = redis_or_skip!(NAME);
    let namespace = support::namespace("broker-processes");
    let runtime = support::current_thread();
    let publisher = broker(redis.connection(), namespace.clone());
    runtime.block_on(async {
        for group in ["work", "all"] {
            let consumer = publisher.consumer(group, "setup").unwrap();
            consumer.create_group(StartAt::Beginning).await.unwrap();
        }
        for i in 0..FIRST_BATCH {
            publisher.publish("MESSAGE", (i % 2) as u32, payload(i));
        }
        publisher.flush(Duration::from_secs(5)).await.unwrap();
    });
    // The dying consumer of "work" takes the first 5 and never acknowledges.
    let mut dying = support::ChildTest::spawn(NAME, "dying", redis, &namespace);
    let line = dying.next_line(Duration::from_secs(30)).expect("took");
    assert_eq!(line, "took 0,1,2,3,4");
    dying.kill();

    // Two live consumers in "work", one in "all", each a process.
    let children: Vec<_> = ["work/work-1", "work/work-2", "all/all-1"]
        .iter()
        .map(|role| support::ChildTest::spawn(NAME, role, redis, &namespace))
        .collect();
    for child in &children {
        child.expect_line("reading", Duration::from_secs(30));
    }
    runtime.block_on(async {
        for i in FIRST_BATCH..EVENTS {
            publisher.publish("MESSAGE", (i % 2) as u32, payload(i));
        }
        publisher.flush(Duration::from_secs(10)).await.unwrap();
    });

    let mut heard: Vec<Heard> = (0..children.len()).map(|_| Heard::default()).collect();
    let total = |heard: &[Heard]| -> (usize, usize) {
        let work = heard[..2]
            .iter()
            .map(|h| h.got.len() + h.reclaimed.len())
            .sum();
        (work, heard[2].got.len() + heard[2].reclaimed.len())
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while total(&heard) != (EVENTS, EVENTS) {
        assert!(
            std::time::Instant::now() < deadline,
            "events went missing: {:?} of {EVENTS} each",
            total(&heard)
        );
        for (child, heard) in children.iter().zip(&mut heard) {
            while heard.listen(child) {}
        }
    }

    // "work": every event once, shared, the dead consumer's taken over.
    let mut work: Vec<usize> = heard[..2]
        .iter()
        .flat_map(|h| h.got.iter().chain(&h.reclaimed).copied())
        .collect();
    work.sort_unstable();
    assert_eq!(work, (0..EVENTS).collect::<Vec<_>>());
    assert!(heard[..2].iter().all(|h| !h.got.is_empty()), "not shared");
    let mut reclaimed: Vec<usize> = heard[..2]
        .iter()
        .flat_map(|h| h.reclaimed.iter().copied())
        .collect();
    reclaimed.sort_unstable();
    assert_eq!(reclaimed, [0, 1, 2, 3, 4]);
    // Order kept: each consumer reads in publishing order...
    for h in &heard {
        assert!(h.got.windows(2).all(|w| w[0] < w[1]), "out of order");
    }
    // ...and a group of its own gets everything, in order.
    assert_eq!(heard[2].got, (0..EVENTS).collect::<Vec<_>>());
    assert!(heard[2].reclaimed.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_reads_on_after_redis_restarted_empty() {
    let Some(redis) = support::own("a_consumer_reads_on_after_redis_restarted_empty") else {
        return;
    };
    let connection = redis.connection().call_timeout(Duration::from_millis(200));
    let broker = broker(connection, support::namespace("broker-restart"));
    let consumer = broker.consumer("work", "work-1").unwrap();
    consumer.create_group(StartAt::Now).await.unwrap();
    broker.publish("MESSAGE", 0, payload(0));
    broker.flush(Duration::from_secs(5)).await.unwrap();
    let first = consumer.read(10, Duration::from_secs(1)).await.unwrap();
    assert_eq!(first.len(), 1);

    // The group (and the stream) are gone with the restart.
    redis.restart().unwrap();
    broker.publish("MESSAGE", 0, payload(1));
    broker.flush(Duration::from_secs(10)).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let after = loop {
        assert!(Instant::now() < deadline, "the consumer never read again");
        // The first calls may fail while the connection is re-established.
        match consumer.read(10, Duration::from_millis(200)).await {
            Ok(batch) if !batch.is_empty() => break batch,
            Ok(_) | Err(_) => {}
        }
    };
    let payloads: Vec<_> = after.iter().map(|d| d.event.data.clone()).collect();
    assert_eq!(payloads, [payload(1)]);
}
