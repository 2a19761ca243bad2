//! Many shards as independent tasks, their messages merged.

use std::{
    collections::BTreeMap,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use futures_util::Stream;
use tokio::{sync::mpsc, task::JoinHandle};

use crate::{
    config::ShardConfig,
    error::Error,
    identify_queue::{IdentifyQueue, LocalIdentifyQueue},
    latency::Latency,
    manager_assignment::ShardAssignment,
    read_ahead::{self, Budget, Queued},
    received::ReceivedEvent,
    reconnect_limiter::ReconnectLimiter,
    shard::{ShardHandle, event_or_error, spawn_task},
    shard_id::ShardId,
    shard_message::ShardMessage,
    shard_state::ShardState,
};

/// Default for [`ShardManagerBuilder::reconnect_rate`]: 16 reconnects per
/// second across the manager's shards.
pub const DEFAULT_RECONNECT_RATE: (u32, Duration) = (16, Duration::from_secs(1));

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
/// removed at runtime without touching the others; a deployment's shards
/// can be split over several processes, each running its share
/// ([`ShardManagerBuilder::assignment`]). Only so many identify
/// at once (through one [`IdentifyQueue`]), and their reconnects together
/// stay under one [`ReconnectLimiter`] (16 a second unless set). Each
/// shard keeps its own read-ahead bound in the merged queue, so a flooded
/// shard pushes back on its own socket only.
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
/// while let Some(item) = manager.next_event().await {
///     match item {
///         Ok(received) => println!("{} from {}", received.name(), received.shard_id),
///         Err(error) => eprintln!("gateway: {error}"),
///     }
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct ShardManager {
    template: ShardConfig,
    shards: BTreeMap<ShardId, (ShardHandle, JoinHandle<()>)>,
    /// Kept so that the merged queue never ends while the manager lives.
    sender: mpsc::UnboundedSender<Queued>,
    messages: mpsc::UnboundedReceiver<Queued>,
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
    identify_queue: Option<Arc<dyn IdentifyQueue>>,
    reconnect_rate: (u32, Duration),
    assignment: ShardAssignment,
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
            identify_queue: None,
            reconnect_rate: DEFAULT_RECONNECT_RATE,
            assignment: ShardAssignment::all(),
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
    /// manager's identify queue and reconnect limiter unless the
    /// configuration has its own.
    pub fn add_shard_with(&mut self, config: ShardConfig) -> ShardHandle {
        let id = ShardId(self.next_id);
        self.next_id += 1;
        self.start_shard(id, config)
    }

    fn start_shard(&mut self, id: ShardId, mut config: ShardConfig) -> ShardHandle {
        if config.identify_queue.is_none() {
            config.identify_queue = self.template.identify_queue.clone();
        }
        if config.reconnect_limiter.is_none() {
            config.reconnect_limiter = self.template.reconnect_limiter.clone();
        }
        let sender = read_ahead::Sender::new(self.sender.clone(), Budget::new(config.read_ahead));
        let (handle, task) = spawn_task(id, config, sender);
        self.shards.insert(id, (handle.clone(), task));
        handle
    }

    /// Closes one shard and waits for its task; the others carry on. Its
    /// [`ShardMessage::Closed`] is the last the manager yields for it (a
    /// cache fed from the manager takes it as that shard's session ended).
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
        self.messages.recv().await.map(Queued::into_message)
    }

    /// The next event or error of any shard, skipping the other lifecycle
    /// reports (as [`Shard::next_event`](crate::Shard::next_event): a shard
    /// that ended by itself yields its error last). Cancellation-safe.
    pub async fn next_event(&mut self) -> Option<Result<ReceivedEvent, Error>> {
        loop {
            if let Some(item) = event_or_error(self.next_message().await?) {
                return Some(item);
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
        self.messages
            .poll_recv(cx)
            .map(|queued| queued.map(Queued::into_message))
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

    /// How many shards may identify at once, with the in-process
    /// [`LocalIdentifyQueue`] (default 1).
    pub fn identify_concurrency(mut self, count: usize) -> Self {
        self.identify_concurrency = count.max(1);
        self
    }

    /// The queue every shard identifies through, instead of a
    /// [`LocalIdentifyQueue`] of
    /// [`identify_concurrency`](Self::identify_concurrency) (for one
    /// shared by several processes, say).
    pub fn identify_queue(mut self, queue: Arc<dyn IdentifyQueue>) -> Self {
        self.identify_queue = Some(queue);
        self
    }

    /// Which of the deployment's shards this process runs (default: all):
    /// for shards split over several processes, each building its manager
    /// with the same sessions in the same order and a share of the shards.
    /// Shards keep their deployment-wide numbers as their [`ShardId`]s (see
    /// [`ShardAssignment`]); shards added later are numbered from the
    /// deployment's total on.
    ///
    /// ```no_run
    /// use ayaka_gateway::{ShardAssignment, ShardConfig, ShardManager};
    ///
    /// # async fn run() {
    /// # let template = ShardConfig::builder("session id").build();
    /// // This is process 1 of 3 running 2 sessions × 3 connections: it
    /// // runs shards 2 and 3 (session 0's connection 2, session 1's 0).
    /// let manager = ShardManager::builder(template)
    ///     .sessions(["first session", "second session"])
    ///     .connections_per_session(3)
    ///     .assignment(ShardAssignment::process(1, 3))
    ///     .spawn();
    /// # }
    /// ```
    pub fn assignment(mut self, assignment: ShardAssignment) -> Self {
        self.assignment = assignment;
        self
    }

    /// At most `count` reconnects per `per` across every shard (default
    /// 16 per second); each shard's own backoff comes first.
    pub fn reconnect_rate(mut self, count: u32, per: Duration) -> Self {
        self.reconnect_rate = (count, per);
        self
    }

    /// Starts every shard on the current tokio runtime.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn spawn(mut self) -> ShardManager {
        if self.template.identify_queue.is_none() {
            let queue = self
                .identify_queue
                .take()
                .unwrap_or_else(|| Arc::new(LocalIdentifyQueue::new(self.identify_concurrency)));
            self.template.identify_queue = Some(queue);
        }
        if self.template.reconnect_limiter.is_none() {
            let (count, per) = self.reconnect_rate;
            self.template.reconnect_limiter = Some(Arc::new(ReconnectLimiter::new(count, per)));
        }
        let (sender, messages) = mpsc::unbounded_channel();
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
        let per_session = self.connections_per_session;
        let total = u32::try_from(sessions.len().saturating_mul(per_session)).unwrap_or(u32::MAX);
        if self.assignment.overreaches(total) {
            tracing::warn!(
                total,
                "the shard assignment names shards past the deployment's; they are not run"
            );
        }
        for shard in self.assignment.shards(total) {
            // `shard < total`, so the session exists
            let Some(session) = usize::try_from(shard)
                .ok()
                .and_then(|shard| sessions.get(shard / per_session))
            else {
                continue;
            };
            let config = ShardConfig {
                session_id: Arc::from(session.as_str()),
                ..manager.template.clone()
            };
            manager.start_shard(ShardId(shard), config);
        }
        manager.next_id = total;
        manager
    }
}
