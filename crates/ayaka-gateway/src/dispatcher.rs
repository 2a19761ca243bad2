//! Callbacks on top of the pull API, as in nextcore: listeners per event,
//! raw listeners for every event, lifecycle listeners and `wait_for`.

use std::{
    collections::HashMap,
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use ayaka_model::gateway::EventKind;
use futures_util::{Stream, StreamExt};
use tokio::sync::oneshot;

use crate::{
    error::{Error, ErrorKind},
    received::ReceivedEvent,
    shard_message::ShardMessage,
};

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;
type EventHandler = Arc<dyn Fn(Arc<ReceivedEvent>) -> BoxFuture + Send + Sync>;
type MessageHandler = Arc<dyn Fn(ShardMessage) -> BoxFuture + Send + Sync>;
type Predicate = Box<dyn Fn(&ShardMessage) -> bool + Send + Sync>;

struct Waiter {
    predicate: Predicate,
    sender: oneshot::Sender<ShardMessage>,
}

/// Handler lists are shared with the dispatches running them, so taking a
/// snapshot per message is a reference count, not an allocation; adding a
/// listener copies a list only while a dispatch still holds it.
#[derive(Default)]
struct Listeners {
    by_kind: HashMap<EventKind, Arc<Vec<EventHandler>>>,
    by_name: HashMap<String, Arc<Vec<EventHandler>>>,
    raw: Arc<Vec<EventHandler>>,
    lifecycle: Arc<Vec<MessageHandler>>,
    waiters: Vec<Waiter>,
}

/// Routes shard messages to listeners. Cheap to clone; clones share
/// listeners.
///
/// Listeners of one message run one after the other, in registration
/// order, and the next message waits for them: spawn a task in a listener
/// for long work.
///
/// ```
/// use std::time::Duration;
/// use ayaka_gateway::{Dispatcher, ShardMessage};
/// use ayaka_model::gateway::EventKind;
///
/// let dispatcher = Dispatcher::new();
/// dispatcher.on(EventKind::GuildCreate, |received| async move {
///     println!("new guild: {:?}", received.event.guild_id());
/// });
/// dispatcher.on_lifecycle(|message| async move {
///     if let ShardMessage::Disconnected { code, .. } = message {
///         println!("disconnected: {code:?}");
///     }
/// });
/// // then: dispatcher.run(shard).await, or dispatcher.dispatch(message).await
/// ```
#[derive(Clone, Default)]
pub struct Dispatcher {
    listeners: Arc<Mutex<Listeners>>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher").finish_non_exhaustive()
    }
}

impl Dispatcher {
    /// A dispatcher without listeners.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Listeners> {
        // listeners are only pushed or cloned under the lock, so a panic
        // elsewhere cannot leave them half-changed
        self.listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Calls `handler` for every event of `kind`.
    pub fn on<F, Fut>(&self, kind: EventKind, handler: F)
    where
        F: Fn(Arc<ReceivedEvent>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler = event_handler(handler);
        Arc::make_mut(self.lock().by_kind.entry(kind).or_default()).push(handler);
    }

    /// Calls `handler` for every event named `name` (its `t`), also for
    /// names this library does not know.
    pub fn on_name<F, Fut>(&self, name: impl Into<String>, handler: F)
    where
        F: Fn(Arc<ReceivedEvent>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler = event_handler(handler);
        Arc::make_mut(self.lock().by_name.entry(name.into()).or_default()).push(handler);
    }

    /// Calls `handler` for every event, with its raw JSON in
    /// [`ReceivedEvent::raw`].
    pub fn on_raw<F, Fut>(&self, handler: F)
    where
        F: Fn(Arc<ReceivedEvent>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler = event_handler(handler);
        Arc::make_mut(&mut self.lock().raw).push(handler);
    }

    /// Calls `handler` for every lifecycle report: connected, ready,
    /// disconnected (with code), reconnecting, error, closed.
    pub fn on_lifecycle<F, Fut>(&self, handler: F)
    where
        F: Fn(ShardMessage) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler: MessageHandler = Arc::new(move |message| Box::pin(handler(message)));
        Arc::make_mut(&mut self.lock().lifecycle).push(handler);
    }

    /// Waits for the first message dispatched from now on that matches
    /// `predicate`, for at most `timeout`.
    ///
    /// The wait starts when this is called, not when the future is first
    /// polled, so an event triggered right after the call is not missed.
    /// `predicate` runs while the dispatcher is locked: it must not call
    /// the dispatcher.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Timeout`] when nothing matched in time,
    /// [`ErrorKind::Closed`] when the dispatcher was dropped.
    pub fn wait_for<P>(
        &self,
        predicate: P,
        timeout: Duration,
    ) -> impl Future<Output = Result<ShardMessage, Error>> + Send + 'static
    where
        P: Fn(&ShardMessage) -> bool + Send + Sync + 'static,
    {
        let (sender, receiver) = oneshot::channel();
        self.lock().waiters.push(Waiter {
            predicate: Box::new(predicate),
            sender,
        });
        async move {
            match tokio::time::timeout(timeout, receiver).await {
                Ok(Ok(message)) => Ok(message),
                Ok(Err(_)) => Err(Error::new(ErrorKind::Closed)),
                Err(_) => Err(Error::new(ErrorKind::Timeout)),
            }
        }
    }

    /// Waits for the next event of `kind` dispatched from now on (see
    /// [`wait_for`](Self::wait_for)).
    ///
    /// # Errors
    ///
    /// As [`wait_for`](Self::wait_for).
    pub fn wait_for_event(
        &self,
        kind: EventKind,
        timeout: Duration,
    ) -> impl Future<Output = Result<ReceivedEvent, Error>> + Send + 'static {
        let waiting = self.wait_for(
            move |message| message.as_event().is_some_and(|event| event.kind() == kind),
            timeout,
        );
        async move {
            waiting
                .await?
                .into_event()
                .ok_or_else(|| Error::new(ErrorKind::Closed))
        }
    }

    /// Hands one message to the waiters and listeners it concerns.
    pub async fn dispatch(&self, message: ShardMessage) {
        self.wake_waiters(&message);
        match message {
            ShardMessage::Event(event) => {
                let lists = {
                    let listeners = self.lock();
                    [
                        Some(Arc::clone(&listeners.raw)),
                        listeners.by_kind.get(&event.kind()).cloned(),
                        listeners.by_name.get(event.name()).cloned(),
                    ]
                };
                let event = Arc::new(event);
                for handler in lists.iter().flatten().flat_map(|list| list.iter()) {
                    handler(Arc::clone(&event)).await;
                }
            }
            other => {
                let lifecycle = Arc::clone(&self.lock().lifecycle);
                for handler in lifecycle.iter() {
                    handler(other.clone()).await;
                }
            }
        }
    }

    /// Hands `message` to every waiter it matches, forgetting abandoned ones.
    fn wake_waiters(&self, message: &ShardMessage) {
        let mut listeners = self.lock();
        listeners
            .waiters
            .retain(|waiter| !waiter.sender.is_closed());
        let mut index = 0;
        while index < listeners.waiters.len() {
            if (listeners.waiters[index].predicate)(message) {
                let waiter = listeners.waiters.swap_remove(index);
                let _ = waiter.sender.send(message.clone());
            } else {
                index += 1;
            }
        }
    }

    /// Dispatches every message of `messages` (a [`Shard`](crate::Shard)
    /// or a [`ShardManager`](crate::ShardManager)) until it ends.
    pub async fn run<S>(&self, mut messages: S)
    where
        S: Stream<Item = ShardMessage> + Unpin,
    {
        while let Some(message) = messages.next().await {
            self.dispatch(message).await;
        }
    }
}

fn event_handler<F, Fut>(handler: F) -> EventHandler
where
    F: Fn(Arc<ReceivedEvent>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Arc::new(move |event| Box::pin(handler(event)))
}
