//! Who is connected, and fan-out of events to them.
//!
//! Each connection owns a bounded queue. Fan-out encodes an event once and
//! `try_send`s the shared bytes to every target queue without holding any
//! lock; a full queue means the client cannot keep up, so it is kicked
//! (closed with 4000) instead of letting memory grow.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use ayaka_model::gateway::Event;
use ayaka_snowflake::UserId;
use dashmap::DashMap;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tokio_util::sync::CancellationToken;

/// The sending side of one identified connection.
#[derive(Clone)]
pub(crate) struct Peer {
    pub(crate) id: u64,
    pub(crate) queue: mpsc::Sender<Utf8Bytes>,
    /// Cancelled when the queue overflowed.
    pub(crate) kick: CancellationToken,
    /// Whether the client wants PRESENCE_UPDATE (identify's `presences`).
    pub(crate) presences: bool,
}

/// The registry of connections.
pub(crate) struct Hub {
    peers: DashMap<UserId, Vec<Peer>>,
    next_peer: AtomicU64,
    /// Open connections per gateway port (identified or not).
    loads: Box<[AtomicUsize]>,
    open: AtomicUsize,
    quirks: bool,
    sequence: AtomicU64,
}

/// Keeps a connection counted on its port until dropped.
pub(crate) struct LoadGuard {
    hub: Arc<Hub>,
    port_index: usize,
}

impl Drop for LoadGuard {
    fn drop(&mut self) {
        if let Some(load) = self.hub.loads.get(self.port_index) {
            load.fetch_sub(1, Ordering::Relaxed);
        }
        self.hub.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Keeps a connection registered for fan-out until dropped.
pub(crate) struct Registration {
    hub: Arc<Hub>,
    user: UserId,
    peer: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(mut peers) = self.hub.peers.get_mut(&self.user) {
            peers.retain(|peer| peer.id != self.peer);
        }
        self.hub
            .peers
            .remove_if(&self.user, |_, peers| peers.is_empty());
    }
}

impl Hub {
    pub(crate) fn new(ports: usize, quirks: bool) -> Self {
        Self {
            peers: DashMap::new(),
            next_peer: AtomicU64::new(1),
            loads: (0..ports).map(|_| AtomicUsize::new(0)).collect(),
            open: AtomicUsize::new(0),
            quirks,
            sequence: AtomicU64::new(1),
        }
    }

    /// Counts a new connection on a port.
    pub(crate) fn connect(self: &Arc<Self>, port_index: usize) -> LoadGuard {
        if let Some(load) = self.loads.get(port_index) {
            load.fetch_add(1, Ordering::Relaxed);
        }
        self.open.fetch_add(1, Ordering::Relaxed);
        LoadGuard {
            hub: Arc::clone(self),
            port_index,
        }
    }

    /// Open connections, identified or not.
    pub(crate) fn open_connections(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// The index of the port with the fewest connections.
    pub(crate) fn least_loaded(&self) -> usize {
        self.loads
            .iter()
            .enumerate()
            .min_by_key(|(_, load)| load.load(Ordering::Relaxed))
            .map_or(0, |(index, _)| index)
    }

    /// Registers an identified connection of `user`.
    pub(crate) fn register(
        self: &Arc<Self>,
        user: UserId,
        capacity: usize,
        presences: bool,
    ) -> (Registration, mpsc::Receiver<Utf8Bytes>, CancellationToken) {
        let (queue, receiver) = mpsc::channel(capacity.max(1));
        let kick = CancellationToken::new();
        let id = self.next_peer.fetch_add(1, Ordering::Relaxed);
        self.peers.entry(user).or_default().push(Peer {
            id,
            queue,
            kick: kick.clone(),
            presences,
        });
        let registration = Registration {
            hub: Arc::clone(self),
            user,
            peer: id,
        };
        (registration, receiver, kick)
    }

    /// Encodes an event as its JSON envelope (with the quirk fields when
    /// imitating the deployed server).
    pub(crate) fn encode(&self, event: &Event) -> Option<Utf8Bytes> {
        let json = if self.quirks {
            let mut value = serde_json::to_value(event).ok()?;
            if let Some(envelope) = value.as_object_mut() {
                let sequence = self.sequence.fetch_add(1, Ordering::Relaxed);
                envelope.insert("s".to_owned(), sequence.into());
            }
            serde_json::to_string(&value).ok()?
        } else {
            serde_json::to_string(event).ok()?
        };
        Some(Utf8Bytes::from(json))
    }

    /// Sends `event` to every connection of every user in `users`.
    pub(crate) fn send<I>(&self, users: I, event: &Event)
    where
        I: IntoIterator<Item = UserId>,
    {
        let Some(bytes) = self.encode(event) else {
            tracing::error!(event = event.name(), "could not encode an event");
            return;
        };
        // Collect first: no map guard is held while queueing.
        let targets: Vec<Peer> = users
            .into_iter()
            .filter_map(|user| self.peers.get(&user).map(|peers| peers.clone()))
            .flatten()
            .collect();
        let is_presence = matches!(event, Event::PresenceUpdate(_));
        for peer in targets {
            if is_presence && !peer.presences {
                continue;
            }
            match peer.queue.try_send(bytes.clone()) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::debug!(peer = peer.id, "queue full, closing a slow connection");
                    peer.kick.cancel();
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
    }
}
