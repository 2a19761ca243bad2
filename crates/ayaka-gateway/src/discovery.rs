//! Finding the port to connect to: `GET <base>/available`.

use std::{sync::Arc, time::Duration};

use ayaka_model::Available;
use http::{Uri, uri::Scheme};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use rustls::ClientConfig;

use crate::{
    config::GatewayEndpoint,
    error::{Error, ErrorKind},
    tls::config_or_default,
};

/// Answers bigger than this are not a port.
const MAX_ANSWER: usize = 16 * 1024;

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
    format!("{scheme}://{authority}{path}/available")
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
    let port = ask_port(available_url(gateway_base)?, timeout, tls).await?;
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
    let port = ask_port(url, timeout, tls).await?;
    Ok(format!("{scheme}://{host}:{port}/"))
}

async fn ask_port(
    url: Uri,
    timeout: Duration,
    tls: Option<&Arc<ClientConfig>>,
) -> Result<u16, Error> {
    let answer = tokio::time::timeout(timeout, fetch(url, tls))
        .await
        .map_err(|_| Error::with_source(ErrorKind::Discovery, "timed out"))??;
    let available: Available = ayaka_model::json::from_bytes(&answer)
        .map_err(|error| Error::with_source(ErrorKind::Discovery, error))?;
    if available.port == 0 {
        return Err(Error::with_source(ErrorKind::Discovery, "port 0"));
    }
    Ok(available.port)
}

async fn fetch(url: Uri, tls: Option<&Arc<ClientConfig>>) -> Result<bytes::Bytes, Error> {
    let request = http::Request::get(url.clone())
        .header(http::header::USER_AGENT, crate::USER_AGENT)
        .body(Empty::<bytes::Bytes>::new())
        .map_err(|error| Error::with_source(ErrorKind::InvalidUrl, error))?;
    let response = if url.scheme() == Some(&Scheme::HTTPS) {
        let tls = config_or_default(tls)?;
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(ClientConfig::clone(&tls))
            .https_only()
            .enable_http1()
            .build();
        Client::builder(TokioExecutor::new())
            .build(connector)
            .request(request)
            .await
    } else {
        Client::builder(TokioExecutor::new())
            .build_http()
            .request(request)
            .await
    }
    .map_err(|error| Error::with_source(ErrorKind::Discovery, error))?;
    let status = response.status();
    if !status.is_success() {
        return Err(Error::with_source(
            ErrorKind::Discovery,
            format!("/available answered {status}"),
        ));
    }
    let body = Limited::new(response.into_body(), MAX_ANSWER)
        .collect()
        .await
        .map_err(|error| Error::with_source(ErrorKind::Discovery, error))?;
    Ok(body.to_bytes())
}

#[cfg(test)]
mod tests {
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
}
