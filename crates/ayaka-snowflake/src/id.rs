use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::str::FromStr;

use crate::snowflake::parse_digits;
use crate::{Error, Snowflake};

/// Marker types naming what an [`Id`] identifies.
///
/// They are uninhabited: they exist only as type parameters.
pub mod marker {
    /// Names what a typed id is for, in `Debug` output.
    pub trait Marker {
        /// A short name such as `"User"`.
        const NAME: &'static str;
    }

    macro_rules! markers {
        ($($(#[$doc:meta])* $name:ident => $label:literal;)*) => {$(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
            pub enum $name {}

            impl Marker for $name {
                const NAME: &'static str = $label;
            }
        )*};
    }

    markers! {
        /// Marks the id of a user.
        UserMarker => "User";
        /// Marks the id of a guild.
        GuildMarker => "Guild";
        /// Marks the id of a channel (category, text or voice).
        ChannelMarker => "Channel";
        /// Marks the id of a role.
        RoleMarker => "Role";
        /// Marks the id of an emoji.
        EmojiMarker => "Emoji";
        /// Marks any other snowflake (session prefixes, notifications...).
        GenericMarker => "Generic";
    }
}

use marker::Marker;

/// The id of a user.
pub type UserId = Id<marker::UserMarker>;
/// The id of a guild.
pub type GuildId = Id<marker::GuildMarker>;
/// The id of a channel.
pub type ChannelId = Id<marker::ChannelMarker>;
/// The id of a role.
pub type RoleId = Id<marker::RoleMarker>;
/// The id of an emoji.
pub type EmojiId = Id<marker::EmojiMarker>;

/// A snowflake that knows what it identifies.
///
/// `Id<UserMarker>` and `Id<GuildMarker>` are different types, so ids
/// cannot be mixed up, yet each is a plain 8-byte integer.
///
/// ```
/// use ayaka_snowflake::{GuildId, UserId};
///
/// let user = UserId::new(42);
/// let guild: GuildId = user.cast(); // only on purpose
/// assert_eq!(guild.get(), 42);
/// assert_eq!(std::mem::size_of::<UserId>(), 8);
/// ```
pub struct Id<M> {
    value: u64,
    // `fn() -> M` keeps `Id` `Send + Sync` and covariant whatever `M` is.
    marker: PhantomData<fn() -> M>,
}

impl<M> Id<M> {
    /// Wraps a raw value.
    pub const fn new(value: u64) -> Self {
        Self {
            value,
            marker: PhantomData,
        }
    }

    /// The raw value.
    pub const fn get(self) -> u64 {
        self.value
    }

    /// The same value as a [`Snowflake`], for its timestamp and fields.
    pub const fn snowflake(self) -> Snowflake {
        Snowflake::new(self.value)
    }

    /// The same value as an id of another kind.
    pub const fn cast<N>(self) -> Id<N> {
        Id::new(self.value)
    }
}

// Manual impls: derives would demand `M: Clone`, `M: Eq`... of the marker.
impl<M> Clone for Id<M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M> Copy for Id<M> {}

impl<M> PartialEq for Id<M> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<M> Eq for Id<M> {}

impl<M> PartialOrd for Id<M> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<M> Ord for Id<M> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.value.cmp(&other.value)
    }
}

impl<M> Hash for Id<M> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.value.hash(state);
    }
}

impl<M: Marker> fmt::Debug for Id<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}Id({})", M::NAME, self.value)
    }
}

impl<M> fmt::Display for Id<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.value, f)
    }
}

impl<M> FromStr for Id<M> {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_digits(s).map(Self::new)
    }
}

impl<M> From<Snowflake> for Id<M> {
    fn from(value: Snowflake) -> Self {
        Self::new(value.get())
    }
}

impl<M> From<Id<M>> for Snowflake {
    fn from(value: Id<M>) -> Self {
        value.snowflake()
    }
}

impl<M> From<u64> for Id<M> {
    fn from(value: u64) -> Self {
        Self::new(value)
    }
}

impl<M> From<Id<M>> for u64 {
    fn from(value: Id<M>) -> Self {
        value.value
    }
}
