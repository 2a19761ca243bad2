//! A raw HTTP and WebSocket client for the server's own tests (the client
//! crates depend on this one, so it cannot use them).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

use std::time::Duration;

use ayaka_server::Server;
use ayaka_server::testing::TestUser;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use miniz_oxide::inflate::stream::{InflateState, inflate};
use miniz_oxide::{DataFormat, MZFlush};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Failure guard for anything awaited in tests.
pub const WAIT: Duration = Duration::from_secs(10);

/// A response, its body parsed as JSON (`Null` when empty).
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub raw: Bytes,
}

impl Response {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
    }
}

/// One request on a fresh connection.
pub async fn raw_request(
    server: &Server,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Response {
    raw_request_at(server.rest_addr(), method, path, headers, body).await
}

/// One request to the REST address `address` on a fresh connection.
pub async fn raw_request_at(
    address: std::net::SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Response {
    let stream = TcpStream::connect(address).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", address.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(body)).unwrap();
    let response = tokio::time::timeout(WAIT, sender.send_request(request))
        .await
        .expect("response in time")
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let raw = response.into_body().collect().await.unwrap().to_bytes();
    let body = if raw.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&raw).unwrap_or_else(|_| panic!("JSON body: {raw:?}"))
    };
    Response {
        status,
        headers,
        body,
        raw,
    }
}

/// A JSON request, authorized by `session` when given.
pub async fn request(
    server: &Server,
    method: Method,
    path: &str,
    session: Option<&str>,
    body: Option<Value>,
) -> Response {
    request_at(server.rest_addr(), method, path, session, body).await
}

/// A JSON request as `user` (its session id as `Authorization`).
pub async fn request_as(
    server: &Server,
    user: &TestUser,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Response {
    request(server, method, path, Some(&user.session), body).await
}

/// `GET /users/@me` as `session`.
pub async fn me(server: &Server, session: &str) -> Response {
    request(server, Method::GET, "/users/@me", Some(session), None).await
}

/// A JSON request to the REST address `address`.
pub async fn request_at(
    address: std::net::SocketAddr,
    method: Method,
    path: &str,
    session: Option<&str>,
    body: Option<Value>,
) -> Response {
    let mut headers = vec![];
    if let Some(session) = session {
        headers.push(("authorization", session));
    }
    let body = match body {
        Some(body) => {
            headers.push(("content-type", "application/json"));
            Bytes::from(serde_json::to_vec(&body).unwrap())
        }
        None => Bytes::new(),
    };
    raw_request_at(address, method, path, &headers, body).await
}

/// The sign-up body of user number `index`.
pub fn sign_up(index: usize) -> Value {
    json!({
        "username": format!("user{index}"),
        "separator": 1,
        "email": format!("user{index}@example.com"),
        "password": "correct horse battery",
    })
}

/// Sends the sign-up of user number `index` and hangs up without waiting
/// for the answer.
pub async fn abandoned_sign_up(server: &Server, index: usize) {
    let body = sign_up(index).to_string();
    let head = format!(
        "POST /users/@me HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    let mut stream = TcpStream::connect(server.rest_addr()).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body.as_bytes()).await.unwrap();
    drop(stream);
}

pub async fn create_guild(server: &Server, owner: &TestUser, name: &str) -> u64 {
    let response = request_as(
        server,
        owner,
        Method::POST,
        "/guilds",
        Some(json!({"name": name})),
    )
    .await;
    assert_eq!(response.status, StatusCode::CREATED, "{:?}", response.body);
    response.body["id"].as_u64().unwrap()
}

/// A new invite to `guild`, made by `inviter`: its code.
pub async fn create_invite(server: &Server, inviter: &TestUser, guild: u64) -> String {
    let path = format!("/guilds/{guild}/invites");
    let invite = request_as(server, inviter, Method::POST, &path, Some(json!({}))).await;
    assert_eq!(invite.status, StatusCode::CREATED, "{:?}", invite.body);
    invite.body["code"].as_str().unwrap().to_owned()
}

/// `user` joins `guild` through a new invite made by `inviter`.
pub async fn join(server: &Server, guild: u64, inviter: &TestUser, user: &TestUser) {
    let code = create_invite(server, inviter, guild).await;
    let joined = request_as(
        server,
        user,
        Method::POST,
        &format!("/invites/{code}"),
        None,
    )
    .await;
    assert_eq!(joined.status, StatusCode::OK, "{:?}", joined.body);
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Reading raw messages, for tests about control frames.
pub trait NextMessage {
    async fn next_message(&mut self) -> Option<Message>;
}

impl NextMessage for Socket {
    async fn next_message(&mut self) -> Option<Message> {
        self.next().await.and_then(Result::ok)
    }
}

/// A gateway connection that reads events in either encoding.
pub struct Gateway {
    pub socket: Socket,
    inflater: Box<InflateState>,
    pending: Vec<u8>,
    /// Binary and text messages received so far.
    pub binary_messages: usize,
    pub text_messages: usize,
}

/// What the gateway sent next.
#[derive(Debug)]
pub enum Received {
    Event(Value),
    Closed(Option<u16>),
}

impl Gateway {
    pub async fn connect(url: &str) -> Self {
        let (socket, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url))
            .await
            .expect("connect in time")
            .unwrap();
        Self {
            socket,
            inflater: InflateState::new_boxed(DataFormat::Zlib),
            pending: Vec::new(),
            binary_messages: 0,
            text_messages: 0,
        }
    }

    /// Connects and identifies, and reads READY.
    pub async fn identify(server: &Server, user: &TestUser, encoding: &str) -> (Self, Value) {
        let mut gateway = Self::connect(&server.gateway_url()).await;
        gateway
            .send_json(json!({"session_id": user.session, "encoding": encoding}))
            .await;
        let ready = gateway.event().await;
        assert_eq!(ready["t"], "READY", "{ready}");
        (gateway, ready)
    }

    pub async fn send_json(&mut self, value: Value) {
        self.send(Message::text(value.to_string())).await;
    }

    pub async fn send(&mut self, message: Message) {
        self.socket.send(message).await.unwrap();
    }

    /// The next event or close, within [`WAIT`].
    pub async fn receive(&mut self) -> Received {
        tokio::time::timeout(WAIT, self.receive_now())
            .await
            .expect("the gateway answered in time")
    }

    async fn receive_now(&mut self) -> Received {
        loop {
            match self.socket.next().await {
                Some(Ok(Message::Text(text))) => {
                    self.text_messages += 1;
                    return Received::Event(serde_json::from_str(&text).unwrap());
                }
                Some(Ok(Message::Binary(bytes))) => {
                    self.binary_messages += 1;
                    self.pending.extend_from_slice(&bytes);
                    if self.pending.ends_with(&[0, 0, 0xFF, 0xFF]) {
                        let compressed = std::mem::take(&mut self.pending);
                        let json = self.inflate(&compressed);
                        return Received::Event(serde_json::from_slice(&json).unwrap());
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    return Received::Closed(frame.map(|frame| frame.code.into()));
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Received::Closed(None),
            }
        }
    }

    fn inflate(&mut self, input: &[u8]) -> Vec<u8> {
        let mut output = Vec::new();
        let mut consumed = 0;
        let mut chunk = vec![0_u8; 16 * 1024];
        loop {
            let result = inflate(
                &mut self.inflater,
                &input[consumed..],
                &mut chunk,
                MZFlush::Sync,
            );
            result.status.expect("valid zlib");
            consumed += result.bytes_consumed;
            output.extend_from_slice(&chunk[..result.bytes_written]);
            if consumed == input.len() && result.bytes_written < chunk.len() {
                return output;
            }
        }
    }

    /// The next event; panics on a close.
    pub async fn event(&mut self) -> Value {
        match self.receive().await {
            Received::Event(event) => event,
            Received::Closed(code) => panic!("closed with {code:?} while waiting for an event"),
        }
    }

    /// The next event named `name`, skipping none: it must come next.
    pub async fn expect(&mut self, name: &str) -> Value {
        let event = self.event().await;
        assert_eq!(event["t"], name, "{event}");
        event
    }

    /// The close code the server ends with (events before it are skipped).
    /// Completes the close handshake so the server need not wait for it.
    pub async fn close_code(&mut self) -> Option<u16> {
        loop {
            if let Received::Closed(code) = self.receive().await {
                let finish = async {
                    let _ = self.socket.close(None).await;
                    while let Some(Ok(_)) = self.socket.next().await {}
                };
                let _ = tokio::time::timeout(WAIT, finish).await;
                return code;
            }
        }
    }
}

/// Sends a NOTIFICATION to `user` as a marker: once it arrives, every event
/// sent to them before has arrived too (one ordered queue per connection).
pub async fn mark(server: &Server, user: &TestUser, marker: &str) {
    let response = request_as(
        server,
        user,
        Method::POST,
        &format!("/users/{}/notifications", user.id),
        Some(json!({"type": "MESSAGE", "excerpt": {"marker": marker}})),
    )
    .await;
    assert_eq!(
        response.status,
        StatusCode::NO_CONTENT,
        "{:?}",
        response.body
    );
}

/// Asserts that the next event of `gateway` is the marker.
pub async fn expect_marker(gateway: &mut Gateway, marker: &str) {
    let event = gateway.event().await;
    assert_eq!(
        event["t"], "NOTIFICATION",
        "expected the marker, got {event}"
    );
    assert_eq!(event["excerpt"]["marker"], marker, "{event}");
}

/// A fresh directory under the system's temporary directory, removed on
/// drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let unique = format!(
            "ayaka-server-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(unique);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    pub fn file(&self, name: &str) -> std::path::PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
