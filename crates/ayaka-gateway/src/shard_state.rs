//! Where a shard is in its life.

/// Where a shard is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ShardState {
    /// Finding the port or opening the WebSocket.
    Connecting,
    /// Identified, waiting for READY.
    Identifying,
    /// READY received; events flow.
    Ready,
    /// Waiting to reconnect.
    Reconnecting,
    /// Ended.
    Closed,
}

impl ShardState {
    pub(crate) fn from_u8(value: u8) -> Self {
        match value {
            0 => Self::Connecting,
            1 => Self::Identifying,
            2 => Self::Ready,
            3 => Self::Reconnecting,
            _ => Self::Closed,
        }
    }

    pub(crate) fn to_u8(self) -> u8 {
        match self {
            Self::Connecting => 0,
            Self::Identifying => 1,
            Self::Ready => 2,
            Self::Reconnecting => 3,
            Self::Closed => 4,
        }
    }
}
