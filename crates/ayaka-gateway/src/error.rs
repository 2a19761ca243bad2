//! The crate's one error type.

use std::{error::Error as StdError, fmt, sync::Arc};

use ayaka_model::cause;

/// What went wrong, to match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The zlib stream was corrupt, truncated or ended early.
    Decompress,
    /// A message grew beyond the configured maximum size.
    MessageTooLarge,
    /// A message was not a valid event envelope.
    Parse,
    /// Asking `/available` for a port failed or gave an unusable answer.
    Discovery,
    /// A gateway or REST URL could not be used.
    InvalidUrl,
    /// Opening the connection failed (TCP, TLS or the WebSocket handshake).
    Connect,
    /// The open connection failed.
    Transport,
    /// No Pong arrived in time: the connection is considered dead.
    PingTimeout,
    /// The server closed the connection because the shard did not read its
    /// events fast enough (4000, "too slow"): the consumer fell behind by
    /// more than the read-ahead bound. The shard reconnects; what the
    /// server dropped meanwhile is lost.
    TooSlow,
    /// The server closed the connection with a code that forbids reconnecting.
    FatalClose {
        /// The WebSocket close code, e.g. 4002.
        code: u16,
    },
    /// The shard has ended; it accepts no more commands.
    Closed,
    /// A wait ran out of time.
    Timeout,
    /// A command could not be serialised.
    Serialize,
    /// The [`IdentifyQueue`](crate::IdentifyQueue) could not give a turn
    /// to identify; the shard tries again after a backoff.
    IdentifyQueue,
    /// The shard's task panicked (in code it runs for you, such as an
    /// [`IdentifyQueue`](crate::IdentifyQueue)); the shard has ended.
    ShardPanicked,
    /// A [`Dispatcher`](crate::Dispatcher) listener panicked; the other
    /// listeners carry on.
    ListenerPanicked,
}

/// The error of this crate: a [`kind`](Error::kind) and, where there is one,
/// the underlying cause.
///
/// Cheap to clone, so lifecycle reports can carry it to several listeners.
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
    source: Option<Arc<dyn StdError + Send + Sync>>,
}

impl Error {
    /// An error of `kind` without a cause.
    ///
    /// The crate makes its own errors; this and
    /// [`with_source`](Self::with_source) are for code that drives a
    /// [`ShardMachine`](crate::machine::ShardMachine) and has to tell it
    /// what went wrong with its socket.
    pub fn new(kind: ErrorKind) -> Self {
        Self { kind, source: None }
    }

    /// An error of `kind` with its cause.
    ///
    /// ```
    /// use ayaka_gateway::{Error, ErrorKind};
    /// let error = Error::with_source(ErrorKind::Transport, "connection reset");
    /// assert_eq!(error.to_string(), "gateway connection failed: connection reset");
    /// ```
    pub fn with_source(
        kind: ErrorKind,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self {
            kind,
            source: Some(Arc::from(source.into())),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The underlying cause, if there is one.
    ///
    /// Shared rather than boxed: the error is [`Clone`], so that one
    /// lifecycle report can reach several listeners. Downcast it with
    /// `source.downcast_ref::<T>()`.
    pub fn into_source(self) -> Option<Arc<dyn StdError + Send + Sync>> {
        self.source
    }

    /// The kind and the underlying cause, taken apart.
    ///
    /// ```
    /// use ayaka_gateway::{ErrorKind, parse_event};
    ///
    /// let error = parse_event(b"not json").unwrap_err();
    /// let (kind, source) = error.into_parts();
    /// assert_eq!(kind, ErrorKind::Parse);
    /// assert!(source.is_some());
    /// ```
    pub fn into_parts(self) -> (ErrorKind, Option<Arc<dyn StdError + Send + Sync>>) {
        (self.kind, self.source)
    }

    /// The close code of a [`ErrorKind::FatalClose`].
    pub fn close_code(&self) -> Option<u16> {
        match self.kind {
            ErrorKind::FatalClose { code } => Some(code),
            _ => None,
        }
    }

    /// Whether this error ends the shard for good (a reconnect cannot help).
    pub fn is_fatal(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::FatalClose { .. }
                | ErrorKind::InvalidUrl
                | ErrorKind::Closed
                | ErrorKind::ShardPanicked
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ErrorKind::Decompress => f.write_str("corrupt or truncated zlib stream")?,
            ErrorKind::MessageTooLarge => f.write_str("gateway message exceeds the size limit")?,
            ErrorKind::Parse => f.write_str("invalid gateway event")?,
            ErrorKind::Discovery => f.write_str("gateway port discovery failed")?,
            ErrorKind::InvalidUrl => f.write_str("invalid URL")?,
            ErrorKind::Connect => f.write_str("could not connect to the gateway")?,
            ErrorKind::Transport => f.write_str("gateway connection failed")?,
            ErrorKind::PingTimeout => f.write_str("no pong within the ping timeout")?,
            ErrorKind::FatalClose { code } => {
                write!(f, "gateway closed the connection with fatal code {code}")?;
            }
            ErrorKind::Closed => f.write_str("the shard is closed")?,
            ErrorKind::Timeout => f.write_str("timed out")?,
            ErrorKind::Serialize => f.write_str("could not serialise a command")?,
            ErrorKind::TooSlow => {
                f.write_str("the server closed the connection: events were not read fast enough")?;
            }
            ErrorKind::IdentifyQueue => f.write_str("the identify queue gave no turn")?,
            ErrorKind::ShardPanicked => f.write_str("the shard's task panicked")?,
            ErrorKind::ListenerPanicked => f.write_str("a listener panicked")?,
        }
        cause::write_suffix(f, self.source.as_deref())
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        cause::as_source(self.source.as_deref())
    }
}
