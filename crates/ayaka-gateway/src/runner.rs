//! The shard's task: connects, identifies, reads, decompresses, parses,
//! keeps the connection alive and reconnects. The handle talks to it only
//! through channels.

use std::sync::Arc;

use ayaka_model::gateway::{ClientCommand, Event, Identify};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::{
    net::TcpStream,
    sync::{OwnedSemaphorePermit, mpsc, watch},
    time::{Instant, sleep, sleep_until, timeout},
};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async_with_config,
    tungstenite::{
        Message,
        protocol::{CloseFrame, WebSocketConfig, frame::coding::CloseCode},
    },
};
use tracing::{debug, info, warn};

use crate::{
    close::{CloseAction, close_action},
    config::{GatewayEndpoint, ShardConfig},
    discovery::{discover, discover_at},
    error::{Error, ErrorKind},
    inflate::Decompressor,
    keepalive::{Keepalive, KeepaliveAction},
    limiter::SendLimiter,
    message::{GatewayEvent, ShardId, ShardMessage},
    parse::EventParser,
    status::{ShardState, SharedStatus},
};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long to wait for the other side's close frame.
const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// The same after a failure: the peer is likely gone, so the reconnect
/// should not wait long for it.
const FAILED_CLOSE_GRACE: std::time::Duration = std::time::Duration::from_millis(200);

/// What the handle asks the task to do.
#[derive(Debug)]
pub(crate) enum Command {
    Send(ClientCommand),
    SendRaw(String),
}

/// What woke the connection loop.
enum Wake {
    Close,
    Frame(Option<Result<Message, tokio_tungstenite::tungstenite::Error>>),
    Keepalive,
    ReadyTimeout,
    Command(Option<Command>),
    CommandSlot,
}

/// How one connection ended.
enum Ending {
    /// The handle asked to close.
    CloseRequested,
    /// Nobody reads the events any more.
    ConsumerGone,
    /// The server sent a close frame.
    ServerClosed(Option<u16>),
    /// Anything else; `connected` says whether the WebSocket had opened.
    Failed { error: Error, connected: bool },
}

pub(crate) struct Runner {
    pub(crate) shard_id: ShardId,
    pub(crate) config: ShardConfig,
    pub(crate) events: mpsc::Sender<ShardMessage>,
    pub(crate) commands: mpsc::Receiver<Command>,
    pub(crate) close: watch::Receiver<bool>,
    pub(crate) status: Arc<SharedStatus>,
}

/// Per-connection and per-task working state.
struct Connection {
    keepalive: Keepalive,
    limiter: SendLimiter,
    decompressor: Decompressor,
    scratch: Vec<u8>,
    /// Whether binary frames hold plain JSON (an old deployed server).
    binary_is_json: Option<bool>,
    ready: bool,
    identify_permit: Option<OwnedSemaphorePermit>,
    commands_open: bool,
}

impl Runner {
    pub(crate) async fn run(mut self) {
        let config = &self.config;
        let mut connection = Connection {
            keepalive: Keepalive::new(
                config.ping_interval,
                config.ping_timeout,
                config.ping_jitter,
            ),
            limiter: SendLimiter::new(config.send_limit, config.send_window, config.send_reserve),
            decompressor: Decompressor::with_max_message_size(config.max_message_size),
            scratch: Vec::new(),
            binary_is_json: None,
            ready: false,
            identify_permit: None,
            commands_open: true,
        };
        let mut attempt: u32 = 0;
        let final_error = loop {
            if *self.close.borrow() {
                break None;
            }
            self.status.set_state(ShardState::Connecting);
            connection.ready = false;
            let ending = self.connect_and_run(&mut connection).await;
            connection.identify_permit = None;
            if connection.ready {
                attempt = 0;
            }
            let action = match ending {
                Ending::CloseRequested | Ending::ConsumerGone => break None,
                Ending::ServerClosed(code) => {
                    info!(
                        shard = self.shard_id.0,
                        ?code,
                        "gateway closed the connection"
                    );
                    if !self
                        .report(ShardMessage::Disconnected {
                            shard_id: self.shard_id,
                            code,
                        })
                        .await
                    {
                        break None;
                    }
                    let action = close_action(code);
                    if action == CloseAction::Fatal {
                        let code = code.unwrap_or_default();
                        break Some(Error::new(ErrorKind::FatalClose { code }));
                    }
                    action
                }
                Ending::Failed { error, connected } => {
                    warn!(shard = self.shard_id.0, %error, "gateway connection failed");
                    if !self
                        .report(ShardMessage::Error {
                            shard_id: self.shard_id,
                            error: error.clone(),
                        })
                        .await
                    {
                        break None;
                    }
                    if connected
                        && !self
                            .report(ShardMessage::Disconnected {
                                shard_id: self.shard_id,
                                code: None,
                            })
                            .await
                    {
                        break None;
                    }
                    if error.is_fatal() {
                        break Some(error);
                    }
                    CloseAction::ReconnectAfterBackoff
                }
            };
            if !self.config.reconnect {
                break Some(Error::new(ErrorKind::Closed));
            }
            let delay = self.config.backoff.delay(action, attempt, rand::random());
            attempt = attempt.saturating_add(1);
            self.status.set_state(ShardState::Reconnecting);
            debug!(shard = self.shard_id.0, attempt, ?delay, "reconnecting");
            if !self
                .report(ShardMessage::Reconnecting {
                    shard_id: self.shard_id,
                    attempt,
                    delay,
                })
                .await
            {
                break None;
            }
            tokio::select! {
                _ = sleep(delay) => {}
                _ = self.close.wait_for(|closed| *closed) => break None,
            }
        };
        self.status.set_state(ShardState::Closed);
        let closed = ShardMessage::Closed {
            shard_id: self.shard_id,
            error: final_error,
        };
        // the last word must not hold up a close: do not wait for room
        let _ = self.events.try_send(closed);
    }

    /// Sends a lifecycle message, waiting for room unless asked to close.
    /// Returns false when the shard should stop.
    async fn report(&mut self, message: ShardMessage) -> bool {
        tokio::select! {
            biased;
            _ = self.close.wait_for(|closed| *closed) => false,
            sent = self.events.send(message) => sent.is_ok(),
        }
    }

    async fn connect_and_run(&mut self, connection: &mut Connection) -> Ending {
        let failed = |error| Ending::Failed {
            error,
            connected: false,
        };
        if let Some(limiter) = self.config.identify_limiter.clone() {
            tokio::select! {
                permit = limiter.acquire_owned() => connection.identify_permit = permit.ok(),
                _ = self.close.wait_for(|closed| *closed) => return Ending::CloseRequested,
            }
        }
        let url = match &self.config.endpoint {
            GatewayEndpoint::Url(url) => url.clone(),
            GatewayEndpoint::Discover(_) | GatewayEndpoint::Available(_) => {
                let endpoint = self.config.endpoint.clone();
                let timeout = self.config.connect_timeout;
                let discovery = async move {
                    match &endpoint {
                        GatewayEndpoint::Available(available) => {
                            discover_at(available, timeout).await
                        }
                        GatewayEndpoint::Discover(base) | GatewayEndpoint::Url(base) => {
                            discover(base, timeout).await
                        }
                    }
                };
                tokio::select! {
                    url = discovery => match url {
                        Ok(url) => url,
                        Err(error) => return failed(error),
                    },
                    _ = self.close.wait_for(|closed| *closed) => return Ending::CloseRequested,
                }
            }
        };
        let ws_config = WebSocketConfig::default()
            .max_message_size(Some(self.config.max_message_size))
            .max_frame_size(Some(self.config.max_message_size));
        let connect = timeout(
            self.config.connect_timeout,
            connect_async_with_config(url.as_str(), Some(ws_config), true),
        );
        let mut socket = tokio::select! {
            result = connect => match result {
                Ok(Ok((socket, _response))) => socket,
                Ok(Err(error)) => {
                    let kind = match error {
                        tokio_tungstenite::tungstenite::Error::Url(_) => ErrorKind::InvalidUrl,
                        _ => ErrorKind::Connect,
                    };
                    return failed(Error::with_source(kind, error));
                }
                Err(_) => return failed(Error::with_source(ErrorKind::Connect, "connect timed out")),
            },
            _ = self.close.wait_for(|closed| *closed) => return Ending::CloseRequested,
        };
        let mut identify =
            Identify::new(self.config.session_id.as_ref()).with_encoding(self.config.encoding);
        identify.presences = self.config.presences;
        let identify = match serde_json::to_string(&identify) {
            Ok(identify) => identify,
            Err(error) => return failed(Error::with_source(ErrorKind::Serialize, error)),
        };
        if let Err(error) = socket.send(Message::text(identify)).await {
            return failed(Error::with_source(ErrorKind::Transport, error));
        }
        connection.decompressor.reset();
        connection.binary_is_json = None;
        connection.keepalive.start(Instant::now(), rand::random());
        self.status.set_state(ShardState::Identifying);
        debug!(
            shard = self.shard_id.0,
            encoding = self.config.encoding.as_str(),
            "identified"
        );
        if !self
            .report(ShardMessage::Connected {
                shard_id: self.shard_id,
            })
            .await
        {
            close_socket(&mut socket, CloseCode::Normal, CLOSE_GRACE).await;
            return Ending::CloseRequested;
        }
        let ending = self.drive(&mut socket, connection).await;
        match &ending {
            Ending::CloseRequested | Ending::ConsumerGone => {
                close_socket(&mut socket, CloseCode::Normal, CLOSE_GRACE).await;
            }
            Ending::ServerClosed(_) => {
                // let tungstenite's automatic close reply go out
                let _ = timeout(CLOSE_GRACE, async {
                    while socket.next().await.is_some() {}
                })
                .await;
            }
            Ending::Failed { error, .. } => {
                let code = match error.kind() {
                    // the socket is already broken
                    ErrorKind::Transport => None,
                    ErrorKind::Decompress => Some(CloseCode::Invalid),
                    ErrorKind::MessageTooLarge => Some(CloseCode::Size),
                    _ => Some(CloseCode::Away),
                };
                if let Some(code) = code {
                    close_socket(&mut socket, code, FAILED_CLOSE_GRACE).await;
                }
            }
        }
        ending
    }

    /// Runs one open connection until it ends.
    async fn drive(&mut self, socket: &mut Socket, connection: &mut Connection) -> Ending {
        let fail = |error| Ending::Failed {
            error,
            connected: true,
        };
        let ready_deadline = Instant::now() + self.config.ready_timeout;
        loop {
            let now = Instant::now();
            let keepalive_at = connection.keepalive.deadline();
            let command_ready = connection.commands_open && connection.limiter.command_ready(now);
            let command_at = connection.limiter.command_ready_at(now);
            let wake = tokio::select! {
                biased;
                _ = self.close.wait_for(|closed| *closed) => Wake::Close,
                frame = socket.next() => Wake::Frame(frame),
                _ = sleep_until(keepalive_at) => Wake::Keepalive,
                _ = sleep_until(ready_deadline), if !connection.ready => Wake::ReadyTimeout,
                command = self.commands.recv(), if command_ready => Wake::Command(command),
                _ = sleep_until(command_at), if connection.commands_open && !command_ready => Wake::CommandSlot,
            };
            match wake {
                Wake::Close => return Ending::CloseRequested,
                Wake::Frame(None) => {
                    return fail(Error::with_source(
                        ErrorKind::Transport,
                        "connection dropped",
                    ));
                }
                Wake::Frame(Some(Err(error))) => {
                    return fail(Error::with_source(ErrorKind::Transport, error));
                }
                Wake::Frame(Some(Ok(message))) => {
                    if let Some(ending) = self.on_message(message, socket, connection).await {
                        return ending;
                    }
                }
                Wake::Keepalive => {
                    match connection.keepalive.poll(Instant::now(), rand::random()) {
                        KeepaliveAction::Ping(payload) => {
                            if let Err(error) = socket.send(ping(payload)).await {
                                return fail(Error::with_source(ErrorKind::Transport, error));
                            }
                            connection.limiter.record_keepalive(Instant::now());
                        }
                        KeepaliveAction::Dead => return fail(Error::new(ErrorKind::PingTimeout)),
                        KeepaliveAction::Wait => {}
                    }
                }
                Wake::ReadyTimeout => {
                    return fail(Error::with_source(
                        ErrorKind::Timeout,
                        "no READY after identify",
                    ));
                }
                Wake::Command(None) => connection.commands_open = false,
                Wake::Command(Some(command)) => {
                    let text = match command {
                        Command::Send(command) => match command.to_json().map(String::from_utf8) {
                            Ok(Ok(text)) => text,
                            _ => {
                                let error = Error::with_source(
                                    ErrorKind::Serialize,
                                    "command is not JSON text",
                                );
                                let report = ShardMessage::Error {
                                    shard_id: self.shard_id,
                                    error,
                                };
                                if !self.report(report).await {
                                    return Ending::CloseRequested;
                                }
                                continue;
                            }
                        },
                        Command::SendRaw(text) => text,
                    };
                    if let Err(error) = socket.send(Message::text(text)).await {
                        return fail(Error::with_source(ErrorKind::Transport, error));
                    }
                    connection.limiter.record_command(Instant::now());
                }
                Wake::CommandSlot => {}
            }
        }
    }

    /// Handles one WebSocket message; `Some` ends the connection.
    async fn on_message(
        &mut self,
        message: Message,
        socket: &mut Socket,
        connection: &mut Connection,
    ) -> Option<Ending> {
        let fail = |error| {
            Some(Ending::Failed {
                error,
                connected: true,
            })
        };
        match message {
            Message::Text(text) => self.on_payload(Bytes::from(text), socket, connection).await,
            Message::Binary(bytes) => {
                let is_json = *connection
                    .binary_is_json
                    .get_or_insert_with(|| looks_like_json(&bytes));
                if is_json {
                    return self.on_payload(bytes, socket, connection).await;
                }
                match connection.decompressor.decompress(&bytes) {
                    Ok(Some(message)) => {
                        let raw = Bytes::copy_from_slice(message);
                        self.on_payload(raw, socket, connection).await
                    }
                    Ok(None) => None,
                    Err(error) => fail(error),
                }
            }
            Message::Pong(payload) => {
                if connection
                    .keepalive
                    .on_pong(&payload, Instant::now())
                    .is_some()
                {
                    self.status.set_latency(connection.keepalive.latency());
                }
                None
            }
            Message::Close(frame) => Some(Ending::ServerClosed(
                frame.map(|frame| u16::from(frame.code)),
            )),
            // tungstenite answers pings itself
            Message::Ping(_) | Message::Frame(_) => None,
        }
    }

    /// Parses and delivers one complete message.
    async fn on_payload(
        &mut self,
        raw: Bytes,
        socket: &mut Socket,
        connection: &mut Connection,
    ) -> Option<Ending> {
        self.status.add_received(raw.len());
        let event = match EventParser::parse(&mut connection.scratch, &raw) {
            Ok(event) => event,
            Err(error) => {
                // one bad message does not cost the connection
                warn!(shard = self.shard_id.0, %error, "unparsable gateway message");
                let report = ShardMessage::Error {
                    shard_id: self.shard_id,
                    error,
                };
                return self.deliver(report, socket, connection).await;
            }
        };
        let is_ready = matches!(event, Event::Ready(_));
        let message = ShardMessage::Event(GatewayEvent {
            shard_id: self.shard_id,
            event,
            raw,
        });
        if let Some(ending) = self.deliver(message, socket, connection).await {
            return Some(ending);
        }
        if is_ready && !connection.ready {
            connection.ready = true;
            connection.identify_permit = None;
            self.status.set_state(ShardState::Ready);
            info!(shard = self.shard_id.0, "ready");
            let ready = ShardMessage::Ready {
                shard_id: self.shard_id,
            };
            if let Some(ending) = self.deliver(ready, socket, connection).await {
                return Some(ending);
            }
            if let Some(presence) = self.config.presence.clone() {
                let command = ClientCommand::PresenceUpdate(presence);
                if let Ok(Ok(text)) = command.to_json().map(String::from_utf8) {
                    if let Err(error) = socket.send(Message::text(text)).await {
                        return Some(Ending::Failed {
                            error: Error::with_source(ErrorKind::Transport, error),
                            connected: true,
                        });
                    }
                    connection.limiter.record_command(Instant::now());
                }
            }
        }
        None
    }

    /// Queues a message for the consumer, waiting for room (backpressure).
    /// While it waits, pings still go out on schedule so a slow consumer
    /// does not make the server drop the connection.
    async fn deliver(
        &mut self,
        message: ShardMessage,
        socket: &mut Socket,
        connection: &mut Connection,
    ) -> Option<Ending> {
        let mut message = Some(message);
        loop {
            let ping_at = connection.keepalive.ping_due_at();
            tokio::select! {
                biased;
                _ = self.close.wait_for(|closed| *closed) => return Some(Ending::CloseRequested),
                permit = self.events.reserve() => {
                    let Ok(permit) = permit else {
                        return Some(Ending::ConsumerGone);
                    };
                    if let Some(message) = message.take() {
                        permit.send(message);
                    }
                    return None;
                }
                _ = sleep_until(ping_at.unwrap_or_else(Instant::now)), if ping_at.is_some() => {}
            }
            if let KeepaliveAction::Ping(payload) =
                connection.keepalive.poll(Instant::now(), rand::random())
            {
                if let Err(error) = socket.send(ping(payload)).await {
                    return Some(Ending::Failed {
                        error: Error::with_source(ErrorKind::Transport, error),
                        connected: true,
                    });
                }
                connection.limiter.record_keepalive(Instant::now());
            }
        }
    }
}

/// Whether a binary frame that starts a connection is JSON rather than zlib
/// (a zlib header's first byte never is `{` or whitespace).
fn looks_like_json(bytes: &[u8]) -> bool {
    matches!(
        bytes.first(),
        Some(b'{' | b'[' | b' ' | b'\n' | b'\r' | b'\t')
    )
}

fn ping(payload: u64) -> Message {
    Message::Ping(Bytes::copy_from_slice(&payload.to_be_bytes()))
}

/// Sends a close frame and waits briefly for the server's answer.
async fn close_socket(socket: &mut Socket, code: CloseCode, grace: std::time::Duration) {
    let frame = CloseFrame {
        code,
        reason: "".into(),
    };
    let _ = timeout(grace, async {
        if socket.close(Some(frame)).await.is_ok() {
            while let Some(Ok(_)) = socket.next().await {}
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_json_is_told_apart_from_zlib() {
        assert!(looks_like_json(br#"{"t":"READY"}"#));
        assert!(!looks_like_json(&[0x78, 0x9c, 0x00]));
        assert!(!looks_like_json(&[]));
    }
}
