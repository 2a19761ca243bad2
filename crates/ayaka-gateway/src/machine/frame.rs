//! What crosses the socket, in the state machine's own terms: no
//! WebSocket library's types, so any transport can drive it.

use bytes::Bytes;

use crate::close::CloseFrame;

/// A WebSocket message the shell read from the socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A text message (JSON).
    Text(Bytes),
    /// A binary message: part of the zlib stream, or JSON from an older
    /// server that sent binary frames without compressing.
    Binary(Bytes),
    /// A Ping. The WebSocket layer answers it; the machine only notes it.
    Ping(Bytes),
    /// A Pong, answering one of the machine's pings (or unsolicited).
    Pong(Bytes),
    /// The peer's close frame (`None`: a close without a code). The
    /// WebSocket layer queues the reply.
    Close(Option<CloseFrame>),
}

/// A WebSocket message the machine wants sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transmit {
    /// A text message: identify, or a command.
    Text(String),
    /// A Ping with this payload.
    Ping(Bytes),
    /// Start the closing handshake with this frame. Keep reading: the
    /// machine finishes the connection on the peer's answer, when the
    /// socket ends, or at its deadline.
    Close(CloseFrame),
}
