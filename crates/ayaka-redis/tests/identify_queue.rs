//! `RedisIdentifyQueue` under real shards against the local server: shards
//! split over real child processes (the test binary re-run with `--exact`)
//! take turns to identify, as the server sees it; a killed holder's turn
//! frees the slot; and while Redis is down nobody identifies.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use ayaka_gateway::{
    GatewayEndpoint, ShardAssignment, ShardConfig, ShardId, ShardManager, ShardMessage,
};
use ayaka_model::gateway::Event;
use ayaka_redis::{Connection, Namespace, RedisIdentifyLeases, RedisIdentifyQueue};
use ayaka_server::{Server, testing};
use support::ChildTest;

/// Comma-separated session ids of the deployment, for the children.
const SESSIONS_ENV: &str = "AYAKA_TEST_SESSIONS";
/// The local server's `/available` URL.
const AVAILABLE_ENV: &str = "AYAKA_TEST_AVAILABLE";
/// Which process of the deployment a child is.
const PROCESS_ENV: &str = "AYAKA_TEST_PROCESS";
/// A gateway URL that accepts TCP connections and never answers.
const BLACK_HOLE_ENV: &str = "AYAKA_TEST_BLACK_HOLE";

const PROCESSES: u32 = 3;
const CONNECTIONS_PER_SESSION: usize = 2;

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The parent's runtime: the local server runs on its workers while the
/// test's thread waits for the children.
fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn leases(redis: Connection, namespace: Namespace, lease: Duration) -> RedisIdentifyLeases {
    RedisIdentifyLeases::builder(redis, namespace)
        .capacity(1)
        .lease(lease)
        .retry_interval(Duration::from_millis(500))
        .build()
        .unwrap()
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("the parent sets {name}"))
}

/// Waits until every shard of `manager` is READY; their ids.
async fn wait_ready(manager: &mut ShardManager) -> BTreeSet<ShardId> {
    let mut ready = BTreeSet::new();
    let wait = async {
        while ready.len() < manager.len() {
            match manager.next_message().await {
                Some(ShardMessage::Event(received))
                    if matches!(received.event, Event::Ready(_)) =>
                {
                    ready.insert(received.shard_id);
                }
                Some(ShardMessage::Closed { shard_id, error }) => {
                    panic!("{shard_id} closed: {error:?}")
                }
                Some(_) => {}
                None => panic!("the manager ended"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .expect("every shard READY within 30 s");
    ready
}

/// In a child: rounds of "wait for go, run this process's share of the
/// deployment until READY, close it". `queue` is `redis` or, for the
/// control, `local` (a queue of its own per process).
fn run_share(queue: &str) {
    current_thread().block_on(async {
        let sessions: Vec<String> = env(SESSIONS_ENV).split(',').map(str::to_owned).collect();
        let process: u32 = env(PROCESS_ENV).parse().unwrap();
        let (redis, namespace) = support::child_redis();
        let leases = leases(redis, namespace, Duration::from_secs(30));
        for round in 0.. {
            support::tell_parent(&format!("waiting {round}"));
            support::wait_for_go(round).await;
            let template = ShardConfig::builder("unused")
                // `/available` is asked under the identify turn, as in
                // production.
                .endpoint(GatewayEndpoint::Available(env(AVAILABLE_ENV)))
                .build();
            let builder = ShardManager::builder(template)
                .sessions(sessions.iter().cloned())
                .connections_per_session(CONNECTIONS_PER_SESSION)
                .assignment(ShardAssignment::process(process, PROCESSES));
            let mut manager = match queue {
                "redis" => builder
                    .identify_queue(Arc::new(RedisIdentifyQueue::new(leases.clone())))
                    .spawn(),
                _ => builder.identify_concurrency(1).spawn(),
            };
            let ready = wait_ready(&mut manager).await;
            manager.close_all().await;
            let ids: Vec<String> = ready.iter().map(|id| id.0.to_string()).collect();
            support::tell_parent(&format!("ready {round} {}", ids.join(",")));
        }
    });
}

/// The parent: 3 processes × 2 shards (3 sessions × 2 connections) against
/// one local server, up to `rounds` rounds of everyone identifying at once;
/// with `until_overlap`, stops at the first round the server saw two
/// identifies at once. Returns the server's `identifying_peak`.
fn deployment(test: &str, queue: &str, rounds: u32, until_overlap: bool) -> Option<usize> {
    let redis = support::shared(test)?;
    let runtime = multi_thread();
    let server = runtime.block_on(testing::server());
    let mut sessions = Vec::new();
    for n in 0..PROCESSES {
        let user = runtime.block_on(testing::user_with_session(&server, &format!("p{n}")));
        sessions.push(user.session);
    }
    let sessions = sessions.join(",");
    let namespace = support::namespace(test);
    let children: Vec<ChildTest> = (0..PROCESSES)
        .map(|process| {
            let process = process.to_string();
            let env = [
                (SESSIONS_ENV, sessions.as_str()),
                (AVAILABLE_ENV, &server.available_url()),
                (PROCESS_ENV, process.as_str()),
            ];
            ChildTest::spawn_with(test, queue, redis, &namespace, &env)
        })
        .collect();
    for round in 0..rounds {
        for child in &children {
            child.expect_line(&format!("waiting {round}"), Duration::from_secs(60));
        }
        runtime.block_on(support::release_children(
            redis,
            &namespace,
            children.len(),
            round,
        ));
        for (process, child) in children.iter().enumerate() {
            // Process p runs session p's two connections.
            let first = process * CONNECTIONS_PER_SESSION;
            let expected = format!("ready {round} {first},{}", first + 1);
            child.expect_line(&expected, Duration::from_secs(60));
        }
        if until_overlap && server.stats().identifying_peak > 1 {
            eprintln!("{test}: overlap in round {round}");
            break;
        }
    }
    let peak = server.stats().identifying_peak;
    drop(children);
    runtime.block_on(server.shutdown());
    Some(peak)
}

#[test]
fn three_processes_of_two_shards_never_identify_at_once() {
    const NAME: &str = "three_processes_of_two_shards_never_identify_at_once";
    if let Some(queue) = support::child_role() {
        return run_share(&queue);
    }
    let Some(peak) = deployment(NAME, "redis", 3, false) else {
        return;
    };
    // 18 identifies from 3 processes started together, one at a time.
    assert_eq!(peak, 1, "the server saw {peak} identifies at once");
}

#[test]
fn the_control_with_a_queue_per_process_identifies_at_once() {
    const NAME: &str = "the_control_with_a_queue_per_process_identifies_at_once";
    if let Some(queue) = support::child_role() {
        return run_share(&queue);
    }
    let Some(peak) = deployment(NAME, "local", 20, true) else {
        return;
    };
    // Each process takes turns with itself only: the server sees overlap,
    // which the test above would have caught.
    assert!(
        peak > 1,
        "the control never overlapped: the test proves nothing"
    );
}

/// In a child: a shard whose connection never completes holds its turn
/// until the process is killed.
fn holder() {
    current_thread().block_on(async {
        let (redis, namespace) = support::child_redis();
        let leases = leases(redis, namespace, Duration::from_secs(2));
        let config = ShardConfig::builder("unused")
            .endpoint(GatewayEndpoint::Url(env(BLACK_HOLE_ENV)))
            .connect_timeout(Duration::from_secs(120))
            .identify_queue(Arc::new(RedisIdentifyQueue::new(leases.clone())))
            .build();
        let _shard = ayaka_gateway::Shard::spawn(ShardId(0), config);
        while leases.held().await.unwrap() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        support::tell_parent("holding");
        std::future::pending::<()>().await;
    });
}

/// In a child: a shard against the local server, waiting for its turn.
fn waiter() {
    current_thread().block_on(async {
        let (redis, namespace) = support::child_redis();
        let leases = leases(redis, namespace, Duration::from_secs(2));
        let template = ShardConfig::builder(env(SESSIONS_ENV))
            .endpoint(GatewayEndpoint::Available(env(AVAILABLE_ENV)))
            .build();
        support::tell_parent("waiting");
        let mut manager = ShardManager::builder(template)
            .identify_queue(Arc::new(RedisIdentifyQueue::new(leases)))
            .spawn();
        wait_ready(&mut manager).await;
        support::tell_parent("ready");
        manager.close_all().await;
    });
}

#[test]
fn a_killed_holders_turn_frees_the_slot() {
    const NAME: &str = "a_killed_holders_turn_frees_the_slot";
    match support::child_role().as_deref() {
        Some("holder") => return holder(),
        Some(_) => return waiter(),
        None => {}
    }
    let redis = redis_or_skip!(NAME);
    let runtime = multi_thread();
    let server = runtime.block_on(testing::server());
    let user = runtime.block_on(testing::user_with_session(&server, "waiter"));
    // Accepts TCP connections (the kernel does) and never answers.
    let black_hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let black_hole_url = format!("ws://{}", black_hole.local_addr().unwrap());
    let namespace = support::namespace("queue-killed");
    let env = [
        (BLACK_HOLE_ENV, black_hole_url.as_str()),
        (SESSIONS_ENV, user.session.as_str()),
        (AVAILABLE_ENV, &server.available_url()),
    ];
    let mut holder = ChildTest::spawn_with(NAME, "holder", redis, &namespace, &env);
    holder.expect_line("holding", Duration::from_secs(30));
    let held_at = std::time::Instant::now();
    let mut waiter = ChildTest::spawn_with(NAME, "waiter", redis, &namespace, &env);
    waiter.expect_line("waiting", Duration::from_secs(30));
    holder.kill();
    waiter.expect_line("ready", Duration::from_secs(20));
    let waited = held_at.elapsed();
    // Not before the dead holder's 2 s lease ran out.
    assert!(waited >= Duration::from_millis(1_500), "{waited:?}");
    assert!(waiter.wait(Duration::from_secs(10)), "the waiter failed");
    assert_eq!(server.stats().identifying_peak, 1);
    runtime.block_on(server.shutdown());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_identifies_while_redis_is_down() {
    let Some(redis) = support::own("nobody_identifies_while_redis_is_down") else {
        return;
    };
    let server: Server = testing::server().await;
    let user = testing::user_with_session(&server, "patient").await;
    let connection = redis.connection().call_timeout(Duration::from_millis(200));
    let leases = leases(
        connection,
        support::namespace("queue-down"),
        Duration::from_secs(30),
    );
    redis.kill();
    let template = ShardConfig::builder(user.session.clone())
        .endpoint(GatewayEndpoint::Available(server.available_url()))
        .build();
    let mut manager = ShardManager::builder(template)
        .identify_queue(Arc::new(RedisIdentifyQueue::new(leases)))
        .spawn();
    // Fail closed: the shard waits for its turn, it does not connect. (A
    // bounded look at nothing happening: there is no event to await.)
    let early = tokio::time::timeout(Duration::from_secs(1), manager.next_message()).await;
    assert!(early.is_err(), "the shard reported {early:?} without redis");
    let stats = server.stats();
    assert_eq!((stats.connections, stats.identifying_peak), (0, 0));

    redis.restart().unwrap();
    let ready = wait_ready(&mut manager).await;
    assert_eq!(ready.into_iter().collect::<Vec<_>>(), [ShardId(0)]);
    manager.close_all().await;
    server.shutdown().await;
}
