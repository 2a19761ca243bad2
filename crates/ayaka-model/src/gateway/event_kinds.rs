//! A set of event kinds: what a consumer wants decoded.

use std::fmt;
use std::ops::{BitOr, BitOrAssign, Sub};

use super::event::EventKind;

/// A set of [`EventKind`]s, in the spirit of twilight's `EventTypeFlags`:
/// what a consumer wants, so that a shard decodes only those events and
/// skips the payload of the others.
///
/// ```
/// use ayaka_model::gateway::{EventKind, EventKinds};
///
/// let wanted = EventKinds::of(&[EventKind::GuildCreate, EventKind::GuildDelete]);
/// assert!(wanted.contains(EventKind::GuildCreate));
/// assert!(!wanted.contains(EventKind::PresenceUpdate));
/// assert_eq!(wanted.len(), 2);
///
/// let everything_but_presences = EventKinds::ALL - EventKind::PresenceUpdate;
/// assert!(!everything_but_presences.contains(EventKind::PresenceUpdate));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct EventKinds(u16);

impl EventKinds {
    /// No kind.
    pub const NONE: Self = Self(0);
    /// Every kind, [`EventKind::Unknown`] included (events whose name this
    /// library does not know).
    pub const ALL: Self = Self::of(&EventKind::ALL);

    /// The set of `kinds`.
    pub const fn of(kinds: &[EventKind]) -> Self {
        let mut bits = 0;
        let mut index = 0;
        while index < kinds.len() {
            bits |= Self::bit(kinds[index]);
            index += 1;
        }
        Self(bits)
    }

    const fn bit(kind: EventKind) -> u16 {
        1 << kind.index()
    }

    /// Whether `kind` is in the set.
    pub const fn contains(self, kind: EventKind) -> bool {
        self.0 & Self::bit(kind) != 0
    }

    /// The set with `kind` added.
    #[must_use]
    pub const fn with(self, kind: EventKind) -> Self {
        Self(self.0 | Self::bit(kind))
    }

    /// The set without `kind`.
    #[must_use]
    pub const fn without(self, kind: EventKind) -> Self {
        Self(self.0 & !Self::bit(kind))
    }

    /// Adds `kind`.
    pub fn insert(&mut self, kind: EventKind) {
        *self = self.with(kind);
    }

    /// Removes `kind`.
    pub fn remove(&mut self, kind: EventKind) {
        *self = self.without(kind);
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every kind is in the set.
    pub const fn is_all(self) -> bool {
        self.0 == Self::ALL.0
    }

    /// How many kinds are in the set.
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The kinds in the set, in [`EventKind::ALL`]'s order.
    pub fn iter(self) -> impl Iterator<Item = EventKind> {
        EventKind::ALL
            .into_iter()
            .filter(move |&kind| self.contains(kind))
    }
}

impl From<EventKind> for EventKinds {
    fn from(kind: EventKind) -> Self {
        Self::NONE.with(kind)
    }
}

impl FromIterator<EventKind> for EventKinds {
    fn from_iter<I: IntoIterator<Item = EventKind>>(kinds: I) -> Self {
        let mut set = Self::NONE;
        set.extend(kinds);
        set
    }
}

impl Extend<EventKind> for EventKinds {
    fn extend<I: IntoIterator<Item = EventKind>>(&mut self, kinds: I) {
        for kind in kinds {
            self.insert(kind);
        }
    }
}

impl<T: Into<EventKinds>> BitOr<T> for EventKinds {
    type Output = Self;
    fn bitor(self, rhs: T) -> Self {
        Self(self.0 | rhs.into().0)
    }
}

impl BitOr for EventKind {
    type Output = EventKinds;
    fn bitor(self, rhs: Self) -> EventKinds {
        EventKinds::from(self).with(rhs)
    }
}

impl<T: Into<EventKinds>> BitOrAssign<T> for EventKinds {
    fn bitor_assign(&mut self, rhs: T) {
        self.0 |= rhs.into().0;
    }
}

impl<T: Into<EventKinds>> Sub<T> for EventKinds {
    type Output = Self;
    fn sub(self, rhs: T) -> Self {
        Self(self.0 & !rhs.into().0)
    }
}

impl fmt::Debug for EventKinds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_bit() {
        for (index, kind) in EventKind::ALL.into_iter().enumerate() {
            let alone = EventKinds::from(kind);
            assert_eq!(alone.len(), 1);
            assert_eq!(alone.iter().collect::<Vec<_>>(), [kind]);
            assert_eq!(EventKind::ALL[index], kind);
            assert!(EventKinds::ALL.contains(kind));
            assert!(!EventKinds::NONE.contains(kind));
            assert!(!(EventKinds::ALL - kind).contains(kind));
        }
        assert_eq!(EventKinds::ALL.len(), EventKind::ALL.len());
        assert!(EventKinds::ALL.is_all());
    }

    #[test]
    fn sets_combine() {
        let mut set = EventKind::Ready | EventKind::GuildInit;
        set |= EventKind::GuildDelete;
        set.remove(EventKind::GuildInit);
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [EventKind::Ready, EventKind::GuildDelete]
        );
        assert_eq!(format!("{set:?}"), "{Ready, GuildDelete}");
        let collected: EventKinds = [EventKind::Ready, EventKind::GuildDelete]
            .into_iter()
            .collect();
        assert_eq!(collected, set);
        assert!((set - set).is_empty());
    }
}
