//! The [`Client`]: transport, authorization, rate limiting and retries.
//! The typed route methods are in `routes.rs`.

mod builder;
mod routes;

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use ayaka_model::ErrorBody;
use ayaka_model::route::{Method, Route};
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, USER_AGENT};
use http::{HeaderValue, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use builder::{ClientBuilder, DEFAULT_BASE_URL, RetryPolicy};

use crate::error::{Error, ErrorKind};
use crate::ratelimit::headers::as_duration;
use crate::ratelimit::{Permit, RateLimitHeaders, RateLimiter, Response};

/// Wait after a 429 that names no wait (or a zero one).
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

/// A REST client for Ayaka. Cheap to clone; clones share connections, the
/// rate limiter and the session id.
///
/// ```no_run
/// use ayaka_http::Client;
/// use ayaka_model::request::{CreateGuild, CreateUser};
///
/// # async fn demo() -> Result<(), ayaka_http::Error> {
/// let client = Client::builder().base_url("http://127.0.0.1:8080").build()?;
/// let user = client
///     .create_user(&CreateUser::new("ayaka", 1, "ayaka@example.com", "correct horse"))
///     .await?;
/// // The new account's first session id logs the client in.
/// if let Some(session) = user.session_ids.iter().flatten().next() {
///     client.set_session(session)?;
/// }
/// let guild = client.create_guild(&CreateGuild::new("My guild")).await?;
/// println!("created {}", guild.name);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: HyperClient<HttpsConnector<HttpConnector>, Full<Bytes>>,
    base_url: String,
    /// Marked sensitive, so hyper and `Debug` never show it.
    session: RwLock<Option<HeaderValue>>,
    user_agent: HeaderValue,
    timeout: Duration,
    retry: RetryPolicy,
    ratelimiter: Option<Arc<dyn RateLimiter>>,
    max_response_bytes: usize,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("has_session", &self.has_session())
            .field("timeout", &self.inner.timeout)
            .field("retry", &self.inner.retry)
            .field("ratelimiter", &self.inner.ratelimiter)
            .finish_non_exhaustive()
    }
}

/// A response as read off the wire.
#[derive(Debug)]
pub(crate) struct RawResponse {
    pub(crate) status: StatusCode,
    pub(crate) body: Bytes,
    /// The wait a 429 asked for, if it said.
    retry_after: Option<Duration>,
}

fn session_header(session_id: &str) -> Result<HeaderValue, Error> {
    let mut value = HeaderValue::from_str(session_id).map_err(|_| {
        Error::with_source(
            ErrorKind::Config,
            "a session id must be visible ASCII to fit a header",
        )
    })?;
    value.set_sensitive(true);
    Ok(value)
}

impl Client {
    /// A builder, with the defaults listed on [`ClientBuilder::new`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// Sets the session id sent as `Authorization`, for this client and its
    /// clones. Fails with [`ErrorKind::Config`] if it cannot be a header value.
    pub fn set_session(&self, session_id: impl AsRef<str>) -> Result<(), Error> {
        let value = session_header(session_id.as_ref())?;
        *self
            .inner
            .session
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(value);
        Ok(())
    }

    /// Forgets the session id.
    pub fn clear_session(&self) {
        *self
            .inner
            .session
            .write()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Whether a session id is set.
    pub fn has_session(&self) -> bool {
        self.inner
            .session
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// The rate limiter in use, unless switched off.
    pub fn ratelimiter(&self) -> Option<&Arc<dyn RateLimiter>> {
        self.inner.ratelimiter.as_ref()
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// Serialises a JSON body.
    fn json<T: Serialize>(body: &T) -> Result<Bytes, Error> {
        serde_json::to_vec(body)
            .map(Bytes::from)
            .map_err(|e| Error::with_source(ErrorKind::Config, e))
    }

    /// Sends a request on `route`, waiting for the rate limiter and
    /// retrying 429s per the retry policy.
    pub(crate) async fn request(
        &self,
        route: Route<'_>,
        body: Option<Bytes>,
    ) -> Result<RawResponse, Error> {
        let kind = route.kind();
        let session = if kind.needs_session() {
            let session = self
                .inner
                .session
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            Some(session.ok_or_else(|| Error::new(ErrorKind::NoSession))?)
        } else {
            None
        };
        let mut url = self.inner.base_url.clone();
        route.write_path(&mut url);
        let uri: Uri = url
            .parse()
            .map_err(|e| Error::with_source(ErrorKind::Config, e))?;
        let retry = self.inner.retry;
        let mut limited_responses = 0;
        loop {
            let permit = match &self.inner.ratelimiter {
                Some(limiter) => Some(
                    limiter
                        .acquire(kind, retry.max_wait)
                        .await
                        .map_err(|e| Error::acquire_failed(e, limited_responses))?,
                ),
                None => None,
            };
            let request = self.build_request(kind.method(), &uri, session.clone(), body.clone())?;
            let attempt = tokio::time::timeout(self.inner.timeout, self.send(request, permit));
            let Ok(response) = attempt.await else {
                tracing::debug!(route = kind.as_str(), timeout = ?self.inner.timeout, "request timed out");
                return Err(Error::new(ErrorKind::Timeout));
            };
            let response = response?;
            tracing::trace!(route = kind.as_str(), status = %response.status, "response");
            if response.status != StatusCode::TOO_MANY_REQUESTS {
                return Ok(response);
            }
            limited_responses += 1;
            let retry_after = response.retry_after.unwrap_or(DEFAULT_RETRY_AFTER);
            tracing::debug!(
                route = kind.as_str(),
                ?retry_after,
                limited_responses,
                "rate limited (429)"
            );
            if limited_responses > retry.max_retries || retry_after > retry.max_wait {
                return Err(Error::rate_limited(retry_after, limited_responses));
            }
            if self.inner.ratelimiter.is_none() {
                tokio::time::sleep(retry_after).await;
            }
            // Otherwise the limiter now holds the bucket until the wait is over.
        }
    }

    fn build_request(
        &self,
        method: Method,
        uri: &Uri,
        session: Option<HeaderValue>,
        body: Option<Bytes>,
    ) -> Result<Request<Full<Bytes>>, Error> {
        let mut builder = Request::builder()
            .method(http_method(method))
            .uri(uri.clone())
            .header(USER_AGENT, self.inner.user_agent.clone());
        if let Some(session) = session {
            builder = builder.header(AUTHORIZATION, session);
        }
        let body = match body {
            Some(body) => {
                builder =
                    builder.header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                body
            }
            None => {
                if method != Method::Get {
                    builder = builder.header(CONTENT_LENGTH, HeaderValue::from_static("0"));
                }
                Bytes::new()
            }
        };
        builder
            .body(Full::new(body))
            .map_err(|e| Error::with_source(ErrorKind::Config, e))
    }

    /// One attempt: send, report the rate-limit headers, read the body.
    async fn send(
        &self,
        request: Request<Full<Bytes>>,
        permit: Option<Permit>,
    ) -> Result<RawResponse, Error> {
        let response = self
            .inner
            .http
            .request(request)
            .await
            .map_err(|e| Error::with_source(ErrorKind::Transport, e))?;
        let (parts, body) = response.into_parts();
        let status = parts.status;
        let mut headers = RateLimitHeaders::from_headers(&parts.headers);
        let limited = status == StatusCode::TOO_MANY_REQUESTS;
        let mut permit = permit;
        if !limited && let Some(permit) = permit.take() {
            permit.complete(Response {
                limited,
                headers: &headers,
            });
        }
        let body = Limited::new(body, self.inner.max_response_bytes)
            .collect()
            .await
            .map(|collected| collected.to_bytes());
        let mut retry_after = None;
        if limited {
            // The body's float is more precise than a whole-second header,
            // when it makes sense.
            let from_body = body
                .as_ref()
                .ok()
                .and_then(|body| serde_json::from_slice::<ErrorBody>(body).ok())
                .and_then(|b| b.retry_after)
                .filter(|&secs| as_duration(secs, headers.date).is_some());
            if from_body.is_some() {
                headers.retry_after = from_body;
            }
            // A 429 that says "retry after 0" means nothing: retrying at
            // once would only hammer the server, so it counts as unsaid.
            let nonzero = |wait: &Duration| !wait.is_zero();
            retry_after = headers
                .retry_after()
                .filter(nonzero)
                .or_else(|| headers.reset_after().filter(nonzero));
            // Even with an unreadable body, the headers say the bucket is spent.
            if let Some(permit) = permit.take() {
                permit.complete(Response {
                    limited,
                    headers: &headers,
                });
            }
        }
        let body = body.map_err(|e| Error::with_source(ErrorKind::Transport, e))?;
        Ok(RawResponse {
            status,
            body,
            retry_after,
        })
    }
}

fn http_method(method: Method) -> http::Method {
    match method {
        Method::Get => http::Method::GET,
        Method::Post => http::Method::POST,
        Method::Patch => http::Method::PATCH,
        Method::Delete => http::Method::DELETE,
    }
}

/// How a route treats the documented odd success codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Codes {
    /// Any 2xx but `203` is a success.
    Plain,
    /// Also `201` means "not a member" (PATCH/DELETE of a guild).
    GuildMember,
}

impl RawResponse {
    /// Turns error statuses into typed errors. `203` ("not enough
    /// permissions") is never a success on Ayaka, whatever the route: the
    /// extension routes answer it too.
    pub(crate) fn check(self, codes: Codes) -> Result<Self, Error> {
        match self.status {
            StatusCode::NON_AUTHORITATIVE_INFORMATION => {
                return Err(Error::new(ErrorKind::MissingPermissions));
            }
            StatusCode::CREATED if codes == Codes::GuildMember => {
                return Err(Error::new(ErrorKind::NotAMember));
            }
            _ => {}
        }
        if self.status.is_success() {
            return Ok(self);
        }
        let body = serde_json::from_slice::<ErrorBody>(&self.body).ok();
        Err(Error::status_code(self.status, body, self.body))
    }

    /// Checks the status, then decodes the body as `T`.
    pub(crate) fn decode<T: DeserializeOwned>(self, codes: Codes) -> Result<T, Error> {
        let response = self.check(codes)?;
        ayaka_model::json::from_bytes(&response.body)
            .map_err(|e| Error::decode(response.status, response.body.clone(), e))
    }
}
