#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Shards against the real local server over loopback.

mod common;

use std::time::Duration;

use ayaka_gateway::{
    ErrorKind, GatewayEndpoint, ReceivedEvent, Shard, ShardConfig, ShardId, ShardManager,
    ShardMessage, ShardState,
};
use ayaka_model::{
    Presence, PresenceType,
    gateway::{Encoding, Event, EventKind, EventKinds},
};
use ayaka_server::{Limit, testing};
use common::{
    GUARD, closed_error, expect_message, fast, next_event,
    rest::{User, server_with_user},
    shard_config, wait_disconnected, wait_ready, wait_reconnecting,
};

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
        (testing::builder(), Encoding::Json),
        (testing::builder(), Encoding::Zlib),
        (testing::builder().split_zlib_messages(3), Encoding::Zlib),
        (testing::builder().quirks(true), Encoding::Zlib),
        (testing::builder().zlib_under_json(true), Encoding::Json),
    ] {
        let (server, user) = server_with_user(builder).await;
        let guilds = [
            user.create_guild("one").await,
            user.create_guild("two").await,
        ];

        let mut shard = Shard::spawn(
            ShardId(0),
            shard_config(&server, &user.session)
                .encoding(encoding)
                .build(),
        );
        let ready = expect_kind(&mut shard, EventKind::Ready).await;
        let Event::Ready(me) = &ready.event else {
            unreachable!()
        };
        assert_eq!(me.id, user.id);
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
    let server = testing::server().await;
    let owner = User::sign_up(&server, "owner").await;
    let friend = User::sign_up(&server, "friend").await;
    let mut owner_shard = Shard::spawn(
        ShardId(0),
        shard_config(&server, &owner.session)
            .encoding(Encoding::Zlib)
            .build(),
    );
    let mut friend_shard = Shard::spawn(ShardId(1), shard_config(&server, &friend.session).build());
    expect_kind(&mut owner_shard, EventKind::Ready).await;
    expect_kind(&mut friend_shard, EventKind::Ready).await;

    let guild = owner.create_guild("events").await;
    let created = expect_kind(&mut owner_shard, EventKind::GuildCreate).await;
    assert_eq!(created.event.guild_id().unwrap().get(), guild);

    let channel = owner.create_channel(guild, "general").await;
    let Event::ChannelCreate(created) = expect_kind(&mut owner_shard, EventKind::ChannelCreate)
        .await
        .event
    else {
        unreachable!()
    };
    assert_eq!(created.id().get(), channel);

    let code = owner.create_invite(guild).await;
    let Event::InviteCreate(invite) = expect_kind(&mut owner_shard, EventKind::InviteCreate)
        .await
        .event
    else {
        unreachable!()
    };
    assert_eq!(invite.code, code);

    friend.join(&code).await;
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
    assert_eq!(update.user_id, friend.id);
    assert_eq!(update.presence.kind, PresenceType::Idle);

    owner_shard.close().await;
    friend_shard.close().await;
    server.shutdown().await;
}

/// The next message that is an event or a skipped event.
async fn next_event_or_skipped(shard: &mut Shard) -> ShardMessage {
    loop {
        let message = tokio::time::timeout(GUARD, shard.next_message())
            .await
            .expect("no message in time")
            .expect("shard ended");
        if matches!(message, ShardMessage::Event(_) | ShardMessage::Skipped(_)) {
            return message;
        }
    }
}

#[tokio::test]
async fn a_shard_decodes_only_the_kinds_asked_for_and_passes_the_rest_on_raw() {
    let server = testing::server().await;
    for encoding in [Encoding::Json, Encoding::Zlib] {
        // a user of its own: no GUILD_INIT before the events below
        let user = User::sign_up(&server, &format!("{encoding:?}")).await;
        let wanted = EventKind::GuildCreate | EventKind::InviteCreate;
        let config = shard_config(&server, &user.session).encoding(encoding);
        let mut filtered = Shard::spawn(
            ShardId(0),
            config.clone().events(wanted).deliver_skipped(true).build(),
        );
        let mut counting = Shard::spawn(ShardId(1), config.events(wanted).build());
        // READY comes first, skipped (read for the shard, not delivered
        // typed), then the shard's report that it is ready
        let ShardMessage::Skipped(ready) = next_event_or_skipped(&mut filtered).await else {
            panic!("READY was not skipped");
        };
        assert_eq!(ready.kind(), EventKind::Ready);
        for shard in [&mut filtered, &mut counting] {
            wait_ready(shard).await;
        }
        let guild = user.create_guild("filtered").await;
        user.create_channel(guild, "general").await;
        let code = user.create_invite(guild).await;

        let message = next_event_or_skipped(&mut filtered).await;
        let ShardMessage::Event(created) = message else {
            panic!("GUILD_CREATE was not decoded: {message:?}");
        };
        assert_eq!(created.event.guild_id().unwrap().get(), guild);
        let message = next_event_or_skipped(&mut filtered).await;
        let ShardMessage::Skipped(channel) = message else {
            panic!("CHANNEL_CREATE was not skipped: {message:?}");
        };
        assert_eq!(channel.kind(), EventKind::ChannelCreate);
        assert_eq!(channel.name().as_deref(), Some("CHANNEL_CREATE"));
        assert!(
            channel.raw_str().unwrap().contains("general"),
            "{encoding:?}"
        );
        let message = next_event_or_skipped(&mut filtered).await;
        let ShardMessage::Event(invite) = message else {
            panic!("INVITE_CREATE was not decoded: {message:?}");
        };
        let Event::InviteCreate(invite) = invite.event else {
            unreachable!()
        };
        assert_eq!(invite.code, code);
        assert_eq!(filtered.stats().events_skipped, 2);

        // without deliver_skipped the others are only counted
        let kinds: Vec<EventKind> = [
            next_event(&mut counting).await.kind(),
            next_event(&mut counting).await.kind(),
        ]
        .into();
        assert_eq!(kinds, [EventKind::GuildCreate, EventKind::InviteCreate]);
        assert_eq!(counting.stats().events_skipped, 2);
        filtered.close().await;
        counting.close().await;
    }

    // a manager gives its shards the set
    let user = User::sign_up(&server, "manager").await;
    let template = shard_config(&server, &user.session).build();
    let mut manager = ShardManager::builder(template)
        .events(EventKinds::from(EventKind::GuildDelete))
        .spawn();
    wait_ready(&mut manager).await;
    user.create_guild("not wanted").await;
    let guild = user.create_guild("deleted").await;
    user.delete_guild(guild).await;
    let deleted = tokio::time::timeout(GUARD, manager.next_event())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        deleted.kind(),
        EventKind::GuildDelete,
        "only the wanted kind"
    );
    assert_eq!(deleted.event.guild_id().unwrap().get(), guild);
    manager.close_all().await;
    server.shutdown().await;
}

#[tokio::test]
async fn discovery_through_available_connects() {
    let (server, user) = server_with_user(testing::builder().gateway_ports(3)).await;
    let config = fast(ShardConfig::builder(&user.session))
        .endpoint(GatewayEndpoint::Available(server.available_url()))
        .build();
    let mut shard = Shard::spawn(ShardId(0), config);
    expect_kind(&mut shard, EventKind::Ready).await;
    shard.close().await;

    // the deployed layout: `/available` on the gateway base's own host
    let base = format!("ws://{}", server.rest_addr());
    let config = fast(ShardConfig::builder(&user.session))
        .endpoint(GatewayEndpoint::Discover(base))
        .build();
    let mut shard = Shard::spawn(ShardId(1), config);
    expect_kind(&mut shard, EventKind::Ready).await;
    shard.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn an_unknown_session_is_fatal_4002() {
    let server = testing::server().await;
    let mut shard = Shard::spawn(ShardId(0), shard_config(&server, "no-such-session").build());
    let error = closed_error(&mut shard).await;
    assert_eq!(error.kind(), ErrorKind::FatalClose { code: 4002 });
    server.shutdown().await;
}

#[tokio::test]
async fn an_invalid_client_event_is_fatal_4004() {
    let (server, user) = server_with_user(testing::builder()).await;
    let mut shard = Shard::spawn(ShardId(0), shard_config(&server, &user.session).build());
    expect_kind(&mut shard, EventKind::Ready).await;
    shard.send_raw(r#"{"t":"NOT_A_COMMAND"}"#).await.unwrap();
    let error = closed_error(&mut shard).await;
    assert_eq!(error.close_code(), Some(4004));
    server.shutdown().await;
}

#[tokio::test]
async fn server_ping_timeout_4009_reconnects_and_gets_ready_again() {
    let (server, user) =
        server_with_user(testing::builder().ping_timeout(Duration::from_millis(400))).await;
    // pings far apart: the server gives up on us first
    let config = shard_config(&server, &user.session)
        .ping_interval(Duration::from_secs(30))
        .build();
    let mut shard = Shard::spawn(ShardId(0), config);
    expect_kind(&mut shard, EventKind::Ready).await;
    wait_disconnected(&mut shard, 4009).await;
    wait_reconnecting(&mut shard).await;
    expect_kind(&mut shard, EventKind::Ready).await;
    shard.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn keepalive_pings_keep_the_connection_and_report_latency() {
    let (server, user) =
        server_with_user(testing::builder().ping_timeout(Duration::from_secs(1))).await;
    let config = shard_config(&server, &user.session)
        .ping_interval(Duration::from_millis(100))
        .build();
    let mut shard = Shard::spawn(ShardId(0), config);
    wait_ready(&mut shard).await;
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
    let (server, user) =
        server_with_user(testing::builder().client_message_limit(Limit::per_second(2))).await;
    // our own limiter set looser than the server's
    let config = shard_config(&server, &user.session)
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
    wait_disconnected(&mut shard, 4008).await;
    wait_reconnecting(&mut shard).await;
    expect_kind(&mut shard, EventKind::Ready).await;
    shard.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn too_many_sessions_4003_waits_long_then_retries() {
    let (server, user) = server_with_user(testing::builder().max_connections(1)).await;
    let mut first = Shard::spawn(ShardId(0), shard_config(&server, &user.session).build());
    expect_kind(&mut first, EventKind::Ready).await;
    let mut second = Shard::spawn(ShardId(1), shard_config(&server, &user.session).build());
    wait_disconnected(&mut second, 4003).await;
    let (_, delay) = wait_reconnecting(&mut second).await;
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
    let (first, user) = server_with_user(testing::builder().gateway_port_base(port)).await;
    let guild = user.create_guild("survives").await;
    let mut shard = Shard::spawn(ShardId(0), shard_config(&first, &user.session).build());
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
    wait_reconnecting(&mut shard).await;
    let second = testing::builder()
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
    let server = testing::builder().gateway_ports(4).spawn().await.unwrap();
    let users = [
        User::sign_up(&server, "alice").await,
        User::sign_up(&server, "bob").await,
    ];
    let template = fast(ShardConfig::builder(&users[0].session))
        .endpoint(GatewayEndpoint::Available(server.available_url()))
        .read_ahead(4 * 1024)
        .build();
    let mut manager = ShardManager::builder(template)
        .sessions(users.iter().map(|user| user.session.clone()))
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
    users[0].create_guild("broadcast").await;
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
    let (server, user) = server_with_user(testing::builder().quirks(true)).await;
    let mut shard = Shard::spawn(ShardId(0), shard_config(&server, &user.session).build());
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
    let (server, user) = server_with_user(testing::builder().gateway_ports(2)).await;
    let available = server.available_url();
    let left = tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let template = fast(ShardConfig::builder(&user.session))
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
