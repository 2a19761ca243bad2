//! The measured round trips of a shard.

use std::time::Duration;

/// Round-trip statistics of one shard: WebSocket Ping to Pong.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Latency {
    /// The last Ping→Pong round trip.
    pub last: Option<Duration>,
    /// The mean of the recent round trips.
    pub average: Option<Duration>,
}
