//! Shards split across processes: managers built alike, each running its
//! share of the deployment's shards under their deployment-wide numbers,
//! against the local server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use ayaka_gateway::{
    GatewayEndpoint, ShardAssignment, ShardConfig, ShardId, ShardManager, ShardMessage,
};
use ayaka_model::gateway::Event;
use ayaka_server::{Server, testing};
use common::rest::User;

/// The manager of one "process": the same sessions, in the same order.
fn manager(server: &Server, sessions: &[String], assignment: ShardAssignment) -> ShardManager {
    let template = ShardConfig::builder("unused")
        .endpoint(GatewayEndpoint::Url(server.gateway_url()))
        .build();
    ShardManager::builder(template)
        .sessions(sessions.iter().cloned())
        .connections_per_session(2)
        .identify_concurrency(2)
        .assignment(assignment)
        .spawn()
}

/// Who each shard of `manager` identified as, by shard id.
async fn readies(manager: &mut ShardManager) -> BTreeMap<ShardId, u64> {
    let mut ready = BTreeMap::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        while ready.len() < manager.len() {
            if let Some(ShardMessage::Event(received)) = manager.next_message().await
                && let Event::Ready(user) = &received.event
            {
                ready.insert(received.shard_id, user.id.get());
            }
        }
    })
    .await
    .expect("every shard READY within 10 s");
    ready
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_run_their_share_under_deployment_wide_ids() {
    let server = testing::server().await;
    let (alice, bob) = (
        User::sign_up(&server, "alice").await,
        User::sign_up(&server, "bob").await,
    );
    let sessions = [alice.session.clone(), bob.session.clone()];

    // 2 sessions × 2 connections = shards 0..4, split over two processes.
    let mut first = manager(&server, &sessions, ShardAssignment::process(0, 2));
    let mut second = manager(&server, &sessions, ShardAssignment::process(1, 2));
    let ids = |m: &ShardManager| m.shards().iter().map(|s| s.id).collect::<Vec<_>>();
    assert_eq!(ids(&first), [ShardId(0), ShardId(1)]);
    assert_eq!(ids(&second), [ShardId(2), ShardId(3)]);
    // Session 0's connections are shards 0 and 1, session 1's 2 and 3.
    let expected = |shards: [u32; 2], user: u64| {
        shards
            .map(|s| (ShardId(s), user))
            .into_iter()
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(readies(&mut first).await, expected([0, 1], alice.id.get()));
    assert_eq!(readies(&mut second).await, expected([2, 3], bob.id.get()));
    // Shards added later are numbered past the deployment's.
    assert_eq!(first.add_shard(alice.session.clone()).id(), ShardId(4));

    // Explicit ids (discord.js's shardIds), past the end ignored.
    let mut third = manager(&server, &sessions, ShardAssignment::ids([1, 3, 9]));
    assert_eq!(ids(&third), [ShardId(1), ShardId(3)]);
    let mut odd = BTreeMap::new();
    odd.insert(ShardId(1), alice.id.get());
    odd.insert(ShardId(3), bob.id.get());
    assert_eq!(readies(&mut third).await, odd);

    // A range (serenity's index/init), and a process with no share (4
    // shards over 5 processes).
    let fourth = manager(&server, &sessions, ShardAssignment::range(3..4));
    assert_eq!(ids(&fourth), [ShardId(3)]);
    let idle = manager(&server, &sessions, ShardAssignment::process(0, 5));
    assert!(idle.is_empty());

    for mut manager in [first, second, third, fourth] {
        manager.close_all().await;
    }
    server.shutdown().await;
}
