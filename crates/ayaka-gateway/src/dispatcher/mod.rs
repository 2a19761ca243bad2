//! Callbacks on top of the pull API, as in nextcore: listeners per event,
//! raw listeners for every event, lifecycle listeners and `wait_for`.
//! Listeners are isolated: a panic in one is caught and reported, and by
//! default each call runs on its own task.

mod delivery;

use std::{
    collections::HashMap,
    future::Future,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use ayaka_model::gateway::EventKind;
use futures_util::{Stream, StreamExt};
use tokio::sync::{Semaphore, oneshot};

pub use self::delivery::Delivery;
use self::delivery::{BoxFuture, call_guarded};
use crate::{
    error::{Error, ErrorKind},
    received::ReceivedEvent,
    shard_message::ShardMessage,
};

type EventHandler = Arc<dyn Fn(Arc<ReceivedEvent>) -> BoxFuture + Send + Sync>;
type MessageHandler = Arc<dyn Fn(ShardMessage) -> BoxFuture + Send + Sync>;
type Predicate = Box<dyn Fn(&ShardMessage) -> bool + Send + Sync>;

/// Default for [`DispatcherBuilder::max_in_flight`].
pub const DEFAULT_MAX_IN_FLIGHT: usize = 1024;

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

/// What clones of a dispatcher share, and what its listener tasks hold.
struct Shared {
    listeners: Mutex<Listeners>,
    delivery: Delivery,
    /// One permit per listener call that may run at once (concurrent
    /// delivery only).
    in_flight: Arc<Semaphore>,
    max_in_flight: u32,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Listeners> {
        // listeners are only pushed or cloned under the lock, and no user
        // code runs under it but `wait_for` predicates, whose panic leaves
        // the lists whole
        self.listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn lifecycle(&self) -> Arc<Vec<MessageHandler>> {
        Arc::clone(&self.lock().lifecycle)
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
}

/// Builds a [`Dispatcher`]; see [`Dispatcher::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct DispatcherBuilder {
    delivery: Delivery,
    max_in_flight: usize,
}

impl DispatcherBuilder {
    /// How listeners are called (default [`Delivery::Concurrent`]).
    pub fn delivery(mut self, delivery: Delivery) -> Self {
        self.delivery = delivery;
        self
    }

    /// Under [`Delivery::Concurrent`], how many listener calls may run at
    /// once before dispatching waits (default 1024, at least 1).
    pub fn max_in_flight(mut self, calls: usize) -> Self {
        self.max_in_flight = calls.clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
        self
    }

    /// The dispatcher, without listeners.
    pub fn build(self) -> Dispatcher {
        let max_in_flight = u32::try_from(self.max_in_flight).unwrap_or(u32::MAX);
        Dispatcher {
            shared: Arc::new(Shared {
                listeners: Mutex::new(Listeners::default()),
                delivery: self.delivery,
                in_flight: Arc::new(Semaphore::new(max_in_flight as usize)),
                max_in_flight,
            }),
        }
    }
}

impl Default for DispatcherBuilder {
    fn default() -> Self {
        Self {
            delivery: Delivery::default(),
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        }
    }
}

/// Routes shard messages to listeners. Cheap to clone; clones share
/// listeners.
///
/// Listeners are isolated from each other and from the shard:
///
/// - **A panic is caught.** The listener's call (and its future) runs
///   under `catch_unwind`; the panic is logged with `tracing` and reported
///   to the lifecycle listeners (and `wait_for`) as a
///   [`ShardMessage::Error`] with
///   [`ErrorKind::ListenerPanicked`]; every other listener keeps being
///   called, the panicking one included on later events. (A binary built
///   with `panic = "abort"` aborts instead: nothing can catch that.)
/// - **Slow work does not hold the queue.** By default
///   ([`Delivery::Concurrent`]) every call runs on its own task, up to
///   1024 at once, so dispatching returns at once and the shard's
///   read-ahead keeps draining. [`Delivery::Ordered`] calls them one after
///   the other instead, in order, and the next message waits.
///
/// ```
/// use std::time::Duration;
/// use ayaka_gateway::{Delivery, Dispatcher, ShardMessage};
/// use ayaka_model::gateway::EventKind;
///
/// let dispatcher = Dispatcher::new();
/// // or, for listeners that must see events strictly in order:
/// // Dispatcher::builder().delivery(Delivery::Ordered).build()
/// dispatcher.on(EventKind::GuildCreate, |received| async move {
///     println!("new guild: {:?}", received.event.guild_id());
/// });
/// dispatcher.on_lifecycle(|message| async move {
///     if let ShardMessage::Disconnected { code, .. } = message {
///         println!("disconnected: {code:?}");
///     }
/// });
/// // then: dispatcher.run(shard).await?, or dispatcher.dispatch(message).await
/// ```
#[derive(Clone)]
pub struct Dispatcher {
    shared: Arc<Shared>,
}

impl Default for Dispatcher {
    fn default() -> Self {
        Self::builder().build()
    }
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("delivery", &self.shared.delivery)
            .finish_non_exhaustive()
    }
}

impl Dispatcher {
    /// A dispatcher without listeners, with concurrent delivery.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder to choose how listeners are called.
    pub fn builder() -> DispatcherBuilder {
        DispatcherBuilder::default()
    }

    fn lock(&self) -> MutexGuard<'_, Listeners> {
        self.shared.lock()
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
    ///
    /// Under [`Delivery::Concurrent`] this returns once every call has
    /// started on its task (waiting only while
    /// [`max_in_flight`](DispatcherBuilder::max_in_flight) calls run); under
    /// [`Delivery::Ordered`], once every call has finished.
    pub async fn dispatch(&self, message: ShardMessage) {
        self.shared.wake_waiters(&message);
        let shard_id = message.shard_id();
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
                let label = event.name().to_owned();
                let event = Arc::new(event);
                for handler in lists.iter().flatten().flat_map(|list| list.iter()) {
                    let (handler, event) = (Arc::clone(handler), Arc::clone(&event));
                    self.call(shard_id, &label, move || handler(event)).await;
                }
            }
            other => {
                let lifecycle = self.shared.lifecycle();
                for handler in lifecycle.iter() {
                    let (handler, message) = (Arc::clone(handler), other.clone());
                    self.call(shard_id, "a lifecycle report", move || handler(message))
                        .await;
                }
            }
        }
    }

    /// Runs one listener call as the delivery mode says, behind the guard.
    async fn call(
        &self,
        shard_id: crate::ShardId,
        label: &str,
        call: impl FnOnce() -> BoxFuture + Send + 'static,
    ) {
        let shared = Arc::clone(&self.shared);
        let label = label.to_owned();
        match self.shared.delivery {
            Delivery::Ordered => call_guarded(shared, shard_id, label, call).await,
            Delivery::Concurrent => {
                let Ok(permit) = Arc::clone(&self.shared.in_flight).acquire_owned().await else {
                    // never closed
                    return;
                };
                tokio::spawn(async move {
                    call_guarded(shared, shard_id, label, call).await;
                    drop(permit);
                });
            }
        }
    }

    /// Waits until every listener call started so far has finished (at
    /// once under [`Delivery::Ordered`]).
    pub async fn idle(&self) {
        let shared = &self.shared;
        if let Ok(all) = shared.in_flight.acquire_many(shared.max_in_flight).await {
            drop(all);
        }
    }

    /// Dispatches every message of `messages` (a [`Shard`](crate::Shard)
    /// or a [`ShardManager`](crate::ShardManager)) until it ends, then
    /// waits for the listener calls still running.
    ///
    /// # Errors
    ///
    /// The error of the last message when it was a
    /// [`ShardMessage::Closed`] carrying one: the shard ended by itself
    /// (a fatal close code, say) rather than being asked to.
    pub async fn run<S>(&self, mut messages: S) -> Result<(), Error>
    where
        S: Stream<Item = ShardMessage> + Unpin,
    {
        let mut ended_with = None;
        while let Some(message) = messages.next().await {
            ended_with = match &message {
                ShardMessage::Closed { error, .. } => error.clone(),
                _ => None,
            };
            self.dispatch(message).await;
        }
        self.idle().await;
        ended_with.map_or(Ok(()), Err)
    }
}

fn event_handler<F, Fut>(handler: F) -> EventHandler
where
    F: Fn(Arc<ReceivedEvent>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Arc::new(move |event| Box::pin(handler(event)))
}
