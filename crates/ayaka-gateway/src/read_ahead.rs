//! The read-ahead buffer between a shard's task and its consumer: as many
//! messages as fit in a byte budget per shard.
//!
//! The shard's task pushes every message it produces (pushing never
//! waits), and reads the socket only while its messages waiting for the
//! consumer take less than its budget. Past the budget it stops reading
//! (the server then sees TCP push back) until the consumer catches up,
//! still pinging meanwhile. Several shards can share one queue (a
//! [`ShardManager`](crate::ShardManager) merges them), each with its own
//! budget, so one flooded shard does not stop the others.

use std::sync::{
    Arc,
    atomic::{AtomicU64, AtomicUsize, Ordering},
};

use tokio::sync::{Notify, mpsc};

use crate::shard_message::ShardMessage;

/// What a message costs besides its raw JSON: the typed event and the
/// queue's own bookkeeping are counted as this much (lifecycle reports
/// cost only this).
pub(crate) const MESSAGE_OVERHEAD: usize = 128;

/// One shard's share of a queue.
#[derive(Debug)]
pub(crate) struct Budget {
    bound: usize,
    used: AtomicUsize,
    /// Told when `used` falls below `bound` (only the shard's task waits).
    room: Notify,
    delivered: AtomicU64,
}

impl Budget {
    pub(crate) fn new(bound: usize) -> Arc<Self> {
        Arc::new(Self {
            bound: bound.max(1),
            used: AtomicUsize::new(0),
            room: Notify::new(),
            delivered: AtomicU64::new(0),
        })
    }

    /// Whether the consumer is behind: the shard should stop reading.
    pub(crate) fn is_full(&self) -> bool {
        self.used.load(Ordering::Acquire) >= self.bound
    }

    /// Waits until the consumer has caught up (cancel-safe).
    pub(crate) async fn room(&self) {
        while self.is_full() {
            self.room.notified().await;
        }
    }

    /// Bytes waiting for the consumer.
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Events the consumer has taken.
    pub(crate) fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    fn charge(self: &Arc<Self>, bytes: usize) -> Charge {
        self.used.fetch_add(bytes, Ordering::AcqRel);
        Charge {
            budget: Arc::clone(self),
            bytes,
        }
    }
}

/// A message's share of its shard's budget, given back when the consumer
/// takes the message (or the queue is dropped with it).
#[derive(Debug)]
struct Charge {
    budget: Arc<Budget>,
    bytes: usize,
}

impl Drop for Charge {
    fn drop(&mut self) {
        let before = self.budget.used.fetch_sub(self.bytes, Ordering::AcqRel);
        if before >= self.budget.bound && before - self.bytes < self.budget.bound {
            // a stored permit if the task is not waiting yet: no lost wake-up
            self.budget.room.notify_one();
        }
    }
}

/// A message in the queue, with its charge.
#[derive(Debug)]
pub(crate) struct Queued {
    message: ShardMessage,
    charge: Charge,
}

impl Queued {
    /// The message, its bytes given back to its shard's budget.
    pub(crate) fn into_message(self) -> ShardMessage {
        if matches!(self.message, ShardMessage::Event(_)) {
            self.charge.budget.delivered.fetch_add(1, Ordering::Relaxed);
        }
        self.message
    }
}

/// One shard's side of a queue.
#[derive(Debug, Clone)]
pub(crate) struct Sender {
    queue: mpsc::UnboundedSender<Queued>,
    budget: Arc<Budget>,
}

impl Sender {
    pub(crate) fn new(queue: mpsc::UnboundedSender<Queued>, budget: Arc<Budget>) -> Self {
        Self { queue, budget }
    }

    pub(crate) fn budget(&self) -> &Arc<Budget> {
        &self.budget
    }

    /// Queues a message, charging it to this shard. Returns false when the
    /// consumer is gone.
    pub(crate) fn push(&self, message: ShardMessage) -> bool {
        let bytes = match &message {
            ShardMessage::Event(event) => event.raw.len(),
            _ => 0,
        } + MESSAGE_OVERHEAD;
        let charge = self.budget.charge(bytes);
        self.queue.send(Queued { message, charge }).is_ok()
    }
}

/// A queue for one shard (or a [`ShardManager`](crate::ShardManager)'s
/// merged queue, whose senders are made with [`Sender::new`]).
pub(crate) fn channel(bound: usize) -> (Sender, mpsc::UnboundedReceiver<Queued>) {
    let (queue, receiver) = mpsc::unbounded_channel();
    (Sender::new(queue, Budget::new(bound)), receiver)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shard_id::ShardId;

    fn lifecycle() -> ShardMessage {
        ShardMessage::Ready {
            shard_id: ShardId(0),
        }
    }

    #[tokio::test]
    async fn the_budget_fills_and_the_consumer_frees_it() {
        let (sender, mut receiver) = channel(MESSAGE_OVERHEAD * 2);
        assert!(sender.push(lifecycle()));
        assert!(!sender.budget().is_full());
        assert!(sender.push(lifecycle()));
        assert!(sender.budget().is_full());
        assert_eq!(sender.budget().used(), MESSAGE_OVERHEAD * 2);
        // waiting for room is woken by the consumer taking one
        let budget = Arc::clone(sender.budget());
        let waiting = tokio::spawn(async move { budget.room().await });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        let taken = receiver.recv().await.map(Queued::into_message);
        assert!(matches!(taken, Some(ShardMessage::Ready { .. })));
        waiting.await.unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(sender.budget().used(), MESSAGE_OVERHEAD);
    }

    #[tokio::test]
    async fn a_message_larger_than_the_budget_still_goes_through() {
        let (sender, mut receiver) = channel(1);
        assert!(sender.push(lifecycle()));
        assert!(sender.budget().is_full());
        receiver.recv().await.map(Queued::into_message);
        assert!(!sender.budget().is_full());
        drop(receiver);
        assert!(!sender.push(lifecycle()), "the consumer is gone");
        assert_eq!(
            sender.budget().used(),
            0,
            "a refused message is not charged"
        );
    }
}
