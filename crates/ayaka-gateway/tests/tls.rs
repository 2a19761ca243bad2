#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! `wss://` through rustls, against a local TLS WebSocket peer with a
//! self-signed certificate.

mod common;

use ayaka_gateway::{ErrorKind, GatewayEndpoint, Shard, ShardConfig, ShardId};
use ayaka_model::gateway::EventKind;
use ayaka_server::testing::{self, TlsPair};
use common::{READY, fast, next_error, next_event};
use futures_util::{SinkExt, StreamExt};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};
use tokio_tungstenite::tungstenite::Message;

/// A TLS WebSocket peer for `localhost` that answers identify with READY,
/// then reads until the client leaves. Returns its URL and the TLS pair
/// whose certificate it serves.
async fn tls_gateway() -> (String, TlsPair) {
    let pair = testing::tls_pair();
    (serve_gateway(&pair).await, pair)
}

/// A client configuration trusting only `pair`'s certificate.
fn trusting(pair: &TlsPair) -> rustls::ClientConfig {
    rustls::ClientConfig::clone(&pair.client_config)
}

async fn serve_gateway(pair: &TlsPair) -> String {
    let acceptor = pair.acceptor.clone();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(stream) = acceptor.accept(stream).await else {
                    return;
                };
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                if let Some(Ok(Message::Text(_))) = ws.next().await {
                    let _ = ws.send(Message::text(READY)).await;
                    while let Some(Ok(_)) = ws.next().await {}
                }
            });
        }
    });
    format!("wss://localhost:{port}")
}

/// An `https` `/available` that answers `{"port": port}` once.
async fn serve_available(pair: &TlsPair, port: u16) -> String {
    let acceptor = pair.acceptor.clone();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "https://localhost:{}/available",
        listener.local_addr().unwrap().port()
    );
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut stream = acceptor.accept(stream).await.unwrap();
        let mut request = Vec::new();
        while !request.ends_with(b"\r\n\r\n") {
            let mut byte = [0];
            stream.read_exact(&mut byte).await.unwrap();
            request.push(byte[0]);
        }
        assert!(request.starts_with(b"GET /available HTTP/1.1\r\n"));
        let body = format!(r#"{{"port":{port}}}"#);
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(response.as_bytes()).await.unwrap();
        stream.shutdown().await.unwrap();
    });
    url
}

/// Runs a shard with `config`: its first event is READY.
async fn first_event_is_ready(config: ShardConfig) {
    let mut shard = Shard::spawn(ShardId(0), config);
    let received = next_event(&mut shard).await;
    assert_eq!(received.kind(), EventKind::Ready);
    shard.close().await;
}

#[tokio::test]
async fn wss_with_a_trusted_private_certificate_gets_ready() {
    let (url, pair) = tls_gateway().await;
    let config = fast(ShardConfig::builder("s"))
        .endpoint(GatewayEndpoint::Url(url))
        .tls_config(trusting(&pair))
        .build();
    first_event_is_ready(config).await;
}

#[tokio::test]
async fn wss_with_the_default_roots_refuses_an_unknown_certificate() {
    let (url, _) = tls_gateway().await;
    let config = fast(ShardConfig::builder("s"))
        .endpoint(GatewayEndpoint::Url(url))
        .build();
    let mut shard = Shard::spawn(ShardId(0), config);
    let error = next_error(&mut shard).await;
    assert_eq!(error.kind(), ErrorKind::Connect);
    shard.close().await;
}

#[tokio::test]
async fn https_discovery_uses_the_configured_tls_too() {
    let pair = testing::tls_pair();
    let gateway = serve_gateway(&pair).await;
    let port = gateway.rsplit(':').next().unwrap().parse().unwrap();
    let available = serve_available(&pair, port).await;
    let config = fast(ShardConfig::builder("s"))
        .endpoint(GatewayEndpoint::Available(available))
        .tls_config(trusting(&pair))
        .build();
    first_event_is_ready(config).await;
}
