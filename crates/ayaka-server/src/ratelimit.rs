//! REST rate limits: fixed windows per client address and bucket.
//!
//! The limiter is a pure state machine over an injected clock (`now` in Unix
//! milliseconds is an argument), so its behaviour is tested without sleeping.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use dashmap::DashMap;

/// The unit of a rate-limit window: the `<per>` of `<limit>/<time>/<per>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Per {
    /// Seconds.
    Second,
    /// Minutes.
    Minute,
    /// Hours.
    Hour,
}

impl Per {
    const fn millis(self) -> u64 {
        match self {
            Self::Second => 1_000,
            Self::Minute => 60_000,
            Self::Hour => 3_600_000,
        }
    }

    const fn as_str(self) -> &'static str {
        match self {
            Self::Second => "second",
            Self::Minute => "minute",
            Self::Hour => "hour",
        }
    }
}

/// A limit: `requests` per `time` `per`, written `10/1/minute`.
///
/// ```
/// use ayaka_server::{Limit, Per};
///
/// let limit: Limit = "10/1/minute".parse()?;
/// assert_eq!(limit, Limit::new(10, 1, Per::Minute));
/// assert_eq!(limit.to_string(), "10/1/minute");
/// # Ok::<(), ayaka_server::ParseLimitError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limit {
    requests: u32,
    time: u32,
    per: Per,
}

impl Limit {
    /// `requests` per `time` `per`. A zero `requests` refuses everything; a
    /// zero `time` is taken as 1.
    pub const fn new(requests: u32, time: u32, per: Per) -> Self {
        let time = if time == 0 { 1 } else { time };
        Self {
            requests,
            time,
            per,
        }
    }

    /// `requests` per second.
    pub const fn per_second(requests: u32) -> Self {
        Self::new(requests, 1, Per::Second)
    }

    /// `requests` per minute.
    pub const fn per_minute(requests: u32) -> Self {
        Self::new(requests, 1, Per::Minute)
    }

    /// How many requests a window allows.
    pub const fn requests(self) -> u32 {
        self.requests
    }

    /// The window's length in milliseconds.
    pub const fn window_millis(self) -> u64 {
        self.time as u64 * self.per.millis()
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.requests, self.time, self.per.as_str())
    }
}

/// Why a limit or rule could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseLimitError(String);

impl fmt::Display for ParseLimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid rate limit `{}`: expected like `10/1/minute`",
            self.0
        )
    }
}

impl std::error::Error for ParseLimitError {}

impl FromStr for Limit {
    type Err = ParseLimitError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || ParseLimitError(text.to_owned());
        let mut parts = text.split('/');
        let requests = parts
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(error)?;
        let time = parts
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(error)?;
        let per = match parts.next().map(|p| p.trim_end_matches('s')) {
            Some("second") => Per::Second,
            Some("minute") => Per::Minute,
            Some("hour") => Per::Hour,
            _ => return Err(error()),
        };
        if parts.next().is_some() || time == 0 {
            return Err(error());
        }
        Ok(Self::new(requests, time, per))
    }
}

/// The bucket names the server limits by, with the routes in each.
///
/// Several routes share a bucket (`guilds.get` holds both `GET /guilds/{id}`
/// and `GET /guilds/{id}/preview`; `users.me` holds `GET` and `PATCH
/// /users/@me`), so clients must learn buckets from `X-RateLimit-Bucket`.
pub mod bucket {
    /// `POST /users/@me`.
    pub const USERS_CREATE: &str = "users.create";
    /// `GET` and `PATCH /users/@me`.
    pub const USERS_ME: &str = "users.me";
    /// `POST /users/{id}/notifications` (extension).
    pub const NOTIFICATIONS_CREATE: &str = "notifications.create";
    /// `POST /guilds`.
    pub const GUILDS_CREATE: &str = "guilds.create";
    /// `GET /guilds/{id}` and `GET /guilds/{id}/preview`.
    pub const GUILDS_GET: &str = "guilds.get";
    /// `PATCH /guilds/{id}`.
    pub const GUILDS_UPDATE: &str = "guilds.update";
    /// `DELETE /guilds/{id}`.
    pub const GUILDS_DELETE: &str = "guilds.delete";
    /// `GET /guilds/{id}/channels` (extension).
    pub const CHANNELS_LIST: &str = "channels.list";
    /// `POST /guilds/{id}/channels` (extension).
    pub const CHANNELS_CREATE: &str = "channels.create";
    /// `POST /guilds/{id}/invites` (extension).
    pub const INVITES_CREATE: &str = "invites.create";
    /// `POST /invites/{code}`.
    pub const INVITES_JOIN: &str = "invites.join";
    /// `GET /available`.
    pub const GATEWAY_AVAILABLE: &str = "gateway.available";
    /// Any path the server does not know.
    pub const UNKNOWN: &str = "unknown";

    /// Every bucket.
    pub const ALL: [&str; 13] = [
        USERS_CREATE,
        USERS_ME,
        NOTIFICATIONS_CREATE,
        GUILDS_CREATE,
        GUILDS_GET,
        GUILDS_UPDATE,
        GUILDS_DELETE,
        CHANNELS_LIST,
        CHANNELS_CREATE,
        INVITES_CREATE,
        INVITES_JOIN,
        GATEWAY_AVAILABLE,
        UNKNOWN,
    ];
}

/// The rate-limit configuration: a [`Limit`] per bucket, or off.
///
/// ```
/// use ayaka_server::{Limit, RateLimits, bucket};
///
/// let limits = RateLimits::default().limit(bucket::GUILDS_CREATE, Limit::per_second(2));
/// assert_eq!(limits.get(bucket::GUILDS_CREATE), Some(Limit::per_second(2)));
/// assert_eq!(RateLimits::off().get(bucket::GUILDS_CREATE), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    enabled: bool,
    limits: HashMap<String, Limit>,
    fallback: Limit,
}

impl Default for RateLimits {
    /// Real limits, generous enough for tests that create a few dozen
    /// objects: 20 accounts and 20 guilds a minute, 50 reads and 20 writes
    /// a second per bucket.
    fn default() -> Self {
        let mut limits = HashMap::new();
        limits.insert(bucket::USERS_CREATE.to_owned(), Limit::per_minute(20));
        limits.insert(bucket::GUILDS_CREATE.to_owned(), Limit::per_minute(20));
        for read in [
            bucket::USERS_ME,
            bucket::GUILDS_GET,
            bucket::CHANNELS_LIST,
            bucket::GATEWAY_AVAILABLE,
        ] {
            limits.insert(read.to_owned(), Limit::per_second(50));
        }
        Self {
            enabled: true,
            limits,
            fallback: Limit::per_second(20),
        }
    }
}

impl RateLimits {
    /// No limiting at all, and no rate-limit headers (for benchmarks).
    pub fn off() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }

    /// Sets the limit of one bucket (see [`bucket`](crate::bucket)), and
    /// turns limiting on: after [`RateLimits::off`], the other buckets get
    /// their defaults again.
    #[must_use]
    pub fn limit(mut self, bucket: impl Into<String>, limit: Limit) -> Self {
        self.enabled = true;
        self.limits.insert(bucket.into(), limit);
        self
    }

    /// Sets the same limit on every bucket, and turns limiting on.
    #[must_use]
    pub fn everywhere(mut self, limit: Limit) -> Self {
        self.enabled = true;
        for name in bucket::ALL {
            self.limits.insert(name.to_owned(), limit);
        }
        self.fallback = limit;
        self
    }

    /// Applies a rule `bucket=10/1/minute` (as the binary's `--rate-limit`).
    pub fn parse_rule(self, rule: &str) -> Result<Self, ParseLimitError> {
        let (name, limit) = rule
            .split_once('=')
            .ok_or_else(|| ParseLimitError(rule.to_owned()))?;
        Ok(self.limit(name.trim(), limit.trim().parse()?))
    }

    /// Whether limits apply at all.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The limit of `bucket`, `None` when limits are off.
    pub fn get(&self, bucket: &str) -> Option<Limit> {
        if !self.enabled {
            return None;
        }
        Some(self.limits.get(bucket).copied().unwrap_or(self.fallback))
    }
}

/// The outcome of counting one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decision {
    pub(crate) allowed: bool,
    pub(crate) limit: Limit,
    pub(crate) remaining: u32,
    /// Unix milliseconds when the window ends.
    pub(crate) reset_at_ms: u64,
    /// Milliseconds to wait before retrying; 0 when allowed.
    pub(crate) retry_after_ms: u64,
}

impl Decision {
    /// `X-RateLimit-Reset`: Unix seconds, rounded up so that waiting until
    /// then is always enough.
    pub(crate) fn reset_secs(&self) -> u64 {
        self.reset_at_ms.div_ceil(1_000)
    }

    /// `X-RateLimit-Retry-After`: whole seconds, rounded up, at least 1
    /// when limited.
    pub(crate) fn retry_after_secs(&self) -> u64 {
        if self.allowed {
            0
        } else {
            self.retry_after_ms.div_ceil(1_000).max(1)
        }
    }
}

/// One bucket's current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Window {
    ends_ms: u64,
    used: u32,
}

impl Window {
    fn hit(window: Option<Self>, limit: Limit, now_ms: u64) -> (Self, Decision) {
        let mut window = match window {
            Some(window) if window.ends_ms > now_ms => window,
            _ => Self {
                ends_ms: now_ms.saturating_add(limit.window_millis()),
                used: 0,
            },
        };
        let allowed = window.used < limit.requests;
        if allowed {
            window.used += 1;
        }
        let decision = Decision {
            allowed,
            limit,
            remaining: limit.requests.saturating_sub(window.used),
            reset_at_ms: window.ends_ms,
            retry_after_ms: if allowed { 0 } else { window.ends_ms - now_ms },
        };
        (window, decision)
    }
}

/// Counts requests per (client address, bucket).
#[derive(Debug)]
pub(crate) struct RateLimiter {
    limits: RateLimits,
    windows: DashMap<(IpAddr, &'static str), Window>,
    checks: AtomicU64,
}

/// Expired windows are dropped every this many checks, which bounds memory
/// by the clients active within the longest window.
const PRUNE_EVERY: u64 = 4_096;

impl RateLimiter {
    pub(crate) fn new(limits: RateLimits) -> Self {
        Self {
            limits,
            windows: DashMap::new(),
            checks: AtomicU64::new(0),
        }
    }

    /// Counts one request of `client` to `bucket` at `now_ms` (Unix
    /// milliseconds). `None` when limits are off.
    pub(crate) fn check(
        &self,
        client: IpAddr,
        bucket: &'static str,
        now_ms: u64,
    ) -> Option<Decision> {
        let limit = self.limits.get(bucket)?;
        if self.checks.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.prune(now_ms);
        }
        let mut entry = self.windows.entry((client, bucket)).or_insert(Window {
            ends_ms: 0,
            used: 0,
        });
        let (window, decision) = Window::hit(Some(*entry), limit, now_ms);
        *entry = window;
        Some(decision)
    }

    fn prune(&self, now_ms: u64) {
        self.windows.retain(|_, window| window.ends_ms > now_ms);
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.windows.len()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::net::Ipv4Addr;

    use super::*;

    const A: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

    fn limiter(limit: Limit) -> RateLimiter {
        RateLimiter::new(RateLimits::off().everywhere(limit))
    }

    #[test]
    fn counts_down_then_refuses_until_the_window_ends() {
        let limiter = limiter(Limit::new(3, 10, Per::Second));
        let t0 = 1_700_000_000_123;
        let remaining: Vec<_> = (0..3)
            .map(|i| limiter.check(A, bucket::GUILDS_GET, t0 + i).unwrap())
            .map(|d| (d.allowed, d.remaining))
            .collect();
        assert_eq!(remaining, [(true, 2), (true, 1), (true, 0)]);

        let refused = limiter.check(A, bucket::GUILDS_GET, t0 + 4_000).unwrap();
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 0);
        assert_eq!(refused.retry_after_ms, 6_000);
        assert_eq!(refused.retry_after_secs(), 6);
        assert_eq!(refused.reset_at_ms, t0 + 10_000);
        assert_eq!(refused.reset_secs(), 1_700_000_011);

        let next = limiter.check(A, bucket::GUILDS_GET, t0 + 10_000).unwrap();
        assert!(next.allowed);
        assert_eq!(next.remaining, 2);
        assert_eq!(next.retry_after_secs(), 0);
    }

    #[test]
    fn buckets_and_clients_are_counted_apart() {
        let limiter = limiter(Limit::per_second(1));
        assert!(limiter.check(A, bucket::GUILDS_GET, 0).unwrap().allowed);
        assert!(!limiter.check(A, bucket::GUILDS_GET, 1).unwrap().allowed);
        assert!(limiter.check(B, bucket::GUILDS_GET, 1).unwrap().allowed);
        assert!(limiter.check(A, bucket::GUILDS_CREATE, 1).unwrap().allowed);
    }

    #[test]
    fn off_limits_nothing() {
        let limiter = RateLimiter::new(RateLimits::off());
        assert!(limiter.check(A, bucket::USERS_CREATE, 0).is_none());
    }

    #[test]
    fn zero_requests_refuses_everything() {
        let limiter = limiter(Limit::per_second(0));
        let decision = limiter.check(A, bucket::UNKNOWN, 5).unwrap();
        assert!(!decision.allowed);
        assert_eq!(decision.retry_after_secs(), 1);
    }

    #[test]
    fn expired_windows_are_pruned() {
        let limiter = limiter(Limit::per_second(5));
        for i in 0..PRUNE_EVERY - 1 {
            let client = IpAddr::from(u32::try_from(i).unwrap().to_be_bytes());
            limiter.check(client, bucket::UNKNOWN, 0);
        }
        assert_eq!(limiter.tracked(), usize::try_from(PRUNE_EVERY - 1).unwrap());
        limiter.check(A, bucket::UNKNOWN, 60_000);
        assert_eq!(limiter.tracked(), 1);
    }

    #[test]
    fn limits_parse_and_print() {
        assert_eq!("5/2/minutes".parse(), Ok(Limit::new(5, 2, Per::Minute)));
        assert_eq!(
            "1/1/hour".parse::<Limit>().unwrap().window_millis(),
            3_600_000
        );
        for bad in [
            "",
            "5",
            "5/1",
            "5/0/second",
            "x/1/second",
            "5/1/day",
            "5/1/second/x",
        ] {
            assert!(bad.parse::<Limit>().is_err(), "{bad}");
        }
        let limits = RateLimits::off()
            .parse_rule("guilds.get=7/3/second")
            .unwrap();
        assert_eq!(
            limits.get("guilds.get"),
            Some(Limit::new(7, 3, Per::Second))
        );
        assert!(RateLimits::off().parse_rule("guilds.get").is_err());
    }
}
