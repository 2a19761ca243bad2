//! One Redis deployment: a lazily connected, self-reconnecting
//! [`ConnectionManager`], with a timeout around every call.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig, PubSub};
use redis::{Client, FromRedisValue};
use tokio::sync::OnceCell;

use crate::error::{Error, ErrorKind};

/// The default bound on one Redis call.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_millis(500);

/// A handle on one Redis server, shared by everything built on it.
///
/// Cheap to clone: clones share one multiplexed connection. Nothing
/// connects until the first call, so building works while Redis is down;
/// every call is bounded by the call timeout (default 500 ms), and a lost
/// connection is re-established in the background.
///
/// ```
/// use ayaka_redis::Connection;
/// use std::time::Duration;
///
/// let redis = Connection::open("unix:///run/redis/redis.sock")?
///     .call_timeout(Duration::from_millis(200));
/// # Ok::<(), ayaka_redis::Error>(())
/// ```
#[derive(Clone)]
pub struct Connection {
    shared: Arc<Shared>,
    timeout: Duration,
}

/// The longest a blocking read may block.
pub(crate) const MAX_BLOCK: Duration = Duration::from_secs(60);

struct Shared {
    client: Client,
    manager: OnceCell<ConnectionManager>,
    /// For blocking reads: the manager itself has no response timeout, each
    /// call is bounded by its own.
    blocking: bool,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The client's address may carry a password: leave it out.
        f.debug_struct("Connection")
            .field("timeout", &self.timeout)
            .field("connected", &self.shared.manager.initialized())
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A connection to `url` (`redis://host:port/db`, `unix:///path`).
    pub fn open(url: &str) -> Result<Self, Error> {
        let client = Client::open(url).map_err(|e| Error::with_source(ErrorKind::Config, e))?;
        Ok(Self::new(client))
    }

    /// A connection through an existing client.
    pub fn new(client: Client) -> Self {
        Self {
            shared: Arc::new(Shared {
                client,
                manager: OnceCell::new(),
                blocking: false,
            }),
            timeout: DEFAULT_CALL_TIMEOUT,
        }
    }

    /// Bounds every call (default 500 ms). A call that takes longer fails
    /// with [`ErrorKind::Timeout`].
    #[must_use]
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The bound on one call.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn manager_config(&self) -> ConnectionManagerConfig {
        // Our own timeout bounds each call; the manager's retries only need
        // to be quick, since the callers have their own fallbacks.
        let response_timeout = (!self.shared.blocking).then_some(self.timeout);
        ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(response_timeout)
            .set_number_of_retries(2)
            .set_min_delay(Duration::from_millis(20))
            .set_max_delay(Duration::from_millis(500))
    }

    async fn manager(&self) -> Result<ConnectionManager, Error> {
        self.shared
            .manager
            .get_or_try_init(|| async {
                self.shared
                    .client
                    .get_connection_manager_lazy(self.manager_config())
                    .map_err(Error::from)
            })
            .await
            .cloned()
    }

    /// A connection of its own to the same server, for blocking reads: a
    /// blocking command stalls every command queued behind it on its
    /// connection. Use [`Connection::query_blocking`] on it.
    pub(crate) fn dedicated(&self) -> Self {
        Self {
            shared: Arc::new(Shared {
                client: self.shared.client.clone(),
                manager: OnceCell::new(),
                blocking: true,
            }),
            timeout: self.timeout,
        }
    }

    /// Runs a command that blocks up to `block` (capped at [`MAX_BLOCK`]),
    /// bounded by `block` plus the call timeout.
    pub(crate) async fn query_blocking<T: FromRedisValue>(
        &self,
        cmd: &redis::Cmd,
        block: Duration,
    ) -> Result<T, Error> {
        let manager = self.manager().await?;
        let bound = block.min(MAX_BLOCK) + self.timeout;
        let call = async move {
            let mut manager = manager;
            cmd.query_async(&mut manager).await
        };
        match tokio::time::timeout(bound, call).await {
            Ok(result) => result.map_err(Error::from),
            Err(_) => Err(Error::new(ErrorKind::Timeout)),
        }
    }

    /// Runs `call` on the managed connection within the call timeout.
    pub(crate) async fn run<T, F, Fut>(&self, call: F) -> Result<T, Error>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let manager = self.manager().await?;
        match tokio::time::timeout(self.timeout, call(manager)).await {
            Ok(result) => result.map_err(Error::from),
            Err(_) => Err(Error::new(ErrorKind::Timeout)),
        }
    }

    /// Runs one command.
    pub(crate) async fn query<T: FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, Error> {
        self.run(|mut manager| async move { cmd.query_async(&mut manager).await })
            .await
    }

    /// Runs one script invocation.
    pub(crate) async fn invoke<T: FromRedisValue>(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> Result<T, Error> {
        self.run(|mut manager| async move { invocation.invoke_async(&mut manager).await })
            .await
    }

    /// A dedicated pub/sub connection (subscriptions cannot share the
    /// multiplexed one), opened within the call timeout.
    pub(crate) async fn pubsub(&self) -> Result<PubSub, Error> {
        match tokio::time::timeout(self.timeout, self.shared.client.get_async_pubsub()).await {
            Ok(result) => result.map_err(Error::from),
            Err(_) => Err(Error::new(ErrorKind::Timeout)),
        }
    }

    /// `PING`, within the call timeout.
    pub async fn ping(&self) -> Result<(), Error> {
        let reply: String = self.query(&redis::cmd("PING")).await?;
        if reply == "PONG" {
            Ok(())
        } else {
            Err(Error::protocol("PING not answered with PONG"))
        }
    }
}
