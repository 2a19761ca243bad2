use std::fmt;
use std::ops::{BitOr, BitOrAssign, Sub};

/// A set of the kinds of resource the cache keeps.
///
/// ```
/// use ayaka_cache::ResourceType;
///
/// let kept = ResourceType::ALL - ResourceType::PRESENCE;
/// assert!(kept.contains(ResourceType::GUILD));
/// assert!(!kept.contains(ResourceType::PRESENCE));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResourceType(u16);

impl ResourceType {
    /// The current user, from READY.
    pub const CURRENT_USER: Self = Self(1 << 0);
    /// Guilds.
    pub const GUILD: Self = Self(1 << 1);
    /// Channels of guilds.
    pub const CHANNEL: Self = Self(1 << 2);
    /// Roles of guilds.
    pub const ROLE: Self = Self(1 << 3);
    /// Emojis of guilds.
    pub const EMOJI: Self = Self(1 << 4);
    /// Members of guilds, and the users behind them.
    pub const MEMBER: Self = Self(1 << 5);
    /// Presences of users.
    pub const PRESENCE: Self = Self(1 << 6);
    /// Invites to guilds.
    pub const INVITE: Self = Self(1 << 7);
    /// Nothing at all: every update is a no-op.
    pub const NONE: Self = Self(0);
    /// Everything.
    pub const ALL: Self = Self((1 << 8) - 1);

    /// Whether every kind in `other` is in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no kind is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl BitOr for ResourceType {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl BitOrAssign for ResourceType {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

impl Sub for ResourceType {
    type Output = Self;
    fn sub(self, rhs: Self) -> Self {
        Self(self.0 & !rhs.0)
    }
}

impl fmt::Debug for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [(ResourceType, &str); 8] = [
            (ResourceType::CURRENT_USER, "CURRENT_USER"),
            (ResourceType::GUILD, "GUILD"),
            (ResourceType::CHANNEL, "CHANNEL"),
            (ResourceType::ROLE, "ROLE"),
            (ResourceType::EMOJI, "EMOJI"),
            (ResourceType::MEMBER, "MEMBER"),
            (ResourceType::PRESENCE, "PRESENCE"),
            (ResourceType::INVITE, "INVITE"),
        ];
        let mut set = f.debug_set();
        for (kind, name) in NAMES {
            if self.contains(kind) {
                set.entry(&format_args!("{name}"));
            }
        }
        set.finish()
    }
}

/// What a [`Cache`](crate::Cache) keeps and how much of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub(crate) resources: ResourceType,
    pub(crate) max_members: Option<usize>,
    pub(crate) max_presences: Option<usize>,
    pub(crate) max_invites: Option<usize>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            resources: ResourceType::ALL,
            max_members: None,
            max_presences: None,
            max_invites: None,
        }
    }
}

impl Config {
    /// The kinds kept.
    pub fn resources(&self) -> ResourceType {
        self.resources
    }

    /// The bound on cached members, if any.
    pub fn max_members(&self) -> Option<usize> {
        self.max_members
    }

    /// The bound on cached presences, if any.
    pub fn max_presences(&self) -> Option<usize> {
        self.max_presences
    }

    /// The bound on cached invites, if any.
    pub fn max_invites(&self) -> Option<usize> {
        self.max_invites
    }
}

/// Builds a [`Cache`](crate::Cache); see [`Cache::builder`](crate::Cache::builder).
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct CacheBuilder {
    config: Config,
}

impl CacheBuilder {
    /// Which kinds to keep (default: [`ResourceType::ALL`]).
    pub fn resources(mut self, resources: ResourceType) -> Self {
        self.config.resources = resources;
        self
    }

    /// Keep at most `max` members; further new members are not cached (and
    /// counted in [`CacheStats::dropped`](crate::CacheStats)). Default: no bound.
    pub fn max_members(mut self, max: usize) -> Self {
        self.config.max_members = Some(max);
        self
    }

    /// Keep at most `max` presences. Default: no bound.
    pub fn max_presences(mut self, max: usize) -> Self {
        self.config.max_presences = Some(max);
        self
    }

    /// Keep at most `max` invites. Default: no bound.
    pub fn max_invites(mut self, max: usize) -> Self {
        self.config.max_invites = Some(max);
        self
    }

    /// The cache.
    pub fn build(self) -> crate::Cache {
        crate::Cache::with_config(self.config)
    }
}
