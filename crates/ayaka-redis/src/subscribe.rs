//! A pub/sub listener that reconnects by itself, for wake-ups.
//!
//! Wake-ups only ever shorten waits (every waiter also sleeps no longer than
//! a bound of its own), so a lost message, or a listener that is
//! reconnecting, costs latency, never progress.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::oneshot;

use crate::connection::Connection;
use crate::error::{Error, ErrorKind};

const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Stops the listener when dropped.
#[derive(Debug)]
pub(crate) struct Listener {
    _stop: oneshot::Sender<()>,
}

/// Listens on `channel` on a task of its own, calling `on_message` with
/// each payload until it returns `false` or the [`Listener`] is dropped.
/// Needs a tokio runtime.
pub(crate) fn listen<F>(redis: Connection, channel: String, mut on_message: F) -> Listener
where
    F: FnMut(&[u8]) -> bool + Send + 'static,
{
    let (stop_sender, mut stop) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let mut backoff = FIRST_BACKOFF;
        loop {
            let session = async {
                let mut pubsub = redis.pubsub().await?;
                tokio::time::timeout(redis.timeout(), pubsub.subscribe(&channel))
                    .await
                    .map_err(|_| Error::new(ErrorKind::Timeout))??;
                let mut messages = pubsub.on_message();
                while let Some(message) = messages.next().await {
                    if !on_message(message.get_payload_bytes()) {
                        return Ok(true);
                    }
                }
                Err::<bool, Error>(Error::protocol("the pub/sub connection closed"))
            };
            tokio::select! {
                _ = &mut stop => return,
                result = session => match result {
                    Ok(_) => return,
                    Err(error) => {
                        tracing::debug!(%error, "wake-ups lost; reconnecting");
                    }
                },
            }
            tokio::select! {
                _ = &mut stop => return,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    });
    Listener { _stop: stop_sender }
}
