//! A shard against the local server feeds the cache; the cache then agrees
//! with what REST says, also after a reconnect that missed a deletion.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod live;

use std::time::Duration;

use ayaka_cache::Cache;
use ayaka_gateway::{GatewayEndpoint, Shard, ShardConfig, ShardId};
use ayaka_http::Client;
use ayaka_model::gateway::{Encoding, Event};
use ayaka_model::request::{CreateChannel, CreateGuild};
use ayaka_model::{ChannelType, GuildId};
use ayaka_server::{Server, testing};
use live::signed_in;

fn shard(server: &Server, session: &str) -> Shard {
    let config = ShardConfig::builder(session)
        .endpoint(GatewayEndpoint::Url(server.gateway_url()))
        .encoding(Encoding::Zlib)
        .build();
    Shard::spawn(ShardId(0), config)
}

/// Feeds the cache until `done` says so, failing after 10 s.
async fn feed_until(shard: &mut Shard, cache: &Cache, done: impl Fn(&Event) -> bool) {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let event = shard
                .next_event()
                .await
                .expect("shard running")
                .expect("no gateway error")
                .event;
            cache.update(&event);
            if done(&event) {
                return;
            }
        }
    })
    .await
    .expect("the awaited event within 10 s");
}

/// The cache holds exactly what REST says about each of `guilds`.
async fn assert_matches_rest(cache: &Cache, client: &Client, guilds: &[GuildId]) {
    let mut cached_ids = cache.guild_ids();
    cached_ids.sort_unstable();
    let mut expected = guilds.to_vec();
    expected.sort_unstable();
    assert_eq!(cached_ids, expected);
    for &id in guilds {
        let rest = client.guild(id).await.unwrap();
        let cached = cache.guild(id).unwrap();
        assert_eq!(cached.name, rest.name);
        assert_eq!(cached.owner, rest.owner);
        let roles: Vec<_> = cache
            .guild_roles(id)
            .iter()
            .map(|r| (**r).clone())
            .collect();
        assert_eq!(roles, rest.roles);
        let mut rest_channels = client.guild_channels(id).await.unwrap();
        rest_channels.sort_by_key(|c| c.id());
        let mut cached_channels: Vec<_> = cache
            .guild_channels(id)
            .iter()
            .map(|c| (**c).clone())
            .collect();
        cached_channels.sort_by_key(|c| c.id());
        assert_eq!(
            cached_channels.iter().map(|c| c.id()).collect::<Vec<_>>(),
            rest_channels.iter().map(|c| c.id()).collect::<Vec<_>>()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shard_fed_cache_matches_rest_and_converges_after_a_reconnect() {
    let server = testing::server().await;
    let (owner, session) = signed_in(&server, "owner").await;
    let (friend, _) = signed_in(&server, "friend").await;
    let cache = Cache::new();

    let mut connection = shard(&server, &session);
    feed_until(&mut connection, &cache, |e| matches!(e, Event::Ready(_))).await;

    let kept = owner.create_guild(&CreateGuild::new("kept")).await.unwrap();
    let doomed = owner
        .create_guild(&CreateGuild::new("doomed"))
        .await
        .unwrap();
    for name in ["general", "random"] {
        owner
            .create_channel(kept.id, &CreateChannel::new(name, ChannelType::Text))
            .await
            .unwrap();
    }
    let invite = owner.create_invite(kept.id).await.unwrap();
    friend.join_invite(&invite.code).await.unwrap();
    let last = owner
        .create_channel(doomed.id, &CreateChannel::new("last", ChannelType::Text))
        .await
        .unwrap();
    feed_until(
        &mut connection,
        &cache,
        |e| matches!(e, Event::ChannelCreate(c) if c.id() == last.id()),
    )
    .await;

    assert_matches_rest(&cache, &owner, &[kept.id, doomed.id]).await;
    assert_eq!(cache.invite(&invite.code).unwrap().guild_id, kept.id);
    assert_eq!(cache.current_user().unwrap().username, "owner");
    // GUILD_JOIN goes to the joiner only: the owner's session has not seen
    // the friend arrive yet.
    assert_eq!(cache.guild_members(kept.id).len(), 1);

    // Disconnected, the owner deletes a guild and creates another.
    connection.close().await;
    owner.delete_guild(doomed.id).await.unwrap();
    let fresh = owner
        .create_guild(&CreateGuild::new("fresh"))
        .await
        .unwrap();

    // Reconnect: READY + GUILD_INITs, then a live event to close the resync.
    let mut connection = shard(&server, &session);
    feed_until(&mut connection, &cache, |e| matches!(e, Event::Ready(_))).await;
    let marker = owner
        .create_guild(&CreateGuild::new("marker"))
        .await
        .unwrap();
    feed_until(
        &mut connection,
        &cache,
        |e| matches!(e, Event::GuildCreate(g) if g.id == marker.id),
    )
    .await;

    assert_matches_rest(&cache, &owner, &[kept.id, fresh.id, marker.id]).await;
    assert!(
        cache.channel(last.id()).is_none(),
        "the deleted guild's channel is gone"
    );
    assert!(cache.guild_channels(doomed.id).is_empty());
    // GUILD_INIT carries the member list: now the friend is known, once.
    let members = cache.guild_members(kept.id);
    assert_eq!(members.len(), 2);
    let friend_id = friend.current_user().await.unwrap().id;
    assert_eq!(cache.user_guilds(friend_id), vec![kept.id]);
    assert_eq!(cache.user(friend_id).unwrap().username, "friend");

    connection.close().await;
    server.shutdown().await;
}
