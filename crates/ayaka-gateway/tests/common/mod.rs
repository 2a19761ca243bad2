//! A scripted gateway peer for protocol edge cases the real server cannot
//! be made to produce (corrupt zlib, silence, arbitrary close codes). The
//! end-to-end tests use the real `ayaka-server` (`ayaka_server::testing`,
//! and [`rest::User`] to make it emit events).
#![allow(dead_code, unreachable_pub)]

pub mod rest;

use std::time::Duration;

use ayaka_gateway::{
    Backoff, Error, GatewayEndpoint, ReceivedEvent, Shard, ShardConfig, ShardConfigBuilder,
    ShardMessage,
};
use futures_util::{SinkExt, StreamExt};
use miniz_oxide::{
    DataFormat, MZFlush,
    deflate::{core::CompressorOxide, stream::deflate},
};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::mpsc,
};
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{
        Message,
        handshake::server::{Request, Response},
        http::header::USER_AGENT,
        protocol::{CloseFrame, frame::coding::CloseCode},
    },
};

/// Failure guard for every wait in these tests.
pub const GUARD: Duration = Duration::from_secs(10);

pub fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/event/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// A compact READY.
pub const READY: &str =
    r#"{"t":"READY","d":{"id":1,"username":"ayaka","separator":1,"session_ids":["s"]}}"#;

pub struct ScriptedGateway {
    pub url: String,
    connections: mpsc::Receiver<Connection>,
}

pub struct Connection {
    pub ws: WebSocketStream<TcpStream>,
    /// The handshake request's `User-Agent`, if it had one.
    pub user_agent: Option<String>,
    pub identify: String,
    compressor: Option<Box<CompressorOxide>>,
}

impl ScriptedGateway {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        let (sender, connections) = mpsc::channel(16);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let sender = sender.clone();
                tokio::spawn(async move {
                    let mut user_agent = None;
                    // the error type is tungstenite's callback signature
                    #[allow(clippy::result_large_err)]
                    let record = |request: &Request, response: Response| {
                        user_agent = request
                            .headers()
                            .get(USER_AGENT)
                            .and_then(|value| value.to_str().ok())
                            .map(str::to_owned);
                        Ok(response)
                    };
                    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, record).await
                    else {
                        return;
                    };
                    let identify = match ws.next().await {
                        Some(Ok(Message::Text(text))) => text.to_string(),
                        _ => return,
                    };
                    let zlib = identify.contains(r#""encoding":"zlib""#);
                    let compressor = zlib.then(|| {
                        let mut compressor = Box::<CompressorOxide>::default();
                        compressor.set_format_and_level(DataFormat::Zlib, 6);
                        compressor
                    });
                    let _ = sender
                        .send(Connection {
                            ws,
                            user_agent,
                            identify,
                            compressor,
                        })
                        .await;
                });
            }
        });
        Self { url, connections }
    }

    /// The next connection that identified.
    pub async fn accept(&mut self) -> Connection {
        tokio::time::timeout(GUARD, self.connections.recv())
            .await
            .expect("no connection in time")
            .expect("listener ended")
    }

    /// A config pointing here with fast timings.
    pub fn config(&self) -> ShardConfigBuilder {
        fast(
            ShardConfig::builder("scripted-session")
                .endpoint(GatewayEndpoint::Url(self.url.clone())),
        )
    }
}

/// A config for `session` on `server`'s first gateway port, with [`fast`]
/// timings.
pub fn shard_config(server: &ayaka_server::Server, session: &str) -> ShardConfigBuilder {
    fast(ShardConfig::builder(session).endpoint(GatewayEndpoint::Url(server.gateway_url())))
}

/// Short timings for tests.
pub fn fast(builder: ShardConfigBuilder) -> ShardConfigBuilder {
    builder
        .backoff(Backoff {
            base: Duration::from_millis(20),
            max: Duration::from_millis(200),
            long: Duration::from_millis(300),
        })
        .ping_interval(Duration::from_secs(5))
        .ping_timeout(Duration::from_secs(5))
        .connect_timeout(Duration::from_secs(5))
}

impl Connection {
    pub async fn text(&mut self, text: &str) {
        self.ws.send(Message::text(text.to_owned())).await.unwrap();
    }

    /// Compresses `text` into this connection's zlib stream (sync flush).
    pub fn compress(&mut self, text: &str) -> Vec<u8> {
        let compressor = self
            .compressor
            .as_mut()
            .expect("connection did not ask for zlib");
        let mut out = vec![0; text.len() * 2 + 64];
        let result = deflate(compressor, text.as_bytes(), &mut out, MZFlush::Sync);
        assert_eq!(result.bytes_consumed, text.len());
        out.truncate(result.bytes_written);
        out
    }

    /// Sends `text` compressed, split into frames of `frame_size` bytes.
    pub async fn zlib(&mut self, text: &str, frame_size: usize) {
        let compressed = self.compress(text);
        for frame in compressed.chunks(frame_size) {
            self.binary(frame.to_vec()).await;
        }
    }

    pub async fn binary(&mut self, bytes: Vec<u8>) {
        self.ws.send(Message::binary(bytes)).await.unwrap();
    }

    /// Closes with `code`, finishes the handshake and drops the socket.
    pub async fn close(mut self, code: u16) {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: "".into(),
        };
        let _ = self.ws.close(Some(frame)).await;
        // finish the closing handshake
        let _ = tokio::time::timeout(GUARD, async {
            while let Some(Ok(_)) = self.ws.next().await {}
        })
        .await;
    }

    /// The next text message from the client (answers pings meanwhile).
    pub async fn next_text(&mut self) -> String {
        tokio::time::timeout(GUARD, async {
            loop {
                match self.ws.next().await {
                    Some(Ok(Message::Text(text))) => return text.to_string(),
                    Some(Ok(_)) => {}
                    other => panic!("connection ended: {other:?}"),
                }
            }
        })
        .await
        .expect("no text in time")
    }

    /// The close frame the client sends.
    pub async fn next_close(&mut self) -> Option<u16> {
        tokio::time::timeout(GUARD, async {
            loop {
                match self.ws.next().await {
                    Some(Ok(Message::Close(frame))) => {
                        return frame.map(|frame| u16::from(frame.code));
                    }
                    Some(Ok(_)) => {}
                    other => panic!("connection ended without close frame: {other:?}"),
                }
            }
        })
        .await
        .expect("no close in time")
    }

    /// Serves the connection in the background, then closes `shard`: the
    /// close handshake completes at once.
    pub async fn finish(self, shard: ayaka_gateway::Shard) {
        let server = tokio::spawn(self.serve());
        shard.close().await;
        tokio::time::timeout(GUARD, server).await.unwrap().unwrap();
    }

    /// Reads (and so answers pings) until the client goes away.
    pub async fn serve(mut self) {
        while let Some(Ok(_)) = self.ws.next().await {}
    }
}

/// Waits for a message matching `predicate`, returning it; panics on
/// timeout or end.
pub async fn expect_message<S>(
    messages: &mut S,
    mut predicate: impl FnMut(&ShardMessage) -> bool,
) -> ShardMessage
where
    S: futures_util::Stream<Item = ShardMessage> + Unpin,
{
    tokio::time::timeout(GUARD, async {
        loop {
            let message = messages.next().await.expect("shard ended");
            if predicate(&message) {
                return message;
            }
        }
    })
    .await
    .expect("expected message did not arrive")
}

/// The next event of `shard`; panics on timeout, end or an error.
pub async fn next_event(shard: &mut Shard) -> ReceivedEvent {
    tokio::time::timeout(GUARD, shard.next_event())
        .await
        .expect("no event in time")
        .expect("shard ended")
        .expect("shard reported an error")
}

/// Waits for a [`ShardMessage::Ready`].
pub async fn wait_ready<S>(messages: &mut S)
where
    S: futures_util::Stream<Item = ShardMessage> + Unpin,
{
    expect_message(messages, |m| matches!(m, ShardMessage::Ready { .. })).await;
}

/// Waits for the next [`ShardMessage::Error`] and returns its error.
pub async fn next_error<S>(messages: &mut S) -> Error
where
    S: futures_util::Stream<Item = ShardMessage> + Unpin,
{
    match expect_message(messages, |m| matches!(m, ShardMessage::Error { .. })).await {
        ShardMessage::Error { error, .. } => error,
        _ => unreachable!(),
    }
}

/// Waits for [`ShardMessage::Closed`] and returns the error the shard
/// ended with; panics if it ended without one.
pub async fn closed_error<S>(messages: &mut S) -> Error
where
    S: futures_util::Stream<Item = ShardMessage> + Unpin,
{
    match expect_message(messages, |m| matches!(m, ShardMessage::Closed { .. })).await {
        ShardMessage::Closed { error, .. } => error.expect("the shard ended with an error"),
        _ => unreachable!(),
    }
}

/// Waits for a connection closed with `code` ([`ShardMessage::Disconnected`]).
pub async fn wait_disconnected<S>(messages: &mut S, code: u16)
where
    S: futures_util::Stream<Item = ShardMessage> + Unpin,
{
    expect_message(
        messages,
        |m| matches!(m, ShardMessage::Disconnected { code: Some(c), .. } if *c == code),
    )
    .await;
}

/// Waits for [`ShardMessage::Reconnecting`] and returns its attempt and
/// delay.
pub async fn wait_reconnecting<S>(messages: &mut S) -> (u32, Duration)
where
    S: futures_util::Stream<Item = ShardMessage> + Unpin,
{
    match expect_message(messages, |m| matches!(m, ShardMessage::Reconnecting { .. })).await {
        ShardMessage::Reconnecting { attempt, delay, .. } => (attempt, delay),
        _ => unreachable!(),
    }
}
