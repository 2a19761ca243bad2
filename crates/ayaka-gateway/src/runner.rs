//! The shell around a [`ShardMachine`]: the shard's task on tokio and
//! tungstenite. It moves bytes between the socket and the machine, hands
//! the machine's reports to the read-ahead queue, and sleeps until the
//! machine's next timeout; every decision is the machine's.

use std::sync::Arc;

use ayaka_model::gateway::ClientCommand;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::{
    net::TcpStream,
    sync::{mpsc, watch},
    time::timeout_at,
};
use tokio_tungstenite::{
    Connector, MaybeTlsStream, WebSocketStream, connect_async_tls_with_config,
    tungstenite::{
        self, Message,
        client::IntoClientRequest,
        http::{HeaderValue, header},
        protocol::{WebSocketConfig, frame::coding::CloseCode},
    },
};

use crate::{
    close::CloseFrame,
    config::ShardConfig,
    discovery::resolve,
    error::{Error, ErrorKind},
    identify_queue::LeaseEnd,
    machine::{Frame, ShardMachine, Transmit},
    read_ahead,
    shard_message::ShardMessage,
    stats::SharedStatus,
    tls::config_or_default,
};

/// Boxed: moved from connecting to driving, it would otherwise take its
/// room twice in the task's future.
type Socket = Box<WebSocketStream<MaybeTlsStream<TcpStream>>>;
type Instant = std::time::Instant;

/// What a handle asks the task to send. Small (the command is boxed): the
/// channel allocates room for 32 of these per shard up front.
#[derive(Debug)]
pub(crate) enum Command {
    Send(Box<ClientCommand>),
    SendRaw(String),
}

pub(crate) struct Runner {
    machine: ShardMachine,
    config: ShardConfig,
    events: read_ahead::Sender,
    commands: mpsc::Receiver<Command>,
    commands_open: bool,
    close: watch::Receiver<bool>,
    close_seen: bool,
    /// Whether the machine was last told the consumer is behind.
    behind: bool,
    status: Arc<SharedStatus>,
}

/// The shard's clock: tokio's, so that a paused test runtime pauses it.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Sleeps until `at`; forever without one.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// Resolves once a close was asked for (or every handle is gone).
async fn close_asked(close: &mut watch::Receiver<bool>) {
    let _ = close.wait_for(|closed| *closed).await;
}

impl Runner {
    pub(crate) fn new(
        machine: ShardMachine,
        config: ShardConfig,
        events: read_ahead::Sender,
        commands: mpsc::Receiver<Command>,
        close: watch::Receiver<bool>,
        status: Arc<SharedStatus>,
    ) -> Self {
        Self {
            machine,
            config,
            events,
            commands,
            commands_open: true,
            close,
            close_seen: false,
            behind: false,
            status,
        }
    }

    pub(crate) async fn run(mut self) {
        loop {
            self.flush_events();
            if self.machine.is_ended() {
                break;
            }
            if self.machine.poll_connect() {
                if let Some(socket) = self.open().await {
                    self.drive(socket).await;
                }
                continue;
            }
            self.wait().await;
        }
    }

    /// Between connections: the backoff, a close request, or the consumer
    /// catching up.
    async fn wait(&mut self) {
        self.update_behind(now());
        let wake_at = self.machine.poll_timeout();
        let budget = Arc::clone(self.events.budget());
        tokio::select! {
            biased;
            () = close_asked(&mut self.close), if !self.close_seen => self.on_close(),
            () = budget.room(), if self.behind => self.update_behind(now()),
            () = sleep_until(wake_at) => self.machine.handle_timeout(now()),
        }
    }

    /// Takes a turn from the identify queue, finds the port and opens the
    /// WebSocket, all abandoned on a close request.
    async fn open(&mut self) -> Option<Socket> {
        let lease = match self.config.identify_queue.clone() {
            Some(queue) => {
                let acquired = tokio::select! {
                    biased;
                    () = close_asked(&mut self.close), if !self.close_seen => {
                        self.on_close();
                        return None;
                    }
                    acquired = queue.acquire(self.machine.shard_id()) => acquired,
                };
                match acquired {
                    Ok(lease) => Some(lease),
                    Err(error) => {
                        let error = Error::with_source(ErrorKind::IdentifyQueue, error);
                        self.machine.handle_connect_failed(now(), error);
                        return None;
                    }
                }
            }
            None => None,
        };
        let connected = tokio::select! {
            biased;
            () = close_asked(&mut self.close), if !self.close_seen => {
                self.on_close();
                return None;
            }
            // boxed: the connecting future is large, and the task's own
            // future should not keep its room for the connection's life
            connected = Box::pin(connect(&self.config)) => connected,
        };
        match connected {
            Ok(socket) => {
                self.machine.handle_connected(now(), lease);
                self.status.set_connections(self.machine.connections());
                Some(socket)
            }
            Err(error) => {
                if let Some(lease) = lease {
                    lease.end(LeaseEnd::Failed);
                }
                self.machine.handle_connect_failed(now(), error);
                None
            }
        }
    }

    /// Runs one open connection until the machine lets go of it.
    async fn drive(&mut self, mut socket: Socket) {
        loop {
            if self.machine.has_transmit() {
                // boxed: rare (pings, commands), and large to keep in the
                // task for the connection's life
                Box::pin(self.write(&mut socket)).await;
            }
            self.flush_events();
            if !self.machine.is_connected() {
                return;
            }
            let turn = now();
            self.update_behind(turn);
            // Deadlines first, on every turn: a flood of frames always has
            // one ready, and must starve neither the keepalive nor commands.
            if self.machine.poll_timeout().is_some_and(|at| at <= turn) {
                self.machine.handle_timeout(turn);
                continue;
            }
            let command_at = if self.commands_open {
                self.machine.command_ready_at(turn)
            } else {
                None
            };
            let command_ready = command_at.is_some_and(|at| at <= turn);
            if command_ready {
                match self.commands.try_recv() {
                    Ok(command) => {
                        self.send(turn, command);
                        continue;
                    }
                    Err(mpsc::error::TryRecvError::Disconnected) => self.commands_open = false,
                    Err(mpsc::error::TryRecvError::Empty) => {}
                }
            }
            // one timer for the nearest deadline: re-arming one is cheaper
            let wake_at = match (self.machine.poll_timeout(), command_at) {
                (Some(timer), Some(command)) if !command_ready => Some(timer.min(command)),
                (timer, None) => timer,
                (timer, Some(_)) => timer,
            };
            let budget = Arc::clone(self.events.budget());
            tokio::select! {
                biased;
                () = close_asked(&mut self.close), if !self.close_seen => self.on_close(),
                frame = socket.next(), if self.machine.wants_read() => self.on_frame(frame),
                () = budget.room(), if self.behind => self.update_behind(now()),
                command = self.commands.recv(), if command_ready => match command {
                    Some(command) => self.send(now(), command),
                    None => self.commands_open = false,
                },
                () = sleep_until(wake_at) => self.machine.handle_timeout(now()),
            }
        }
    }

    /// Writes what the machine wants sent. A peer that stops reading fills
    /// the TCP window and would stall the write forever: it gets as long
    /// as a Pong would (and a closing handshake no longer than its grace).
    async fn write(&mut self, socket: &mut Socket) {
        let mut messages = Vec::new();
        while let Some(transmit) = self.machine.poll_transmit() {
            messages.push(match transmit {
                Transmit::Text(text) => Message::text(text),
                Transmit::Ping(payload) => Message::Ping(payload),
                Transmit::Close(frame) => Message::Close(Some(tungstenite::protocol::CloseFrame {
                    code: CloseCode::from(frame.code),
                    reason: frame.reason.into(),
                })),
            });
        }
        if messages.is_empty() {
            return;
        }
        let mut deadline = now() + self.config.ping_timeout;
        if self.machine.is_closing()
            && let Some(grace) = self.machine.poll_timeout()
        {
            deadline = deadline.min(grace);
        }
        let writing = async {
            for message in messages {
                socket.feed(message).await?;
            }
            socket.flush().await
        };
        let written = tokio::select! {
            biased;
            // abandoned mid-way: the machine now queues a close frame
            () = close_asked(&mut self.close), if !self.close_seen => return self.on_close(),
            written = timeout_at(deadline.into(), writing) => written,
        };
        let error = match written {
            Ok(Ok(())) => return,
            Ok(Err(error)) => Error::with_source(ErrorKind::Transport, error),
            Err(_) => Error::with_source(ErrorKind::Timeout, "the server stopped reading"),
        };
        self.machine.handle_socket_error(now(), error);
    }

    fn on_frame(&mut self, frame: Option<Result<Message, tungstenite::Error>>) {
        let now = now();
        let frame = match frame {
            Some(Ok(Message::Text(text))) => Frame::Text(Bytes::from(text)),
            Some(Ok(Message::Binary(bytes))) => Frame::Binary(bytes),
            Some(Ok(Message::Ping(payload))) => Frame::Ping(payload),
            Some(Ok(Message::Pong(payload))) => {
                self.machine.handle_frame(now, Frame::Pong(payload));
                self.status.set_latency(self.machine.latency());
                return;
            }
            Some(Ok(Message::Close(frame))) => Frame::Close(frame.map(|frame| CloseFrame {
                code: u16::from(frame.code),
                reason: frame.reason.to_string(),
            })),
            Some(Ok(Message::Frame(_))) => return,
            Some(Err(error)) => {
                let kind = match error {
                    tungstenite::Error::Capacity(_) => ErrorKind::MessageTooLarge,
                    _ => ErrorKind::Transport,
                };
                return self
                    .machine
                    .handle_socket_error(now, Error::with_source(kind, error));
            }
            None => {
                let error = Error::with_source(ErrorKind::Transport, "connection dropped");
                return self.machine.handle_socket_error(now, error);
            }
        };
        self.machine.handle_frame(now, frame);
    }

    fn send(&mut self, now: Instant, command: Command) {
        match command {
            Command::Send(command) => self.machine.send_command(now, &command),
            Command::SendRaw(text) => self.machine.send_text(now, text),
        }
    }

    fn on_close(&mut self) {
        self.close_seen = true;
        self.machine.handle_close_request(now());
    }

    /// Tells the machine whether the consumer is a read-ahead bound behind.
    fn update_behind(&mut self, now: Instant) {
        let full = self.events.budget().is_full();
        if full == self.behind {
            return;
        }
        self.behind = full;
        if full {
            self.machine.handle_consumer_behind(now);
            self.status.set_behind_since(now);
        } else {
            self.machine.handle_consumer_caught_up(now);
            self.status.set_caught_up(self.machine.time_behind(now));
        }
    }

    /// Hands the machine's reports to the consumer (never waits: the
    /// read-ahead bound is kept by not reading, not by blocking here).
    fn flush_events(&mut self) {
        let mut consumer_gone = false;
        while let Some(message) = self.machine.poll_event() {
            if let ShardMessage::Event(event) = &message {
                self.status.add_received(event.raw.len());
            }
            consumer_gone |= !self.events.push(message);
        }
        self.status.set_state(self.machine.state());
        self.status.set_skipped(self.machine.events_skipped());
        if consumer_gone && !self.close_seen {
            // nobody reads the events any more: close cleanly
            self.on_close();
            while self.machine.poll_event().is_some() {}
        }
    }
}

/// Finds the port (if the endpoint says so) and opens the WebSocket.
async fn connect(config: &ShardConfig) -> Result<Socket, Error> {
    let url = resolve(
        &config.endpoint,
        config.connect_timeout,
        config.tls.as_ref(),
    )
    .await?;
    let ws_config = WebSocketConfig::default()
        .read_buffer_size(config.websocket_read_buffer)
        .write_buffer_size(config.websocket_write_buffer)
        .max_message_size(Some(config.max_message_size))
        .max_frame_size(Some(config.max_message_size));
    let tls = config_or_default(config.tls.as_ref())?;
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|error| Error::with_source(ErrorKind::InvalidUrl, error))?;
    // the handshake is an HTTP request of the workspace like any other
    request.headers_mut().insert(
        header::USER_AGENT,
        HeaderValue::from_static(ayaka_http::USER_AGENT),
    );
    let connect =
        connect_async_tls_with_config(request, Some(ws_config), true, Some(Connector::Rustls(tls)));
    match tokio::time::timeout(config.connect_timeout, connect).await {
        Ok(Ok((socket, _response))) => Ok(Box::new(socket)),
        Ok(Err(error)) => {
            let kind = match error {
                tungstenite::Error::Url(_) => ErrorKind::InvalidUrl,
                _ => ErrorKind::Connect,
            };
            Err(Error::with_source(kind, error))
        }
        Err(_) => Err(Error::with_source(ErrorKind::Connect, "connect timed out")),
    }
}
