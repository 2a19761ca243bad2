//! The REST API on hyper: routing, rate limits, bodies, errors.

mod body;
#[cfg(feature = "fuzzing")]
pub(crate) mod fuzzing;
mod handlers;
mod rejections;
mod reply;
mod route;

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::ratelimit::{Decision, bucket};
use crate::server::Shared;
use reply::{ApiError, Reply};
use route::Resolved;

/// How long a client may take to send request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest request line and headers together: more is a 431 (a
/// session id is 40 bytes; hyper's default would be about 400 KiB).
const MAX_HEAD: usize = 16 * 1024;
/// How long in-flight requests get to finish at shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Accepts REST connections until `shutdown`.
pub(crate) async fn serve(
    listener: TcpListener,
    max_connections: usize,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
) {
    let slots = Arc::new(Semaphore::new(max_connections));
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Usually out of file descriptors: back off, keep serving.
                    tracing::warn!(%error, "REST accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        // Over the cap the connection is dropped at once: cheaper than
        // letting it queue, and the client sees a reset it can retry.
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::warn!("too many REST connections, dropping one");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        let shutdown = shutdown.clone();
        shared
            .counters
            .rest_connections
            .fetch_add(1, Ordering::Relaxed);
        tasks.spawn(async move {
            serve_connection(stream, peer, Arc::clone(&shared), shutdown).await;
            shared
                .counters
                .rest_connections
                .fetch_sub(1, Ordering::Relaxed);
            drop(slot);
        });
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
) {
    let stream = rejections::JsonRejections::new(stream, shared.gateway.quirks);
    let service = service_fn(move |request| {
        let shared = Arc::clone(&shared);
        async move { Ok::<_, Infallible>(handle(&shared, peer.ip(), request).await) }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_header_size(MAX_HEAD)
        // One buffer per response, so that `JsonRejections` sees hyper's
        // own answers whole.
        .writev(false)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%error, "REST connection ended with an error");
            }
        }
        () = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(DRAIN_TIMEOUT, connection).await;
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}

/// The server's own statistics (an extension, outside the route table and
/// its rate limits, and not counted in `requests`).
const LOCAL_STATS: &str = "/_local/stats";

/// Answers one request; never fails (errors are JSON responses).
async fn handle(
    shared: &Shared,
    client: IpAddr,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    if request.uri().path() == LOCAL_STATS {
        return local_stats(shared, request.method());
    }
    let response = answer(shared, client, request).await;
    shared.counters.requests.fetch_add(1, Ordering::Relaxed);
    if response.status() == http::StatusCode::TOO_MANY_REQUESTS {
        shared.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
    }
    response
}

fn local_stats(shared: &Shared, method: &http::Method) -> Response<Full<Bytes>> {
    let outcome = if method == http::Method::GET {
        Reply::json(http::StatusCode::OK, &crate::stats::to_json(shared))
    } else {
        Err(ApiError::method_not_allowed("GET"))
    };
    match outcome {
        Ok(reply) => respond(reply),
        Err(error) => error_response(shared, &error),
    }
}

async fn answer(
    shared: &Shared,
    client: IpAddr,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    // The route may borrow from the path (an invite code) while the request
    // moves on; the clone shares the URI's bytes.
    let uri = request.uri().clone();
    let resolved = route::resolve(request.method(), uri.path());
    let bucket_name = match &resolved {
        Resolved::Route(route) => route.kind().bucket(),
        _ => bucket::UNKNOWN,
    };
    let decision = shared.limiter.check(client, bucket_name, now_ms());
    let outcome = match (&decision, resolved) {
        (Some(decision), _) if !decision.allowed => Err(ApiError::rate_limited(
            decision.retry_after_ms as f64 / 1_000.0,
        )),
        (_, Resolved::NotFound) => Err(ApiError::not_found("route")),
        (_, Resolved::MethodNotAllowed(allow)) => Err(ApiError::method_not_allowed(allow)),
        (_, Resolved::Route(route)) => {
            let outcome = handlers::dispatch(shared, route, request).await;
            // Nothing leaves before what it acknowledges (or shows) is in
            // the data file.
            match shared.store.sync().await {
                Ok(()) => outcome,
                Err(_) => Err(ApiError::storage_unavailable()),
            }
        }
    };
    let mut response = match outcome {
        Ok(reply) => respond(reply),
        Err(error) => {
            tracing::debug!(status = %error.status, "request refused");
            error_response(shared, &error)
        }
    };
    if let Some(decision) = decision {
        add_rate_limit_headers(response.headers_mut(), &decision, client, bucket_name);
    }
    response
}

fn error_response(shared: &Shared, error: &ApiError) -> Response<Full<Bytes>> {
    let mut response = respond(Reply {
        status: error.status,
        body: Some(error.body(shared.gateway.quirks)),
    });
    if let Some(allow) = error.allow() {
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(allow));
    }
    if let Some(secs) = error.retry_after_header() {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

fn respond(reply: Reply) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(reply.body.clone().unwrap_or_default()));
    *response.status_mut() = reply.status;
    if reply.body.is_some() {
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    response
}

/// The five documented headers. The bucket names the client address and
/// the route, never anything from the request's headers (the deployed
/// server once echoed the session id there).
fn add_rate_limit_headers(
    headers: &mut http::HeaderMap,
    decision: &Decision,
    client: IpAddr,
    bucket_name: &str,
) {
    // The bucket text holds the client address, which never makes an
    // invalid header value; the numbers are written without a `String`.
    let bucket = format!("LIMITER/{client}/{bucket_name}/{}", decision.limit);
    if let Ok(bucket) = HeaderValue::try_from(bucket) {
        headers.insert("x-ratelimit-bucket", bucket);
    }
    headers.insert(
        "x-ratelimit-limit",
        HeaderValue::from(decision.limit.requests()),
    );
    headers.insert(
        "x-ratelimit-remaining",
        HeaderValue::from(decision.remaining),
    );
    headers.insert(
        "x-ratelimit-reset",
        HeaderValue::from(decision.reset_secs()),
    );
    let retry_after = HeaderValue::from(decision.retry_after_secs());
    if !decision.allowed {
        // The standard header too, for generic HTTP clients.
        headers.insert(header::RETRY_AFTER, retry_after.clone());
    }
    headers.insert("x-ratelimit-retry-after", retry_after);
}
