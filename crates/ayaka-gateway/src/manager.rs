//! Many shards as independent tasks, their messages merged.

use std::{
    collections::BTreeMap,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use futures_util::Stream;
use tokio::{
    sync::{Semaphore, mpsc},
    task::JoinHandle,
};

use crate::{
    config::ShardConfig,
    latency::Latency,
    received::ReceivedEvent,
    shard_id::ShardId,
    shard_message::ShardMessage,
    shard::{ShardHandle, spawn_task},
    shard_state::ShardState,
};

/// A shard as [`ShardManager::shards`] lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardInfo {
    /// The shard.
    pub id: ShardId,
    /// Where it is in its life.
    pub state: ShardState,
    /// Its round trips.
    pub latency: Latency,
}

/// Runs many shards, each on its own task, and merges what they report
/// (every message carries its [`ShardId`]).
///
/// Shards can be several session ids, several connections of one session
/// (each asking `/available` for a port), or both. They are added and
/// removed at runtime without touching the others, and only so many
/// identify at once.
///
/// ```no_run
/// use ayaka_gateway::{GatewayEndpoint, ShardConfig, ShardManager};
///
/// # async fn run() {
/// let template = ShardConfig::builder("session id")
///     .endpoint(GatewayEndpoint::Discover("ws://127.0.0.1:8080".into()))
///     .build();
/// let mut manager = ShardManager::builder(template)
///     .connections_per_session(4)
///     .identify_concurrency(2)
///     .spawn();
/// while let Some(event) = manager.next_event().await {
///     println!("{} from {}", event.name(), event.shard_id);
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct ShardManager {
    template: ShardConfig,
    shards: BTreeMap<ShardId, (ShardHandle, JoinHandle<()>)>,
    sender: mpsc::Sender<ShardMessage>,
    messages: mpsc::Receiver<ShardMessage>,
    next_id: u32,
}

/// Builds a [`ShardManager`].
#[derive(Debug)]
#[must_use]
pub struct ShardManagerBuilder {
    template: ShardConfig,
    sessions: Vec<String>,
    connections_per_session: usize,
    identify_concurrency: usize,
    queue: usize,
}

impl ShardManager {
    /// Starts a builder; `template` is the configuration of every shard
    /// (its session id is the default session).
    pub fn builder(template: ShardConfig) -> ShardManagerBuilder {
        ShardManagerBuilder {
            template,
            sessions: Vec::new(),
            connections_per_session: 1,
            identify_concurrency: 1,
            queue: 1024,
        }
    }

    /// Adds a shard for `session_id` (with the template's other settings)
    /// and starts it.
    pub fn add_shard(&mut self, session_id: impl Into<String>) -> ShardHandle {
        let config = ShardConfig {
            session_id: Arc::from(session_id.into()),
            ..self.template.clone()
        };
        self.add_shard_with(config)
    }

    /// Adds a shard with its own configuration and starts it. It shares the
    /// manager's identify limiter unless the configuration has its own.
    pub fn add_shard_with(&mut self, mut config: ShardConfig) -> ShardHandle {
        if config.identify_limiter.is_none() {
            config.identify_limiter = self.template.identify_limiter.clone();
        }
        let id = ShardId(self.next_id);
        self.next_id += 1;
        let (handle, task) = spawn_task(id, config, self.sender.clone());
        self.shards.insert(id, (handle.clone(), task));
        handle
    }

    /// Closes one shard and waits for its task; the others carry on.
    /// Returns false if there was no such shard.
    pub async fn remove_shard(&mut self, id: ShardId) -> bool {
        let Some((handle, task)) = self.shards.remove(&id) else {
            return false;
        };
        handle.request_close();
        let _ = task.await;
        true
    }

    /// The handle of a shard.
    pub fn shard(&self, id: ShardId) -> Option<&ShardHandle> {
        self.shards.get(&id).map(|(handle, _)| handle)
    }

    /// Every shard with its state and latency, by id (ended ones too, see
    /// [`len`](Self::len)).
    pub fn shards(&self) -> Vec<ShardInfo> {
        self.shards
            .values()
            .map(|(handle, _)| ShardInfo {
                id: handle.id(),
                state: handle.state(),
                latency: handle.latency(),
            })
            .collect()
    }

    /// How many shards the manager holds. A shard that ended by itself (a
    /// fatal close) stays, in [`ShardState::Closed`], until removed.
    pub fn len(&self) -> usize {
        self.shards.len()
    }

    /// Whether the manager holds no shard.
    pub fn is_empty(&self) -> bool {
        self.shards.is_empty()
    }

    /// The next message of any shard. Cancellation-safe. Never ends while
    /// the manager lives (shards can be added).
    pub async fn next_message(&mut self) -> Option<ShardMessage> {
        self.messages.recv().await
    }

    /// The next event of any shard, skipping lifecycle reports.
    /// Cancellation-safe.
    pub async fn next_event(&mut self) -> Option<ReceivedEvent> {
        loop {
            if let ShardMessage::Event(event) = self.messages.recv().await? {
                return Some(event);
            }
        }
    }

    /// Closes every shard cleanly and waits for their tasks.
    pub async fn close_all(&mut self) {
        let shards = std::mem::take(&mut self.shards);
        for (handle, _) in shards.values() {
            handle.request_close();
        }
        for (_, (_, task)) in shards {
            let _ = task.await;
        }
    }
}

impl Stream for ShardManager {
    type Item = ShardMessage;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ShardMessage>> {
        self.messages.poll_recv(cx)
    }
}

impl Drop for ShardManager {
    fn drop(&mut self) {
        for (handle, _) in self.shards.values() {
            handle.request_close();
        }
    }
}

impl ShardManagerBuilder {
    /// Adds a session id to run shards for (default: the template's).
    pub fn session(mut self, session_id: impl Into<String>) -> Self {
        self.sessions.push(session_id.into());
        self
    }

    /// Adds session ids to run shards for.
    pub fn sessions<I, S>(mut self, session_ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.sessions
            .extend(session_ids.into_iter().map(Into::into));
        self
    }

    /// How many connections to open per session (default 1).
    pub fn connections_per_session(mut self, count: usize) -> Self {
        self.connections_per_session = count;
        self
    }

    /// How many shards may identify at once (default 1).
    pub fn identify_concurrency(mut self, count: usize) -> Self {
        self.identify_concurrency = count.max(1);
        self
    }

    /// How many merged messages may wait for the consumer (default 1024).
    pub fn queue(mut self, capacity: usize) -> Self {
        self.queue = capacity.max(1);
        self
    }

    /// Starts every shard on the current tokio runtime.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn spawn(mut self) -> ShardManager {
        if self.template.identify_limiter.is_none() {
            self.template.identify_limiter =
                Some(Arc::new(Semaphore::new(self.identify_concurrency)));
        }
        let (sender, messages) = mpsc::channel(self.queue);
        let mut manager = ShardManager {
            template: self.template,
            shards: BTreeMap::new(),
            sender,
            messages,
            next_id: 0,
        };
        let sessions = if self.sessions.is_empty() {
            vec![manager.template.session_id.to_string()]
        } else {
            self.sessions
        };
        for session in sessions {
            for _ in 0..self.connections_per_session {
                manager.add_shard(session.clone());
            }
        }
        manager
    }
}
