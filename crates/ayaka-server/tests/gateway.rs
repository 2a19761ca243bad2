//! Identify, READY and GUILD_INIT in both encodings, and who receives
//! which event, over loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use ayaka_server::testing::{self, user_with_session};
use common::{Gateway, create_guild, expect_marker, join, mark, request, request_as};
use http::{Method, StatusCode};
use serde_json::{Value, json};

/// Identify → READY → one GUILD_INIT per guild, with channels and members.
async fn ready_and_guild_init(server: &ayaka_server::Server, encoding: &str) -> Gateway {
    let alice = user_with_session(server, "alice").await;
    let bob = user_with_session(server, "bob").await;
    let first = create_guild(server, &alice, "first").await;
    let second = create_guild(server, &bob, "second").await;
    join(server, second, &bob, &alice).await;
    let channel = request_as(
        server,
        &alice,
        Method::POST,
        &format!("/guilds/{first}/channels"),
        Some(json!({"name": "general", "type": 2})),
    )
    .await;
    assert_eq!(channel.status, StatusCode::CREATED);

    let (mut gateway, ready) = Gateway::identify(server, &alice, encoding).await;
    assert_eq!(ready["d"]["id"], alice.id.get());
    assert_eq!(ready["d"]["session_ids"][0], alice.session.as_str());
    assert!(ready["d"].get("password").is_none());
    let mut inits = [
        gateway.expect("GUILD_INIT").await,
        gateway.expect("GUILD_INIT").await,
    ];
    inits.sort_by_key(|init| init["d"]["id"].as_u64());
    let (first_init, second_init) = (&inits[0]["d"], &inits[1]["d"]);
    assert_eq!(first_init["id"], first);
    assert_eq!(first_init["channels"][0]["name"], "general");
    assert_eq!(first_init["members"].as_array().unwrap().len(), 1);
    assert_eq!(second_init["channels"], json!([]));
    let mut members: Vec<u64> = second_init["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|member| member["user"]["id"].as_u64().unwrap())
        .collect();
    members.sort_unstable();
    assert_eq!(members, [alice.id.get(), bob.id.get()]);
    // and nothing else before live events
    mark(server, &alice, "after-init").await;
    expect_marker(&mut gateway, "after-init").await;
    gateway
}

#[tokio::test]
async fn json_identify_gets_ready_then_guild_init_as_text() {
    let server = testing::server().await;
    let gateway = ready_and_guild_init(&server, "json").await;
    assert_eq!(gateway.binary_messages, 0);
    assert_eq!(gateway.text_messages, 4);
    drop(gateway);
    server.shutdown().await;
}

#[tokio::test]
async fn default_encoding_is_json() {
    let server = testing::server().await;
    let alice = user_with_session(&server, "alice").await;
    let mut gateway = Gateway::connect(&server.gateway_url()).await;
    gateway
        .send_json(json!({"session_id": alice.session, "unknown": [1]}))
        .await;
    gateway.expect("READY").await;
    assert_eq!(gateway.text_messages, 1);
    drop(gateway);
    server.shutdown().await;
}

#[tokio::test]
async fn zlib_identify_gets_one_compressed_stream() {
    let server = testing::server().await;
    let gateway = ready_and_guild_init(&server, "zlib").await;
    assert_eq!(gateway.text_messages, 0);
    assert_eq!(gateway.binary_messages, 4);
    drop(gateway);
    server.shutdown().await;
}

#[tokio::test]
async fn zlib_messages_can_be_split_across_websocket_messages() {
    let server = testing::builder()
        .split_zlib_messages(3)
        .spawn()
        .await
        .unwrap();
    let gateway = ready_and_guild_init(&server, "zlib").await;
    assert!(
        gateway.binary_messages >= 4 * 2,
        "{}",
        gateway.binary_messages
    );
    drop(gateway);
    server.shutdown().await;
}

#[tokio::test]
async fn zlib_under_json_compresses_anyway() {
    let server = testing::builder()
        .zlib_under_json(true)
        .spawn()
        .await
        .unwrap();
    let alice = user_with_session(&server, "alice").await;
    let (gateway, _) = Gateway::identify(&server, &alice, "json").await;
    assert_eq!((gateway.binary_messages, gateway.text_messages), (1, 0));
    drop(gateway);
    server.shutdown().await;
}

#[tokio::test]
async fn quirks_imitate_the_deployed_gateway() {
    let server = testing::builder().quirks(true).spawn().await.unwrap();
    let alice = user_with_session(&server, "alice").await;
    create_guild(&server, &alice, "g").await;
    let mut gateway = Gateway::connect(&server.gateway_url()).await;
    gateway
        .send_json(json!({"session_id": alice.session, "encoding": "zlib"}))
        .await;
    let hello = gateway.expect("HELLO").await;
    assert!(hello["d"].is_null());
    assert!(hello.get("s").is_some() && hello.get("i").is_some());
    let ready = gateway.expect("READY").await;
    let user: Value = serde_json::from_str(ready["d"].as_str().expect("d as a string")).unwrap();
    assert_eq!(user["_id"], alice.id.get());
    assert!(user.get("id").is_none());
    let init = gateway.expect("GUILD_INIT").await;
    assert!(init.get("s").is_some(), "extra envelope field");
    gateway.send_json(json!({"t": "HEARTBEAT"})).await;
    gateway.expect("ACK").await;
    drop(gateway);
    server.shutdown().await;
}

#[tokio::test]
async fn quirks_fragment_big_zlib_messages_by_1024_bytes() {
    let server = testing::builder().quirks(true).spawn().await.unwrap();
    let alice = user_with_session(&server, "alice").await;
    // Random-ish text compresses badly, so GUILD_INIT passes 1024 bytes.
    let mut state = 0x9E37_79B9_u32;
    let mut noise = || -> String {
        (0..1000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                char::from(b'!' + (state % 90) as u8)
            })
            .collect()
    };
    let guild = create_guild(&server, &alice, "g").await;
    for index in 0..3 {
        let body = json!({"name": format!("c{index}"), "type": 2, "description": noise()});
        let path = format!("/guilds/{guild}/channels");
        let response = request_as(&server, &alice, Method::POST, &path, Some(body)).await;
        assert_eq!(response.status, StatusCode::CREATED);
    }
    let mut gateway = Gateway::connect(&server.gateway_url()).await;
    gateway
        .send_json(json!({"session_id": alice.session, "encoding": "zlib"}))
        .await;
    for name in ["HELLO", "READY", "GUILD_INIT"] {
        gateway.expect(name).await;
    }
    assert!(gateway.binary_messages > 3, "{}", gateway.binary_messages);
    drop(gateway);
    server.shutdown().await;
}

struct Room {
    server: ayaka_server::Server,
    owner: testing::TestUser,
    member: testing::TestUser,
    outsider: testing::TestUser,
    guild: u64,
    gateways: Vec<Gateway>,
}

impl Room {
    async fn new() -> Self {
        let server = testing::server().await;
        let owner = user_with_session(&server, "owner").await;
        let member = user_with_session(&server, "member").await;
        let outsider = user_with_session(&server, "outsider").await;
        let guild = create_guild(&server, &owner, "room").await;
        join(&server, guild, &owner, &member).await;
        let mut gateways = Vec::new();
        for (user, inits) in [(&owner, 1), (&member, 1), (&outsider, 0)] {
            let (mut gateway, _) = Gateway::identify(&server, user, "json").await;
            for _ in 0..inits {
                gateway.expect("GUILD_INIT").await;
            }
            gateways.push(gateway);
        }
        Self {
            server,
            owner,
            member,
            outsider,
            guild,
            gateways,
        }
    }

    fn users(&self) -> [&testing::TestUser; 3] {
        [&self.owner, &self.member, &self.outsider]
    }

    /// Asserts that exactly the users whose flag is set receive an event
    /// named `name` (checked by a marker sent to everyone afterwards), and
    /// returns the events received.
    async fn expect_exactly(&mut self, name: &str, receivers: [bool; 3]) -> Vec<Value> {
        let mut events = Vec::new();
        let marker = format!("after-{name}");
        for (index, receives) in receivers.into_iter().enumerate() {
            let user = self.users()[index];
            mark(&self.server, user, &marker).await;
            let gateway = &mut self.gateways[index];
            if receives {
                events.push(gateway.expect(name).await);
            }
            expect_marker(gateway, &marker).await;
        }
        events
    }
}

#[tokio::test]
async fn events_reach_exactly_the_users_they_concern() {
    let mut room = Room::new().await;
    let (server, guild) = (&room.server, room.guild);
    let owner = room.owner.session.clone();
    let outsider = room.outsider.session.clone();

    let created = create_guild(server, &room.owner, "another").await;
    let events = room
        .expect_exactly("GUILD_CREATE", [true, false, false])
        .await;
    assert_eq!(events[0]["d"]["id"], created);

    let path = format!("/guilds/{guild}");
    let server = &room.server;
    request(
        server,
        Method::PATCH,
        &path,
        Some(&owner),
        Some(json!({"name": "new name"})),
    )
    .await;
    let events = room
        .expect_exactly("GUILD_UPDATE", [true, true, false])
        .await;
    assert!(events.iter().all(|event| event["d"]["name"] == "new name"));

    let server = &room.server;
    let body = json!({"name": "general", "type": 2});
    request(
        server,
        Method::POST,
        &format!("{path}/channels"),
        Some(&owner),
        Some(body),
    )
    .await;
    let events = room
        .expect_exactly("CHANNEL_CREATE", [true, true, false])
        .await;
    assert_eq!(events[0]["d"]["guild_id"], guild);

    let server = &room.server;
    let invite = request(
        server,
        Method::POST,
        &format!("{path}/invites"),
        Some(&owner),
        None,
    )
    .await;
    let code = invite.body["code"].as_str().unwrap().to_owned();
    let events = room
        .expect_exactly("INVITE_CREATE", [true, true, false])
        .await;
    assert_eq!(events[1]["d"]["code"], code.as_str());

    let server = &room.server;
    request(
        server,
        Method::POST,
        &format!("/invites/{code}"),
        Some(&outsider),
        None,
    )
    .await;
    let events = room
        .expect_exactly("GUILD_JOIN", [false, false, true])
        .await;
    assert_eq!(events[0]["d"]["id"], guild);
    assert_eq!(events[0]["d"]["channels"][0]["name"], "general");
    assert_eq!(events[0]["d"]["members"].as_array().unwrap().len(), 3);

    // presence goes to the others sharing a guild, not back to the sender
    let presence = json!({"t": "PRESENCE_UPDATE", "d": {"type": 3, "description": "busy"}});
    room.gateways[1].send_json(presence).await;
    let events = room
        .expect_exactly("PRESENCE_UPDATE", [true, false, true])
        .await;
    for event in &events {
        assert_eq!(event["id"], room.member.id.get());
        assert_eq!(event["d"], json!({"type": 3, "description": "busy"}));
    }

    let server = &room.server;
    let notify = format!("/users/{}/notifications", room.outsider.id);
    let body = json!({"type": "HERE", "excerpt": {"text": "hi"}});
    let sent = request(server, Method::POST, &notify, Some(&owner), Some(body)).await;
    assert_eq!(sent.status, StatusCode::NO_CONTENT);
    let events = room
        .expect_exactly("NOTIFICATION", [false, false, true])
        .await;
    assert_eq!(
        events[0],
        json!({"t": "NOTIFICATION", "type": "HERE", "excerpt": {"text": "hi"}})
    );

    let server = &room.server;
    let deleted = request(server, Method::DELETE, &path, Some(&owner), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let events = room
        .expect_exactly("GUILD_DELETE", [true, true, true])
        .await;
    assert!(
        events
            .iter()
            .all(|event| event["d"] == json!({"id": guild}))
    );

    // after the delete, the member and the outsider share nothing
    room.gateways[1]
        .send_json(json!({"t": "PRESENCE_UPDATE", "d": {"type": 1}}))
        .await;
    let events = room
        .expect_exactly("PRESENCE_UPDATE", [false, false, false])
        .await;
    assert!(events.is_empty());
    room.gateways.clear();
    room.server.shutdown().await;
}

#[tokio::test]
async fn identify_can_opt_out_of_presences() {
    let server = testing::server().await;
    let alice = user_with_session(&server, "alice").await;
    let bob = user_with_session(&server, "bob").await;
    let guild = create_guild(&server, &alice, "g").await;
    join(&server, guild, &alice, &bob).await;
    let mut quiet = Gateway::connect(&server.gateway_url()).await;
    quiet
        .send_json(json!({"session_id": alice.session, "presences": false}))
        .await;
    quiet.expect("READY").await;
    quiet.expect("GUILD_INIT").await;
    let (mut listening, _) = Gateway::identify(&server, &alice, "json").await;
    listening.expect("GUILD_INIT").await;
    let (mut bob_gateway, _) = Gateway::identify(&server, &bob, "json").await;
    bob_gateway.expect("GUILD_INIT").await;

    bob_gateway
        .send_json(json!({"t": "PRESENCE_UPDATE", "d": {"type": 2}}))
        .await;
    assert_eq!(
        listening.expect("PRESENCE_UPDATE").await["id"],
        bob.id.get()
    );
    mark(&server, &alice, "after").await;
    expect_marker(&mut quiet, "after").await;
    expect_marker(&mut listening, "after").await;
    drop((quiet, listening, bob_gateway));
    server.shutdown().await;
}

#[tokio::test]
async fn every_connection_of_a_user_receives_its_events() {
    let server = testing::server().await;
    let alice = user_with_session(&server, "alice").await;
    let (mut first, _) = Gateway::identify(&server, &alice, "json").await;
    let (mut second, _) = Gateway::identify(&server, &alice, "zlib").await;
    let guild = create_guild(&server, &alice, "g").await;
    for gateway in [&mut first, &mut second] {
        assert_eq!(gateway.expect("GUILD_CREATE").await["d"]["id"], guild);
    }
    drop((first, second));
    server.shutdown().await;
}
