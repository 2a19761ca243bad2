//! The running server and its handle.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use ayaka_snowflake::Generator;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::builder::{GatewaySettings, ServerBuilder, Settings};
use crate::data::ServerData;
use crate::error::{AddressError, Error, ErrorKind};
use crate::gateway::{self, hub::Hub};
use crate::hashing::PasswordHasher;
use crate::ratelimit::RateLimiter;
use crate::rest;
use crate::state::Store;
use crate::stats::{Counters, Stats};

/// What every task shares.
pub(crate) struct Shared {
    pub(crate) store: Arc<Store>,
    pub(crate) hub: Arc<Hub>,
    pub(crate) limiter: RateLimiter,
    pub(crate) hasher: PasswordHasher,
    pub(crate) gateway: GatewaySettings,
    /// The addresses clients connect to, per gateway port.
    pub(crate) gateway_addrs: Vec<SocketAddr>,
    pub(crate) counters: Counters,
}

/// A running server: its addresses, and the way to stop it.
///
/// Dropping the handle stops the server too, without waiting.
///
/// ```no_run
/// # async fn run() -> Result<(), ayaka_server::Error> {
/// let server = ayaka_server::Server::builder().spawn().await?;
/// assert!(server.rest_url().starts_with("http://127.0.0.1:"));
/// assert!(server.gateway_url().starts_with("ws://127.0.0.1:"));
/// server.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Server {
    rest_addr: SocketAddr,
    gateway_addrs: Vec<SocketAddr>,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

impl Server {
    /// A builder with the protocol's defaults.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    pub(crate) async fn start(mut settings: Settings) -> Result<Self, Error> {
        let worker_id = settings
            .worker_id
            .unwrap_or_else(|| u8::try_from(std::process::id() % 32).unwrap_or(0));
        let ids = Generator::builder()
            .worker_id(worker_id)
            .build()
            .map_err(|error| Error::with_source(ErrorKind::Config, error))?;

        // The data first: a refused file must not leave ports bound.
        let store = match (settings.data.take(), &settings.data_file) {
            (Some(data), _) => data.0,
            (None, Some(path)) => Arc::new(Store::open(path, ids)?),
            (None, None) => Arc::new(Store::new(ids)),
        };
        let rest_listener = bind(settings.bind).await?;
        let rest_addr = local_addr(&rest_listener)?;
        let mut gateway_listeners = Vec::new();
        let mut gateway_addrs = Vec::new();
        for index in 0..settings.gateway_ports {
            let port = settings.gateway_port_base.map_or(0, |base| base + index);
            let listener = bind(SocketAddr::new(settings.bind.ip(), port)).await?;
            gateway_addrs.push(public(local_addr(&listener)?));
            gateway_listeners.push(listener);
        }

        let shared = Arc::new(Shared {
            store,
            hub: Arc::new(Hub::new(gateway_listeners.len(), settings.gateway.quirks)),
            limiter: RateLimiter::new(settings.rate_limits),
            hasher: PasswordHasher::with_bounds(
                settings.password_hashing,
                settings.hashing_concurrency,
                settings.hashing_queue,
            ),
            gateway: settings.gateway,
            gateway_addrs: gateway_addrs.clone(),
            counters: Counters::default(),
        });
        let shutdown = CancellationToken::new();
        let tasks = TaskTracker::new();
        tasks.spawn(rest::serve(
            rest_listener,
            settings.max_rest_connections,
            Arc::clone(&shared),
            shutdown.clone(),
            tasks.clone(),
        ));
        for (index, listener) in gateway_listeners.into_iter().enumerate() {
            tasks.spawn(gateway::serve(
                listener,
                index,
                Arc::clone(&shared),
                shutdown.clone(),
                tasks.clone(),
            ));
        }
        let rest_addr = public(rest_addr);
        tracing::info!(rest = %rest_addr, gateway = ?gateway_addrs, "ayaka-server listening");
        Ok(Self {
            rest_addr,
            gateway_addrs,
            shared,
            shutdown,
            tasks,
        })
    }

    /// The REST address.
    pub fn rest_addr(&self) -> SocketAddr {
        self.rest_addr
    }

    /// The REST base URL, `http://127.0.0.1:PORT`.
    pub fn rest_url(&self) -> String {
        format!("http://{}", self.rest_addr)
    }

    /// The port discovery URL, `http://127.0.0.1:PORT/available`.
    pub fn available_url(&self) -> String {
        format!("{}/available", self.rest_url())
    }

    /// The first gateway port's URL, `ws://127.0.0.1:PORT`.
    pub fn gateway_url(&self) -> String {
        // The builder opens at least one gateway port.
        self.gateway_addrs
            .first()
            .map(|address| format!("ws://{address}"))
            .unwrap_or_default()
    }

    /// Every gateway port's URL.
    pub fn gateway_urls(&self) -> Vec<String> {
        self.gateway_addrs
            .iter()
            .map(|address| format!("ws://{address}"))
            .collect()
    }

    /// Every gateway address.
    pub fn gateway_addrs(&self) -> &[SocketAddr] {
        &self.gateway_addrs
    }

    /// A handle on the server's data, to serve it again from another server
    /// (see [`ServerBuilder::data`](crate::ServerBuilder::data)).
    pub fn data(&self) -> ServerData {
        ServerData(Arc::clone(&self.shared.store))
    }

    /// What the server holds and has done so far (also served as JSON at
    /// `GET /_local/stats`).
    pub fn stats(&self) -> Stats {
        Stats::of(&self.shared)
    }

    /// Opens another session of `user` and returns its id (no route does;
    /// a login route would). For tests, through
    /// [`testing::another_session`](crate::testing::another_session).
    #[cfg(feature = "testing")]
    pub(crate) fn open_another_session(&self, user: ayaka_snowflake::UserId) -> Option<String> {
        self.shared.store.open_another_session(user)
    }

    /// Waits until the data file has every change so far.
    #[cfg(feature = "testing")]
    pub(crate) async fn shared_sync(&self) {
        let _ = self.shared.store.sync().await;
    }

    /// Stops accepting, closes gateway connections with 1001, lets
    /// in-flight REST requests finish (up to 5 s), and waits for every task.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        self.tasks.close();
        self.tasks.wait().await;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn bind(address: SocketAddr) -> Result<TcpListener, Error> {
    TcpListener::bind(address).await.map_err(|error| {
        let address = Some(address);
        Error::with_source(ErrorKind::Bind, AddressError { address, error })
    })
}

fn local_addr(listener: &TcpListener) -> Result<SocketAddr, Error> {
    listener.local_addr().map_err(|error| {
        Error::with_source(
            ErrorKind::Bind,
            AddressError {
                address: None,
                error,
            },
        )
    })
}

/// The address clients use: a listener on every interface is reached on
/// loopback.
fn public(address: SocketAddr) -> SocketAddr {
    if address.ip().is_unspecified() {
        let loopback = match address.ip() {
            IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        };
        SocketAddr::new(loopback, address.port())
    } else {
        address
    }
}
