//! Identify leases against a real redis-server, in one process and across
//! real child processes (the test binary re-run with `--exact`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use ayaka_redis::{Connection, ErrorKind, Namespace, RedisIdentifyLeases};
use support::ChildTest;
use tokio::time::Instant;

fn leases(
    redis: Connection,
    namespace: Namespace,
    capacity: u32,
    lease: Duration,
) -> RedisIdentifyLeases {
    RedisIdentifyLeases::builder(redis, namespace)
        .capacity(capacity)
        .lease(lease)
        .retry_interval(Duration::from_secs(5))
        .build()
        .unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[tokio::test]
async fn capacity_bounds_holders_and_a_release_wakes_a_waiter() {
    let redis = redis_or_skip!("capacity_bounds_holders_and_a_release_wakes_a_waiter");
    let namespace = support::namespace("identify-capacity");
    let a = leases(
        redis.connection(),
        namespace.clone(),
        2,
        Duration::from_secs(30),
    );
    // Another "process": its own connection.
    let b = leases(redis.connection(), namespace, 2, Duration::from_secs(30));
    let first = a.acquire().await;
    let second = b.acquire().await;
    assert_eq!(a.held().await.unwrap(), 2);
    assert!(b.try_acquire().await.unwrap().is_none());
    let error = b
        .acquire_within(Duration::from_millis(100))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Exhausted);

    let waiter = tokio::spawn({
        let b = b.clone();
        async move {
            let lease = b.acquire().await;
            (Instant::now(), lease)
        }
    });
    // Let the waiter ask and fall asleep (its retry interval is 5 s).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let released = Instant::now();
    first.release().await;
    let (acquired, third) = tokio::time::timeout(Duration::from_secs(3), waiter)
        .await
        .expect("the waiter was not woken")
        .unwrap();
    // Woken by the release through pub/sub, not by its 5 s retry.
    assert!(acquired - released < Duration::from_secs(2));
    assert_eq!(a.held().await.unwrap(), 2);
    drop(second);
    drop(third);
    // Dropped leases are released in the background.
    let deadline = Instant::now() + Duration::from_secs(3);
    while a.held().await.unwrap() > 0 {
        assert!(
            Instant::now() < deadline,
            "dropped leases were not released"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_lease_that_is_never_released_expires() {
    let redis = redis_or_skip!("a_lease_that_is_never_released_expires");
    let namespace = support::namespace("identify-expiry");
    let lease = Duration::from_millis(600);
    let a = leases(redis.connection(), namespace.clone(), 1, lease);
    let b = leases(redis.connection(), namespace, 1, lease);
    let held = a.acquire().await;
    let start = Instant::now();
    // A crashed holder: never released.
    std::mem::forget(held);
    let next = b.acquire_within(Duration::from_secs(5)).await.unwrap();
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(500), "{waited:?}");
    // Renewing keeps it; a forgotten id is gone.
    assert!(next.renew().await.unwrap());
    next.release().await;
}

#[test]
fn bad_configuration_is_refused() {
    let redis = Connection::open("unix:///nonexistent/r.sock").unwrap();
    let namespace = Namespace::new("config").unwrap();
    let zero = RedisIdentifyLeases::builder(redis.clone(), namespace.clone())
        .capacity(0)
        .build();
    assert_eq!(zero.unwrap_err().kind(), ErrorKind::Config);
    let instant = RedisIdentifyLeases::builder(redis, namespace)
        .lease(Duration::ZERO)
        .build();
    assert_eq!(instant.unwrap_err().kind(), ErrorKind::Config);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acquiring_waits_while_redis_is_down() {
    let Some(redis) = support::own("acquiring_waits_while_redis_is_down") else {
        return;
    };
    let connection = redis.connection().call_timeout(Duration::from_millis(200));
    let leases = RedisIdentifyLeases::builder(connection, support::namespace("identify-down"))
        .retry_interval(Duration::from_millis(200))
        .build()
        .unwrap();
    leases.acquire().await.release().await;
    redis.kill();
    // Fail closed: no lease without Redis.
    let error = leases
        .acquire_within(Duration::from_millis(600))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unavailable);
    let waiting = tokio::spawn({
        let leases = leases.clone();
        async move { leases.acquire().await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "a lease was handed out without redis"
    );
    redis.restart().unwrap();
    let lease = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("never recovered")
        .unwrap();
    lease.release().await;
}

const WORKER_ROUNDS: u32 = 4;

/// In a child: takes and gives back a lease `WORKER_ROUNDS` times, counting
/// in Redis how many processes hold one at the same moment.
fn worker() {
    runtime().block_on(async {
        let (redis, namespace) = support::child_redis();
        let counter = format!("ayaka:v1:{{{namespace}}}:test:holding");
        let leases = leases(redis, namespace, 1, Duration::from_secs(10));
        let client = redis::Client::open(support::child_redis_url()).unwrap();
        let mut raw = client.get_multiplexed_async_connection().await.unwrap();
        let mut most = 0;
        for _ in 0..WORKER_ROUNDS {
            let lease = leases.acquire().await;
            let holding: i64 = redis::cmd("INCR")
                .arg(&counter)
                .query_async(&mut raw)
                .await
                .unwrap();
            most = most.max(holding);
            // The identify itself.
            tokio::time::sleep(Duration::from_millis(30)).await;
            let _: i64 = redis::cmd("DECR")
                .arg(&counter)
                .query_async(&mut raw)
                .await
                .unwrap();
            lease.release().await;
        }
        support::tell_parent(&format!("done most={most}"));
    });
}

#[test]
fn three_processes_never_hold_more_than_one_lease() {
    const NAME: &str = "three_processes_never_hold_more_than_one_lease";
    if support::child_role().is_some() {
        return worker();
    }
    let redis = redis_or_skip!(NAME);
    let namespace = support::namespace("identify-processes");
    let children: Vec<_> = (0..3)
        .map(|_| ChildTest::spawn(NAME, "worker", redis, &namespace))
        .collect();
    for child in &children {
        let line = child
            .next_line(Duration::from_secs(60))
            .expect("a child never finished");
        assert_eq!(line, "done most=1", "two processes held a lease at once");
    }
    for mut child in children {
        assert!(child.wait(Duration::from_secs(10)), "a child failed");
    }
}

/// In a child: holds a lease until killed.
fn holder() {
    runtime().block_on(async {
        let (redis, namespace) = support::child_redis();
        let leases = leases(redis, namespace, 1, Duration::from_secs(2));
        let _lease = leases.acquire().await;
        support::tell_parent("holding");
        tokio::time::sleep(Duration::from_secs(60)).await;
    });
}

/// In a child: waits for the lease.
fn waiter() {
    runtime().block_on(async {
        let (redis, namespace) = support::child_redis();
        let leases = leases(redis, namespace, 1, Duration::from_secs(2));
        support::tell_parent("waiting");
        let lease = leases.acquire().await;
        support::tell_parent("acquired");
        lease.release().await;
    });
}

#[test]
fn a_killed_holders_lease_frees_the_slot() {
    const NAME: &str = "a_killed_holders_lease_frees_the_slot";
    match support::child_role().as_deref() {
        Some("holder") => return holder(),
        Some(_) => return waiter(),
        None => {}
    }
    let redis = redis_or_skip!(NAME);
    let namespace = support::namespace("identify-killed");
    let mut holder = ChildTest::spawn(NAME, "holder", redis, &namespace);
    holder.expect_line("holding", Duration::from_secs(30));
    let held_at = std::time::Instant::now();
    let mut waiter = ChildTest::spawn(NAME, "waiter", redis, &namespace);
    waiter.expect_line("waiting", Duration::from_secs(30));
    holder.kill();
    waiter.expect_line("acquired", Duration::from_secs(15));
    let waited = held_at.elapsed();
    // Not before the dead holder's 2 s lease ran out.
    assert!(waited >= Duration::from_millis(1_500), "{waited:?}");
    assert!(waiter.wait(Duration::from_secs(10)), "the waiter failed");
}
