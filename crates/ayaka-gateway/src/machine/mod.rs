//! The shard's protocol as a state machine, free of I/O, in the style of
//! quinn-proto's `Connection`.
//!
//! [`ShardMachine`] holds everything a shard decides: when to connect and
//! reconnect (the backoff, the attempt counter and its reset, a shared
//! [`ReconnectLimiter`]), the identify payload and the lease it waits for,
//! the zlib stream and the parser, the READY deadline, the keepalive
//! schedule and its latency figures, the send budget, which close code to
//! send, and what to tell the consumer. It never reads a clock: every
//! input carries `now`, and [`poll_timeout`](ShardMachine::poll_timeout)
//! says when it next wants [`handle_timeout`](ShardMachine::handle_timeout).
//!
//! A shell drives it: it opens a WebSocket when
//! [`poll_connect`](ShardMachine::poll_connect) says so, feeds it what the
//! socket reads ([`handle_frame`](ShardMachine::handle_frame)), writes what
//! [`poll_transmit`](ShardMachine::poll_transmit) yields, hands what
//! [`poll_event`](ShardMachine::poll_event) yields to the consumer, and
//! sleeps until the timeout. [`Shard`](crate::Shard) is such a shell on
//! tokio and tungstenite; the machine runs as well under a test's virtual
//! clock:
//!
//! ```
//! use std::time::{Duration, Instant};
//! use ayaka_gateway::machine::{Frame, ShardMachine, Transmit};
//! use ayaka_gateway::{ShardConfig, ShardId, ShardMessage};
//!
//! let start = Instant::now();
//! let config = ShardConfig::builder("session").build();
//! let mut machine = ShardMachine::new(ShardId(0), config, start, 7);
//! assert!(machine.poll_connect());
//! // ...the shell opened the WebSocket:
//! machine.handle_connected(start, None);
//! let Some(Transmit::Text(identify)) = machine.poll_transmit() else { unreachable!() };
//! assert_eq!(identify, r#"{"session_id":"session","encoding":"json"}"#);
//! let ready = r#"{"t":"READY","d":{"id":1,"username":"a","separator":1}}"#;
//! machine.handle_frame(start, Frame::Text(ready.into()));
//! assert!(matches!(machine.poll_event(), Some(ShardMessage::Connected { .. })));
//! assert!(matches!(machine.poll_event(), Some(ShardMessage::Event(_))));
//! assert!(matches!(machine.poll_event(), Some(ShardMessage::Ready { .. })));
//! // the next thing it wants is a ping, within the ping interval
//! assert!(machine.poll_timeout() <= Some(start + Duration::from_secs(15)));
//! ```

mod ending;
mod frame;

use std::{
    collections::VecDeque,
    sync::Arc,
    time::{Duration, Instant},
};

use ayaka_model::gateway::{ClientCommand, Event, Identify};
use bytes::Bytes;
use rand::{Rng, SeedableRng, rngs::StdRng};
use tracing::{debug, info, warn};

use self::ending::Ending;
pub use self::frame::{Frame, Transmit};
use crate::{
    close::CloseFrame,
    config::ShardConfig,
    error::{Error, ErrorKind},
    identify_queue::{IdentifyLease, LeaseEnd},
    inflate::Decompressor,
    keepalive::{Keepalive, KeepaliveAction},
    latency::Latency,
    limiter::SendLimiter,
    parse::EventParser,
    received::ReceivedEvent,
    reconnect_limiter::ReconnectLimiter,
    shard_id::ShardId,
    shard_message::ShardMessage,
    shard_state::ShardState,
};

/// How long to wait for the other side's close frame after ours (or for
/// our reply to the server's to go out).
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// The same after a failure: the peer is likely gone, so the reconnect
/// should not wait long for it.
const FAILED_CLOSE_GRACE: Duration = Duration::from_millis(200);

/// Where the machine is.
#[derive(Debug)]
enum Phase {
    /// No connection: open one at `at` (once the consumer has caught up).
    /// `counted` says whether the reconnect limiter already set `at`.
    Waiting { at: Instant, counted: bool },
    /// The shell is opening a connection.
    Opening,
    /// Identify sent, READY not yet.
    Identifying,
    /// READY received.
    Ready,
    /// The connection is ending; it is over at `deadline` at the latest.
    Closing { deadline: Instant, ending: Ending },
    /// The shard has ended.
    Ended,
}

/// One shard's protocol state, driven by a shell that does the I/O.
///
/// See the [module documentation](self) for how the two fit.
pub struct ShardMachine {
    shard_id: ShardId,
    config: ShardConfig,
    phase: Phase,
    keepalive: Keepalive,
    limiter: SendLimiter,
    decompressor: Decompressor,
    parser: EventParser,
    rng: StdRng,
    /// Reconnect attempts since the last connection that stayed ready for
    /// [`ShardConfig::reset_backoff_after`].
    attempt: u32,
    /// Whether a connection was opened before: later ones are reconnects,
    /// counted by the shared limiter.
    opened_before: bool,
    reconnects: Option<Arc<ReconnectLimiter>>,
    lease: Option<IdentifyLease>,
    /// Whether binary frames hold plain JSON (an old deployed server).
    binary_is_json: Option<bool>,
    /// When READY is overdue (while identifying).
    ready_deadline: Instant,
    /// When this connection's READY arrived.
    ready_at: Option<Instant>,
    /// Since when the consumer has been too far behind to read on.
    behind_since: Option<Instant>,
    /// Whether the consumer fell behind during this connection.
    behind_this_connection: bool,
    time_behind: Duration,
    close_requested: bool,
    connections: u64,
    transmits: VecDeque<Transmit>,
    events: VecDeque<ShardMessage>,
}

impl ShardMachine {
    /// A machine that will connect first thing; `seed` drives its jitter
    /// (pings, backoff), so a test can replay it exactly.
    pub fn new(shard_id: ShardId, config: ShardConfig, now: Instant, seed: u64) -> Self {
        Self {
            shard_id,
            keepalive: Keepalive::new(
                config.ping_interval,
                config.ping_timeout,
                config.ping_jitter,
                now,
            ),
            limiter: SendLimiter::new(config.send_limit, config.send_window, config.send_reserve),
            decompressor: Decompressor::with_max_message_size(config.max_message_size),
            parser: EventParser::default(),
            rng: StdRng::seed_from_u64(seed),
            attempt: 0,
            opened_before: false,
            reconnects: config.reconnect_limiter.clone(),
            lease: None,
            binary_is_json: None,
            ready_deadline: now,
            ready_at: None,
            behind_since: None,
            behind_this_connection: false,
            time_behind: Duration::ZERO,
            close_requested: false,
            connections: 0,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            phase: Phase::Opening,
            config,
        }
    }

    /// The shard this machine runs.
    pub fn shard_id(&self) -> ShardId {
        self.shard_id
    }

    // ---- inputs -------------------------------------------------------

    /// Time passed: pings, the READY deadline, the end of a closing
    /// handshake, the end of a backoff. Harmless when nothing is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.phase {
            Phase::Waiting { at, counted } if now >= at && self.behind_since.is_none() => {
                if !counted
                    && self.opened_before
                    && let Some(limiter) = &self.reconnects
                {
                    let slot = limiter.reserve(now);
                    if slot > now {
                        self.phase = Phase::Waiting {
                            at: slot,
                            counted: true,
                        };
                        return;
                    }
                }
                self.phase = Phase::Opening;
            }
            Phase::Identifying | Phase::Ready => self.keepalive_due(now),
            Phase::Closing { deadline, .. } if now >= deadline => self.finish_connection(now),
            _ => {}
        }
    }

    /// The shell opened the WebSocket (after `lease`, if an
    /// [`IdentifyQueue`](crate::IdentifyQueue) gave one): the machine
    /// queues identify and starts the keepalive and the READY deadline.
    pub fn handle_connected(&mut self, now: Instant, lease: Option<IdentifyLease>) {
        if !matches!(self.phase, Phase::Opening) {
            // closed meanwhile: give the turn back
            if let Some(lease) = lease {
                lease.end(LeaseEnd::Dropped);
            }
            return;
        }
        self.lease = lease;
        self.opened_before = true;
        self.connections += 1;
        self.decompressor.reset();
        self.binary_is_json = None;
        self.behind_this_connection = self.behind_since.is_some();
        let mut identify =
            Identify::new(self.config.session_id.as_ref()).with_encoding(self.config.encoding);
        identify.presences = self.config.presences;
        match serde_json::to_string(&identify) {
            Ok(identify) => self.transmits.push_back(Transmit::Text(identify)),
            Err(error) => {
                self.phase = Phase::Identifying;
                self.fail(now, Error::with_source(ErrorKind::Serialize, error));
                return;
            }
        }
        let sample = self.rng.random();
        self.keepalive.start(now, sample);
        self.ready_deadline = now + self.config.ready_timeout;
        self.phase = Phase::Identifying;
        debug!(
            shard = self.shard_id.0,
            encoding = self.config.encoding.as_str(),
            "identified"
        );
        self.report(ShardMessage::Connected {
            shard_id: self.shard_id,
        });
    }

    /// The shell could not open a connection (discovery, TCP, TLS, the
    /// handshake, or the identify queue failed).
    pub fn handle_connect_failed(&mut self, now: Instant, error: Error) {
        if matches!(self.phase, Phase::Opening) {
            self.opened_before = true;
            warn!(shard = self.shard_id.0, %error, "could not connect");
            self.report(ShardMessage::Error {
                shard_id: self.shard_id,
                error: error.clone(),
            });
            self.connection_over(now, Ending::Failed(error), false);
        }
    }

    /// A message arrived on the socket.
    pub fn handle_frame(&mut self, now: Instant, frame: Frame) {
        match self.phase {
            Phase::Identifying | Phase::Ready => {}
            Phase::Closing { .. } => {
                // only the peer's answer matters now
                if matches!(frame, Frame::Close(_)) {
                    self.finish_connection(now);
                }
                return;
            }
            _ => return,
        }
        match frame {
            Frame::Text(text) => self.on_payload(now, text),
            Frame::Binary(bytes) => {
                let is_json = *self
                    .binary_is_json
                    .get_or_insert_with(|| looks_like_json(&bytes));
                if is_json {
                    return self.on_payload(now, bytes);
                }
                let inflated = self
                    .decompressor
                    .decompress(&bytes)
                    .map(|message| message.map(Bytes::copy_from_slice));
                match inflated {
                    Ok(Some(message)) => self.on_payload(now, message),
                    Ok(None) => {}
                    Err(error) => self.fail(now, error),
                }
            }
            Frame::Pong(payload) => {
                self.keepalive.on_pong(&payload, now);
            }
            Frame::Ping(_) => {}
            Frame::Close(frame) => self.on_server_close(now, frame),
        }
    }

    /// Reading or writing the socket failed, or it ended. The kind says
    /// what the machine does: [`ErrorKind::Transport`] when the socket is
    /// broken or ended (it is dropped at once),
    /// [`ErrorKind::MessageTooLarge`] for a message over the size limit
    /// (closed with 1009), [`ErrorKind::Timeout`] when a write never
    /// completed (closed with 1001).
    pub fn handle_socket_error(&mut self, now: Instant, error: Error) {
        match self.phase {
            Phase::Identifying | Phase::Ready => self.fail(now, error),
            // the close handshake ends with the socket
            Phase::Closing { .. } => self.finish_connection(now),
            Phase::Opening => self.handle_connect_failed(now, error),
            _ => {}
        }
    }

    /// The shard's owner asked it to close: a clean close frame if
    /// connected, then [`ShardMessage::Closed`] without error.
    pub fn handle_close_request(&mut self, now: Instant) {
        self.close_requested = true;
        match &mut self.phase {
            Phase::Waiting { .. } | Phase::Opening => self.end(None),
            Phase::Identifying | Phase::Ready => {
                self.transmits
                    .push_back(Transmit::Close(CloseFrame::new(1000)));
                self.begin_closing(now + CLOSE_GRACE, Ending::Requested);
            }
            Phase::Closing { ending, .. } => {
                if !matches!(ending, Ending::ServerClosed(_)) {
                    *ending = Ending::Requested;
                }
            }
            Phase::Ended => {}
        }
    }

    /// The consumer has fallen a read-ahead bound behind: the shell stops
    /// reading. Pings still go out on schedule, and neither the ping
    /// timeout nor the READY deadline runs while the consumer catches up
    /// (an unread Pong or READY is not the server's fault).
    pub fn handle_consumer_behind(&mut self, now: Instant) {
        if self.behind_since.is_none() {
            self.behind_since = Some(now);
            self.behind_this_connection = true;
        }
    }

    /// The consumer caught up: the shell reads again.
    pub fn handle_consumer_caught_up(&mut self, now: Instant) {
        let Some(since) = self.behind_since.take() else {
            return;
        };
        let paused = now.saturating_duration_since(since);
        self.time_behind += paused;
        if matches!(self.phase, Phase::Identifying | Phase::Ready) {
            self.keepalive.resume_reading(now, paused);
            self.ready_deadline = self
                .ready_deadline
                .checked_add(paused)
                .unwrap_or(self.ready_deadline);
        }
    }

    /// Queues a command. Call it only when
    /// [`command_ready_at`](Self::command_ready_at) says `now`.
    pub fn send_command(&mut self, now: Instant, command: &ClientCommand) {
        match command.to_json().map(String::from_utf8) {
            Ok(Ok(text)) => self.send_text(now, text),
            _ => self.report(ShardMessage::Error {
                shard_id: self.shard_id,
                error: Error::with_source(ErrorKind::Serialize, "command is not JSON text"),
            }),
        }
    }

    /// Queues a text message as it is (same rules as
    /// [`send_command`](Self::send_command)).
    pub fn send_text(&mut self, now: Instant, text: String) {
        if matches!(self.phase, Phase::Identifying | Phase::Ready) {
            self.transmits.push_back(Transmit::Text(text));
            self.limiter.record_command(now);
        }
    }

    // ---- outputs ------------------------------------------------------

    /// When [`handle_timeout`](Self::handle_timeout) is next due (`None`:
    /// only an input can change anything).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let behind = self.behind_since.is_some();
        match &self.phase {
            Phase::Waiting { at, .. } => (!behind).then_some(*at),
            Phase::Identifying | Phase::Ready => {
                let keepalive = if behind {
                    self.keepalive.next_ping_at()
                } else {
                    self.keepalive.deadline()
                };
                if matches!(self.phase, Phase::Identifying) && !behind {
                    Some(keepalive.min(self.ready_deadline))
                } else {
                    Some(keepalive)
                }
            }
            Phase::Closing { deadline, .. } => Some(*deadline),
            Phase::Opening | Phase::Ended => None,
        }
    }

    /// The next message to write to the socket.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next report for the consumer: an event or a lifecycle message,
    /// in order. The last one a machine gives is [`ShardMessage::Closed`].
    pub fn poll_event(&mut self) -> Option<ShardMessage> {
        self.events.pop_front()
    }

    /// Whether the shell should open a connection now (then report it with
    /// [`handle_connected`](Self::handle_connected) or
    /// [`handle_connect_failed`](Self::handle_connect_failed)).
    pub fn poll_connect(&self) -> bool {
        matches!(self.phase, Phase::Opening)
    }

    // ---- queries ------------------------------------------------------

    /// Whether the shell should hold a socket (once false, drop it).
    pub fn is_connected(&self) -> bool {
        matches!(
            self.phase,
            Phase::Identifying | Phase::Ready | Phase::Closing { .. }
        )
    }

    /// Whether the shell should read the socket: connected, and the
    /// consumer not behind (during a closing handshake, always).
    pub fn wants_read(&self) -> bool {
        match self.phase {
            Phase::Identifying | Phase::Ready => self.behind_since.is_none(),
            Phase::Closing { .. } => true,
            _ => false,
        }
    }

    /// Whether a closing handshake is under way (its deadline is
    /// [`poll_timeout`](Self::poll_timeout)).
    pub fn is_closing(&self) -> bool {
        matches!(self.phase, Phase::Closing { .. })
    }

    /// Whether the shard has ended (after its [`ShardMessage::Closed`]).
    pub fn is_ended(&self) -> bool {
        matches!(self.phase, Phase::Ended)
    }

    /// When a command may next be sent: `None` without an open connection
    /// (commands wait for one), `now` if a slot of the send budget is free.
    pub fn command_ready_at(&mut self, now: Instant) -> Option<Instant> {
        if !matches!(self.phase, Phase::Identifying | Phase::Ready) {
            return None;
        }
        Some(if self.limiter.command_ready(now) {
            now
        } else {
            self.limiter.command_ready_at(now)
        })
    }

    /// Where the shard is in its life.
    pub fn state(&self) -> ShardState {
        match self.phase {
            Phase::Waiting { .. } if self.opened_before => ShardState::Reconnecting,
            Phase::Waiting { .. } | Phase::Opening => ShardState::Connecting,
            Phase::Identifying => ShardState::Identifying,
            Phase::Ready => ShardState::Ready,
            Phase::Closing { .. } if self.ready_at.is_some() => ShardState::Ready,
            Phase::Closing { .. } => ShardState::Identifying,
            Phase::Ended => ShardState::Closed,
        }
    }

    /// The measured round trips.
    pub fn latency(&self) -> Latency {
        self.keepalive.latency()
    }

    /// How long the consumer has been behind, in all (until `now`).
    pub fn time_behind(&self, now: Instant) -> Duration {
        self.time_behind
            + self
                .behind_since
                .map_or(Duration::ZERO, |since| now.saturating_duration_since(since))
    }

    /// Connections opened so far.
    pub fn connections(&self) -> u64 {
        self.connections
    }

    /// The reconnect attempts counted since the backoff last started over.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    // ---- internals ----------------------------------------------------

    fn report(&mut self, message: ShardMessage) {
        self.events.push_back(message);
    }

    fn keepalive_due(&mut self, now: Instant) {
        let sample = self.rng.random();
        if self.behind_since.is_some() {
            if let Some(payload) = self.keepalive.poll_paused(now, sample) {
                self.ping(now, payload);
            }
            return;
        }
        match self.keepalive.poll(now, sample) {
            KeepaliveAction::Ping(payload) => self.ping(now, payload),
            KeepaliveAction::Dead => return self.fail(now, Error::new(ErrorKind::PingTimeout)),
            KeepaliveAction::Wait => {}
        }
        if matches!(self.phase, Phase::Identifying) && now >= self.ready_deadline {
            self.fail(
                now,
                Error::with_source(ErrorKind::Timeout, "no READY after identify"),
            );
        }
    }

    fn ping(&mut self, now: Instant, payload: u64) {
        self.transmits
            .push_back(Transmit::Ping(Bytes::copy_from_slice(
                &payload.to_be_bytes(),
            )));
        self.limiter.record_keepalive(now);
    }

    /// Parses and reports one complete message.
    fn on_payload(&mut self, now: Instant, raw: Bytes) {
        let event = match self.parser.parse(&raw) {
            Ok(event) => event,
            Err(error) => {
                // one bad message does not cost the connection
                warn!(shard = self.shard_id.0, %error, "unparsable gateway message");
                return self.report(ShardMessage::Error {
                    shard_id: self.shard_id,
                    error,
                });
            }
        };
        let is_ready = matches!(event, Event::Ready(_));
        self.report(ShardMessage::Event(ReceivedEvent {
            shard_id: self.shard_id,
            event,
            raw,
        }));
        if is_ready && matches!(self.phase, Phase::Identifying) {
            self.phase = Phase::Ready;
            self.ready_at = Some(now);
            if let Some(lease) = self.lease.take() {
                lease.end(LeaseEnd::Ready);
            }
            info!(shard = self.shard_id.0, "ready");
            self.report(ShardMessage::Ready {
                shard_id: self.shard_id,
            });
            if let Some(presence) = self.config.presence.clone() {
                self.send_command(now, &ClientCommand::PresenceUpdate(presence));
            }
        }
    }
}

/// Whether a binary frame that starts a connection is JSON rather than zlib
/// (a zlib header's first byte never is `{` or whitespace).
fn looks_like_json(bytes: &[u8]) -> bool {
    matches!(
        bytes.first(),
        Some(b'{' | b'[' | b' ' | b'\n' | b'\r' | b'\t')
    )
}

impl std::fmt::Debug for ShardMachine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardMachine")
            .field("shard_id", &self.shard_id)
            .field("phase", &self.phase)
            .field("attempt", &self.attempt)
            .field("behind", &self.behind_since.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_json_is_told_apart_from_zlib() {
        assert!(looks_like_json(br#"{"t":"READY"}"#));
        assert!(!looks_like_json(&[0x78, 0x9c, 0x00]));
        assert!(!looks_like_json(&[]));
    }
}
