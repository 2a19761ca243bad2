//! The server's data as a value that outlives one server.

use std::fmt;
use std::sync::Arc;

use crate::state::Store;

/// Everything a server holds: accounts, sessions, guilds, invites.
///
/// Take it from a running server with [`Server::data`](crate::Server::data)
/// and give it to the next with [`ServerBuilder::data`](crate::ServerBuilder::data)
/// to restart a server, even on the same ports, without losing its users or
/// their sessions: what a client sees when the real service restarts.
///
/// ```no_run
/// # async fn run() -> Result<(), ayaka_server::Error> {
/// use ayaka_server::Server;
///
/// let first = Server::builder().spawn().await?;
/// let (data, rest) = (first.data(), first.rest_addr());
/// first.shutdown().await;
/// let second = Server::builder().bind(rest).data(data).spawn().await?;
/// # second.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ServerData(pub(crate) Arc<Store>);

impl fmt::Debug for ServerData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Counts only: the data holds session secrets.
        let (guilds, invites, _) = self.0.guild_counts();
        f.debug_struct("ServerData")
            .field("users", &self.0.user_count())
            .field("guilds", &guilds)
            .field("invites", &invites)
            .finish()
    }
}
