//! The builder and the handle: addresses, errors, stats.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use ayaka_server::{ErrorKind, Server};

#[tokio::test]
async fn a_taken_address_is_a_bind_error() {
    let first = common::spawn().await;
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
    let server = common::builder()
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
    let server = common::spawn().await;
    let alice = common::create_user(&server, "alice").await;
    common::create_guild(&server, &alice, "g").await;
    let stats = server.stats();
    assert_eq!(
        (stats.users, stats.guilds, stats.users_in_guilds),
        (1, 1, 1)
    );
    assert_eq!((stats.invites, stats.connections), (0, 0));
    server.shutdown().await;
}
