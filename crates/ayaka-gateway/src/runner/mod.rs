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
    Connector, MaybeTlsStream, WebSocketStream, connect_async_tls_with_config,
    tungstenite::{
        Message,
        protocol::{CloseFrame, WebSocketConfig, frame::coding::CloseCode},
    },
};
use tracing::{debug, info, warn};

use crate::{
    close::{CloseAction, close_action},
    config::ShardConfig,
    discovery::resolve,
    error::{Error, ErrorKind},
    inflate::Decompressor,
    keepalive::{Keepalive, KeepaliveAction},
    limiter::SendLimiter,
    received::ReceivedEvent,
    shard_id::ShardId,
    shard_message::ShardMessage,
    parse::EventParser,
    shard_state::ShardState,
    stats::SharedStatus,
    tls::config_or_default,
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
    Command(Option<Command>),
    /// A deadline passed: keepalive, READY or a free command slot.
    Timer,
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

impl Ending {
    /// The open connection failed.
    fn lost(error: Error) -> Self {
        Self::Failed {
            error,
            connected: true,
        }
    }
}

/// Per-connection and per-task working state.
struct Connection {
    keepalive: Keepalive,
    limiter: SendLimiter,
    decompressor: Decompressor,
    parser: EventParser,
    /// Whether binary frames hold plain JSON (an old deployed server).
    binary_is_json: Option<bool>,
    ready: bool,
    /// When READY is overdue; time spent waiting for the consumer does
    /// not count, since nothing is read meanwhile.
    ready_deadline: Instant,
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
            parser: EventParser::default(),
            binary_is_json: None,
            ready: false,
            ready_deadline: Instant::now(),
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
            let (action, cause) = match ending {
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
                    let cause = Error::with_source(
                        ErrorKind::Transport,
                        format!("the server closed the connection ({code:?})"),
                    );
                    (action, cause)
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
                    (CloseAction::ReconnectAfterBackoff, error)
                }
            };
            if !self.config.reconnect {
                break Some(cause);
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
        // The last word must not hold up a close the handle asked for, but
        // a shard ending by itself (a fatal close) waits for room: dropping
        // its error would leave the consumer guessing why events stopped.
        if let Err(mpsc::error::TrySendError::Full(closed)) = self.events.try_send(closed) {
            self.report(closed).await;
        }
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
}

mod connect;
mod drive;
