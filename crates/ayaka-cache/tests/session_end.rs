//! A cache fed straight from shards against the local server hears when
//! their sessions end (feature `gateway`).
#![cfg(feature = "gateway")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod live;

use std::time::Duration;

use ayaka_cache::{Cache, FeedId, FeedState};
use ayaka_gateway::{
    ErrorKind, GatewayEndpoint, Shard, ShardConfig, ShardId, ShardManager, ShardMessage,
};
use ayaka_model::ChannelType;
use ayaka_model::request::{CreateChannel, CreateGuild};
use ayaka_server::{Server, testing};
use live::signed_in;

const GUARD: Duration = Duration::from_secs(10);

fn config(server: &Server, session: &str) -> ShardConfig {
    ShardConfig::builder(session)
        .endpoint(GatewayEndpoint::Url(server.gateway_url()))
        .build()
}

/// Feeds every message of `messages` to the cache until one matches.
async fn feed_until<S>(messages: &mut S, cache: &Cache, mut done: impl FnMut(&ShardMessage) -> bool)
where
    S: futures_util::Stream<Item = ShardMessage> + Unpin,
{
    use futures_util::StreamExt;

    tokio::time::timeout(GUARD, async {
        loop {
            let message = messages.next().await.expect("still running");
            cache.update(&message);
            if done(&message) {
                return;
            }
        }
    })
    .await
    .expect("the awaited message in time");
}

#[tokio::test]
async fn a_cache_told_of_a_fatal_close_drops_that_sessions_data() {
    let server = testing::server().await;
    let (client, session) = signed_in(&server, "owner").await;
    let guild = client
        .create_guild(&CreateGuild::new("doomed"))
        .await
        .unwrap();
    let channel = client
        .create_channel(guild.id, &CreateChannel::new("general", ChannelType::Text))
        .await
        .unwrap();
    let cache = Cache::new();
    let mut shard = Shard::spawn(ShardId(4), config(&server, &session));
    feed_until(&mut shard, &cache, |m| {
        m.as_event()
            .is_some_and(|e| e.kind() == ayaka_model::gateway::EventKind::GuildInit)
    })
    .await;
    let feed = FeedId::from(ShardId(4));
    assert!(cache.guild(guild.id).is_some());
    assert!(cache.channel(channel.id()).is_some());
    assert_eq!(cache.feed_state(feed), Some(FeedState::Resyncing));

    // an event the server refuses: 4004, fatal
    shard.send_raw(r#"{"t":"NOT_A_COMMAND"}"#).await.unwrap();
    feed_until(&mut shard, &cache, |m| {
        matches!(m, ShardMessage::Closed { error: Some(error), .. }
            if error.kind() == ErrorKind::FatalClose { code: 4004 })
    })
    .await;
    assert_eq!(cache.feed_state(feed), Some(FeedState::Ended));
    assert!(cache.guild(guild.id).is_none(), "stale data is not served");
    assert!(cache.channel(channel.id()).is_none());
    assert!(cache.current_user().is_none());
    assert_eq!(cache.stats().guilds, 0);
    server.shutdown().await;
}

#[tokio::test]
async fn a_shard_removed_for_good_takes_only_what_no_other_shard_holds() {
    let server = testing::server().await;
    let (client, session) = signed_in(&server, "owner").await;
    let guild = client
        .create_guild(&CreateGuild::new("shared"))
        .await
        .unwrap();
    let cache = Cache::new();
    let mut manager = ShardManager::builder(config(&server, &session))
        .connections_per_session(2)
        .identify_concurrency(2)
        .spawn();
    let mut ready = 0;
    feed_until(&mut manager, &cache, |m| {
        ready += usize::from(matches!(m, ShardMessage::Ready { .. }));
        ready == 2
    })
    .await;
    // each connection's GUILD_INIT, then a live event to end the resyncs
    let marker = client
        .create_guild(&CreateGuild::new("marker"))
        .await
        .unwrap();
    let mut seen = 0;
    feed_until(&mut manager, &cache, |m| {
        seen += usize::from(
            m.as_event()
                .is_some_and(|e| e.event.guild_id() == Some(marker.id)),
        );
        seen == 2
    })
    .await;
    assert_eq!(
        cache.feeds(),
        [(FeedId(0), FeedState::Live), (FeedId(1), FeedState::Live)]
    );

    assert!(manager.remove_shard(ShardId(0)).await);
    feed_until(&mut manager, &cache, |m| {
        matches!(m, ShardMessage::Closed { .. })
    })
    .await;
    assert_eq!(cache.feed_state(FeedId(0)), Some(FeedState::Ended));
    assert!(cache.guild(guild.id).is_some(), "shard 1 still holds it");
    assert!(cache.current_user().is_some());

    assert!(manager.remove_shard(ShardId(1)).await);
    feed_until(&mut manager, &cache, |m| {
        matches!(m, ShardMessage::Closed { .. })
    })
    .await;
    assert!(cache.guild(guild.id).is_none());
    assert!(cache.guild(marker.id).is_none());
    assert_eq!(cache.stats().guilds, 0);
    server.shutdown().await;
}
