//! Test support for crates that test against the local server (the
//! `testing` cargo feature): a server started on loopback with fast
//! hashing, "a user with a session", a self-signed TLS pair, and the
//! search of captured logs for secrets.
//!
//! These are for tests only. They panic, with a message saying what
//! failed, where a test would `unwrap()` anyway: a failure of the setup is
//! a failure of the test.
//!
//! ```no_run
//! # async fn run() {
//! use ayaka_server::testing;
//!
//! let server = testing::server().await;
//! let alice = testing::user_with_session(&server, "alice").await;
//! assert!(alice.session.starts_with(char::is_numeric));
//! assert_eq!(alice.rest_url, server.rest_url());
//! # }
//! ```
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use ayaka_snowflake::UserId;
use bytes::Bytes;
use http::{Request, StatusCode, header};
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

use crate::{PasswordHashing, RateLimits, Server, ServerBuilder};

/// How long a setup request may take before the test fails.
const SETUP_TIMEOUT: Duration = Duration::from_secs(10);

/// The password [`user_with_session`] gives every user.
pub const PASSWORD: &str = "correct horse battery";

/// A builder for tests: loopback, ephemeral ports, cheap hashing
/// ([`PasswordHashing::Fast`]) and no rate limits.
pub fn builder() -> ServerBuilder {
    Server::builder()
        .password_hashing(PasswordHashing::Fast)
        .rate_limits(RateLimits::off())
}

/// A server from [`builder`], started.
///
/// # Panics
///
/// When it cannot bind a loopback port.
pub async fn server() -> Server {
    builder()
        .spawn()
        .await
        .expect("the test server binds loopback ports")
}

/// A user created over REST, with its first session.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TestUser {
    /// The user's id.
    pub id: UserId,
    /// Its first session id (the `Authorization` value).
    pub session: String,
    /// Its username (the separator is 1).
    pub username: String,
    /// Its email, `<username>@example.com` (never printed by `Debug`).
    pub email: String,
    /// The server's REST base URL, `http://127.0.0.1:PORT`.
    pub rest_url: String,
    /// The server's first gateway URL, `ws://127.0.0.1:PORT`.
    pub gateway_url: String,
}

// Never print a session id, even in a test's output.
impl std::fmt::Debug for TestUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestUser")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("rest_url", &self.rest_url)
            .field("gateway_url", &self.gateway_url)
            .finish_non_exhaustive()
    }
}

/// Creates `username` (separator 1, email `<username>@example.com`,
/// password [`PASSWORD`]) with `POST /users/@me` and returns it with its
/// session id.
///
/// # Panics
///
/// When the server does not answer 201 with a user within 10 s.
pub async fn user_with_session(server: &Server, username: &str) -> TestUser {
    let email = format!("{username}@example.com");
    let body = json!({
        "username": username,
        "separator": 1,
        "email": email,
        "password": PASSWORD,
    });
    let (status, user) = post_json(server, "/users/@me", &body).await;
    assert_eq!(status, StatusCode::CREATED, "creating {username}: {user}");
    TestUser {
        id: UserId::new(user["id"].as_u64().expect("the user has an id")),
        session: user["session_ids"][0]
            .as_str()
            .expect("the user has a session")
            .to_owned(),
        username: username.to_owned(),
        email,
        rest_url: server.rest_url(),
        gateway_url: server.gateway_url(),
    }
}

/// Opens a second (third...) session of `user`, as a login route would
/// (the protocol has none: a sign-up's session is a user's only one
/// otherwise). It is written to the data file like any other.
///
/// # Panics
///
/// When the user does not exist.
pub async fn another_session(server: &Server, user: UserId) -> String {
    let session = server.open_another_session(user).expect("the user exists");
    server.shared_sync().await;
    session
}

/// One JSON POST on a fresh connection: the status and the parsed body
/// (`Null` when empty).
async fn post_json(server: &Server, path: &str, body: &Value) -> (StatusCode, Value) {
    let exchange = async {
        let stream = TcpStream::connect(server.rest_addr())
            .await
            .expect("connect to the test server");
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("HTTP handshake with the test server");
        tokio::spawn(connection);
        let request = Request::post(path)
            .header(header::HOST, server.rest_addr().to_string())
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .expect("a valid request");
        let response = sender.send_request(request).await.expect("a response");
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("a response body")
            .to_bytes();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("a JSON response body")
        };
        (status, value)
    };
    tokio::time::timeout(SETUP_TIMEOUT, exchange)
        .await
        .expect("the test server answered in time")
}

/// A self-signed certificate for `localhost`, a server acceptor using it,
/// and a client configuration trusting only it (ring provider).
#[derive(Clone)]
#[non_exhaustive]
pub struct TlsPair {
    /// The certificate (DER).
    pub certificate: CertificateDer<'static>,
    /// Accepts TLS connections with the certificate.
    pub acceptor: TlsAcceptor,
    /// A client configuration whose only root is the certificate.
    pub client_config: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for TlsPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsPair").finish_non_exhaustive()
    }
}

/// A new [`TlsPair`] for `localhost`.
///
/// # Panics
///
/// When rcgen or rustls refuse the generated key (they do not).
pub fn tls_pair() -> TlsPair {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
        .expect("a self-signed certificate");
    let certificate = certified.cert.der().clone();
    let key = PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der());
    let server = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default versions")
        .with_no_client_auth()
        .with_single_cert(vec![certificate.clone()], key.into())
        .expect("the generated key fits the certificate");
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(certificate.clone())
        .expect("the certificate is a valid root");
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsPair {
        certificate,
        acceptor: TlsAcceptor::from(Arc::new(server)),
        client_config: Arc::new(client),
    }
}

/// Reads `pipe` (a child's stdout or stderr) to its end on a thread of its
/// own, and sends the bytes when the child closes it: trace output
/// overflows a pipe's buffer, and a pipe nobody reads blocks the child.
pub fn drain(mut pipe: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<Vec<u8>> {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        let _ = sender.send(bytes);
    });
    receiver
}

/// `text` without the ANSI colour sequences a log formatter writes, so
/// that no escape sequence splits a secret a test looks for.
///
/// ```
/// use ayaka_server::testing::without_colours;
///
/// assert_eq!(without_colours("\u{1b}[2mtungstenite\u{1b}[0m: x"), "tungstenite: x");
/// ```
pub fn without_colours(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            plain.push(c);
        } else if chars.next() == Some('[') {
            // a CSI sequence ends with a byte in @..~
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        }
    }
    plain
}

/// Each of `secrets` that `text` shows, as written or hex-encoded (how
/// tungstenite prints a frame's payload), described for an assertion's
/// message; empty when none shows.
///
/// ```
/// use ayaka_server::testing::leaks;
///
/// assert_eq!(leaks("payload: 0x4140422e6f7267", &["A@B.org"]), [r#""A@B.org" in hex"#]);
/// assert!(leaks("nothing to see", &["A@B.org"]).is_empty());
/// ```
pub fn leaks(text: &str, secrets: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for secret in secrets {
        if text.contains(secret) {
            found.push(format!("{secret:?}"));
        }
        let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
        if text.contains(&hex) {
            found.push(format!("{secret:?} in hex"));
        }
    }
    found
}

/// The resident set size of a process in bytes, read from
/// `/proc/<process>/status` (`"self"` for this one; Linux only), for tests
/// and benches that measure memory.
///
/// # Panics
///
/// If the process has no readable status with a `VmRSS` line.
pub fn rss_bytes_of(process: &str) -> u64 {
    let path = format!("/proc/{process}/status");
    let status = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {path}: {error}"));
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS in {path}"));
    kib * 1024
}
