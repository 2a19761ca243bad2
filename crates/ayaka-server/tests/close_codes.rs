//! Every close code of the protocol page, and timeouts, over loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use ayaka_server::testing::{self, TestUser, user_with_session};
use ayaka_server::{Limit, Server};
use bytes::Bytes;
use common::{Gateway, NextMessage, Received, create_guild};
use futures_util::SinkExt as _;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

/// Connects, sends `first` as the identify frame, and returns the close code.
async fn close_after_identify(server: &ayaka_server::Server, first: Message) -> Option<u16> {
    let mut gateway = Gateway::connect(&server.gateway_url()).await;
    gateway.send(first).await;
    gateway.close_code().await
}

#[tokio::test]
async fn bad_identify_payloads_close_with_their_codes() {
    let server = testing::server().await;
    let alice = user_with_session(&server, "alice").await;
    let cases = [
        (Message::text(r#"{"session_id": 5}"#), 4001),
        (
            Message::text(r#"{"session_id": "a", "encoding": true}"#),
            4001,
        ),
        (
            Message::text(r#"{"session_id": "1.AAAAAAAAAAAAAAAAAAAAAA"}"#),
            4002,
        ),
        (Message::text(alice.id.to_string()), 4002),
        (Message::text("not json"), 4002),
        (Message::text(r#"{"encoding": "json"}"#), 4002),
        (
            Message::Binary(Bytes::from(format!(
                r#"{{"session_id": "{}"}}"#,
                alice.session
            ))),
            4002,
        ),
        (
            Message::text(json!({"session_id": alice.session, "encoding": "etf"}).to_string()),
            4004,
        ),
    ];
    for (first, code) in cases {
        let shown = format!("{first:?}");
        assert_eq!(
            close_after_identify(&server, first).await,
            Some(code),
            "{shown}"
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn bad_messages_after_identify_close_with_their_codes() {
    let server = testing::server().await;
    let alice = user_with_session(&server, "alice").await;
    let cases = [
        (
            Message::text(json!({"session_id": alice.session}).to_string()),
            4004,
        ),
        (Message::text(r#"{"t": "MESSAGE_CREATE", "d": {}}"#), 4004),
        (
            Message::text(r#"{"t": "PRESENCE_UPDATE", "d": {"type": "online"}}"#),
            4004,
        ),
        (Message::text("}{"), 4004),
        (Message::Binary(Bytes::from_static(b"\x78\x9c")), 4002),
    ];
    for (message, code) in cases {
        let (mut gateway, _) = Gateway::identify(&server, &alice, "json").await;
        let shown = format!("{message:?}");
        gateway.send(message).await;
        assert_eq!(gateway.close_code().await, Some(code), "{shown}");
    }
    // the server still serves
    let (gateway, _) = Gateway::identify(&server, &alice, "json").await;
    drop(gateway);
    server.shutdown().await;
}

#[tokio::test]
async fn oversized_messages_close_with_1009() {
    let server = testing::builder()
        .max_message_size(1024)
        .spawn()
        .await
        .unwrap();
    let alice = user_with_session(&server, "alice").await;
    let huge = Message::text(format!(r#"{{"session_id": "{}"}}"#, "x".repeat(4096)));
    assert_eq!(close_after_identify(&server, huge).await, Some(1009));

    let (mut gateway, _) = Gateway::identify(&server, &alice, "json").await;
    let presence =
        json!({"t": "PRESENCE_UPDATE", "d": {"type": 1, "description": "y".repeat(4096)}});
    gateway.send_json(presence).await;
    assert_eq!(gateway.close_code().await, Some(1009));
    server.shutdown().await;
}

#[tokio::test]
async fn too_many_connections_close_with_4003() {
    let server = testing::builder().max_connections(2).spawn().await.unwrap();
    let alice = user_with_session(&server, "alice").await;
    let (first, _) = Gateway::identify(&server, &alice, "json").await;
    let (second, _) = Gateway::identify(&server, &alice, "json").await;
    let mut third = Gateway::connect(&server.gateway_url()).await;
    assert_eq!(third.close_code().await, Some(4003));
    drop((first, second));
    server.shutdown().await;
}

#[tokio::test]
async fn sending_too_fast_closes_with_4008() {
    let server = testing::builder()
        .client_message_limit(Limit::per_minute(3))
        .spawn()
        .await
        .unwrap();
    let alice = user_with_session(&server, "alice").await;
    let (mut gateway, _) = Gateway::identify(&server, &alice, "json").await;
    for _ in 0..4 {
        gateway.send_json(json!({"t": "HEARTBEAT"})).await;
    }
    assert_eq!(gateway.close_code().await, Some(4008));
    server.shutdown().await;
}

#[tokio::test]
async fn no_identify_in_time_closes_with_4009() {
    let server = testing::builder()
        .identify_timeout(Duration::from_millis(300))
        .spawn()
        .await
        .unwrap();
    let mut gateway = Gateway::connect(&server.gateway_url()).await;
    // pings do not count as identifying
    gateway.send(Message::Ping(Bytes::from_static(b"hi"))).await;
    assert_eq!(gateway.close_code().await, Some(4009));
    server.shutdown().await;
}

#[tokio::test]
async fn silence_closes_with_4009_and_pings_keep_alive() {
    // Eight pings per timeout: a busy CI machine may stall the test for a
    // few hundred milliseconds without the pinging client looking silent.
    let timeout = Duration::from_millis(800);
    let server = testing::builder()
        .ping_timeout(timeout)
        .spawn()
        .await
        .unwrap();
    let alice = user_with_session(&server, "alice").await;

    let (mut silent, _) = Gateway::identify(&server, &alice, "json").await;
    let started = tokio::time::Instant::now();
    assert_eq!(silent.close_code().await, Some(4009));
    assert!(started.elapsed() >= timeout - Duration::from_millis(50));

    // A client that pings every 100 ms outlives several timeouts.
    let (mut pinging, _) = Gateway::identify(&server, &alice, "json").await;
    let mut interval = tokio::time::interval(Duration::from_millis(100));
    let mut pongs = 0;
    while pongs < 20 {
        tokio::select! {
            _ = interval.tick() => pinging.send(Message::Ping(Bytes::from_static(b"p"))).await,
            message = pinging.socket.next_message() => match message {
                Some(Message::Pong(_)) => pongs += 1,
                other => panic!("expected pongs, got {other:?}"),
            },
        }
    }
    // ... and once it stops, it is closed too.
    assert_eq!(pinging.close_code().await, Some(4009));
    server.shutdown().await;
}

/// A guild of two users, `slow` (its owner) and "fast", each connected and
/// past its GUILD_INIT: the slow one's connection, the fast user and theirs.
async fn slow_and_fast(server: &Server, slow: &str) -> (Gateway, TestUser, Gateway) {
    let slow = user_with_session(server, slow).await;
    let fast = user_with_session(server, "fast").await;
    let guild = create_guild(server, &slow, "g").await;
    common::join(server, guild, &slow, &fast).await;
    let (mut slow_gateway, _) = Gateway::identify(server, &slow, "json").await;
    slow_gateway.expect("GUILD_INIT").await;
    let (mut fast_gateway, _) = Gateway::identify(server, &fast, "json").await;
    fast_gateway.expect("GUILD_INIT").await;
    (slow_gateway, fast, fast_gateway)
}

#[tokio::test]
async fn a_client_that_cannot_keep_up_is_closed_with_4000() {
    let server = testing::builder()
        .queue_capacity(4)
        .client_message_limit(Limit::per_second(10_000))
        .spawn()
        .await
        .unwrap();
    let (mut slow_gateway, fast, mut fast_gateway) = slow_and_fast(&server, "slow").await;

    // The slow client reads nothing while ~30 MB of presences are fanned out
    // to it: socket buffers fill, its queue overflows, and it is kicked.
    let big = "z".repeat(60_000);
    for _ in 0..500 {
        let presence = json!({"t": "PRESENCE_UPDATE", "d": {"type": 1, "description": big}});
        fast_gateway.send_json(presence).await;
        if server.stats().connections < 2 {
            break;
        }
    }
    // Reading now drains what was sent, then the close frame.
    assert_eq!(slow_gateway.close_code().await, Some(4000));
    // The fast client is unaffected.
    common::mark(&server, &fast, "still here").await;
    common::expect_marker(&mut fast_gateway, "still here").await;
    drop(fast_gateway);
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_even_without_overflow() {
    let server = testing::builder()
        .queue_capacity(1_000_000)
        .ping_timeout(Duration::from_millis(500))
        .client_message_limit(Limit::per_second(10_000))
        .spawn()
        .await
        .unwrap();
    let (mut stuck_gateway, _, mut fast_gateway) = slow_and_fast(&server, "stuck").await;

    // Enough to fill the socket buffers, never enough to overflow the queue.
    let big = "z".repeat(60_000);
    for _ in 0..300 {
        let presence = json!({"t": "PRESENCE_UPDATE", "d": {"type": 1, "description": big}});
        fast_gateway.send_json(presence).await;
    }
    // The stuck connection goes away on its own (write timeout), while the
    // fast client keeps pinging to stay alive. The stuck one pings too, so
    // that only the write timeout can explain its end, not silence. (Its
    // pings fail once the server has dropped it.)
    let deadline = tokio::time::Instant::now() + common::WAIT;
    while server.stats().connections > 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "stuck connection kept"
        );
        let ping = Message::Ping(Bytes::from_static(b"p"));
        let _ = stuck_gateway.socket.send(ping.clone()).await;
        fast_gateway.send(ping).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop((stuck_gateway, fast_gateway));
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_closes_connections_with_1001() {
    let server = testing::server().await;
    let alice = user_with_session(&server, "alice").await;
    let (mut gateway, _) = Gateway::identify(&server, &alice, "json").await;
    let shutdown = tokio::spawn(server.shutdown());
    assert!(matches!(
        gateway.receive().await,
        Received::Closed(Some(1001))
    ));
    drop(gateway);
    tokio::time::timeout(common::WAIT, shutdown)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_close_from_the_client_is_answered() {
    let server = testing::server().await;
    let alice = user_with_session(&server, "alice").await;
    for identified in [false, true] {
        let mut gateway = if identified {
            Gateway::identify(&server, &alice, "json").await.0
        } else {
            Gateway::connect(&server.gateway_url()).await
        };
        gateway.socket.close(None).await.unwrap();
        // The server echoes the close frame, completing the handshake,
        // rather than dropping the connection.
        let reply = tokio::time::timeout(common::WAIT, gateway.socket.next_message())
            .await
            .unwrap();
        assert!(
            matches!(reply, Some(Message::Close(_))),
            "identified: {identified}, got {reply:?}"
        );
    }
    server.shutdown().await;
}

/// A text frame whose payload is not UTF-8 (tungstenite cannot build a
/// `Message::Text` like that).
fn invalid_utf8_text() -> Message {
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    let payload = Bytes::from_static(b"{\"session_id\": \"\xff\xfe\"}");
    Message::Frame(Frame::message(payload, OpCode::Data(Data::Text), true))
}

#[tokio::test]
async fn text_frames_that_are_not_utf8_close_with_their_codes() {
    let server = testing::server().await;
    let alice = user_with_session(&server, "alice").await;
    // Before identify it is a bad identify payload...
    assert_eq!(
        close_after_identify(&server, invalid_utf8_text()).await,
        Some(4002)
    );
    // ... after, an invalid event.
    let (mut gateway, _) = Gateway::identify(&server, &alice, "json").await;
    gateway.send(invalid_utf8_text()).await;
    assert_eq!(gateway.close_code().await, Some(4004));
    server.shutdown().await;
}

#[tokio::test]
async fn a_new_password_ends_the_other_sessions_with_4002() {
    let server = testing::server().await;
    let alice = user_with_session(&server, "alice").await;
    let alice_id = alice.id;
    // Two more sessions of alice, as a login would open them.
    let mut old_gateways = Vec::new();
    let mut old_sessions = Vec::new();
    for encoding in ["json", "zlib"] {
        let session = ayaka_server::testing::another_session(&server, alice_id).await;
        let mut gateway = Gateway::connect(&server.gateway_url()).await;
        gateway
            .send_json(json!({"session_id": session, "encoding": encoding}))
            .await;
        gateway.expect("READY").await;
        old_gateways.push(gateway);
        old_sessions.push(session);
    }
    let (mut kept_gateway, _) = Gateway::identify(&server, &alice, "zlib").await;
    let other = user_with_session(&server, "bob").await;

    let change = json!({"password": "a brand new password"});
    let response = common::request_as(
        &server,
        &alice,
        http::Method::PATCH,
        "/users/@me",
        Some(change),
    )
    .await;
    assert_eq!(response.status, http::StatusCode::OK);
    // The other sessions' connections close with 4002, and the sessions
    // are gone everywhere.
    for mut gateway in old_gateways {
        assert_eq!(gateway.close_code().await, Some(4002));
    }
    for session in &old_sessions {
        let me = common::request(
            &server,
            http::Method::GET,
            "/users/@me",
            Some(session),
            None,
        )
        .await;
        assert_eq!(me.status, http::StatusCode::UNAUTHORIZED);
        let mut again = Gateway::connect(&server.gateway_url()).await;
        again.send_json(json!({"session_id": session})).await;
        assert_eq!(again.close_code().await, Some(4002));
    }
    // The session that made the change keeps working, on REST and on the
    // gateway.
    assert_eq!(response.body["session_ids"], json!([alice.session]));
    let me = common::request_as(&server, &alice, http::Method::GET, "/users/@me", None).await;
    assert_eq!(me.status, http::StatusCode::OK);
    common::mark(&server, &alice, "still here").await;
    common::expect_marker(&mut kept_gateway, "still here").await;
    // Another user's sessions are untouched.
    let bob = common::request_as(&server, &other, http::Method::GET, "/users/@me", None).await;
    assert_eq!(bob.status, http::StatusCode::OK);
    server.shutdown().await;
}
