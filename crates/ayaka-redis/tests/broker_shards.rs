//! The broker between real shards and a consumer, against the local
//! server: a cache fed from the stream holds what one fed straight from the
//! shards does, and a presence update sent through the broker is applied
//! by the shard it was sent to.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use ayaka_cache::{Cache, FeedId, FeedState};
use ayaka_gateway::{GatewayEndpoint, ShardConfig, ShardId, ShardManager, ShardMessage};
use ayaka_http::Client;
use ayaka_model::gateway::{ClientCommand, Event};
use ayaka_model::request::{CreateChannel, CreateGuild};
use ayaka_model::{ChannelType, Presence, PresenceType};
use ayaka_redis::RedisEventBroker;
use ayaka_redis::broker::{EventConsumer, StartAt};
use ayaka_server::testing::{self, TestUser};

/// How long a step may take before the test calls it a hang.
const GUARD: Duration = Duration::from_secs(30);

fn client(user: &TestUser) -> Client {
    Client::builder()
        .base_url(&user.rest_url)
        .session(&user.session)
        .build()
        .unwrap()
}

/// The shards' side: what the manager reports goes to a cache straight and
/// to the broker.
struct Shards {
    manager: ShardManager,
    direct: Cache,
    broker: RedisEventBroker,
    published: usize,
}

impl Shards {
    /// Pumps messages until `done` says so, failing after 10 s.
    async fn until(&mut self, mut done: impl FnMut(&ShardMessage) -> bool) {
        let pump = async {
            loop {
                let message = self.manager.next_message().await.expect("the manager runs");
                self.direct.update(&message);
                if self.broker.publish_message(&message) {
                    self.published += 1;
                }
                if done(&message) {
                    return;
                }
            }
        };
        // A guard against a hang, not a speed test: generous under load.
        tokio::time::timeout(GUARD, pump)
            .await
            .expect("the awaited message within the guard");
    }
}

/// The consumer's side: reads through its group until it has applied
/// `published` entries.
async fn catch_up(
    consumer: &EventConsumer,
    streamed: &Cache,
    applied: &mut usize,
    published: usize,
) {
    let read = async {
        while *applied < published {
            let batch = consumer.read(50, Duration::from_millis(200)).await.unwrap();
            for delivery in &batch {
                streamed.update(&delivery.event.to_message().unwrap());
            }
            let ids: Vec<String> = batch.iter().map(|d| d.id.clone()).collect();
            consumer.ack(&ids).await.unwrap();
            *applied += batch.len();
        }
    };
    tokio::time::timeout(GUARD, read)
        .await
        .expect("the stream delivered everything within the guard");
    assert_eq!(*applied, published, "more entries than were published");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cache_fed_from_the_stream_matches_one_fed_from_the_shards() {
    let redis = redis_or_skip!("a_cache_fed_from_the_stream_matches_one_fed_from_the_shards");
    let server = testing::server().await;
    let owner = testing::user_with_session(&server, "owner").await;
    let friend = testing::user_with_session(&server, "friend").await;
    let namespace = support::namespace("broker-cache");

    // The consumer's process: its own connection, group and cache.
    let consumers = RedisEventBroker::builder(redis.connection(), namespace.clone())
        .build()
        .unwrap();
    let consumer = consumers.consumer("cache", "cache-1").unwrap();
    consumer.create_group(StartAt::Now).await.unwrap();
    let streamed = Cache::new();
    let mut applied = 0;

    // The shards' process: shard 0 is the owner's session, 1 the friend's.
    let template = ShardConfig::builder("unused")
        .endpoint(GatewayEndpoint::Url(server.gateway_url()))
        .build();
    let manager = ShardManager::builder(template)
        .sessions([owner.session.clone(), friend.session.clone()])
        .spawn();
    let broker = RedisEventBroker::builder(redis.connection(), namespace)
        .build()
        .unwrap();
    let mut relays = Vec::new();
    for id in [ShardId(0), ShardId(1)] {
        let handle = manager.shard(id).unwrap().clone();
        relays.push(broker.relay_commands(handle).await.unwrap());
    }
    let mut shards = Shards {
        manager,
        direct: Cache::new(),
        broker,
        published: 0,
    };
    // Both READYs, in whichever order the shards identify.
    let mut ready = Vec::new();
    shards
        .until(|m| {
            if let ShardMessage::Event(r) = m
                && matches!(r.event, Event::Ready(_))
                && !ready.contains(&r.shard_id)
            {
                ready.push(r.shard_id);
            }
            ready.len() == 2
        })
        .await;

    let (owner_rest, friend_rest) = (client(&owner), client(&friend));
    let guild = owner_rest
        .create_guild(&CreateGuild::new("g"))
        .await
        .unwrap();
    let doomed = owner_rest
        .create_guild(&CreateGuild::new("doomed"))
        .await
        .unwrap();
    for name in ["general", "random"] {
        owner_rest
            .create_channel(guild.id, &CreateChannel::new(name, ChannelType::Text))
            .await
            .unwrap();
    }
    let invite = owner_rest.create_invite(guild.id).await.unwrap();
    friend_rest.join_invite(&invite.code).await.unwrap();
    owner_rest.delete_guild(doomed.id).await.unwrap();

    // The friend's presence, sent through the broker to shard 1: applied by
    // that shard, the server tells the owner's shard.
    let presence = Presence::new(PresenceType::Idle).description("away");
    consumers
        .send_command(ShardId(1), &ClientCommand::PresenceUpdate(presence.clone()))
        .await
        .unwrap();
    let friend_id = friend.id;
    shards
        .until(|m| {
            matches!(m, ShardMessage::Event(r) if r.shard_id == ShardId(0)
                && matches!(&r.event, Event::PresenceUpdate(u)
                    if u.user_id == friend_id && u.presence.description.as_deref() == Some("away")))
        })
        .await;
    assert_eq!(relays[1].applied(), 1);
    assert_eq!(relays[0].applied(), 0);

    shards.broker.flush(Duration::from_secs(5)).await.unwrap();
    catch_up(&consumer, &streamed, &mut applied, shards.published).await;
    let direct = shards.direct.snapshot();
    assert_eq!(streamed.snapshot(), direct);
    // Not an empty match: the caches saw what happened.
    assert_eq!(streamed.guild_ids(), [guild.id]);
    assert_eq!(streamed.guild_channels(guild.id).len(), 2);
    assert_eq!(
        streamed.presence(friend_id).unwrap().description.as_deref(),
        Some("away")
    );

    // The friend's shard ends: both caches end its feed.
    assert!(shards.manager.remove_shard(ShardId(1)).await);
    shards
        .until(|m| matches!(m, ShardMessage::Closed { shard_id, .. } if *shard_id == ShardId(1)))
        .await;
    shards.broker.flush(Duration::from_secs(5)).await.unwrap();
    catch_up(&consumer, &streamed, &mut applied, shards.published).await;
    assert_eq!(streamed.feed_state(FeedId(1)), Some(FeedState::Ended));
    assert_eq!(streamed.snapshot(), shards.direct.snapshot());
    // Its relay stops with it.
    let deadline = tokio::time::Instant::now() + GUARD;
    while !relays[1].is_finished() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the relay outlived its shard"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!relays[0].is_finished());

    shards.manager.close_all().await;
    server.shutdown().await;
}
