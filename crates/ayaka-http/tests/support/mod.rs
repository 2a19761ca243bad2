//! A tiny in-test hyper server (plain or TLS) for behaviour the real local
//! server never shows: lying headers, silence, huge bodies.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code, unreachable_pub)]

pub mod hostile;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use ayaka_server::testing::{self, TlsPair};
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// What the handler sees of a request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: http::Method,
    pub path: String,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

/// Serves `handler` on a fresh loopback port, optionally over TLS.
pub async fn serve<F, Fut>(tls: Option<TlsAcceptor>, handler: F) -> SocketAddr
where
    F: Fn(Seen) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handler = Arc::new(handler);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let handler = Arc::clone(&handler);
            let tls = tls.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<Incoming>| {
                    let handler = Arc::clone(&handler);
                    async move {
                        let (parts, body) = request.into_parts();
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let seen = Seen {
                            method: parts.method,
                            path: parts.uri.path().to_owned(),
                            headers: parts.headers,
                            body,
                        };
                        Ok::<_, Infallible>(handler(seen).await)
                    }
                });
                let builder = hyper::server::conn::http1::Builder::new();
                match tls {
                    Some(tls) => {
                        let Ok(stream) = tls.accept(stream).await else {
                            return;
                        };
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                    None => {
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                }
            });
        }
    });
    addr
}

/// Serves `handler` on a fresh loopback port over plain HTTP, handing it
/// each request's number (from 0) and counting them.
pub async fn serve_counted<F, Fut>(handler: F) -> (SocketAddr, Arc<AtomicU32>)
where
    F: Fn(u32, Seen) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let calls = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&calls);
    let addr = serve(None, move |seen| {
        handler(counter.fetch_add(1, Ordering::SeqCst), seen)
    })
    .await;
    (addr, calls)
}

/// A response with a status, headers and a body.
pub fn reply(status: u16, headers: &[(&str, &str)], body: &str) -> Response<Full<Bytes>> {
    let mut response = Response::builder().status(status);
    for (name, value) in headers {
        response = response.header(*name, *value);
    }
    response
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

/// A self-signed pair for `localhost`: `ayaka_server::testing`'s, as
/// `(what the client trusts, the server's acceptor)`.
pub fn self_signed() -> (TlsPair, TlsAcceptor) {
    let pair = testing::tls_pair();
    let acceptor = pair.acceptor.clone();
    (pair, acceptor)
}

/// A client TLS configuration trusting only `pair`'s certificate.
pub fn trusting(pair: TlsPair) -> rustls::ClientConfig {
    (*pair.client_config).clone()
}
