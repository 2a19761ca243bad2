//! [`CommandRelay`]: the commands sent to a shard through the broker,
//! applied to the shard in the process that runs it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ayaka_gateway::{ShardHandle, ShardState};
use tokio::task::JoinHandle;

use super::consumer::CommandReader;

/// How long one read blocks: also how long a relay may outlive its shard.
const BLOCK: Duration = Duration::from_secs(2);
/// Commands read at once.
const BATCH: usize = 64;
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Applies the commands sent to one shard
/// ([`RedisEventBroker::send_command`](super::RedisEventBroker::send_command))
/// to it, oldest first, on a task of its own. Made by
/// [`RedisEventBroker::relay_commands`](super::RedisEventBroker::relay_commands).
///
/// It stops when the shard ends or when it is dropped. While Redis is down
/// it retries with backoff and loses nothing the stream still holds; what
/// was sent while no relay ran is not applied (a command is for the shard
/// as it is now).
#[derive(Debug)]
#[must_use = "dropping the relay stops it"]
pub struct CommandRelay {
    task: JoinHandle<()>,
    applied: Arc<AtomicU64>,
}

impl CommandRelay {
    pub(super) fn spawn(reader: CommandReader, handle: ShardHandle) -> Self {
        let applied = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(relay(reader, handle, Arc::clone(&applied)));
        Self { task, applied }
    }

    /// Commands handed to the shard so far.
    pub fn applied(&self) -> u64 {
        self.applied.load(Ordering::Relaxed)
    }

    /// Whether the relay has stopped (its shard ended).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

impl Drop for CommandRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn relay(mut reader: CommandReader, handle: ShardHandle, applied: Arc<AtomicU64>) {
    let shard = handle.id().0;
    let mut backoff = FIRST_BACKOFF;
    while handle.state() != ShardState::Closed {
        match reader.read(BATCH, BLOCK).await {
            Ok(commands) => {
                backoff = FIRST_BACKOFF;
                for command in commands {
                    // Waits while the shard's command queue is full; the
                    // shard sends within its own rate limit.
                    if handle.send(command).await.is_err() {
                        return;
                    }
                    applied.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(error) => {
                tracing::debug!(shard, %error, "could not read commands; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}
