//! The `testing` feature's support works as other crates' tests use it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use ayaka_server::testing;
use http::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn a_user_with_a_session_is_authenticated() {
    let server = testing::server().await;
    let alice = testing::user_with_session(&server, "alice").await;
    assert_eq!(alice.rest_url, server.rest_url());
    assert_eq!(alice.gateway_url, server.gateway_url());
    let me = common::me(&server, &alice.session).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["id"].as_u64(), Some(alice.id.get()));
    assert_eq!(me.body["username"], "alice");
    assert_eq!(me.body["email"], alice.email.as_str());
    assert!(!format!("{alice:?}").contains(&alice.session));
    assert!(!format!("{alice:?}").contains(&alice.email));
    server.shutdown().await;
}

#[tokio::test]
async fn the_tls_pair_completes_a_handshake() {
    let pair = testing::tls_pair();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let acceptor = pair.acceptor.clone();
    let served = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut tls = acceptor.accept(stream).await.unwrap();
        tls.write_all(b"hello").await.unwrap();
        tls.shutdown().await.unwrap();
    });
    let connector = tokio_rustls::TlsConnector::from(pair.client_config.clone());
    let stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, stream).await.unwrap();
    let mut text = Vec::new();
    tls.read_to_end(&mut text).await.unwrap();
    assert_eq!(text, b"hello");
    served.await.unwrap();
}
