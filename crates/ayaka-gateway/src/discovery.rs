//! Finding the port to connect to: `GET <base>/available`, through
//! `ayaka-http`'s client, so discovery shares the workspace's one HTTP
//! stack, `User-Agent`, body limit and 429 handling.

use std::{sync::Arc, time::Duration};

use ayaka_http::{Client, RetryPolicy};
use ayaka_model::route::RouteKind;
use http::Uri;
use rustls::ClientConfig;

use crate::{
    config::GatewayEndpoint,
    error::{Error, ErrorKind},
    tls::config_or_default,
};

/// Answers bigger than this are not a port.
const MAX_ANSWER: usize = 16 * 1024;

/// 429s retried within one discovery, each after the wait it names (as
/// long as that fits the discovery's timeout).
const MAX_RETRIES: u32 = 2;

/// The `/available` URL for a gateway base: same host, `https` for `wss`,
/// `http` for `ws`.
pub(crate) fn available_url(gateway_base: &str) -> Result<Uri, Error> {
    let base = parse_ws(gateway_base)?;
    let scheme = if base.scheme_str() == Some("wss") {
        "https"
    } else {
        "http"
    };
    let authority = base.authority().map(|a| a.as_str()).unwrap_or_default();
    let path = base.path().trim_end_matches('/');
    format!(
        "{scheme}://{authority}{path}{}",
        RouteKind::GetAvailable.template()
    )
    .parse()
    .map_err(|error| Error::with_source(ErrorKind::InvalidUrl, error))
}

/// The URL to connect to: the base's scheme and host at `port`.
pub(crate) fn gateway_url(gateway_base: &str, port: u16) -> Result<String, Error> {
    let base = parse_ws(gateway_base)?;
    let scheme = base.scheme_str().unwrap_or("ws");
    let host = base.host().unwrap_or_default();
    let path = base.path();
    Ok(format!("{scheme}://{host}:{port}{path}"))
}

fn parse_ws(url: &str) -> Result<Uri, Error> {
    let uri: Uri = url
        .parse()
        .map_err(|error| Error::with_source(ErrorKind::InvalidUrl, error))?;
    match uri.scheme_str() {
        Some("ws" | "wss") if uri.host().is_some() => Ok(uri),
        _ => Err(Error::with_source(
            ErrorKind::InvalidUrl,
            "a gateway URL needs a ws:// or wss:// scheme and a host",
        )),
    }
}

/// The URL to connect to for `endpoint`, asking `/available` if needed.
///
/// A 429 is retried after the wait it names while that fits `timeout`;
/// otherwise the error is [`ErrorKind::Discovery`] with an
/// [`ayaka_http::Error`] as its source, whose
/// [`retry_after`](ayaka_http::Error::retry_after) says how long to wait.
pub(crate) async fn resolve(
    endpoint: &GatewayEndpoint,
    timeout: Duration,
    tls: Option<&Arc<ClientConfig>>,
) -> Result<String, Error> {
    match endpoint {
        GatewayEndpoint::Url(url) => Ok(url.clone()),
        GatewayEndpoint::Discover(base) => discover(base, timeout, tls).await,
        GatewayEndpoint::Available(available) => discover_at(available, timeout, tls).await,
    }
}

/// Asks `/available` on the gateway base's host for a port and returns the
/// URL to connect to.
async fn discover(
    gateway_base: &str,
    timeout: Duration,
    tls: Option<&Arc<ClientConfig>>,
) -> Result<String, Error> {
    let port = ask_port(&available_url(gateway_base)?, timeout, tls).await?;
    gateway_url(gateway_base, port)
}

/// Asks this `/available` URL for a port and returns the URL to connect to:
/// the same host, `ws` for `http` and `wss` for `https`.
async fn discover_at(
    available: &str,
    timeout: Duration,
    tls: Option<&Arc<ClientConfig>>,
) -> Result<String, Error> {
    let url: Uri = available
        .parse()
        .map_err(|error| Error::with_source(ErrorKind::InvalidUrl, error))?;
    let scheme = match url.scheme_str() {
        Some("https") => "wss",
        Some("http") => "ws",
        _ => {
            return Err(Error::with_source(
                ErrorKind::InvalidUrl,
                "an /available URL needs an http:// or https:// scheme",
            ));
        }
    };
    let Some(host) = url.host().map(str::to_owned) else {
        return Err(Error::with_source(
            ErrorKind::InvalidUrl,
            "an /available URL needs a host",
        ));
    };
    let port = ask_port(&url, timeout, tls).await?;
    Ok(format!("{scheme}://{host}:{port}/"))
}

async fn ask_port(
    url: &Uri,
    timeout: Duration,
    tls: Option<&Arc<ClientConfig>>,
) -> Result<u16, Error> {
    let client = client_for(url, timeout, tls)?;
    let available = tokio::time::timeout(timeout, client.available())
        .await
        .map_err(|_| Error::with_source(ErrorKind::Discovery, "timed out"))?
        .map_err(|error| Error::with_source(ErrorKind::Discovery, error))?;
    if available.port == 0 {
        return Err(Error::with_source(ErrorKind::Discovery, "port 0"));
    }
    Ok(available.port)
}

/// A REST client whose base is the `/available` URL without its route
/// path, trusting what the gateway's TLS setup trusts.
fn client_for(
    url: &Uri,
    timeout: Duration,
    tls: Option<&Arc<ClientConfig>>,
) -> Result<Client, Error> {
    let url = url.to_string();
    let Some(base) = url.strip_suffix(RouteKind::GetAvailable.template()) else {
        return Err(Error::with_source(
            ErrorKind::InvalidUrl,
            "an /available URL's path must end in /available",
        ));
    };
    let tls = config_or_default(tls)?;
    Client::builder()
        .base_url(base)
        .timeout(timeout)
        .tls_config(ClientConfig::clone(&tls))
        // One request per connection attempt: waiting for a 429's window
        // is all the limiting discovery needs.
        .without_ratelimiter()
        .retry_policy(
            RetryPolicy::new()
                .max_retries(MAX_RETRIES)
                .max_wait(timeout),
        )
        .max_response_bytes(MAX_ANSWER)
        .build()
        .map_err(|error| Error::with_source(ErrorKind::InvalidUrl, error))
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use ayaka_server::{Limit, RateLimits, Server, bucket, testing};

    use super::*;

    #[test]
    fn available_follows_the_gateway_scheme_and_host() {
        assert_eq!(
            available_url("wss://gateway.vincentrps.xyz")
                .unwrap()
                .to_string(),
            "https://gateway.vincentrps.xyz/available"
        );
        assert_eq!(
            available_url("ws://127.0.0.1:8080/").unwrap().to_string(),
            "http://127.0.0.1:8080/available"
        );
        assert_eq!(
            gateway_url("ws://127.0.0.1:8080", 9001).unwrap(),
            "ws://127.0.0.1:9001/"
        );
        assert_eq!(
            gateway_url("wss://gateway.vincentrps.xyz", 443).unwrap(),
            "wss://gateway.vincentrps.xyz:443/"
        );
    }

    #[test]
    fn non_websocket_urls_are_refused() {
        for url in ["http://example.com", "example.com", "ws://", "::"] {
            assert_eq!(
                available_url(url).unwrap_err().kind(),
                ErrorKind::InvalidUrl,
                "{url}"
            );
        }
    }

    #[tokio::test]
    async fn an_available_url_must_name_the_route() {
        let endpoint = GatewayEndpoint::Available("http://127.0.0.1:9/port".to_owned());
        let error = resolve(&endpoint, Duration::from_secs(1), None)
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidUrl);
    }

    async fn server(limit: Limit) -> Server {
        testing::builder()
            .rate_limits(RateLimits::off().limit(bucket::GATEWAY_AVAILABLE, limit))
            .spawn()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn discovery_asks_the_local_server() {
        let server = server(Limit::per_second(50)).await;
        let endpoint = GatewayEndpoint::Available(server.available_url());
        let url = resolve(&endpoint, Duration::from_secs(5), None)
            .await
            .unwrap();
        let port = server.gateway_addrs()[0].port();
        assert_eq!(url, format!("ws://127.0.0.1:{port}/"));
        server.shutdown().await;
    }

    #[tokio::test]
    async fn a_429_within_the_timeout_is_waited_out() {
        // One discovery a second: the second one in the same second gets a
        // 429 naming a wait of at most a second, and is retried after it.
        let server = server(Limit::per_second(1)).await;
        let endpoint = GatewayEndpoint::Available(server.available_url());
        let timeout = Duration::from_secs(5);
        resolve(&endpoint, timeout, None).await.unwrap();
        let start = std::time::Instant::now();
        let second = resolve(&endpoint, timeout, None).await;
        assert!(second.is_ok(), "{second:?}");
        // It did meet the 429: it waited for the window to end.
        assert!(start.elapsed() >= Duration::from_millis(500));
        server.shutdown().await;
    }

    #[tokio::test]
    async fn a_longer_429_surfaces_its_retry_after() {
        let server = server(Limit::per_minute(1)).await;
        let endpoint = GatewayEndpoint::Available(server.available_url());
        let timeout = Duration::from_secs(5);
        resolve(&endpoint, timeout, None).await.unwrap();
        let error = resolve(&endpoint, timeout, None).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Discovery);
        let http = error
            .source()
            .and_then(|source| source.downcast_ref::<ayaka_http::Error>())
            .expect("the REST client's error is the source");
        assert_eq!(http.kind(), ayaka_http::ErrorKind::RateLimited);
        let retry_after = http.retry_after().unwrap();
        assert!(
            retry_after > timeout && retry_after <= Duration::from_secs(60),
            "{retry_after:?}"
        );
        server.shutdown().await;
    }
}
