//! Everything a shard needs to know to connect, with a builder.

use std::{fmt, sync::Arc, time::Duration};

use ayaka_model::{Presence, gateway::Encoding};

use crate::{
    backoff::Backoff, identify_queue::IdentifyQueue, inflate::DEFAULT_MAX_MESSAGE_SIZE,
    reconnect_limiter::ReconnectLimiter,
};

/// Default for [`ShardConfigBuilder::read_ahead`]: 16 MiB per shard.
pub const DEFAULT_READ_AHEAD: usize = 16 * 1024 * 1024;

/// The deployed gateway.
pub const DEFAULT_GATEWAY_BASE: &str = "wss://gateway.vincentrps.xyz";

/// Longer waits are taken as this long (a year): `Instant + Duration`
/// panics on overflow, and `Duration::MAX` is a natural way to say "never".
const LONGEST_WAIT: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// `duration`, at most [`LONGEST_WAIT`].
pub(crate) fn capped(duration: Duration) -> Duration {
    duration.min(LONGEST_WAIT)
}

/// Where a shard connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayEndpoint {
    /// Ask `/available` on this gateway base (`ws://` or `wss://`) for a
    /// port before every connection, then connect to the base host at it
    /// (the deployed layout: `/available` on the gateway host itself).
    Discover(String),
    /// Ask this `/available` URL (`http://` or `https://`) for a port
    /// before every connection, then connect to its host at that port
    /// (`ws://` for `http://`, `wss://` for `https://`); the local server's
    /// layout, where `/available` is on the REST port.
    Available(String),
    /// Connect to this WebSocket URL directly.
    Url(String),
}

impl Default for GatewayEndpoint {
    fn default() -> Self {
        Self::Discover(DEFAULT_GATEWAY_BASE.to_owned())
    }
}

/// The configuration of one shard. Build it with [`ShardConfig::builder`].
#[derive(Clone)]
pub struct ShardConfig {
    pub(crate) session_id: Arc<str>,
    pub(crate) endpoint: GatewayEndpoint,
    pub(crate) encoding: Encoding,
    pub(crate) presences: Option<bool>,
    pub(crate) presence: Option<Presence>,
    pub(crate) ping_interval: Duration,
    pub(crate) ping_timeout: Duration,
    pub(crate) ping_jitter: f64,
    pub(crate) connect_timeout: Duration,
    pub(crate) ready_timeout: Duration,
    pub(crate) backoff: Backoff,
    /// `None`: the ping interval.
    pub(crate) reset_backoff_after: Option<Duration>,
    pub(crate) reconnect: bool,
    pub(crate) read_ahead: usize,
    pub(crate) command_queue: usize,
    pub(crate) max_message_size: usize,
    pub(crate) send_limit: u32,
    pub(crate) send_window: Duration,
    pub(crate) send_reserve: u32,
    pub(crate) identify_queue: Option<Arc<dyn IdentifyQueue>>,
    pub(crate) reconnect_limiter: Option<Arc<ReconnectLimiter>>,
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
}

impl fmt::Debug for ShardConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // never the session id: it is a credential
        f.debug_struct("ShardConfig")
            .field("endpoint", &self.endpoint)
            .field("encoding", &self.encoding)
            .field("ping_interval", &self.ping_interval)
            .field("ping_timeout", &self.ping_timeout)
            .field("reconnect", &self.reconnect)
            .field("read_ahead", &self.read_ahead)
            .finish_non_exhaustive()
    }
}

impl ShardConfig {
    /// Starts a configuration for `session_id` with the defaults: discovery
    /// on the deployed gateway, json, ping every 15 s (up to 10% early),
    /// dead after 20 s without Pong, automatic reconnects whose backoff
    /// resets after a connection stayed ready for a ping interval, and
    /// 16 MiB of read-ahead.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ayaka_gateway::{GatewayEndpoint, ShardConfig};
    /// use ayaka_model::gateway::Encoding;
    ///
    /// let config = ShardConfig::builder("session id")
    ///     .endpoint(GatewayEndpoint::Url("ws://127.0.0.1:9000".into()))
    ///     .encoding(Encoding::Zlib)
    ///     .ping_interval(Duration::from_secs(10))
    ///     .build();
    /// assert!(!format!("{config:?}").contains("session id"));
    /// ```
    pub fn builder(session_id: impl Into<String>) -> ShardConfigBuilder {
        ShardConfigBuilder {
            config: ShardConfig {
                session_id: Arc::from(session_id.into()),
                endpoint: GatewayEndpoint::default(),
                encoding: Encoding::Json,
                presences: None,
                presence: None,
                ping_interval: Duration::from_secs(15),
                ping_timeout: Duration::from_secs(20),
                ping_jitter: 0.1,
                connect_timeout: Duration::from_secs(10),
                ready_timeout: Duration::from_secs(15),
                backoff: Backoff::default(),
                reset_backoff_after: None,
                reconnect: true,
                read_ahead: DEFAULT_READ_AHEAD,
                command_queue: 32,
                max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
                send_limit: 120,
                send_window: Duration::from_secs(60),
                send_reserve: 10,
                identify_queue: None,
                reconnect_limiter: None,
                tls: None,
            },
        }
    }

    /// The encoding asked for.
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// Where the shard connects.
    pub fn endpoint(&self) -> &GatewayEndpoint {
        &self.endpoint
    }

    /// How long a connection must stay ready before the backoff starts
    /// over.
    pub fn reset_backoff_after(&self) -> Duration {
        self.reset_backoff_after.unwrap_or(self.ping_interval)
    }

    /// The read-ahead bound, in bytes.
    pub fn read_ahead(&self) -> usize {
        self.read_ahead
    }
}

/// Builds a [`ShardConfig`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ShardConfigBuilder {
    config: ShardConfig,
}

impl ShardConfigBuilder {
    /// Where to connect (default: discovery on the deployed gateway).
    pub fn endpoint(mut self, endpoint: GatewayEndpoint) -> Self {
        self.config.endpoint = endpoint;
        self
    }

    /// The session id to identify with.
    pub fn session_id(mut self, session_id: impl Into<String>) -> Self {
        self.config.session_id = Arc::from(session_id.into());
        self
    }

    /// `json` (default) or `zlib`.
    pub fn encoding(mut self, encoding: Encoding) -> Self {
        self.config.encoding = encoding;
        self
    }

    /// The deployed server's optional `presences` flag in identify.
    pub fn presences(mut self, presences: bool) -> Self {
        self.config.presences = Some(presences);
        self
    }

    /// A presence to set after every READY.
    pub fn presence(mut self, presence: Presence) -> Self {
        self.config.presence = Some(presence);
        self
    }

    /// The longest time between WebSocket pings (default 15 s).
    pub fn ping_interval(mut self, interval: Duration) -> Self {
        self.config.ping_interval = capped(interval);
        self
    }

    /// How long a Pong may take before the connection counts as dead
    /// (default 20 s).
    pub fn ping_timeout(mut self, timeout: Duration) -> Self {
        self.config.ping_timeout = capped(timeout);
        self
    }

    /// The fraction of the interval a ping may come early, `0.0..=1.0`
    /// (default 0.1), so that many shards do not ping in step.
    pub fn ping_jitter(mut self, jitter: f64) -> Self {
        self.config.ping_jitter = jitter.clamp(0.0, 1.0);
        self
    }

    /// How long opening the connection may take (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = capped(timeout);
        self
    }

    /// How long READY may take after identify (default 15 s).
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.config.ready_timeout = capped(timeout);
        self
    }

    /// Reconnect delays.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.config.backoff = backoff;
        self
    }

    /// How long a connection must stay up after READY before the backoff
    /// starts over from its first delay (default: the ping interval, so
    /// 15 s unless changed).
    ///
    /// Until then every reconnect counts as another attempt, so a server
    /// that sends READY and closes at once gets exponentially rarer
    /// reconnects (at most a handful a minute once the delays reach their
    /// cap) rather than one per backoff base.
    pub fn reset_backoff_after(mut self, uptime: Duration) -> Self {
        self.config.reset_backoff_after = Some(capped(uptime));
        self
    }

    /// Whether to reconnect after recoverable failures (default true).
    pub fn reconnect(mut self, reconnect: bool) -> Self {
        self.config.reconnect = reconnect;
        self
    }

    /// How many bytes of messages may wait for the consumer before the
    /// shard stops reading the socket (default 16 MiB).
    ///
    /// Below the bound the shard reads, decompresses, parses and queues
    /// everything the server sends, and answers its pings, however slow
    /// the consumer is. A message costs its raw JSON plus 128 bytes (the
    /// typed event built from it takes memory beside that, about as much
    /// again for most events). Past the bound the shard stops reading, so
    /// TCP pushes back on the server; it keeps pinging, and neither the
    /// ping timeout nor the READY timeout counts the pause. A server that
    /// cannot hold what it has for us meanwhile closes the connection
    /// (the local server closes with 4000 "too slow", reported as
    /// [`ErrorKind::TooSlow`](crate::ErrorKind::TooSlow)).
    pub fn read_ahead(mut self, bytes: usize) -> Self {
        self.config.read_ahead = bytes.max(1);
        self
    }

    /// How many commands may wait to be sent (default 32).
    pub fn command_queue(mut self, capacity: usize) -> Self {
        self.config.command_queue = capacity.max(1);
        self
    }

    /// The largest message accepted, in bytes, compressed or not
    /// (default 16 MiB).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.config.max_message_size = bytes;
        self
    }

    /// At most `limit` messages per `window` go out; `reserve` of them are
    /// kept for keepalive so commands never starve it (default 120 per
    /// 60 s, 10 reserved).
    pub fn send_limit(mut self, limit: u32, window: Duration, reserve: u32) -> Self {
        self.config.send_limit = limit;
        self.config.send_window = capped(window);
        self.config.send_reserve = reserve;
        self
    }

    /// The queue deciding when the shard may identify, shared with other
    /// shards (default for a lone shard: none, it identifies at once; a
    /// [`ShardManager`](crate::ShardManager) gives its own).
    pub fn identify_queue(mut self, queue: Arc<dyn IdentifyQueue>) -> Self {
        self.config.identify_queue = Some(queue);
        self
    }

    /// A bound on reconnects shared with other shards (default for a lone
    /// shard: none; a [`ShardManager`](crate::ShardManager) gives its own).
    pub fn reconnect_limiter(mut self, limiter: Arc<ReconnectLimiter>) -> Self {
        self.config.reconnect_limiter = Some(limiter);
        self
    }

    /// The TLS setup for `wss://` connections and `https://` discovery
    /// (default: the webpki roots with the ring provider). Use it to trust
    /// a private certificate authority.
    pub fn tls_config(mut self, config: rustls::ClientConfig) -> Self {
        self.config.tls = Some(Arc::new(config));
        self
    }

    /// The configuration.
    pub fn build(self) -> ShardConfig {
        self.config
    }
}
