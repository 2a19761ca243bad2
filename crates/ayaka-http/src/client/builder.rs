//! [`ClientBuilder`] and [`RetryPolicy`].

use std::sync::{Arc, RwLock};
use std::time::Duration;

use http::{HeaderValue, Uri};
use hyper_rustls::HttpsConnectorBuilder;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::{Client, Inner, session_header};
use crate::error::{Error, ErrorKind};
use crate::ratelimit::{InMemoryRateLimiter, RateLimiter};
use crate::user_agent::USER_AGENT;

/// The documented REST base URL.
pub const DEFAULT_BASE_URL: &str = "https://hatsu.vincentrps.xyz";

/// What to do when rate limited.
///
/// ```
/// use ayaka_http::RetryPolicy;
/// use std::time::Duration;
///
/// // Retry a 429 up to 5 times, wait at most 30 s for a bucket to reset.
/// let patient = RetryPolicy::new().max_retries(5).max_wait(Duration::from_secs(30));
/// // Never wait: an exhausted bucket or a 429 is an error at once.
/// let impatient = RetryPolicy::fail_fast();
/// # let _ = (patient, impatient);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub(crate) max_retries: u32,
    pub(crate) max_wait: Duration,
}

impl RetryPolicy {
    /// Retries a 429 up to 3 times and waits up to 60 s for a bucket.
    pub const fn new() -> Self {
        Self {
            max_retries: 3,
            max_wait: Duration::from_secs(60),
        }
    }

    /// Never waits: an exhausted bucket, a place in a bucket's queue or a
    /// 429 is an [`ErrorKind::RateLimited`] error at once. Concurrent calls
    /// on a route whose bucket is still being learned fail too; use
    /// `RetryPolicy::new().max_retries(0)` to wait for the limiter but never
    /// retry a 429.
    pub const fn fail_fast() -> Self {
        Self {
            max_retries: 0,
            max_wait: Duration::ZERO,
        }
    }

    /// How many times a request answered 429 is sent again.
    #[must_use]
    pub const fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// The longest a call waits for the rate limiter (for a window, behind
    /// other callers) or after a 429, before it fails with
    /// [`ErrorKind::RateLimited`] instead.
    #[must_use]
    pub const fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::new()
    }
}

/// Builds a [`Client`].
///
/// ```
/// use ayaka_http::Client;
/// use std::time::Duration;
///
/// let client = Client::builder()
///     .base_url("http://127.0.0.1:8080")
///     .timeout(Duration::from_secs(5))
///     .build()?;
/// # Ok::<(), ayaka_http::Error>(())
/// ```
#[must_use]
pub struct ClientBuilder {
    base_url: String,
    session: Option<String>,
    timeout: Duration,
    retry: RetryPolicy,
    ratelimiter: Option<Arc<dyn RateLimiter>>,
    tls: Option<rustls::ClientConfig>,
    max_response_bytes: usize,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("session", &self.session.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("ratelimiter", &self.ratelimiter)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            session: None,
            timeout: Duration::from_secs(10),
            retry: RetryPolicy::new(),
            ratelimiter: Some(Arc::new(InMemoryRateLimiter::new())),
            tls: None,
            max_response_bytes: 8 * 1024 * 1024,
        }
    }
}

impl ClientBuilder {
    /// A builder with the defaults: the documented base URL, no session,
    /// a 10 s timeout, [`RetryPolicy::new`], an [`InMemoryRateLimiter`].
    pub fn new() -> Self {
        Self::default()
    }

    /// The REST base URL, `https://` or `http://` (default
    /// [`DEFAULT_BASE_URL`]). A path prefix is kept.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// The session id sent as `Authorization`.
    pub fn session(mut self, session_id: impl Into<String>) -> Self {
        self.session = Some(session_id.into());
        self
    }

    /// The time allowed for each attempt of a request, from sending to the
    /// whole body (default 10 s). Waiting for the rate limiter is not counted.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// What to do when rate limited (default [`RetryPolicy::new`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The rate limiter (default a fresh [`InMemoryRateLimiter`]). Pass a
    /// clone of an `InMemoryRateLimiter` to inspect its buckets, or a
    /// backend shared between processes.
    pub fn ratelimiter(mut self, limiter: impl RateLimiter) -> Self {
        self.ratelimiter = Some(Arc::new(limiter));
        self
    }

    /// Switches proactive rate limiting off: requests go at once and only a
    /// 429 makes the client wait (per the retry policy).
    pub fn without_ratelimiter(mut self) -> Self {
        self.ratelimiter = None;
        self
    }

    /// The TLS configuration for `https` (default: the webpki roots with
    /// the ring provider). Tests use it to trust their own certificate.
    pub fn tls_config(mut self, config: rustls::ClientConfig) -> Self {
        self.tls = Some(config);
        self
    }

    /// The largest response body read (default 8 MiB); a larger one fails
    /// the request with [`ErrorKind::Transport`].
    pub fn max_response_bytes(mut self, max: usize) -> Self {
        self.max_response_bytes = max;
        self
    }

    /// Builds the client.
    ///
    /// Fails with [`ErrorKind::Config`] on a base URL that is not
    /// `http(s)://host[:port][/path]`, a session id that cannot be a header
    /// value, or a TLS setup error.
    pub fn build(self) -> Result<Client, Error> {
        let base_url = parse_base_url(&self.base_url)?;
        let session = self.session.as_deref().map(session_header).transpose()?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(self.timeout));
        let tls = match self.tls {
            Some(config) => HttpsConnectorBuilder::new().with_tls_config(config),
            None => HttpsConnectorBuilder::new()
                .with_provider_and_webpki_roots(Arc::new(rustls::crypto::ring::default_provider()))
                .map_err(|e| Error::with_source(ErrorKind::Config, e))?,
        };
        let connector = tls.https_or_http().enable_http1().wrap_connector(http);
        let http = HyperClient::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_timer(TokioTimer::new())
            .build(connector);
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base_url,
                session: RwLock::new(session),
                user_agent: HeaderValue::from_static(USER_AGENT),
                timeout: self.timeout,
                retry: self.retry,
                ratelimiter: self.ratelimiter,
                max_response_bytes: self.max_response_bytes,
            }),
        })
    }
}

fn config_error(message: &'static str) -> Error {
    Error::with_source(ErrorKind::Config, message)
}

/// Checks the base URL and returns it without a trailing slash.
fn parse_base_url(url: &str) -> Result<String, Error> {
    let uri: Uri = url
        .parse()
        .map_err(|e| Error::with_source(ErrorKind::Config, e))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => {
            return Err(config_error(
                "the base URL must start with http:// or https://",
            ));
        }
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(config_error("the base URL has no host"));
    }
    if uri.query().is_some() {
        return Err(config_error("the base URL may not have a query"));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::parse_base_url;

    #[test]
    fn base_urls() {
        assert_eq!(
            parse_base_url("https://hatsu.vincentrps.xyz/")
                .ok()
                .as_deref(),
            Some("https://hatsu.vincentrps.xyz")
        );
        assert_eq!(
            parse_base_url("http://127.0.0.1:9/api").ok().as_deref(),
            Some("http://127.0.0.1:9/api")
        );
        for bad in [
            "",
            "hatsu.vincentrps.xyz",
            "ftp://x",
            "http://x/?q=1",
            "wss://x",
            "http://",
        ] {
            assert!(parse_base_url(bad).is_err(), "{bad:?}");
        }
    }
}
