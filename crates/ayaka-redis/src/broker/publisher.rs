//! The publishing side: a bounded buffer drained by a background task that
//! writes batches to the stream, retrying while Redis is down.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use tokio::sync::{Notify, oneshot};

use super::{BrokerStats, Event};
use crate::connection::Connection;
use crate::error::{Error, ErrorKind};
use crate::sync::lock;

const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

#[derive(Debug)]
pub(super) struct Publisher {
    redis: Connection,
    stream: String,
    max_len: usize,
    capacity: usize,
    batch: usize,
    queue: Mutex<Queue>,
    /// Wakes the writer: something was queued.
    queued: Arc<Notify>,
    /// Wakes `flush`: a batch was written.
    written: Notify,
    published: AtomicU64,
    dropped: AtomicU64,
    /// Dropped with the publisher, which stops the writer.
    writer: OnceLock<oneshot::Sender<()>>,
}

#[derive(Debug, Default)]
struct Queue {
    /// Events with their sequence numbers, oldest first.
    events: VecDeque<(u64, Event)>,
    next_seq: u64,
}

impl Publisher {
    pub(super) fn new(
        redis: Connection,
        stream: String,
        max_len: usize,
        capacity: usize,
        batch: usize,
    ) -> Self {
        Self {
            redis,
            stream,
            max_len,
            capacity,
            batch,
            queue: Mutex::new(Queue::default()),
            queued: Arc::new(Notify::new()),
            written: Notify::new(),
            published: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            writer: OnceLock::new(),
        }
    }

    pub(super) fn push(self: &Arc<Self>, event: Event) {
        {
            let mut queue = lock(&self.queue);
            if queue.events.len() >= self.capacity {
                queue.events.pop_front();
                let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if dropped.is_power_of_two() {
                    tracing::warn!(dropped, "event buffer full; dropping the oldest events");
                }
            }
            let seq = queue.next_seq;
            queue.next_seq += 1;
            queue.events.push_back((seq, event));
        }
        self.start_writer();
        self.queued.notify_one();
    }

    fn start_writer(self: &Arc<Self>) {
        if self.writer.get().is_some() || tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let (stop, stopped) = oneshot::channel();
        if self.writer.set(stop).is_ok() {
            tokio::spawn(write(
                Arc::downgrade(self),
                Arc::clone(&self.queued),
                stopped,
            ));
        }
    }

    pub(super) fn stats(&self) -> BrokerStats {
        BrokerStats {
            published: self.published.load(Ordering::Relaxed),
            buffered: lock(&self.queue).events.len(),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }

    pub(super) async fn flush(self: &Arc<Self>, timeout: Duration) -> Result<(), Error> {
        self.start_writer();
        let wait = async {
            loop {
                let written = self.written.notified();
                tokio::pin!(written);
                written.as_mut().enable();
                if lock(&self.queue).events.is_empty() {
                    return;
                }
                self.queued.notify_one();
                written.await;
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| Error::new(ErrorKind::Timeout))
    }

    /// Copies the oldest events, up to one batch.
    fn next_batch(&self) -> Vec<(u64, Event)> {
        let queue = lock(&self.queue);
        queue.events.iter().take(self.batch).cloned().collect()
    }

    /// Forgets the events up to `seq` (some may have been dropped meanwhile).
    fn written_up_to(&self, seq: u64, count: usize) {
        let mut queue = lock(&self.queue);
        while queue.events.front().is_some_and(|(s, _)| *s <= seq) {
            queue.events.pop_front();
        }
        drop(queue);
        self.published.fetch_add(count as u64, Ordering::Relaxed);
        self.written.notify_waiters();
    }

    async fn send(&self, batch: &[(u64, Event)]) -> Result<(), Error> {
        let mut pipe = redis::pipe();
        for (_, event) in batch {
            pipe.cmd("XADD")
                .arg(&self.stream)
                .arg("MAXLEN")
                .arg("~")
                .arg(self.max_len)
                .arg("*")
                .arg("t")
                .arg(&event.name)
                .arg("s")
                .arg(event.shard)
                .arg("d")
                .arg(event.data.as_ref())
                .ignore();
        }
        self.redis
            .run(|mut manager| async move { pipe.query_async::<()>(&mut manager).await })
            .await
    }
}

/// The writer task: drains the buffer until the publisher is dropped.
async fn write(publisher: Weak<Publisher>, wake: Arc<Notify>, mut stopped: oneshot::Receiver<()>) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        let Some(this) = publisher.upgrade() else {
            return;
        };
        // Waits hold no strong reference, so dropping the broker stops us.
        let queued = wake.notified();
        tokio::pin!(queued);
        queued.as_mut().enable();
        let batch = this.next_batch();
        if batch.is_empty() {
            drop(this);
            tokio::select! {
                _ = &mut stopped => return,
                () = &mut queued => continue,
            }
        }
        let last = batch.last().map_or(0, |(seq, _)| *seq);
        match this.send(&batch).await {
            Ok(()) => {
                backoff = FIRST_BACKOFF;
                this.written_up_to(last, batch.len());
            }
            Err(error) => {
                tracing::debug!(%error, buffered = this.stats().buffered, "could not publish events; retrying");
                drop(this);
                tokio::select! {
                    _ = &mut stopped => return,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}
