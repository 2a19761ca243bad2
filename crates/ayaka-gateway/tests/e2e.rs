#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Shards against the real local server over loopback.

mod common;

use std::time::Duration;

use ayaka_gateway::{
    ErrorKind, GatewayEndpoint, ReceivedEvent, Shard, ShardConfig, ShardConfigBuilder, ShardId,
    ShardManager, ShardMessage, ShardState,
};
use ayaka_model::{
    Presence, PresenceType,
    gateway::{Encoding, Event, EventKind},
};
use ayaka_server::{Limit, PasswordHashing, RateLimits, Server, ServerBuilder};
use common::{GUARD, expect_message, fast, rest::Rest};

fn server() -> ServerBuilder {
    Server::builder()
        .password_hashing(PasswordHashing::Fast)
        .rate_limits(RateLimits::off())
}

fn shard_config(server: &Server, session_id: &str) -> ShardConfigBuilder {
    fast(ShardConfig::builder(session_id).endpoint(GatewayEndpoint::Url(server.gateway_url())))
}

async fn next_event(shard: &mut Shard) -> ReceivedEvent {
    tokio::time::timeout(GUARD, shard.next_event())
        .await
        .expect("no event in time")
        .expect("shard ended")
        .expect("shard reported an error")
}

async fn expect_kind(shard: &mut Shard, kind: EventKind) -> ReceivedEvent {
    loop {
        let received = next_event(shard).await;
        if received.kind() == kind {
            return received;
        }
    }
}

/// READY then one GUILD_INIT per guild, for every encoding and framing.
#[tokio::test]
async fn identify_gets_ready_and_guild_init_in_json_and_zlib() {
    for (builder, encoding) in [
        (server(), Encoding::Json),
        (server(), Encoding::Zlib),
        (server().split_zlib_messages(3), Encoding::Zlib),
        (server().quirks(true), Encoding::Zlib),
        (server().zlib_under_json(true), Encoding::Json),
    ] {
        let server = builder.spawn().await.unwrap();
        let rest = Rest::new(server.rest_url());
        let user = rest.create_user().await;
        let guilds = [
            rest.create_guild(&user, "one").await,
            rest.create_guild(&user, "two").await,
        ];

        let mut shard = Shard::spawn(
            ShardId(0),
            shard_config(&server, &user.session_id)
                .encoding(encoding)
                .build(),
        );
        let ready = expect_kind(&mut shard, EventKind::Ready).await;
        let Event::Ready(me) = &ready.event else {
            unreachable!()
        };
        assert_eq!(me.id.get(), user.id);
        let mut seen = Vec::new();
        for _ in 0..2 {
            let received = next_event(&mut shard).await;
            assert_eq!(received.kind(), EventKind::GuildInit, "{encoding:?}");
            seen.push(received.event.guild_id().unwrap().get());
        }
        seen.sort_unstable();
        let mut expected = guilds.to_vec();
        expected.sort_unstable();
        assert_eq!(seen, expected, "{encoding:?}");
        assert_eq!(shard.state(), ShardState::Ready);
        shard.close().await;
        server.shutdown().await;
    }
}

#[tokio::test]
async fn events_created_through_rest_arrive_typed() {
    let server = server().spawn().await.unwrap();
    let rest = Rest::new(server.rest_url());
    let owner = rest.create_user().await;
    let friend = rest.create_user().await;
    let mut owner_shard = Shard::spawn(
        ShardId(0),
        shard_config(&server, &owner.session_id)
            .encoding(Encoding::Zlib)
            .build(),
    );
    let mut friend_shard = Shard::spawn(
        ShardId(1),
        shard_config(&server, &friend.session_id).build(),
    );
    expect_kind(&mut owner_shard, EventKind::Ready).await;
    expect_kind(&mut friend_shard, EventKind::Ready).await;

    let guild = rest.create_guild(&owner, "events").await;
    let created = expect_kind(&mut owner_shard, EventKind::GuildCreate).await;
    assert_eq!(created.event.guild_id().unwrap().get(), guild);

    let channel = rest.create_channel(&owner, guild, "general").await;
    let Event::ChannelCreate(created) = expect_kind(&mut owner_shard, EventKind::ChannelCreate)
        .await
        .event
    else {
        unreachable!()
    };
    assert_eq!(created.id().get(), channel);

    let code = rest.create_invite(&owner, guild).await;
    let Event::InviteCreate(invite) = expect_kind(&mut owner_shard, EventKind::InviteCreate)
        .await
        .event
    else {
        unreachable!()
    };
    assert_eq!(invite.code, code);

    rest.join(&friend, &code).await;
    let joined = expect_kind(&mut friend_shard, EventKind::GuildJoin).await;
    assert_eq!(joined.event.guild_id().unwrap().get(), guild);

    // presence goes through the gateway and comes back to those sharing a guild
    friend_shard
        .update_presence(Presence::new(PresenceType::Idle))
        .await
        .unwrap();
    let Event::PresenceUpdate(update) = expect_kind(&mut owner_shard, EventKind::PresenceUpdate)
        .await
        .event
    else {
        unreachable!()
    };
    assert_eq!(update.user_id.get(), friend.id);
    assert_eq!(update.presence.kind, PresenceType::Idle);

    owner_shard.close().await;
    friend_shard.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn discovery_through_available_connects() {
    let server = server().gateway_ports(3).spawn().await.unwrap();
    let rest = Rest::new(server.rest_url());
    let user = rest.create_user().await;
    let config = fast(ShardConfig::builder(&user.session_id))
        .endpoint(GatewayEndpoint::Available(server.available_url()))
        .build();
    let mut shard = Shard::spawn(ShardId(0), config);
    expect_kind(&mut shard, EventKind::Ready).await;
    shard.close().await;

    // the deployed layout: `/available` on the gateway base's own host
    let base = format!("ws://{}", server.rest_addr());
    let config = fast(ShardConfig::builder(&user.session_id))
        .endpoint(GatewayEndpoint::Discover(base))
        .build();
    let mut shard = Shard::spawn(ShardId(1), config);
    expect_kind(&mut shard, EventKind::Ready).await;
    shard.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn an_unknown_session_is_fatal_4002() {
    let server = server().spawn().await.unwrap();
    let mut shard = Shard::spawn(ShardId(0), shard_config(&server, "no-such-session").build());
    let closed = expect_message(&mut shard, |m| matches!(m, ShardMessage::Closed { .. })).await;
    let ShardMessage::Closed {
        error: Some(error), ..
    } = closed
    else {
        unreachable!()
    };
    assert_eq!(error.kind(), ErrorKind::FatalClose { code: 4002 });
    server.shutdown().await;
}

#[tokio::test]
async fn an_invalid_client_event_is_fatal_4004() {
    let server = server().spawn().await.unwrap();
    let rest = Rest::new(server.rest_url());
    let user = rest.create_user().await;
    let mut shard = Shard::spawn(ShardId(0), shard_config(&server, &user.session_id).build());
    expect_kind(&mut shard, EventKind::Ready).await;
    shard.send_raw(r#"{"t":"NOT_A_COMMAND"}"#).await.unwrap();
    let closed = expect_message(&mut shard, |m| matches!(m, ShardMessage::Closed { .. })).await;
    let ShardMessage::Closed {
        error: Some(error), ..
    } = closed
    else {
        unreachable!()
    };
    assert_eq!(error.close_code(), Some(4004));
    server.shutdown().await;
}

#[tokio::test]
async fn server_ping_timeout_4009_reconnects_and_gets_ready_again() {
    let server = server()
        .ping_timeout(Duration::from_millis(400))
        .spawn()
        .await
        .unwrap();
    let rest = Rest::new(server.rest_url());
    let user = rest.create_user().await;
    // pings far apart: the server gives up on us first
    let config = shard_config(&server, &user.session_id)
        .ping_interval(Duration::from_secs(30))
        .build();
    let mut shard = Shard::spawn(ShardId(0), config);
    expect_kind(&mut shard, EventKind::Ready).await;
    expect_message(&mut shard, |m| {
        matches!(
            m,
            ShardMessage::Disconnected {
                code: Some(4009),
                ..
            }
        )
    })
    .await;
    expect_message(&mut shard, |m| {
        matches!(m, ShardMessage::Reconnecting { .. })
    })
    .await;
    expect_kind(&mut shard, EventKind::Ready).await;
    shard.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn keepalive_pings_keep_the_connection_and_report_latency() {
    let server = server()
        .ping_timeout(Duration::from_secs(1))
        .spawn()
        .await
        .unwrap();
    let rest = Rest::new(server.rest_url());
    let user = rest.create_user().await;
    let config = shard_config(&server, &user.session_id)
        .ping_interval(Duration::from_millis(100))
        .build();
    let mut shard = Shard::spawn(ShardId(0), config);
    expect_message(&mut shard, |m| matches!(m, ShardMessage::Ready { .. })).await;
    // several server timeouts long: still the first connection
    let quiet = tokio::time::timeout(Duration::from_millis(2500), shard.next_message()).await;
    assert!(quiet.is_err(), "unexpected message: {quiet:?}");
    let latency = shard.latency();
    assert!(latency.last.is_some() && latency.average.is_some());
    shard.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn too_fast_a_client_is_closed_4008_and_backs_off() {
    let server = server()
        .client_message_limit(Limit::per_second(2))
        .spawn()
        .await
        .unwrap();
    let rest = Rest::new(server.rest_url());
    let user = rest.create_user().await;
    // our own limiter set looser than the server's
    let config = shard_config(&server, &user.session_id)
        .send_limit(100, Duration::from_secs(1), 1)
        .build();
    let mut shard = Shard::spawn(ShardId(0), config);
    expect_kind(&mut shard, EventKind::Ready).await;
    for _ in 0..5 {
        shard
            .update_presence(Presence::new(PresenceType::Online))
            .await
            .unwrap();
    }
    expect_message(&mut shard, |m| {
        matches!(
            m,
            ShardMessage::Disconnected {
                code: Some(4008),
                ..
            }
        )
    })
    .await;
    expect_message(&mut shard, |m| {
        matches!(m, ShardMessage::Reconnecting { .. })
    })
    .await;
    expect_kind(&mut shard, EventKind::Ready).await;
    shard.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn too_many_sessions_4003_waits_long_then_retries() {
    let server = server().max_connections(1).spawn().await.unwrap();
    let rest = Rest::new(server.rest_url());
    let user = rest.create_user().await;
    let mut first = Shard::spawn(ShardId(0), shard_config(&server, &user.session_id).build());
    expect_kind(&mut first, EventKind::Ready).await;
    let mut second = Shard::spawn(ShardId(1), shard_config(&server, &user.session_id).build());
    expect_message(&mut second, |m| {
        matches!(
            m,
            ShardMessage::Disconnected {
                code: Some(4003),
                ..
            }
        )
    })
    .await;
    let ShardMessage::Reconnecting { delay, .. } = expect_message(&mut second, |m| {
        matches!(m, ShardMessage::Reconnecting { .. })
    })
    .await
    else {
        unreachable!()
    };
    assert!(delay >= Duration::from_millis(300), "{delay:?}");
    // room again: the second gets in
    first.close().await;
    expect_kind(&mut second, EventKind::Ready).await;
    second.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn the_server_restarting_on_the_same_port_is_reconnected_to() {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let first = server().gateway_port_base(port).spawn().await.unwrap();
    let rest = Rest::new(first.rest_url());
    let user = rest.create_user().await;
    let guild = rest.create_guild(&user, "survives").await;
    let mut shard = Shard::spawn(ShardId(0), shard_config(&first, &user.session_id).build());
    expect_kind(&mut shard, EventKind::Ready).await;
    expect_kind(&mut shard, EventKind::GuildInit).await;

    // The server goes away (closing connections with 1001) and comes back
    // on the same ports with the same data, as the real service restarts.
    let (rest_addr, data) = (first.rest_addr(), first.data());
    first.shutdown().await;
    expect_message(&mut shard, |m| {
        matches!(m, ShardMessage::Disconnected { .. })
    })
    .await;
    expect_message(&mut shard, |m| {
        matches!(m, ShardMessage::Reconnecting { .. })
    })
    .await;
    let second = server()
        .bind(rest_addr)
        .gateway_port_base(port)
        .data(data)
        .spawn()
        .await
        .unwrap();

    // The shard identifies again by itself: READY, then the guild again.
    expect_kind(&mut shard, EventKind::Ready).await;
    let init = expect_kind(&mut shard, EventKind::GuildInit).await;
    assert_eq!(init.event.guild_id().map(|id| id.get()), Some(guild));
    assert_eq!(shard.state(), ShardState::Ready);
    shard.close().await;
    second.shutdown().await;
}

#[tokio::test]
async fn five_hundred_shards_in_one_manager() {
    const SHARDS: usize = 500;
    let server = server().gateway_ports(4).spawn().await.unwrap();
    let rest = Rest::new(server.rest_url());
    let users = [rest.create_user().await, rest.create_user().await];
    let template = fast(ShardConfig::builder(&users[0].session_id))
        .endpoint(GatewayEndpoint::Available(server.available_url()))
        .read_ahead(4 * 1024)
        .build();
    let mut manager = ShardManager::builder(template)
        .sessions(users.iter().map(|user| user.session_id.clone()))
        .connections_per_session(SHARDS / 2)
        .identify_concurrency(32)
        .spawn();
    assert_eq!(manager.len(), SHARDS);
    let mut ready = std::collections::HashSet::new();
    tokio::time::timeout(Duration::from_secs(60), async {
        while ready.len() < SHARDS {
            match manager.next_message().await.unwrap() {
                ShardMessage::Ready { shard_id } => {
                    ready.insert(shard_id);
                }
                ShardMessage::Error { error, .. } => panic!("{error}"),
                _ => {}
            }
        }
    })
    .await
    .expect("not every shard got READY");
    assert_eq!(server.stats().connections, SHARDS);
    assert!(
        manager
            .shards()
            .iter()
            .all(|info| info.state == ShardState::Ready)
    );

    // an event for the first user reaches each of its connections, tagged
    rest.create_guild(&users[0], "broadcast").await;
    let mut tagged = std::collections::HashSet::new();
    tokio::time::timeout(GUARD, async {
        while tagged.len() < SHARDS / 2 {
            let received = manager.next_event().await.unwrap().unwrap();
            if received.kind() == EventKind::GuildCreate {
                tagged.insert(received.shard_id);
            }
        }
    })
    .await
    .expect("not every connection got GUILD_CREATE");

    tokio::time::timeout(Duration::from_secs(60), manager.close_all())
        .await
        .unwrap();
    assert!(manager.is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn the_deployed_servers_application_heartbeat_is_acknowledged() {
    let server = server().quirks(true).spawn().await.unwrap();
    let rest = Rest::new(server.rest_url());
    let user = rest.create_user().await;
    let mut shard = Shard::spawn(ShardId(0), shard_config(&server, &user.session_id).build());
    expect_kind(&mut shard, EventKind::Hello).await;
    expect_kind(&mut shard, EventKind::Ready).await;
    shard
        .send(ayaka_model::gateway::ClientCommand::Heartbeat)
        .await
        .unwrap();
    expect_kind(&mut shard, EventKind::HeartbeatAck).await;
    shard.close().await;
    server.shutdown().await;
}

/// Shards, and the discovery requests they make, run on a runtime of their
/// own here, so that its task count shows anything left behind.
#[tokio::test]
async fn closing_a_manager_leaves_no_task_behind() {
    let server = server().gateway_ports(2).spawn().await.unwrap();
    let rest = Rest::new(server.rest_url());
    let user = rest.create_user().await;
    let available = server.available_url();
    let left = tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let template = fast(ShardConfig::builder(&user.session_id))
                .endpoint(GatewayEndpoint::Available(available))
                .build();
            let mut manager = ShardManager::builder(template)
                .connections_per_session(3)
                .identify_concurrency(3)
                .spawn();
            let mut ready = 0;
            while ready < 3 {
                let message = tokio::time::timeout(GUARD, manager.next_message())
                    .await
                    .expect("no READY in time")
                    .unwrap();
                if let ShardMessage::Ready { .. } = message {
                    ready += 1;
                }
            }
            assert!(
                tokio::runtime::Handle::current()
                    .metrics()
                    .num_alive_tasks()
                    >= 3
            );
            manager.close_all().await;
            drop(manager);
            let metrics = tokio::runtime::Handle::current().metrics();
            // tasks end a turn or two after what owns them is dropped
            let _ = tokio::time::timeout(GUARD, async {
                while metrics.num_alive_tasks() > 0 {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            })
            .await;
            metrics.num_alive_tasks()
        })
    });
    let left = tokio::time::timeout(GUARD * 3, left)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(left, 0, "tasks left behind after close_all");
    server.shutdown().await;
}
