//! Which of a deployment's shards one process runs, when a bot's shards are
//! split over several processes.

use std::collections::BTreeSet;
use std::ops::Range;

/// Which of a deployment's shards a [`ShardManager`](crate::ShardManager)
/// runs in this process.
///
/// A deployment's shards are numbered the same way in every process: for
/// each session given to the builder, in order, its
/// [`connections_per_session`](crate::ShardManagerBuilder::connections_per_session)
/// connections. Session `s`'s connection `c` is shard
/// `s * connections_per_session + c`, of `sessions × connections_per_session`
/// in all. Every process builds its manager with the same sessions in the
/// same order and runs the shards its assignment names, under those
/// numbers: a [`ShardId`](crate::ShardId) then names one shard across every
/// process (in a shared event stream, say, or a command sent to it).
///
/// Like serenity's `index`/`init`/`total` ([`range`](Self::range)) and
/// discord.js's `shardIds` ([`ids`](Self::ids)); [`process`](Self::process)
/// splits the shards evenly without the arithmetic.
///
/// ```
/// use ayaka_gateway::ShardAssignment;
///
/// // 3 sessions × 2 connections = 6 shards over 3 processes.
/// assert_eq!(ShardAssignment::process(0, 3).shards(6), [0, 1]);
/// assert_eq!(ShardAssignment::process(2, 3).shards(6), [4, 5]);
/// assert_eq!(ShardAssignment::range(2..4).shards(6), [2, 3]);
/// assert_eq!(ShardAssignment::ids([5, 1]).shards(6), [1, 5]);
/// assert_eq!(ShardAssignment::all().shards(3), [0, 1, 2]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShardAssignment(Assigned);

#[derive(Debug, Clone, PartialEq, Eq, Default)]
enum Assigned {
    #[default]
    All,
    Range(Range<u32>),
    Ids(BTreeSet<u32>),
    Process {
        index: u32,
        processes: u32,
    },
}

impl ShardAssignment {
    /// Every shard (the default: one process runs them all).
    pub fn all() -> Self {
        Self(Assigned::All)
    }

    /// The shards in `range` (serenity's `index..index + init`).
    pub fn range(range: Range<u32>) -> Self {
        Self(Assigned::Range(range))
    }

    /// These shards (discord.js's `shardIds`).
    pub fn ids(ids: impl IntoIterator<Item = u32>) -> Self {
        Self(Assigned::Ids(ids.into_iter().collect()))
    }

    /// Process `index` (from 0) of `processes` running the deployment
    /// together: an even, contiguous share of the shards, so that the
    /// processes' shares cover every shard once. A share is empty when
    /// there are more processes than shards, or `index >= processes`.
    pub fn process(index: u32, processes: u32) -> Self {
        Self(Assigned::Process { index, processes })
    }

    /// The shards this assignment names out of `total`, in order. Numbers
    /// at or past `total` name no shard and are left out.
    pub fn shards(&self, total: u32) -> Vec<u32> {
        match &self.0 {
            Assigned::All => (0..total).collect(),
            Assigned::Range(range) => (range.start..range.end.min(total)).collect(),
            Assigned::Ids(ids) => ids.range(..total).copied().collect(),
            Assigned::Process { index, processes } => {
                if index >= processes {
                    return Vec::new();
                }
                // u64: `total * index` overflows u32 for large deployments.
                let share = |i: u32| u64::from(total) * u64::from(i) / u64::from(*processes);
                let (start, end) = (share(*index), share(index + 1));
                // both at most `total`, so they fit
                (u32::try_from(start).unwrap_or(total)..u32::try_from(end).unwrap_or(total))
                    .collect()
            }
        }
    }

    /// Whether the assignment names numbers at or past `total` (a
    /// configuration mistake: those shards do not exist).
    pub(crate) fn overreaches(&self, total: u32) -> bool {
        match &self.0 {
            Assigned::All | Assigned::Process { .. } => false,
            Assigned::Range(range) => range.end > total,
            Assigned::Ids(ids) => ids.last().is_some_and(|last| *last >= total),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processes_cover_every_shard_once() {
        for total in [0, 1, 5, 6, 7, 64, 1000] {
            for processes in 1..=9 {
                let mut seen: Vec<u32> = (0..processes)
                    .flat_map(|index| ShardAssignment::process(index, processes).shards(total))
                    .collect();
                let shares: Vec<usize> = (0..processes)
                    .map(|index| {
                        ShardAssignment::process(index, processes)
                            .shards(total)
                            .len()
                    })
                    .collect();
                // even: shares differ by at most one
                let (min, max) = (shares.iter().min(), shares.iter().max());
                assert!(max.zip(min).is_some_and(|(max, min)| max - min <= 1));
                seen.sort_unstable();
                assert_eq!(seen, (0..total).collect::<Vec<_>>(), "{total}/{processes}");
            }
        }
    }

    #[test]
    fn out_of_range_numbers_name_nothing() {
        assert!(ShardAssignment::process(3, 3).shards(6).is_empty());
        assert!(ShardAssignment::process(0, 0).shards(6).is_empty());
        assert_eq!(ShardAssignment::range(4..10).shards(6), [4, 5]);
        assert!(ShardAssignment::range(4..10).overreaches(6));
        assert_eq!(ShardAssignment::ids([1, 6, 9]).shards(6), [1]);
        assert!(ShardAssignment::ids([1, 6]).overreaches(6));
        assert!(!ShardAssignment::ids([1, 5]).overreaches(6));
        assert!(!ShardAssignment::all().overreaches(0));
        let huge = ShardAssignment::process(u32::MAX - 1, u32::MAX).shards(u32::MAX);
        assert_eq!(huge, [u32::MAX - 1]);
    }
}
