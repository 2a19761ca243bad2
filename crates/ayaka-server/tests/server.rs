//! The builder and the handle: addresses, errors, stats.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use ayaka_server::{ErrorKind, Server, testing};

#[tokio::test]
async fn a_taken_address_is_a_bind_error() {
    let first = testing::server().await;
    let error = Server::builder()
        .bind(first.rest_addr())
        .spawn()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Bind);
    assert!(error.to_string().contains(&first.rest_addr().to_string()));
    first.shutdown().await;
}

#[tokio::test]
async fn gateway_ports_past_65535_are_a_config_error() {
    let error = Server::builder()
        .gateway_port_base(65_535)
        .gateway_ports(2)
        .spawn()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config);
}

#[tokio::test]
async fn gateway_ports_follow_the_base() {
    // Find a free port, then ask for it (and let go of it first).
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = probe.local_addr().unwrap().port();
    drop(probe);
    let server = testing::builder()
        .gateway_port_base(base)
        .spawn()
        .await
        .unwrap();
    assert_eq!(server.gateway_url(), format!("ws://127.0.0.1:{base}"));
    assert_eq!(
        server.available_url(),
        format!("{}/available", server.rest_url())
    );
    server.shutdown().await;
}

#[tokio::test]
async fn stats_count_what_exists() {
    let server = testing::server().await;
    let alice = testing::user_with_session(&server, "alice").await;
    common::create_guild(&server, &alice, "g").await;
    let stats = server.stats();
    assert_eq!(
        (stats.users, stats.guilds, stats.users_in_guilds),
        (1, 1, 1)
    );
    assert_eq!((stats.invites, stats.connections), (0, 0));
    server.shutdown().await;
}

#[tokio::test]
async fn identifying_counts_connections_until_their_ready() {
    let server = testing::server().await;
    let alice = testing::user_with_session(&server, "alice").await;
    // Connected, not identified: counted until it is.
    let waiting = common::Gateway::connect(&server.gateway_url()).await;
    let deadline = tokio::time::Instant::now() + common::WAIT;
    while server.stats().identifying == 0 {
        assert!(tokio::time::Instant::now() < deadline, "never counted");
        tokio::task::yield_now().await;
    }
    let (_ready, _) = common::Gateway::identify(&server, &alice, "json").await;
    let stats = server.stats();
    // Two at once at the peak; the identified one is no longer counted.
    assert_eq!((stats.identifying, stats.identifying_peak), (1, 2));
    drop(waiting);
    while server.stats().identifying > 0 {
        assert!(tokio::time::Instant::now() < deadline, "never uncounted");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(server.stats().identifying_peak, 2);
    server.shutdown().await;
}

#[tokio::test]
async fn rest_connections_over_the_cap_are_dropped() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    async fn get_available(server: &Server) -> Vec<u8> {
        let mut stream = TcpStream::connect(server.rest_addr()).await.unwrap();
        let request = b"GET /available HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        let _ = stream.write_all(request).await;
        let mut answer = Vec::new();
        let read = tokio::time::timeout(common::WAIT, stream.read_to_end(&mut answer));
        let _ = read.await.unwrap();
        answer
    }

    let server = testing::builder()
        .max_rest_connections(1)
        .spawn()
        .await
        .unwrap();
    let holder = TcpStream::connect(server.rest_addr()).await.unwrap();
    // The holder takes the only slot once accepted; until then a request
    // may still get through, so wait for the first refusal.
    let deadline = tokio::time::Instant::now() + common::WAIT;
    while !get_available(&server).await.is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "never refused");
    }
    drop(holder);
    while !get_available(&server).await.starts_with(b"HTTP/1.1 200") {
        assert!(tokio::time::Instant::now() < deadline, "slot never freed");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn huge_timeouts_mean_never_rather_than_a_crash() {
    let server = testing::builder()
        .identify_timeout(std::time::Duration::MAX)
        .ping_timeout(std::time::Duration::MAX)
        .spawn()
        .await
        .unwrap();
    let alice = testing::user_with_session(&server, "alice").await;
    let (mut gateway, ready) = common::Gateway::identify(&server, &alice, "json").await;
    assert_eq!(ready["d"]["id"], alice.id.get());
    common::mark(&server, &alice, "alive").await;
    common::expect_marker(&mut gateway, "alive").await;
    drop(gateway);
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_does_not_wait_for_a_silent_handshake() {
    let server = testing::builder()
        .identify_timeout(std::time::Duration::from_secs(3_600))
        .spawn()
        .await
        .unwrap();
    // A TCP connection that never sends its WebSocket upgrade request.
    let _silent = tokio::net::TcpStream::connect(server.gateway_addrs()[0])
        .await
        .unwrap();
    // Wait (bounded) until the server has taken the connection: nothing
    // announces it, so poll.
    let deadline = tokio::time::Instant::now() + common::WAIT;
    while server.stats().connections == 0 {
        assert!(tokio::time::Instant::now() < deadline, "never accepted");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    tokio::time::timeout(common::WAIT, server.shutdown())
        .await
        .expect("shutdown without waiting for the identify timeout");
}
