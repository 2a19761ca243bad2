//! The handle to one shard: a pull API over its messages and commands to it.

use std::{
    any::Any,
    panic::AssertUnwindSafe,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use ayaka_model::{Presence, gateway::ClientCommand};
use futures_util::{FutureExt, Stream};
use tokio::{
    sync::{mpsc, watch},
    task::JoinHandle,
};

use crate::{
    config::ShardConfig,
    error::{Error, ErrorKind},
    latency::Latency,
    machine::ShardMachine,
    read_ahead::{self, Queued},
    received::ReceivedEvent,
    runner::{Command, Runner},
    shard_id::ShardId,
    shard_message::ShardMessage,
    shard_state::ShardState,
    stats::{ShardStats, SharedStatus},
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
        self.stats().bytes_received
    }

    /// Complete messages received so far.
    pub fn messages_received(&self) -> u64 {
        self.stats().messages_received
    }

    /// Every figure: received, delivered, buffered, time behind,
    /// connections.
    pub fn stats(&self) -> ShardStats {
        self.status.stats()
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
/// Two ways to read: [`next_event`](Self::next_event) yields events and
/// errors (a shard that ends by itself says why in its last item), and
/// [`next_message`](Self::next_message) (or the `Stream`) yields every
/// lifecycle report as well.
///
/// ```no_run
/// use ayaka_gateway::{GatewayEndpoint, Shard, ShardConfig, ShardId};
///
/// # async fn run() {
/// let config = ShardConfig::builder("my session id")
///     .endpoint(GatewayEndpoint::Url("ws://127.0.0.1:9000".into()))
///     .build();
/// let mut shard = Shard::spawn(ShardId(0), config);
/// while let Some(item) = shard.next_event().await {
///     match item {
///         Ok(received) => println!("{}: {}", received.name(), received.raw_str().unwrap_or("")),
///         // the shard carries on after most errors; after a fatal one
///         // (say 4002, an unknown session) nothing more comes
///         Err(error) => eprintln!("gateway: {error}"),
///     }
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct Shard {
    handle: ShardHandle,
    messages: mpsc::UnboundedReceiver<Queued>,
    task: Option<JoinHandle<()>>,
}

impl Shard {
    /// Starts a shard on the current tokio runtime.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime (as [`tokio::spawn`]).
    pub fn spawn(id: ShardId, config: ShardConfig) -> Self {
        let (sender, messages) = read_ahead::channel(config.read_ahead);
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
        self.messages.recv().await.map(Queued::into_message)
    }

    /// The next event or error, skipping the other lifecycle reports.
    ///
    /// `Some(Err(..))` for every error the shard reports: most leave it
    /// running (a reconnect follows); when it ended by itself (a fatal
    /// close code, no reconnects allowed, a panic in its task) the error
    /// why is the last item before `None`. `None` once the shard has ended
    /// and everything was read. Cancellation-safe.
    pub async fn next_event(&mut self) -> Option<Result<ReceivedEvent, Error>> {
        loop {
            if let Some(item) = event_or_error(self.next_message().await?) {
                return Some(item);
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
        self.messages
            .poll_recv(cx)
            .map(|queued| queued.map(Queued::into_message))
    }
}

/// What [`Shard::next_event`] makes of a message: events and errors, the
/// rest skipped.
pub(crate) fn event_or_error(message: ShardMessage) -> Option<Result<ReceivedEvent, Error>> {
    match message {
        ShardMessage::Event(received) => Some(Ok(received)),
        ShardMessage::Error { error, .. }
        | ShardMessage::Closed {
            error: Some(error), ..
        } => Some(Err(error)),
        _ => None,
    }
}

impl Drop for Shard {
    fn drop(&mut self) {
        self.handle.request_close();
    }
}

/// Starts a shard's task, reporting into `sender`.
///
/// The task's body runs under `catch_unwind`: it calls code the user gave
/// it (an [`IdentifyQueue`](crate::IdentifyQueue), a tracing subscriber),
/// and a panic there must still end the shard with a report rather than
/// a silent `None`.
pub(crate) fn spawn_task(
    id: ShardId,
    config: ShardConfig,
    sender: read_ahead::Sender,
) -> (ShardHandle, JoinHandle<()>) {
    let (command_sender, commands) = mpsc::channel(config.command_queue);
    let (close_sender, close) = watch::channel(false);
    let status = Arc::new(SharedStatus::new(Arc::clone(sender.budget())));
    let handle = ShardHandle {
        id,
        commands: command_sender,
        close: Arc::new(close_sender),
        status: Arc::clone(&status),
    };
    let now = tokio::time::Instant::now().into_std();
    let machine = ShardMachine::new(id, config.clone(), now, rand::random());
    let runner = Runner::new(
        machine,
        config,
        sender.clone(),
        commands,
        close,
        Arc::clone(&status),
    );
    let task = tokio::spawn(async move {
        if let Err(panic) = AssertUnwindSafe(runner.run()).catch_unwind().await {
            let error = Error::with_source(
                ErrorKind::ShardPanicked,
                format!(
                    "the shard's task panicked: {}",
                    panic_message(panic.as_ref())
                ),
            );
            tracing::error!(shard = id.0, %error, "shard task panicked");
            status.set_state(ShardState::Closed);
            sender.push(ShardMessage::Closed {
                shard_id: id,
                error: Some(error),
            });
        }
    });
    (handle, task)
}

/// The text of a panic's payload, when it has one.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}
