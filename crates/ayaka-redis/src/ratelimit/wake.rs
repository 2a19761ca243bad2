//! The pub/sub listener: buckets announce freed capacity on the wake
//! channel, and the listener wakes the head of the matching local lane.
//!
//! Wake-ups only shorten waits: every waiter also sleeps no longer than
//! the wait the script returned, so a lost message (or a listener that is
//! reconnecting) costs latency, never progress.

use std::sync::Weak;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::oneshot;

use super::Inner;
use super::lanes::LaneKey;
use crate::connection::Connection;
use crate::keys::BucketHash;

const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Listens until `stop` resolves (its sender is dropped with the limiter).
pub(super) async fn listen(
    inner: Weak<Inner>,
    redis: Connection,
    channel: String,
    mut stop: oneshot::Receiver<()>,
) {
    let mut backoff = Duration::from_millis(50);
    loop {
        let session = async {
            let mut pubsub = redis.pubsub().await?;
            tokio::time::timeout(redis.timeout(), pubsub.subscribe(&channel))
                .await
                .map_err(|_| crate::Error::new(crate::ErrorKind::Timeout))??;
            let mut messages = pubsub.on_message();
            while let Some(message) = messages.next().await {
                let Some(inner) = inner.upgrade() else {
                    return Ok(());
                };
                dispatch(&inner, message.get_payload_bytes());
            }
            Err::<(), crate::Error>(crate::Error::protocol("the pub/sub connection closed"))
        };
        tokio::select! {
            _ = &mut stop => return,
            result = session => {
                if inner.strong_count() == 0 {
                    return;
                }
                if let Err(error) = result {
                    tracing::debug!(%error, "rate-limit wake-ups lost; reconnecting");
                }
            }
        }
        tokio::select! {
            _ = &mut stop => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

fn dispatch(inner: &Inner, payload: &[u8]) {
    let Ok(text) = std::str::from_utf8(payload) else {
        return;
    };
    if let Some(hex) = text.strip_prefix("b:") {
        if let Some(bucket) = BucketHash::from_hex(hex) {
            inner.lanes.wake(&LaneKey::Bucket(bucket));
        }
    } else if text.starts_with("r:") {
        // A route's blind request answered: its waiters may go on, and
        // any bucket may have kept a slot back for it.
        inner.lanes.wake_all();
    }
}
