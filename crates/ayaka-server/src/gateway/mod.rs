//! The WebSocket gateway: accept loops, connections, fan-out.

mod connection;
pub(crate) mod hub;
mod outbound;
pub(crate) mod protocol;
mod zlib;

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
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
        let _ = stream.set_nodelay(true);
        tasks.spawn(connection::run(
            stream,
            port_index,
            Arc::clone(&shared),
            shutdown.clone(),
        ));
    }
}
