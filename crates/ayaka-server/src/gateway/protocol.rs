//! The gateway's protocol decisions, free of I/O: what a client frame means
//! and which close code ends a connection. The connection task only moves
//! bytes and follows these answers.

use ayaka_model::Presence;
use ayaka_model::gateway::{ClientCommand, Identify, IdentifyError};

use crate::ratelimit::Limit;

/// Why the server closes a connection, with the protocol page's codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CloseReason {
    /// 4000: the client did not read fast enough (its queue overflowed).
    TooSlow,
    /// 4000: the server failed (for example, could not encode a message).
    Internal,
    /// 4001: an identify field of the wrong type.
    WrongType,
    /// 4002: an unknown session id, or an identify that is not a JSON
    /// object in a text frame.
    InvalidAuth,
    /// 4002: a binary frame (clients send text only).
    BinaryFrame,
    /// 4002: the session ended (its user changed the password on another
    /// session).
    SessionEnded,
    /// 4003: the server holds as many connections as it accepts.
    TooManySessions,
    /// 4004: an unknown encoding.
    InvalidEncoding,
    /// 4004: a client message that is not a known command (a second
    /// identify included).
    InvalidEvent,
    /// 4008: more client messages than the limit allows.
    RateLimited,
    /// 4009: no identify in time, or silent for the ping timeout.
    TimedOut,
    /// 1009: a frame or message over the size limit.
    TooBig,
    /// 1002: a frame that breaks the WebSocket protocol (unmasked,
    /// reserved bits, bad opcode...).
    BrokenFrame,
    /// 1001: the server is shutting down.
    GoingAway,
}

impl CloseReason {
    /// The close code sent.
    pub(crate) const fn code(self) -> u16 {
        match self {
            Self::TooSlow | Self::Internal => 4000,
            Self::WrongType => 4001,
            Self::InvalidAuth | Self::BinaryFrame | Self::SessionEnded => 4002,
            Self::TooManySessions => 4003,
            Self::InvalidEncoding | Self::InvalidEvent => 4004,
            Self::RateLimited => 4008,
            Self::TimedOut => 4009,
            Self::TooBig => 1009,
            Self::BrokenFrame => 1002,
            Self::GoingAway => 1001,
        }
    }

    /// The close frame's reason text.
    pub(crate) const fn reason(self) -> &'static str {
        match self {
            Self::TooSlow => "too slow: event queue overflowed",
            Self::Internal => "internal server error",
            Self::WrongType => "identify field of the wrong type",
            Self::InvalidAuth => "invalid authorization or payload type",
            Self::BinaryFrame => "binary frames are not accepted",
            Self::SessionEnded => "session ended: the password was changed",
            Self::TooManySessions => "too many sessions",
            Self::InvalidEncoding => "invalid encoding",
            Self::InvalidEvent => "invalid event",
            Self::RateLimited => "rate limited",
            Self::TimedOut => "session timed out",
            Self::TooBig => "message too big",
            Self::BrokenFrame => "protocol error",
            Self::GoingAway => "server shutting down",
        }
    }
}

impl From<IdentifyError> for CloseReason {
    fn from(error: IdentifyError) -> Self {
        match error.close_code() {
            4001 => Self::WrongType,
            4004 => Self::InvalidEncoding,
            _ => Self::InvalidAuth,
        }
    }
}

/// A data frame from the client.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Frame<'a> {
    /// A text frame's bytes.
    Text(&'a [u8]),
    /// A binary frame.
    Binary,
}

/// Reads the identify payload.
pub(crate) fn identify(frame: Frame<'_>) -> Result<Identify, CloseReason> {
    match frame {
        Frame::Binary => Err(CloseReason::InvalidAuth),
        Frame::Text(bytes) => Identify::parse(bytes).map_err(CloseReason::from),
    }
}

/// What to do about a client message after identify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Nothing to do.
    Nothing,
    /// Record and fan out the client's presence.
    SetPresence(Presence),
    /// Answer `{"t": "ACK"}`.
    Ack,
    /// Close the connection.
    Close(CloseReason),
}

/// The state of an identified connection's incoming side: the message-rate
/// window, and whether application heartbeats are answered.
#[derive(Debug)]
pub(crate) struct Inbound {
    limit: Limit,
    window_ends_ms: u64,
    used: u32,
    answer_heartbeats: bool,
}

impl Inbound {
    pub(crate) fn new(limit: Limit, answer_heartbeats: bool) -> Self {
        Self {
            limit,
            window_ends_ms: 0,
            used: 0,
            answer_heartbeats,
        }
    }

    /// Decides about one data frame received at `now_ms`.
    pub(crate) fn on_frame(&mut self, frame: Frame<'_>, now_ms: u64) -> Action {
        if now_ms >= self.window_ends_ms {
            self.window_ends_ms = now_ms.saturating_add(self.limit.window_millis());
            self.used = 0;
        }
        self.used = self.used.saturating_add(1);
        if self.used > self.limit.requests() {
            return Action::Close(CloseReason::RateLimited);
        }
        let bytes = match frame {
            Frame::Binary => return Action::Close(CloseReason::BinaryFrame),
            Frame::Text(bytes) => bytes,
        };
        match ClientCommand::from_json(bytes) {
            Ok(ClientCommand::PresenceUpdate(presence)) => Action::SetPresence(presence),
            Ok(ClientCommand::Heartbeat) if self.answer_heartbeats => Action::Ack,
            Ok(_) => Action::Nothing,
            Err(_) => Action::Close(CloseReason::InvalidEvent),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use ayaka_model::PresenceType;
    use ayaka_model::gateway::Encoding;

    use super::*;

    fn inbound() -> Inbound {
        Inbound::new(Limit::per_second(3), false)
    }

    #[test]
    fn identify_maps_errors_to_close_codes() {
        let ok = identify(Frame::Text(
            br#"{"session_id": "1.x", "encoding": "zlib", "extra": 1}"#,
        ))
        .unwrap();
        assert_eq!(ok.encoding(), Encoding::Zlib);
        let code = |frame| identify(frame).unwrap_err().code();
        assert_eq!(code(Frame::Binary), 4002);
        assert_eq!(code(Frame::Text(b"not json")), 4002);
        assert_eq!(code(Frame::Text(b"[1]")), 4002);
        assert_eq!(code(Frame::Text(br#"{"encoding": "json"}"#)), 4002);
        assert_eq!(code(Frame::Text(br#"{"session_id": 5}"#)), 4001);
        assert_eq!(
            code(Frame::Text(br#"{"session_id": "a", "encoding": 1}"#)),
            4001
        );
        assert_eq!(
            code(Frame::Text(br#"{"session_id": "a", "encoding": "etf"}"#)),
            4004
        );
    }

    #[test]
    fn commands_become_actions() {
        let mut inbound = inbound();
        assert_eq!(
            inbound.on_frame(
                Frame::Text(br#"{"t": "PRESENCE_UPDATE", "d": {"type": 2}}"#),
                0
            ),
            Action::SetPresence(Presence::new(PresenceType::Idle))
        );
        assert_eq!(
            inbound.on_frame(Frame::Text(br#"{"t": "HEARTBEAT"}"#), 1),
            Action::Nothing
        );
        let mut quirky = Inbound::new(Limit::per_second(3), true);
        assert_eq!(
            quirky.on_frame(Frame::Text(br#"{"t": "HEARTBEAT"}"#), 1),
            Action::Ack
        );
    }

    #[test]
    fn bad_messages_close_with_their_codes() {
        let close = |frame| match inbound().on_frame(frame, 0) {
            Action::Close(reason) => reason.code(),
            other => panic!("expected a close, got {other:?}"),
        };
        assert_eq!(close(Frame::Binary), 4002);
        assert_eq!(close(Frame::Text(b"{")), 4004);
        assert_eq!(close(Frame::Text(br#"{"session_id": "again"}"#)), 4004);
        assert_eq!(close(Frame::Text(br#"{"t": "DANCE"}"#)), 4004);
        assert_eq!(close(Frame::Text(br#"{"t": "PRESENCE_UPDATE"}"#)), 4004);
    }

    #[test]
    fn too_many_messages_in_a_window_close_with_4008() {
        let mut inbound = inbound();
        let heartbeat = Frame::Text(br#"{"t": "HEARTBEAT"}"#);
        for at in 0..3 {
            assert_eq!(inbound.on_frame(heartbeat, at), Action::Nothing);
        }
        assert_eq!(
            inbound.on_frame(heartbeat, 999),
            Action::Close(CloseReason::RateLimited)
        );
        // a new window starts afresh
        assert_eq!(inbound.on_frame(heartbeat, 1_000), Action::Nothing);
    }
}
