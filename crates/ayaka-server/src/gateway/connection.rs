//! One gateway connection: handshake, identify, READY and GUILD_INIT, then
//! the live loop. Decisions come from [`protocol`](super::protocol); this
//! file only moves frames.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ayaka_model::gateway::{Encoding, Event, Hello, Identify, PresenceUpdate};
use ayaka_snowflake::UserId;
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};
use tokio_util::sync::CancellationToken;

use super::hub::LoadGuard;
use super::outbound::Outbound;
use super::protocol::{self, Action, CloseReason, Frame, Inbound};
use crate::server::Shared;
use crate::stats::Identifying;

type Socket = WebSocketStream<TcpStream>;

/// How long the close handshake may take before the socket is dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Most queued events written before one flush: enough to spare syscalls
/// in a burst, few enough that the first of them is not held back long.
const BATCH: usize = 64;

/// How a phase of the connection ended.
enum End {
    /// Close with this reason.
    Close(CloseReason),
    /// The client's queue overflowed: close with 4000 (too slow). Its close
    /// frame goes out behind the events already in the socket's buffers,
    /// so the client gets as long as any write may take (the ping timeout)
    /// to read them, and learns why it was dropped instead of seeing a reset.
    Kicked,
    /// The peer sent a close frame: answer it (tungstenite queued the
    /// reply) and let go.
    PeerClosed,
    /// The peer is gone or the socket is stuck: just drop it.
    Drop,
}

/// The WebSocket buffers, sized on purpose: clients send small messages
/// (identify, presence), so a 4 KiB read buffer (tungstenite's default is
/// 128 KiB, allocated up front) keeps an idle connection small; writes
/// gather up to 8 KiB before a syscall, and every batch is flushed anyway.
fn websocket_config(max_message_size: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_message_size(Some(max_message_size))
        .max_frame_size(Some(max_message_size))
}

const READ_BUFFER: usize = 4 * 1024;
const WRITE_BUFFER: usize = 8 * 1024;
/// How long a connection over the limit has to finish its handshake and
/// receive its 4003.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(2);

/// Tells a connection over the limit so with 4003, within a short bound.
pub(crate) async fn refuse(stream: TcpStream) {
    let accept = tokio_tungstenite::accept_async_with_config(stream, Some(websocket_config(128)));
    if let Ok(Ok(mut socket)) = timeout(REFUSAL_TIMEOUT, accept).await {
        close(&mut socket, CloseReason::TooManySessions).await;
    }
}

pub(crate) async fn run(
    stream: TcpStream,
    _slot: LoadGuard,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
) {
    let settings = &shared.gateway;
    let identifying = Identifying::start(&shared.counters);
    let config = websocket_config(settings.max_message_size);
    let accept = tokio_tungstenite::accept_async_with_config(stream, Some(config));
    // Shutdown must not wait for a client that never finishes its
    // handshake.
    let handshake = tokio::select! {
        () = shutdown.cancelled() => return,
        handshake = timeout(settings.handshake_timeout, accept) => handshake,
    };
    let mut socket = match handshake {
        Ok(Ok(socket)) => socket,
        Ok(Err(error)) => {
            tracing::debug!(%error, "WebSocket handshake failed");
            return;
        }
        Err(_) => return,
    };
    let deadline = Instant::now() + settings.identify_timeout;
    let end = match identify(&mut socket, deadline, &shutdown).await {
        Ok(identify) => match shared.store.authenticate_session(&identify.session_id) {
            Some((user, name)) => {
                let you = Identified {
                    user,
                    session: name,
                };
                session(&mut socket, &shared, you, &identify, &shutdown, identifying).await
            }
            None => End::Close(CloseReason::InvalidAuth),
        },
        Err(end) => end,
    };
    match end {
        End::Close(reason) => {
            tracing::debug!(
                code = reason.code(),
                reason = reason.reason(),
                "closing a gateway connection"
            );
            close(&mut socket, reason).await;
        }
        End::Kicked => {
            let reason = CloseReason::TooSlow;
            tracing::debug!(
                code = reason.code(),
                "closing a client too slow for its events"
            );
            let wait = settings.ping_timeout.max(CLOSE_TIMEOUT);
            tokio::select! {
                () = close_within(&mut socket, reason, wait) => {}
                () = shutdown.cancelled() => {}
            }
        }
        End::PeerClosed => {
            // Flushing writes the queued reply, completing the handshake.
            let _ = timeout(CLOSE_TIMEOUT, socket.flush()).await;
        }
        End::Drop => {}
    }
}

/// Waits for the identify payload (pings and pongs before it are allowed).
async fn identify(
    socket: &mut Socket,
    deadline: Instant,
    shutdown: &CancellationToken,
) -> Result<Identify, End> {
    loop {
        let message = tokio::select! {
            () = shutdown.cancelled() => return Err(End::Close(CloseReason::GoingAway)),
            () = sleep_until(deadline) => return Err(End::Close(CloseReason::TimedOut)),
            message = socket.next() => message,
        };
        // Text that is not UTF-8 cannot be an identify payload: a payload
        // type error (4002), as other non-JSON identify frames are.
        let incoming = read(message).map_err(|end| match end {
            End::Close(CloseReason::InvalidEvent) => End::Close(CloseReason::InvalidAuth),
            other => other,
        });
        let frame = match incoming? {
            Incoming::Data(Message::Text(text)) => {
                return protocol::identify(Frame::Text(text.as_bytes())).map_err(End::Close);
            }
            Incoming::Data(_) => Frame::Binary,
            Incoming::Control => continue,
        };
        return protocol::identify(frame).map_err(End::Close);
    }
}

enum Incoming {
    /// A text or binary message.
    Data(Message),
    /// Ping or pong (tungstenite answers pings itself).
    Control,
}

/// Sorts what the socket produced; errors and closes end the connection.
fn read(message: Option<Result<Message, WsError>>) -> Result<Incoming, End> {
    match message {
        Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => Ok(Incoming::Data(message)),
        Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => Ok(Incoming::Control),
        Some(Ok(Message::Close(_))) => Err(End::PeerClosed),
        None => Err(End::Drop),
        Some(Err(WsError::Capacity(_))) => Err(End::Close(CloseReason::TooBig)),
        Some(Err(WsError::Utf8(_))) => Err(End::Close(CloseReason::InvalidEvent)),
        Some(Err(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake))) => Err(End::Drop),
        Some(Err(WsError::Protocol(error))) => {
            tracing::debug!(%error, "WebSocket protocol error");
            Err(End::Close(CloseReason::BrokenFrame))
        }
        Some(Err(error)) => {
            tracing::debug!(%error, "gateway connection failed");
            Err(End::Drop)
        }
    }
}

/// An identified connection, from READY to its end.
/// Who a connection identified as.
struct Identified {
    user: UserId,
    /// The session's name.
    session: u64,
}

async fn session(
    socket: &mut Socket,
    shared: &Shared,
    you: Identified,
    identify: &Identify,
    shutdown: &CancellationToken,
    identifying: Identifying<'_>,
) -> End {
    let settings = &shared.gateway;
    // Registered before the snapshot is read, so nothing that happens in
    // between is missed (at worst it arrives twice, which caches absorb).
    let Identified { user, session } = you;
    let (_registration, mut queue, kick, ended) = shared.hub.register(
        user,
        session,
        settings.queue_capacity,
        identify.presences.unwrap_or(true),
    );
    // A password change between identify and registering ended the
    // session without this connection to tell.
    if shared
        .store
        .authenticate_session(&identify.session_id)
        .is_none()
    {
        return End::Close(CloseReason::SessionEnded);
    }
    let zlib = identify.encoding() == Encoding::Zlib || settings.zlib_under_json;
    let mut writer = Writer {
        socket,
        outbound: Outbound::new(zlib, settings.quirks, settings.split_zlib),
        kick: &kick,
        shutdown,
        write_timeout: settings.ping_timeout,
    };
    let Some(greeting) = greeting(shared, user) else {
        return End::Close(CloseReason::Internal);
    };
    // No longer counted before READY goes out: a client that waits for
    // READY before letting the next one identify never overlaps with it.
    drop(identifying);
    // In batches, so that GUILD_INITs share the zlib dictionary.
    let mut greeting = greeting.into_iter();
    while let Some(first) = greeting.next() {
        if let Err(end) = writer.send_batch(first, || greeting.next()).await {
            return end;
        }
    }
    tracing::debug!(user = %user, "identified");

    let mut inbound = Inbound::new(settings.client_messages, settings.quirks);
    let mut deadline = Instant::now() + settings.ping_timeout;
    loop {
        let step = tokio::select! {
            biased;
            () = shutdown.cancelled() => Err(End::Close(CloseReason::GoingAway)),
            () = kick.cancelled() => Err(End::Kicked),
            () = ended.cancelled() => Err(End::Close(CloseReason::SessionEnded)),
            () = sleep_until(deadline) => Err(End::Close(CloseReason::TimedOut)),
            message = writer.socket.next() => {
                deadline = Instant::now() + settings.ping_timeout;
                match read(message) {
                    Ok(Incoming::Data(message)) => {
                        act(&mut writer, shared, user, &mut inbound, &message).await
                    }
                    Ok(Incoming::Control) => Ok(()),
                    Err(end) => Err(end),
                }
            }
            Some(json) = queue.recv() => writer.send_batch(json, || queue.try_recv().ok()).await,
        };
        if let Err(end) = step {
            return end;
        }
    }
}

/// READY (after HELLO when imitating the deployed server), then one
/// GUILD_INIT per guild.
fn greeting(shared: &Shared, user: UserId) -> Option<Vec<Utf8Bytes>> {
    let me = shared.store.own_user(user)?;
    let mut messages = Vec::new();
    if shared.gateway.quirks {
        let hello = Hello {
            s: None,
            i: Some("ayaka-server (local) imitating the deployed gateway".into()),
        };
        messages.push(shared.hub.encode(&Event::Hello(hello))?);
        // The deployed READY: `d` is a JSON string, the id is `_id`.
        let mut user_json = serde_json::to_value(&me).ok()?;
        if let Some(object) = user_json.as_object_mut()
            && let Some(id) = object.remove("id")
        {
            object.insert("_id".to_owned(), id);
        }
        let ready = serde_json::json!({"t": "READY", "d": user_json.to_string(), "s": 0});
        messages.push(Utf8Bytes::from(ready.to_string()));
    } else {
        messages.push(shared.hub.encode(&Event::Ready(Box::new(me)))?);
    }
    for guild in shared.store.guilds_of(user) {
        // A guild deleted meanwhile is simply skipped.
        if let Some(guild) = shared.store.full_guild(guild) {
            messages.push(shared.hub.encode(&Event::GuildInit(Box::new(guild)))?);
        }
    }
    Some(messages)
}

async fn act(
    writer: &mut Writer<'_>,
    shared: &Shared,
    user: UserId,
    inbound: &mut Inbound,
    message: &Message,
) -> Result<(), End> {
    let frame = match message {
        Message::Text(text) => Frame::Text(text.as_bytes()),
        _ => Frame::Binary,
    };
    match inbound.on_frame(frame, now_ms()) {
        Action::Nothing => Ok(()),
        Action::SetPresence(presence) => {
            let update = Event::PresenceUpdate(PresenceUpdate {
                user_id: user,
                presence,
            });
            shared.hub.send(shared.store.neighbours(user), &update);
            Ok(())
        }
        Action::Ack => match shared.hub.encode(&Event::HeartbeatAck) {
            Some(json) => writer.send(json).await,
            None => Err(End::Close(CloseReason::Internal)),
        },
        Action::Close(reason) => Err(End::Close(reason)),
    }
}

/// The sending half, which gives up when the client stops reading.
struct Writer<'a> {
    socket: &'a mut Socket,
    outbound: Outbound,
    kick: &'a CancellationToken,
    shutdown: &'a CancellationToken,
    /// A client that accepts nothing for this long is dead, even if no
    /// further event comes to overflow its queue.
    write_timeout: Duration,
}

impl Writer<'_> {
    /// Writes one message and flushes.
    async fn send(&mut self, json: Utf8Bytes) -> Result<(), End> {
        self.send_batch(json, || None).await
    }

    /// Writes `first`, then whatever `more` yields (up to [`BATCH`]
    /// messages in all), and flushes once: a burst of events costs one
    /// write to the socket rather than one per event.
    async fn send_batch(
        &mut self,
        first: Utf8Bytes,
        mut more: impl FnMut() -> Option<Utf8Bytes>,
    ) -> Result<(), End> {
        let Self {
            socket, outbound, ..
        } = self;
        // Taken before writing, so that the zlib stream knows which event
        // ends the batch (and lets go of its compressor).
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match more() {
                Some(json) => batch.push(json),
                None => break,
            }
        }
        let write = async move {
            let count = batch.len();
            for (index, json) in batch.into_iter().enumerate() {
                let messages = outbound
                    .messages(json, index + 1 == count)
                    .map_err(|_| End::Close(CloseReason::Internal))?;
                for message in messages {
                    socket.feed(message).await.map_err(|_| End::Drop)?;
                }
            }
            socket.flush().await.map_err(|_| End::Drop)
        };
        // A client that stops reading blocks the write; the kick (its queue
        // overflowed meanwhile) or shutdown then ends the connection. The
        // close frame still goes out if the client resumes reading soon:
        // tungstenite buffers whole frames, so an interrupted write leaves
        // no partial frame behind.
        tokio::select! {
            result = write => result,
            () = self.kick.cancelled() => Err(End::Kicked),
            () = self.shutdown.cancelled() => Err(End::Close(CloseReason::GoingAway)),
            () = tokio::time::sleep(self.write_timeout) => Err(End::Close(CloseReason::TooSlow)),
        }
    }
}

/// Sends a close frame and waits briefly for the client's, reading (and
/// discarding) what it still sends so that the close frame is not lost to
/// a TCP reset.
async fn close(socket: &mut Socket, reason: CloseReason) {
    close_within(socket, reason, CLOSE_TIMEOUT).await;
}

/// [`close`], waiting at most `wait`.
async fn close_within(socket: &mut Socket, reason: CloseReason, wait: Duration) {
    let frame = CloseFrame {
        code: CloseCode::from(reason.code()),
        reason: Utf8Bytes::from_static(reason.reason()),
    };
    let drain = async {
        if socket.close(Some(frame)).await.is_err() {
            return;
        }
        while let Some(Ok(_)) = socket.next().await {}
    };
    let _ = timeout(wait, drain).await;
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}
