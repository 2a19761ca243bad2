//! The WebSocket gateway: accept loops, connections, fan-out.

mod connection;
pub(crate) mod hub;
mod outbound;
pub(crate) mod protocol;
mod zlib;

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::server::Shared;

/// Accepts gateway connections on one port until `shutdown`.
pub(crate) async fn serve(
    listener: TcpListener,
    port_index: usize,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
) {
    // Connections over the limit are told so (4003) a few at a time; past
    // that they are dropped at once, so a flood costs no handshakes.
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS));
    loop {
        let stream = tokio::select! {
            () = shutdown.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    tracing::warn!(%error, "gateway accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let max = shared.gateway.max_connections;
        let Some(slot) = shared.hub.try_connect(port_index, max) else {
            if let Ok(permit) = Arc::clone(&refusals).try_acquire_owned() {
                tasks.spawn(async move {
                    connection::refuse(stream).await;
                    drop(permit);
                });
            } else {
                tracing::debug!("too many gateway connections, dropping one");
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        tasks.spawn(connection::run(
            stream,
            slot,
            Arc::clone(&shared),
            shutdown.clone(),
        ));
    }
}

/// How many connections over the limit may be in their (short) refusal at
/// once.
const MAX_REFUSALS: usize = 64;
