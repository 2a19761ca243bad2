//! The two map shapes the cache is built from: a possibly bounded store of
//! values, and a one-to-many index. Neither hands out a map guard: reads
//! clone an `Arc` or copy ids out, so no lock outlives a call.

use std::borrow::Borrow;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use dashmap::mapref::entry::Entry;
use foldhash::fast::RandomState;

use crate::link_set::LinkSet;

/// Ids are server-issued snowflakes, not attacker-chosen keys in bulk, so a
/// fast seeded hasher beats SipHash here; foldhash still resists HashDoS
/// within reason.
type DashMap<K, V> = dashmap::DashMap<K, V, RandomState>;

/// A count of entries with an optional bound: what the bounded kinds
/// (members, presences, invites) share.
#[derive(Debug)]
pub(crate) struct Bound {
    len: AtomicUsize,
    max: Option<usize>,
    dropped: AtomicU64,
}

impl Bound {
    pub(crate) fn new(max: Option<usize>) -> Self {
        Self {
            len: AtomicUsize::new(0),
            max,
            dropped: AtomicU64::new(0),
        }
    }

    /// Counts one new entry, or refuses it (and counts the refusal) at the
    /// bound. With concurrent writers the bound may be passed by at most
    /// their number, since the check and the count are not one step.
    pub(crate) fn admit(&self) -> bool {
        if self
            .max
            .is_some_and(|max| self.len.load(Ordering::Relaxed) >= max)
        {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        self.len.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Uncounts `n` removed entries.
    pub(crate) fn release(&self, n: usize) {
        self.len.fetch_sub(n, Ordering::Relaxed);
    }

    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Values by key, with an optional bound on how many are kept.
#[derive(Debug)]
pub(crate) struct Store<K: Eq + Hash, V> {
    map: DashMap<K, Arc<V>>,
    bound: Bound,
}

impl<K: Eq + Hash + Clone, V> Store<K, V> {
    pub(crate) fn new(max: Option<usize>) -> Self {
        Self {
            map: DashMap::default(),
            bound: Bound::new(max),
        }
    }

    /// Inserts or replaces; a new key past the bound is dropped (and
    /// counted).
    pub(crate) fn insert(&self, key: K, value: V) -> bool {
        self.put(self.map.entry(key), value)
    }

    /// Puts `value` in `entry`, admitting a new key through the bound.
    fn put(&self, entry: Entry<'_, K, Arc<V>>, value: V) -> bool {
        match entry {
            Entry::Occupied(mut entry) => {
                entry.insert(Arc::new(value));
                true
            }
            Entry::Vacant(entry) => {
                if !self.bound.admit() {
                    return false;
                }
                entry.insert(Arc::new(value));
                true
            }
        }
    }

    /// Like [`insert`](Self::insert), but leaves an equal value in place:
    /// replays and GUILD_UPDATEs mostly repeat what is held, and comparing
    /// is cheaper than allocating.
    pub(crate) fn upsert(&self, key: K, value: &V) -> bool
    where
        V: PartialEq + Clone,
    {
        // One lookup, not a read then a write: most upserts on a first
        // sync are new keys.
        let entry = self.map.entry(key);
        if let Entry::Occupied(held) = &entry
            && **held.get() == *value
        {
            return true;
        }
        self.put(entry, value.clone())
    }

    pub(crate) fn get<Q>(&self, key: &Q) -> Option<Arc<V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.get(key).map(|entry| Arc::clone(entry.value()))
    }

    pub(crate) fn remove(&self, key: &K) -> Option<Arc<V>> {
        let removed = self.map.remove(key).map(|(_, value)| value);
        if removed.is_some() {
            self.bound.release(1);
        }
        removed
    }

    pub(crate) fn len(&self) -> usize {
        self.bound.len()
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.bound.dropped()
    }

    pub(crate) fn values(&self) -> Vec<Arc<V>> {
        self.map
            .iter()
            .map(|entry| Arc::clone(entry.value()))
            .collect()
    }

    pub(crate) fn keys(&self) -> Vec<K> {
        self.map.iter().map(|entry| entry.key().clone()).collect()
    }

    /// Empties the store. Each entry is uncounted as it goes, under its
    /// shard's lock, so a writer racing the clear can neither leave the
    /// count too low (which would let a bounded store grow past its bound)
    /// nor make a later removal wrap it around (which would refuse every
    /// new entry for good).
    pub(crate) fn clear(&self) {
        self.map.retain(|_, _| {
            self.bound.release(1);
            false
        });
    }
}

/// A one-to-many relation, such as guild → channel ids.
#[derive(Debug)]
pub(crate) struct Index<K: Eq + Hash, V: Eq + Hash> {
    map: DashMap<K, LinkSet<V>>,
}

impl<K: Eq + Hash, V: Eq + Hash + Clone> Index<K, V> {
    pub(crate) fn new() -> Self {
        Self {
            map: DashMap::default(),
        }
    }

    pub(crate) fn add(&self, key: K, value: V) {
        self.map.entry(key).or_default().insert(value);
    }

    /// Adds a link and runs `also` under the key's lock, so a concurrent
    /// [`remove_with`](Self::remove_with) of the same key sees either
    /// neither or both.
    pub(crate) fn add_with(&self, key: K, value: V, also: impl FnOnce()) {
        let mut set = self.map.entry(key).or_default();
        also();
        set.insert(value);
    }

    /// Removes one link; if the key has none left, drops it and runs
    /// `on_emptied` under its lock, so no [`add_with`](Self::add_with) can
    /// slip in between the check and what `on_emptied` undoes.
    pub(crate) fn remove_with(&self, key: &K, value: &V, on_emptied: impl FnOnce()) {
        self.map.remove_if_mut(key, |_, set| {
            set.remove(value);
            let emptied = set.is_empty();
            if emptied {
                on_emptied();
            }
            emptied
        });
    }

    /// Removes one link, and the key once it has none.
    pub(crate) fn remove(&self, key: &K, value: &V) {
        self.remove_with(key, value, || {});
    }

    pub(crate) fn take(&self, key: &K) -> LinkSet<V> {
        self.map.remove(key).map(|(_, set)| set).unwrap_or_default()
    }

    pub(crate) fn get(&self, key: &K) -> Vec<V> {
        self.map
            .get(key)
            .map(|set| set.iter().cloned().collect())
            .unwrap_or_default()
    }

    pub(crate) fn keys(&self) -> Vec<K>
    where
        K: Clone,
    {
        self.map.iter().map(|entry| entry.key().clone()).collect()
    }

    pub(crate) fn clear(&self) {
        self.map.clear();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Barrier};

    use super::Store;

    #[test]
    fn the_count_stays_exact_while_writers_race_a_clear() {
        let store = Arc::new(Store::<u32, u32>::new(Some(10_000)));
        let stop = Arc::new(AtomicBool::new(false));
        let start = Arc::new(Barrier::new(3));
        let writers: Vec<_> = (0..2u32)
            .map(|w| {
                let (store, stop) = (Arc::clone(&store), Arc::clone(&stop));
                let start = Arc::clone(&start);
                std::thread::spawn(move || {
                    start.wait();
                    let mut n = 0u32;
                    while !stop.load(Ordering::Relaxed) {
                        let key = w * 1_000 + n % 1_000;
                        store.insert(key, n);
                        if n.is_multiple_of(3) {
                            store.remove(&key);
                        }
                        // 2,000 keys, and removers uncount just after
                        // removing: anything more is a miscount.
                        assert!(store.len() <= 2_002, "count wrapped: {}", store.len());
                        n = n.wrapping_add(1);
                    }
                })
            })
            .collect();
        start.wait();
        for _ in 0..20_000 {
            store.clear();
        }
        stop.store(true, Ordering::Relaxed);
        for writer in writers {
            writer.join().unwrap();
        }
        assert_eq!(store.len(), store.map.len());
        store.clear();
        assert_eq!(store.len(), 0);
        assert!(store.insert(1, 1), "the bound still admits new entries");
    }
}
