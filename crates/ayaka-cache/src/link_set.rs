//! The values one index key links to. Most keys link to a handful (the
//! guilds a user shares with the bot, a guild's channels), so they sit in a
//! vector, which a first sync fills without hashing; a key that gathers
//! many switches to a hash set, so no key costs more than O(1) per link.

use std::hash::Hash;

use foldhash::fast::RandomState;

type HashSet<V> = std::collections::HashSet<V, RandomState>;

/// Past this many values a linear scan costs more than hashing.
const FEW: usize = 16;

/// A set of values: a vector while small, a hash set once large.
#[derive(Debug)]
pub(crate) enum LinkSet<V> {
    Few(Vec<V>),
    Many(HashSet<V>),
}

impl<V> Default for LinkSet<V> {
    fn default() -> Self {
        Self::Few(Vec::new())
    }
}

impl<V: Eq + Hash> LinkSet<V> {
    /// Adds `value`; `false` if it was there.
    pub(crate) fn insert(&mut self, value: V) -> bool {
        match self {
            Self::Few(values) if values.contains(&value) => false,
            Self::Few(values) if values.len() < FEW => {
                values.push(value);
                true
            }
            Self::Few(values) => {
                let mut set: HashSet<V> = values.drain(..).collect();
                set.insert(value);
                *self = Self::Many(set);
                true
            }
            Self::Many(set) => set.insert(value),
        }
    }

    /// Removes `value`; `false` if it was not there.
    pub(crate) fn remove(&mut self, value: &V) -> bool {
        match self {
            Self::Few(values) => match values.iter().position(|held| held == value) {
                Some(index) => {
                    values.swap_remove(index);
                    true
                }
                None => false,
            },
            Self::Many(set) => set.remove(value),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        match self {
            Self::Few(values) => values.is_empty(),
            Self::Many(set) => set.is_empty(),
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &V> {
        let (few, many) = match self {
            Self::Few(values) => (Some(values.iter()), None),
            Self::Many(set) => (None, Some(set.iter())),
        };
        few.into_iter().flatten().chain(many.into_iter().flatten())
    }
}

impl<V> IntoIterator for LinkSet<V> {
    type Item = V;
    type IntoIter = IntoIter<V>;

    fn into_iter(self) -> IntoIter<V> {
        match self {
            Self::Few(values) => IntoIter::Few(values.into_iter()),
            Self::Many(set) => IntoIter::Many(set.into_iter()),
        }
    }
}

/// The values of a [`LinkSet`], by value.
pub(crate) enum IntoIter<V> {
    Few(std::vec::IntoIter<V>),
    Many(std::collections::hash_set::IntoIter<V>),
}

impl<V> Iterator for IntoIter<V> {
    type Item = V;

    fn next(&mut self) -> Option<V> {
        match self {
            Self::Few(values) => values.next(),
            Self::Many(values) => values.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Self::Few(values) => values.size_hint(),
            Self::Many(values) => values.size_hint(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{FEW, LinkSet};

    #[test]
    fn behaves_as_a_set_on_both_sides_of_the_switch() {
        let mut set = LinkSet::default();
        for n in 0..(FEW as u64 * 3) {
            assert!(set.insert(n), "{n} is new");
            assert!(!set.insert(n), "{n} is held");
            assert_eq!(set.iter().count() as u64, n + 1);
        }
        assert!(matches!(set, LinkSet::Many(_)), "switched past {FEW}");
        for n in (0..(FEW as u64 * 3)).step_by(2) {
            assert!(set.remove(&n));
            assert!(!set.remove(&n));
        }
        let mut left: Vec<u64> = set.into_iter().collect();
        left.sort_unstable();
        assert_eq!(left, (1..(FEW as u64 * 3)).step_by(2).collect::<Vec<_>>());

        let mut few = LinkSet::default();
        few.insert(1u64);
        few.insert(2);
        assert!(few.remove(&1));
        assert!(!few.is_empty());
        assert!(few.remove(&2));
        assert!(few.is_empty());
        assert!(matches!(few, LinkSet::Few(_)));
    }
}
