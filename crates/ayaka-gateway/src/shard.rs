//! The handle to one shard: a pull API over its messages and commands to it.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use ayaka_model::{Presence, gateway::ClientCommand};
use futures_util::Stream;
use tokio::{
    sync::{mpsc, watch},
    task::JoinHandle,
};

use crate::{
    config::ShardConfig,
    error::{Error, ErrorKind},
    latency::Latency,
    received::ReceivedEvent,
    shard_id::ShardId,
    shard_message::ShardMessage,
    runner::{Command, Runner},
    shard_state::ShardState,
    stats::SharedStatus,
};

/// Sends commands to a shard and reads its status; cheap to clone.
#[derive(Debug, Clone)]
pub struct ShardHandle {
    id: ShardId,
    commands: mpsc::Sender<Command>,
    close: Arc<watch::Sender<bool>>,
    status: Arc<SharedStatus>,
}

impl ShardHandle {
    /// The shard's id.
    pub fn id(&self) -> ShardId {
        self.id
    }

    /// Where the shard is in its life.
    pub fn state(&self) -> ShardState {
        self.status.state()
    }

    /// The last and average Ping→Pong round trips.
    pub fn latency(&self) -> Latency {
        self.status.latency()
    }

    /// Bytes of complete (decompressed) messages received so far.
    pub fn bytes_received(&self) -> u64 {
        self.status.bytes_received()
    }

    /// Complete messages received so far.
    pub fn messages_received(&self) -> u64 {
        self.status.messages_received()
    }

    /// Sets the user's presence. Waits while the command queue is full;
    /// the shard sends it within its rate limit (once connected).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Closed`] if the shard has ended.
    pub async fn update_presence(&self, presence: Presence) -> Result<(), Error> {
        self.send(ClientCommand::PresenceUpdate(presence)).await
    }

    /// Sends a command (see [`update_presence`](Self::update_presence)).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Closed`] if the shard has ended.
    pub async fn send(&self, command: ClientCommand) -> Result<(), Error> {
        self.enqueue(Command::Send(command)).await
    }

    /// Sends a text message as it is. The server closes the connection
    /// with 4004 for anything it does not understand.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Closed`] if the shard has ended.
    pub async fn send_raw(&self, json: impl Into<String>) -> Result<(), Error> {
        self.enqueue(Command::SendRaw(json.into())).await
    }

    async fn enqueue(&self, command: Command) -> Result<(), Error> {
        if self.state() == ShardState::Closed {
            return Err(Error::new(ErrorKind::Closed));
        }
        self.commands
            .send(command)
            .await
            .map_err(|_| Error::new(ErrorKind::Closed))
    }

    /// Asks the shard to close (clean close frame) without waiting.
    pub fn request_close(&self) {
        self.close.send_replace(true);
    }
}

/// One gateway connection, run on its own task.
///
/// The task connects, identifies, decompresses and parses, keeps the
/// connection alive and reconnects; this handle pulls what it reports.
/// Dropping the shard asks its task to close.
///
/// ```no_run
/// use ayaka_gateway::{GatewayEndpoint, Shard, ShardConfig, ShardId, ShardMessage};
///
/// # async fn run() -> Result<(), ayaka_gateway::Error> {
/// let config = ShardConfig::builder("my session id")
///     .endpoint(GatewayEndpoint::Url("ws://127.0.0.1:9000".into()))
///     .build();
/// let mut shard = Shard::spawn(ShardId(0), config);
/// while let Some(message) = shard.next_message().await {
///     match message {
///         ShardMessage::Event(event) => println!("{}: {}", event.name(), event.raw_str().unwrap_or("")),
///         ShardMessage::Closed { error, .. } => return error.map_or(Ok(()), Err),
///         _ => {}
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Shard {
    handle: ShardHandle,
    messages: mpsc::Receiver<ShardMessage>,
    task: Option<JoinHandle<()>>,
}

impl Shard {
    /// Starts a shard on the current tokio runtime.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime (as [`tokio::spawn`]).
    pub fn spawn(id: ShardId, config: ShardConfig) -> Self {
        let (sender, messages) = mpsc::channel(config.event_queue);
        let (handle, task) = spawn_task(id, config, sender);
        Self {
            handle,
            messages,
            task: Some(task),
        }
    }

    /// The shard's id.
    pub fn id(&self) -> ShardId {
        self.handle.id
    }

    /// A handle for commands and status, usable from other tasks.
    pub fn handle(&self) -> &ShardHandle {
        &self.handle
    }

    /// The next message: an event or a lifecycle report. `None` once the
    /// shard has ended and everything was read.
    ///
    /// Cancellation-safe: if the future is dropped, no message is lost.
    pub async fn next_message(&mut self) -> Option<ShardMessage> {
        self.messages.recv().await
    }

    /// The next event, skipping lifecycle reports. `None` once the shard
    /// has ended. Cancellation-safe.
    pub async fn next_event(&mut self) -> Option<ReceivedEvent> {
        loop {
            if let ShardMessage::Event(event) = self.messages.recv().await? {
                return Some(event);
            }
        }
    }

    /// Closes the connection cleanly and waits for the task to end.
    pub async fn close(mut self) {
        self.handle.request_close();
        // drain so the task never waits for room while closing
        self.messages.close();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl std::ops::Deref for Shard {
    type Target = ShardHandle;

    fn deref(&self) -> &ShardHandle {
        &self.handle
    }
}

impl Stream for Shard {
    type Item = ShardMessage;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ShardMessage>> {
        self.messages.poll_recv(cx)
    }
}

impl Drop for Shard {
    fn drop(&mut self) {
        self.handle.request_close();
    }
}

/// Starts a shard's task, reporting into `sender`.
pub(crate) fn spawn_task(
    id: ShardId,
    config: ShardConfig,
    sender: mpsc::Sender<ShardMessage>,
) -> (ShardHandle, JoinHandle<()>) {
    let (command_sender, commands) = mpsc::channel(config.command_queue);
    let (close_sender, close) = watch::channel(false);
    let status = Arc::new(SharedStatus::new());
    let handle = ShardHandle {
        id,
        commands: command_sender,
        close: Arc::new(close_sender),
        status: Arc::clone(&status),
    };
    let runner = Runner {
        shard_id: id,
        config,
        events: sender,
        commands,
        close,
        status,
    };
    let task = tokio::spawn(runner.run());
    (handle, task)
}
