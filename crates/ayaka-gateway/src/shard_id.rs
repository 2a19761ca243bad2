//! The id of a shard.

use std::fmt;

/// Identifies a shard within a process (or a [`ShardManager`](crate::ShardManager)).
///
/// ```
/// use ayaka_gateway::ShardId;
/// assert_eq!(ShardId(3).to_string(), "shard 3");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShardId(pub u32);

impl fmt::Display for ShardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shard {}", self.0)
    }
}
