//! The server builder and its settings.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::data::ServerData;
use crate::error::{BothData, Error, ErrorKind, InvalidPorts};
use crate::hashing::{self, PasswordHashing};
use crate::ratelimit::{Limit, RateLimits};
use crate::server::Server;

/// Settings of a running server (the builder's values, checked).
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) bind: SocketAddr,
    pub(crate) gateway_ports: u16,
    pub(crate) gateway_port_base: Option<u16>,
    pub(crate) rate_limits: RateLimits,
    pub(crate) password_hashing: PasswordHashing,
    /// Hashes running at once (worker threads).
    pub(crate) hashing_concurrency: usize,
    /// Hashes waiting beyond those; more are refused with 503.
    pub(crate) hashing_queue: usize,
    pub(crate) worker_id: Option<u8>,
    pub(crate) max_rest_connections: usize,
    pub(crate) gateway: GatewaySettings,
    /// Data to serve instead of starting empty.
    pub(crate) data: Option<ServerData>,
    /// The SQLite file to keep everything in.
    pub(crate) data_file: Option<PathBuf>,
}

/// What the gateway connections follow.
#[derive(Debug, Clone)]
pub(crate) struct GatewaySettings {
    pub(crate) handshake_timeout: Duration,
    pub(crate) identify_timeout: Duration,
    pub(crate) ping_timeout: Duration,
    pub(crate) queue_capacity: usize,
    pub(crate) max_connections: usize,
    pub(crate) max_message_size: usize,
    pub(crate) client_messages: Limit,
    pub(crate) quirks: bool,
    pub(crate) zlib_under_json: bool,
    pub(crate) split_zlib: usize,
}

/// Builds and starts a [`Server`].
///
/// Every option has a default that follows the protocol page: REST on
/// `127.0.0.1` with an ephemeral port, one gateway port, real rate limits,
/// secure password hashing, identify within 10 s and a 20 s ping timeout.
///
/// ```no_run
/// use std::time::Duration;
/// use ayaka_server::{PasswordHashing, RateLimits, Server};
///
/// # async fn run() -> Result<(), ayaka_server::Error> {
/// let server = Server::builder()
///     .rate_limits(RateLimits::off())
///     .password_hashing(PasswordHashing::Fast)
///     .ping_timeout(Duration::from_millis(300))
///     .spawn()
///     .await?;
/// println!("REST at {}, gateway at {}", server.rest_url(), server.gateway_url());
/// server.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ServerBuilder {
    settings: Settings,
}

impl Default for ServerBuilder {
    fn default() -> Self {
        Self {
            settings: Settings {
                bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
                gateway_ports: 1,
                gateway_port_base: None,
                rate_limits: RateLimits::default(),
                password_hashing: PasswordHashing::default(),
                hashing_concurrency: hashing::default_concurrency(),
                hashing_queue: 64,
                worker_id: None,
                max_rest_connections: 4_096,
                gateway: GatewaySettings {
                    handshake_timeout: Duration::from_secs(5),
                    identify_timeout: Duration::from_secs(10),
                    ping_timeout: Duration::from_secs(20),
                    queue_capacity: 1_024,
                    max_connections: 16_384,
                    max_message_size: 64 * 1024,
                    client_messages: Limit::per_minute(120),
                    quirks: false,
                    zlib_under_json: false,
                    split_zlib: 1,
                },
                data: None,
                data_file: None,
            },
        }
    }
}

impl ServerBuilder {
    /// The longest timeout kept: "never" in practice. Longer ones are cut
    /// to it, since deadlines are computed as `now + timeout` and a
    /// `Duration::MAX` would overflow the clock.
    pub const MAX_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 60 * 60);

    /// Where REST and `/available` listen (default `127.0.0.1:0`, an
    /// ephemeral port). Gateway listeners use the same IP address.
    pub fn bind(mut self, address: SocketAddr) -> Self {
        self.settings.bind = address;
        self
    }

    /// How many gateway ports to open (default 1, at least 1).
    pub fn gateway_ports(mut self, count: u16) -> Self {
        self.settings.gateway_ports = count.max(1);
        self
    }

    /// The first gateway port; the others follow it (default: ephemeral
    /// ports).
    pub fn gateway_port_base(mut self, port: u16) -> Self {
        self.settings.gateway_port_base = Some(port);
        self
    }

    /// The REST rate limits (default [`RateLimits::default`]).
    pub fn rate_limits(mut self, limits: RateLimits) -> Self {
        self.settings.rate_limits = limits;
        self
    }

    /// How passwords are hashed (default [`PasswordHashing::Secure`]; use
    /// [`PasswordHashing::Fast`] in tests only).
    pub fn password_hashing(mut self, hashing: PasswordHashing) -> Self {
        self.settings.password_hashing = hashing;
        self
    }

    /// How many passwords are hashed at once, each on its own worker
    /// thread holding one argon2 buffer (19 MiB for
    /// [`PasswordHashing::Secure`]) for the server's life (default: the
    /// number of cores; at least 1). This bounds hashing's threads and
    /// memory whatever clients do, hung-up sign-ups included.
    pub fn hashing_concurrency(mut self, workers: usize) -> Self {
        self.settings.hashing_concurrency = workers.max(1);
        self
    }

    /// How many hashes may wait for a worker (default 64). A sign-up or
    /// password change beyond that is refused at once with 503 and
    /// `Retry-After`; a waiting one whose client hangs up is dropped
    /// without hashing.
    pub fn hashing_queue(mut self, jobs: usize) -> Self {
        self.settings.hashing_queue = jobs;
        self
    }

    /// The snowflake worker id (default: from the process id).
    pub fn worker_id(mut self, worker_id: u8) -> Self {
        self.settings.worker_id = Some(worker_id);
        self
    }

    /// Serves `data` (taken from an earlier server with
    /// [`Server::data`]) instead of starting empty: users keep their
    /// sessions across a restart. The worker id is then the earlier one's.
    pub fn data(mut self, data: ServerData) -> Self {
        self.settings.data = Some(data);
        self
    }

    /// Keeps everything (users with their password hashes, sessions,
    /// guilds, roles, members, channels, invites) in the SQLite file at
    /// `path`, created if missing, loaded if it exists: what the server
    /// answered with a 2xx is in the file before the response leaves, so a
    /// restart (even after `kill -9`) loses nothing acknowledged, and
    /// sessions stay valid. Without it the server keeps everything in
    /// memory only.
    ///
    /// A file that is not a database, is damaged, belongs to another
    /// application or has an unknown schema version is refused by
    /// [`spawn`](Self::spawn) with its own [`ErrorKind`] and never
    /// overwritten; so is a file another server holds.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), ayaka_server::Error> {
    /// let server = ayaka_server::Server::builder()
    ///     .data_file("ayaka.sqlite3")
    ///     .spawn()
    ///     .await?;
    /// # server.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub fn data_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.settings.data_file = Some(path.into());
        self
    }

    /// How many REST connections are served at once; further ones are
    /// closed on accept until one ends (default 4096).
    pub fn max_rest_connections(mut self, max: usize) -> Self {
        self.settings.max_rest_connections = max.max(1);
        self
    }

    /// How long a new connection has to finish its WebSocket handshake,
    /// from the TCP accept (default 5 s; at most
    /// [`MAX_TIMEOUT`](Self::MAX_TIMEOUT)). It is dropped otherwise.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.settings.gateway.handshake_timeout = timeout.min(Self::MAX_TIMEOUT);
        self
    }

    /// How long a connection has to identify once its handshake is done
    /// (default 10 s; at most [`MAX_TIMEOUT`](Self::MAX_TIMEOUT)); it is
    /// closed with 4009 otherwise.
    pub fn identify_timeout(mut self, timeout: Duration) -> Self {
        self.settings.gateway.identify_timeout = timeout.min(Self::MAX_TIMEOUT);
        self
    }

    /// How long an identified connection may stay silent, pings included,
    /// before it is closed with 4009 (default 20 s; at most
    /// [`MAX_TIMEOUT`](Self::MAX_TIMEOUT)). A client that accepts nothing
    /// for this long is closed too.
    pub fn ping_timeout(mut self, timeout: Duration) -> Self {
        self.settings.gateway.ping_timeout = timeout.min(Self::MAX_TIMEOUT);
        self
    }

    /// How many events may wait for one connection before it is closed as
    /// too slow with 4000 (default 1024).
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.settings.gateway.queue_capacity = capacity.max(1);
        self
    }

    /// How many gateway connections the server holds at once, counted
    /// from the TCP accept whether or not they have finished their
    /// handshake or identified (default 16384). More are closed with 4003,
    /// 64 at a time, each within 2 s; past that they are dropped at once.
    pub fn max_connections(mut self, max: usize) -> Self {
        self.settings.gateway.max_connections = max;
        self
    }

    /// The largest client message or frame, in bytes; larger ones close the
    /// connection with 1009 (default 64 KiB).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.settings.gateway.max_message_size = bytes.max(128);
        self
    }

    /// How many messages a client may send per window after identify; more
    /// close the connection with 4008 (default 120 per minute).
    pub fn client_message_limit(mut self, limit: Limit) -> Self {
        self.settings.gateway.client_messages = limit;
        self
    }

    /// Imitates the deployed server (for client tests): `HELLO` before
    /// `READY`, `READY`'s `d` as a JSON string with `_id`, an extra `s` in
    /// every envelope, `ACK` for `{"t": "HEARTBEAT"}`, zlib full flushes in
    /// 1024-byte frames, and `{"message": "404: Not Found", "code": 0}`
    /// error bodies.
    pub fn quirks(mut self, enabled: bool) -> Self {
        self.settings.gateway.quirks = enabled;
        self
    }

    /// Compresses with zlib even when a client asked for `json`, as an
    /// older deployed server did.
    pub fn zlib_under_json(mut self, enabled: bool) -> Self {
        self.settings.gateway.zlib_under_json = enabled;
        self
    }

    /// Splits every zlib message across `parts` WebSocket messages (default
    /// 1: whole), so that clients' reassembly is exercised.
    pub fn split_zlib_messages(mut self, parts: usize) -> Self {
        self.settings.gateway.split_zlib = parts.max(1);
        self
    }

    /// Binds every listener and starts serving.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Bind`] when an address is taken or not available,
    /// [`ErrorKind::Config`] when the gateway ports would pass 65535 or
    /// both [`data`](Self::data) and [`data_file`](Self::data_file) are
    /// given, and the data file's kinds ([`ErrorKind::DataCorrupt`],
    /// [`ErrorKind::DataForeign`], [`ErrorKind::DataVersion`],
    /// [`ErrorKind::DataUnavailable`]).
    pub async fn spawn(self) -> Result<Server, Error> {
        if self.settings.data.is_some() && self.settings.data_file.is_some() {
            return Err(Error::with_source(ErrorKind::Config, BothData));
        }
        if let Some(base) = self.settings.gateway_port_base {
            let last = u32::from(base) + u32::from(self.settings.gateway_ports) - 1;
            if base == 0 || last > u32::from(u16::MAX) {
                return Err(Error::with_source(
                    ErrorKind::Config,
                    InvalidPorts { first: base, last },
                ));
            }
        }
        Server::start(self.settings).await
    }
}
