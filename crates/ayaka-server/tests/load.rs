//! Many connections, connect/disconnect churn and broken clients: the
//! server stays healthy and keeps serving everyone else.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use ayaka_server::Server;
use ayaka_server::testing::{self, TestUser, user_with_session};
use common::{Gateway, WAIT, create_guild, join, request_as};
use futures_util::StreamExt;
use http::{Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Waits (bounded) until the server holds `expected` gateway connections.
async fn connections_become(server: &Server, expected: usize) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while server.stats().connections != expected {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} connections, expected {expected}",
            server.stats().connections
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A still-working server: a new client identifies and gets READY.
async fn still_serving(server: &Server) {
    let user = user_with_session(server, "probe").await;
    let (gateway, ready) = Gateway::identify(server, &user, "zlib").await;
    assert_eq!(ready["d"]["id"], user.id.get());
    drop(gateway);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_connections_stay_healthy() {
    let server = testing::server().await;
    let owner = user_with_session(&server, "owner").await;
    let guild = create_guild(&server, &owner, "crowd").await;
    let mut users = vec![];
    for index in 0..9 {
        let user = user_with_session(&server, &format!("user{index}")).await;
        join(&server, guild, &owner, &user).await;
        users.push(user);
    }
    users.push(owner);
    let sessions: Vec<String> = users.iter().map(|user| user.session.clone()).collect();
    let url = server.gateway_url();

    let connect = |index: usize| {
        let session = sessions[index % sessions.len()].clone();
        let url = url.clone();
        async move {
            let mut gateway = Gateway::connect(&url).await;
            let encoding = if index.is_multiple_of(2) {
                "json"
            } else {
                "zlib"
            };
            gateway
                .send_json(json!({"session_id": session, "encoding": encoding}))
                .await;
            gateway.expect("READY").await;
            gateway.expect("GUILD_INIT").await;
            gateway
        }
    };
    let mut gateways: Vec<Gateway> = futures_util::stream::iter(0..1000)
        .map(connect)
        .buffer_unordered(100)
        .collect()
        .await;
    assert_eq!(server.stats().connections, 1000);

    let owner = users.last().unwrap();
    let body = json!({"description": "everyone hears this"});
    let updated = request_as(
        &server,
        owner,
        Method::PATCH,
        &format!("/guilds/{guild}"),
        Some(body),
    )
    .await;
    assert_eq!(updated.status, StatusCode::OK);
    let received = futures_util::stream::iter(gateways.iter_mut())
        .map(|gateway| async move { gateway.expect("GUILD_UPDATE").await })
        .buffer_unordered(100)
        .filter(|event| std::future::ready(event["d"]["description"] == "everyone hears this"))
        .count()
        .await;
    assert_eq!(received, 1000);

    drop(gateways);
    connections_become(&server, 0).await;
    still_serving(&server).await;
    server.shutdown().await;
}

/// The first bytes of a WebSocket handshake, by hand.
async fn raw_upgrade(server: &Server) -> TcpStream {
    let mut stream = TcpStream::connect(server.gateway_addrs()[0]).await.unwrap();
    let request = "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    while !response.ends_with(b"\r\n\r\n") {
        let mut byte = [0_u8; 1];
        let read = tokio::time::timeout(WAIT, stream.read(&mut byte))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read, 1, "handshake answered");
        response.push(byte[0]);
    }
    assert!(response.starts_with(b"HTTP/1.1 101"));
    stream
}

/// A client text frame with a zero mask (payload sent as is).
fn masked_text_frame(payload: &[u8], claimed_len: u8) -> Vec<u8> {
    let mut frame = vec![0x81, 0x80 | claimed_len, 0, 0, 0, 0];
    frame.extend_from_slice(payload);
    frame
}

async fn one_cycle(server: &Server, user: &TestUser, index: usize) {
    match index % 5 {
        // connect and vanish
        0 => drop(Gateway::connect(&server.gateway_url()).await),
        // identify and vanish without reading
        1 => {
            let mut gateway = Gateway::connect(&server.gateway_url()).await;
            gateway.send_json(json!({"session_id": user.session})).await;
        }
        // a proper session, closed properly
        2 => {
            let (mut gateway, _) = Gateway::identify(server, user, "zlib").await;
            gateway.socket.close(None).await.unwrap();
        }
        // half a frame before identify, then gone
        3 => {
            let mut stream = raw_upgrade(server).await;
            stream
                .write_all(&masked_text_frame(b"{\"session", 100))
                .await
                .unwrap();
        }
        // identified, then half a frame, then gone
        _ => {
            let mut stream = raw_upgrade(server).await;
            let identify = format!(r#"{{"session_id":"{}"}}"#, user.session);
            let len = u8::try_from(identify.len()).unwrap();
            stream
                .write_all(&masked_text_frame(identify.as_bytes(), len))
                .await
                .unwrap();
            stream
                .write_all(&masked_text_frame(b"{\"t\":", 120))
                .await
                .unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_connect_disconnect_cycles_leave_nothing_behind() {
    let server = testing::server().await;
    let user = user_with_session(&server, "churn").await;
    futures_util::stream::iter(0..2_500)
        .for_each_concurrent(50, |index| one_cycle(&server, &user, index))
        .await;
    connections_become(&server, 0).await;
    still_serving(&server).await;
    server.shutdown().await;
}

#[tokio::test]
async fn broken_frames_close_with_1002() {
    let server = testing::server().await;
    let mut stream = raw_upgrade(&server).await;
    // Clients must mask their frames; this one is not masked.
    stream.write_all(b"\x81\x05hello").await.unwrap();
    let mut header = [0_u8; 4];
    tokio::time::timeout(WAIT, stream.read_exact(&mut header))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(header[0], 0x88, "a close frame");
    assert_eq!(u16::from_be_bytes([header[2], header[3]]), 1002);
    drop(stream);
    still_serving(&server).await;
    server.shutdown().await;
}

#[tokio::test]
async fn garbage_on_either_port_hurts_nobody() {
    let server = testing::server().await;
    let user = user_with_session(&server, "bystander").await;
    let (mut bystander, _) = Gateway::identify(&server, &user, "json").await;

    let mut gateway_port = TcpStream::connect(server.gateway_addrs()[0]).await.unwrap();
    gateway_port
        .write_all(b"\x16\x03\x01 definitely not HTTP\r\n\r\n")
        .await
        .unwrap();
    let mut refusal = Vec::new();
    // The server hangs up (within the guard), never upgrading.
    let _ = tokio::time::timeout(WAIT, gateway_port.read_to_end(&mut refusal))
        .await
        .unwrap();
    assert!(!refusal.starts_with(b"HTTP/1.1 101"), "{refusal:?}");

    let mut rest_port = TcpStream::connect(server.rest_addr()).await.unwrap();
    rest_port
        .write_all(b"\x00\x01\x02 BREW /coffee HTCPCP/1.0\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(WAIT, rest_port.read_to_end(&mut answer))
        .await
        .unwrap();
    assert!(
        answer.is_empty() || answer.starts_with(b"HTTP/1.1 400"),
        "{answer:?}"
    );

    common::mark(&server, &user, "fine").await;
    common::expect_marker(&mut bystander, "fine").await;
    drop(bystander);
    server.shutdown().await;
}

/// Waits (bounded) until `stream` is closed by the server.
async fn closed_by_server(stream: &mut TcpStream) {
    let mut rest = Vec::new();
    let read = tokio::time::timeout(WAIT, stream.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "the server never closed the connection");
}

#[tokio::test]
async fn connections_count_against_the_limit_from_the_tcp_accept() {
    let server = testing::builder()
        .max_connections(3)
        .handshake_timeout(Duration::from_secs(3_600))
        .identify_timeout(Duration::from_secs(3_600))
        .spawn()
        .await
        .unwrap();
    // Three TCP connections that never even start their handshake.
    let mut silent = Vec::new();
    for _ in 0..3 {
        silent.push(TcpStream::connect(server.gateway_addrs()[0]).await.unwrap());
    }
    connections_become(&server, 3).await;
    // They hold every slot: a fourth that stays silent is let go within
    // the short refusal bound, never counted, not kept for the long
    // handshake timeout.
    let mut fourth = TcpStream::connect(server.gateway_addrs()[0]).await.unwrap();
    closed_by_server(&mut fourth).await;
    assert_eq!(server.stats().connections, 3);
    // One that does its handshake is told why.
    let mut refused = Gateway::connect(&server.gateway_url()).await;
    assert_eq!(refused.close_code().await, Some(4003));
    // A freed slot is usable again.
    drop(silent.pop());
    connections_become(&server, 2).await;
    still_serving(&server).await;
    server.shutdown().await;
}

#[tokio::test]
async fn the_handshake_has_its_own_timeout() {
    let server = testing::builder()
        .handshake_timeout(Duration::from_millis(200))
        .identify_timeout(Duration::from_secs(3_600))
        .spawn()
        .await
        .unwrap();
    let mut silent = TcpStream::connect(server.gateway_addrs()[0]).await.unwrap();
    closed_by_server(&mut silent).await;
    connections_become(&server, 0).await;
    // The identify timeout runs from the end of the handshake, and a
    // handshake done in time is not cut by the handshake timeout.
    let mut upgraded = raw_upgrade(&server).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(server.stats().connections, 1);
    drop(upgraded.shutdown().await);
    server.shutdown().await;
}
