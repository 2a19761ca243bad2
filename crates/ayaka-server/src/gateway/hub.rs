//! Who is connected, and fan-out of events to them.
//!
//! Each connection owns a bounded queue. Fan-out encodes an event once and
//! `try_send`s the shared bytes to every target queue, never waiting on
//! anything (no lock but a map shard's read guard, held only while
//! queueing, which cannot block); a full queue means the client cannot keep up, so it is kicked
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
struct Peer {
    id: u64,
    queue: mpsc::Sender<Utf8Bytes>,
    /// Cancelled when the queue overflowed.
    kick: CancellationToken,
    /// Whether the client wants PRESENCE_UPDATE (identify's `presences`).
    presences: bool,
    /// The session it identified with (its name).
    session: u64,
    /// Cancelled when that session ended (closed with 4002).
    revoked: CancellationToken,
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

    /// Counts a new connection on a port, unless `max` are open already:
    /// called at the TCP accept, so that a connection costs nothing before
    /// it is counted.
    pub(crate) fn try_connect(
        self: &Arc<Self>,
        port_index: usize,
        max: usize,
    ) -> Option<LoadGuard> {
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < max).then_some(open + 1)
            })
            .ok()?;
        if let Some(load) = self.loads.get(port_index) {
            load.fetch_add(1, Ordering::Relaxed);
        }
        Some(LoadGuard {
            hub: Arc::clone(self),
            port_index,
        })
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

    /// Registers a connection of `user` identified with `session`. Returns
    /// its queue, the token cancelled when it is kicked for being slow, and
    /// the one cancelled when its session ends.
    pub(crate) fn register(
        self: &Arc<Self>,
        user: UserId,
        session: u64,
        capacity: usize,
        presences: bool,
    ) -> (
        Registration,
        mpsc::Receiver<Utf8Bytes>,
        CancellationToken,
        CancellationToken,
    ) {
        let (queue, receiver) = mpsc::channel(capacity.max(1));
        let (kick, revoked) = (CancellationToken::new(), CancellationToken::new());
        let id = self.next_peer.fetch_add(1, Ordering::Relaxed);
        self.peers.entry(user).or_default().push(Peer {
            id,
            queue,
            kick: kick.clone(),
            presences,
            session,
            revoked: revoked.clone(),
        });
        let registration = Registration {
            hub: Arc::clone(self),
            user,
            peer: id,
        };
        (registration, receiver, kick, revoked)
    }

    /// Closes (with 4002) every connection of `user` identified with one
    /// of `sessions`.
    pub(crate) fn end_sessions(&self, user: UserId, sessions: &[u64]) {
        if let Some(peers) = self.peers.get(&user) {
            for peer in peers.iter().filter(|peer| sessions.contains(&peer.session)) {
                peer.revoked.cancel();
            }
        }
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
        let is_presence = matches!(event, Event::PresenceUpdate(_));
        for user in users {
            // `try_send` and `cancel` never block or re-enter the map, so
            // queueing under the shard's read guard is safe, and it spares
            // cloning every peer (a token clone takes a mutex) per event.
            let Some(peers) = self.peers.get(&user) else {
                continue;
            };
            for peer in peers.iter() {
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
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use ayaka_model::GuildDeleted;
    use ayaka_snowflake::GuildId;

    use super::*;

    fn event() -> Event {
        Event::GuildDelete(GuildDeleted {
            id: GuildId::new(7),
        })
    }

    #[test]
    fn a_full_queue_kicks_only_its_connection() {
        let hub = Arc::new(Hub::new(1, false));
        let (slow_user, other_user) = (UserId::new(1), UserId::new(2));
        let (_slow, mut slow_queue, slow_kick, _) = hub.register(slow_user, 1, 1, true);
        let (_other, mut other_queue, other_kick, _) = hub.register(other_user, 2, 8, true);
        hub.send([slow_user, other_user], &event());
        hub.send([slow_user, other_user], &event());
        assert!(slow_kick.is_cancelled());
        assert!(!other_kick.is_cancelled());
        assert_eq!(
            slow_queue.try_recv().unwrap().as_str(),
            r#"{"t":"GUILD_DELETE","d":{"id":7}}"#
        );
        assert!(slow_queue.try_recv().is_err());
        assert!(other_queue.try_recv().is_ok() && other_queue.try_recv().is_ok());
    }

    #[test]
    fn dropping_registrations_and_loads_leaves_nothing() {
        let hub = Arc::new(Hub::new(2, false));
        let first = hub.try_connect(0, 1).unwrap();
        assert!(hub.try_connect(1, 1).is_none(), "over the limit");
        assert_eq!(hub.least_loaded(), 1);
        let user = UserId::new(1);
        let (a, _queue_a, _, a_ended) = hub.register(user, 1, 4, true);
        let (b, mut queue_b, _, b_ended) = hub.register(user, 2, 4, false);
        hub.end_sessions(user, &[1]);
        assert!(a_ended.is_cancelled() && !b_ended.is_cancelled());
        drop(a);
        hub.send([user], &event());
        assert!(queue_b.try_recv().is_ok());
        drop(b);
        assert!(hub.peers.is_empty());
        drop(first);
        assert_eq!((hub.open_connections(), hub.least_loaded()), (0, 0));
    }

    #[test]
    fn presence_opt_out_is_honoured_and_quirks_add_a_sequence() {
        let hub = Arc::new(Hub::new(1, true));
        let user = UserId::new(1);
        let (_quiet, mut quiet, _, _) = hub.register(user, 1, 4, false);
        let presence = Event::PresenceUpdate(ayaka_model::PresenceUpdate {
            user_id: UserId::new(2),
            presence: ayaka_model::Presence::new(ayaka_model::PresenceType::Online),
        });
        hub.send([user], &presence);
        assert!(quiet.try_recv().is_err());
        hub.send([user], &event());
        let sent: serde_json::Value = serde_json::from_str(&quiet.try_recv().unwrap()).unwrap();
        assert!(sent["s"].is_u64());
    }
}
