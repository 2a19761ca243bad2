//! How listeners are called: on their own tasks (the default) or one
//! after the other, and always behind a panic guard.

use std::{
    any::Any,
    future::Future,
    panic::{AssertUnwindSafe, catch_unwind},
    pin::Pin,
    sync::Arc,
};

use futures_util::FutureExt;
use tracing::error;

use super::Shared;
use crate::{
    error::{Error, ErrorKind},
    shard::panic_message,
    shard_id::ShardId,
    shard_message::ShardMessage,
};

pub(super) type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// How a [`Dispatcher`](super::Dispatcher) calls its listeners.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Delivery {
    /// Every listener call runs on a task of its own, so a listener that
    /// does slow work holds up neither the other listeners nor the shard's
    /// queue. At most
    /// [`max_in_flight`](super::DispatcherBuilder::max_in_flight) calls
    /// (default 1024) run at once; past that, dispatching waits for one to
    /// finish, which is when the queue (and then the socket) pushes back.
    /// Calls of one message and of successive messages may finish in any
    /// order.
    #[default]
    Concurrent,
    /// Listeners of one message run one after the other, in registration
    /// order, on the dispatching task, and the next message waits for
    /// them: every listener sees the events in the order they came, and a
    /// slow listener holds everything behind it.
    Ordered,
}

/// Runs one listener call; a panic (in the call or in its future) is
/// caught and reported, and nothing else is affected.
pub(super) async fn call_guarded(
    shared: Arc<Shared>,
    shard_id: ShardId,
    label: String,
    call: impl FnOnce() -> BoxFuture,
) {
    let Err(panic) = guarded(call).await else {
        return;
    };
    let message = panic_message(panic.as_ref());
    error!(shard = shard_id.0, listener = %label, panic = message, "a listener panicked");
    let report = ShardMessage::Error {
        shard_id,
        error: Error::with_source(
            ErrorKind::ListenerPanicked,
            format!("a listener of {label} panicked: {message}"),
        ),
    };
    shared.wake_waiters(&report);
    // Lifecycle listeners hear of it; if one of them panics on that too,
    // it is only logged, so a panic can never feed itself.
    let lifecycle = shared.lifecycle();
    for handler in lifecycle.iter() {
        let report = report.clone();
        if let Err(panic) = guarded(|| handler(report)).await {
            error!(
                shard = shard_id.0,
                panic = panic_message(panic.as_ref()),
                "a lifecycle listener panicked on a panic report"
            );
        }
    }
}

async fn guarded(call: impl FnOnce() -> BoxFuture) -> Result<(), Box<dyn Any + Send>> {
    let future = catch_unwind(AssertUnwindSafe(call))?;
    AssertUnwindSafe(future).catch_unwind().await
}
