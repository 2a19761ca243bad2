//! The rate-limit scripts, one atomic call each, with typed arguments and
//! replies. [`RedisRateLimiter`](super::RedisRateLimiter) drives them; they
//! are public for tools and tests, which may pass the Redis clock in
//! (`now`) instead of letting the scripts read `TIME`.
//!
//! Every script touches only the keys it is given, all under one
//! namespace's hash tag; see `docs/scale-out.md` for the logic.

use std::fmt;
use std::sync::LazyLock;
use std::time::Duration;

use ayaka_http::ratelimit::RateLimitHeaders;
use redis::{Script, Value};

use super::observe::{Caps, Observation};
use crate::connection::Connection;
use crate::error::Error;
use crate::keys::{BucketHash, Keyspace};

static ACQUIRE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        include_str!("../../lua/clock.lua"),
        include_str!("../../lua/bucket.lua"),
        include_str!("../../lua/acquire.lua")
    ))
});

static COMPLETE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        include_str!("../../lua/clock.lua"),
        include_str!("../../lua/bucket.lua"),
        include_str!("../../lua/complete.lua")
    ))
});

/// A permit's identity in Redis: 64 random bits, nothing else.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PermitId(u64);

impl PermitId {
    /// A fresh random id.
    pub fn random() -> Self {
        Self(rand::random())
    }

    fn to_arg(self) -> String {
        format!("{:016x}", self.0)
    }
}

impl fmt::Debug for PermitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PermitId({:016x})", self.0)
    }
}

/// Timing of the scripts, shared by every process of a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// How long a request may be in flight before its lease expires and
    /// its process counts as dead: the request timeout plus a margin.
    pub lease: Duration,
    /// Added to every reset estimate, for clock granularity.
    pub margin: Duration,
    /// Caps on what headers may impose.
    pub caps: Caps,
    /// How long a learned route → bucket mapping lives.
    pub route_ttl: Duration,
    /// How long an unused bucket's state lives.
    pub idle: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(15),
            margin: Duration::from_millis(20),
            caps: Caps::default(),
            route_ttl: Duration::from_secs(24 * 3600),
            idle: Duration::from_secs(3600),
        }
    }
}

/// The answer of the acquire script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acquired {
    /// Go: a lease on `bucket` in window `seq`.
    Granted {
        /// The bucket the request counts against.
        bucket: BucketHash,
        /// The window it was granted in.
        seq: u64,
    },
    /// Go: the route's bucket is unknown and this is its one blind request
    /// across all processes.
    Blind,
    /// Not yet: ask again after this long, or when the bucket wakes us.
    Wait(Duration),
    /// The route uses this bucket, not the one declared: ask again with it.
    Moved(BucketHash),
}

/// What a permit was, for [`RawLimiter::complete`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lease {
    /// The blind request of a route.
    Blind,
    /// A lease on a known bucket; `seq` is `None` when the acquire's reply
    /// was lost (the caller gave up mid-call).
    Bucket {
        /// The bucket.
        bucket: BucketHash,
        /// The window it was granted in.
        seq: Option<u64>,
    },
}

impl Lease {
    /// The lease an [`Acquired::Granted`] gives: on `bucket`, in window `seq`.
    pub fn granted(bucket: BucketHash, seq: u64) -> Self {
        Self::Bucket {
            bucket,
            seq: Some(seq),
        }
    }
}

/// The end of one request.
#[derive(Debug, Clone, Copy)]
pub struct Completion<'a> {
    /// The route the permit was for.
    pub route: &'a str,
    /// The permit.
    pub permit: PermitId,
    /// What it was.
    pub lease: Lease,
    /// The response, if the request got one, and whether it was a 429.
    pub response: Option<(&'a RateLimitHeaders, bool)>,
}

/// A bucket as Redis holds it, for inspection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BucketState {
    /// Requests per window; `None` while the bucket is reactive.
    pub limit: Option<u32>,
    /// The window length, if the bucket name spelled one.
    pub window: Option<Duration>,
    /// The window number.
    pub seq: u64,
    /// Slots of the window taken (including requests still in flight).
    pub used: u32,
    /// Redis-clock milliseconds by which the window surely resets.
    pub deadline_ms: Option<u64>,
    /// Redis-clock milliseconds until which a 429 blocks the bucket.
    pub blocked_until_ms: Option<u64>,
    /// Requests in flight (unexpired leases).
    pub in_flight: u32,
    /// 429s seen by every process.
    pub limited_responses: u64,
}

/// The rate-limit scripts of one namespace.
#[derive(Debug, Clone)]
pub struct RawLimiter {
    keys: Keyspace,
    settings: Settings,
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn opt<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(String::new, |v| v.to_string())
}

fn now_arg(now: Option<u64>) -> String {
    opt(now)
}

impl RawLimiter {
    /// The scripts for `keys`, with `settings`.
    pub fn new(keys: Keyspace, settings: Settings) -> Self {
        Self { keys, settings }
    }

    /// The key schema.
    pub fn keys(&self) -> &Keyspace {
        &self.keys
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The bucket a response with these headers counts against: the one it
    /// names, else the permit's, else one of the route's own.
    pub fn response_bucket(
        &self,
        route: &str,
        lease: Lease,
        headers: &RateLimitHeaders,
    ) -> BucketHash {
        match (headers.bucket.as_deref(), lease) {
            (Some(name), _) => self.keys.bucket_hash(name),
            (None, Lease::Bucket { bucket, .. }) => bucket,
            (None, Lease::Blind) => self.keys.bucket_hash(&format!("\0route\0{route}")),
        }
    }

    /// The keys the acquire script is given, in order.
    pub fn acquire_keys(&self, route: &str, declared: Option<BucketHash>) -> [String; 5] {
        let part = self.keys.route_part(route);
        let (bucket, leases) = self.bucket_keys(declared);
        [
            self.keys.route(&part),
            self.keys.blind(&part),
            self.keys.blinds(),
            bucket,
            leases,
        ]
    }

    /// The keys the complete script is given, in order.
    pub fn complete_keys(
        &self,
        route: &str,
        lease: Option<BucketHash>,
        response: Option<BucketHash>,
    ) -> [String; 7] {
        let part = self.keys.route_part(route);
        let (lease_bucket, lease_leases) = self.bucket_keys(lease);
        let (bucket, leases) = self.bucket_keys(response);
        [
            self.keys.route(&part),
            self.keys.blind(&part),
            self.keys.blinds(),
            lease_bucket,
            lease_leases,
            bucket,
            leases,
        ]
    }

    fn bucket_keys(&self, bucket: Option<BucketHash>) -> (String, String) {
        match bucket {
            Some(bucket) => (self.keys.bucket(bucket), self.keys.leases(bucket)),
            None => self.keys.no_bucket(),
        }
    }

    /// Asks whether one request on `route` may go. `declared` is the bucket
    /// the caller believes the route uses; `now` overrides the Redis clock
    /// (tests only: leave it `None`).
    pub async fn acquire(
        &self,
        redis: &Connection,
        route: &str,
        permit: PermitId,
        declared: Option<BucketHash>,
        now: Option<u64>,
    ) -> Result<Acquired, Error> {
        let mut invocation = ACQUIRE.prepare_invoke();
        for key in self.acquire_keys(route, declared) {
            invocation.key(key);
        }
        let s = &self.settings;
        invocation
            .arg(now_arg(now))
            .arg(permit.to_arg())
            .arg(opt(declared.map(BucketHash::to_hex)))
            .arg(millis(s.lease).max(1))
            .arg(millis(s.margin))
            .arg(millis(s.caps.fallback_wait).max(1))
            .arg(millis(s.route_ttl).max(1))
            .arg(millis(s.idle.max(s.lease)).max(1));
        let reply: Value = redis.invoke(&invocation).await?;
        parse_acquired(reply)
    }

    /// Reports the end of a request. Returns the bucket its response
    /// counted against, if it had a response.
    pub async fn complete(
        &self,
        redis: &Connection,
        completion: &Completion<'_>,
        now: Option<u64>,
    ) -> Result<Option<BucketHash>, Error> {
        let s = &self.settings;
        let (lease_bucket, lease_seq) = match completion.lease {
            Lease::Blind => (None, None),
            Lease::Bucket { bucket, seq } => (Some(bucket), seq),
        };
        let response = completion.response.map(|(headers, limited)| {
            (
                self.response_bucket(completion.route, completion.lease, headers),
                Observation::new(headers, limited, s.caps),
            )
        });
        let mut invocation = COMPLETE.prepare_invoke();
        for key in self.complete_keys(completion.route, lease_bucket, response.map(|r| r.0)) {
            invocation.key(key);
        }
        let outcome = match response {
            None => "none",
            Some((_, o)) if o.limited => "limited",
            Some(_) => "ok",
        };
        let observation = response.map(|r| r.1);
        let block = observation.map_or(s.caps.fallback_wait, |o| o.block);
        invocation
            .arg(now_arg(now))
            .arg(completion.permit.to_arg())
            .arg(opt(lease_bucket.map(BucketHash::to_hex)))
            .arg(lease_seq.map_or(-1, |seq| i64::try_from(seq).unwrap_or(i64::MAX)))
            .arg(u8::from(matches!(completion.lease, Lease::Blind)))
            .arg(outcome)
            .arg(opt(response.map(|r| r.0.to_hex())))
            .arg(opt(observation.and_then(|o| o.limit)))
            .arg(opt(observation.and_then(|o| o.remaining)))
            .arg(opt(observation.and_then(|o| o.reset_after).map(millis)))
            .arg(opt(observation.and_then(|o| o.window).map(millis)))
            .arg(opt(observation.and_then(|o| o.reset_id)))
            .arg(millis(block).max(1))
            .arg(millis(s.margin))
            .arg(millis(s.route_ttl).max(1))
            .arg(millis(s.idle.max(s.lease)).max(1))
            .arg(self.keys.wake_channel())
            .arg(self.keys.route_part(completion.route));
        let _seq: Value = redis.invoke(&invocation).await?;
        Ok(response.map(|r| r.0))
    }

    /// The state of `bucket`, if Redis has it.
    pub async fn bucket(
        &self,
        redis: &Connection,
        bucket: BucketHash,
    ) -> Result<Option<BucketState>, Error> {
        let mut pipe = redis::pipe();
        pipe.cmd("HGETALL")
            .arg(self.keys.bucket(bucket))
            .cmd("ZCARD")
            .arg(self.keys.leases(bucket));
        let (fields, in_flight): (std::collections::HashMap<String, String>, u32) = redis
            .run(|mut manager| async move { pipe.query_async(&mut manager).await })
            .await?;
        if fields.is_empty() {
            return Ok(None);
        }
        let int = |name: &str| -> u64 {
            fields
                .get(name)
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v > 0.0)
                .map_or(0, |v| v as u64)
        };
        let nonzero = |v: u64| (v != 0).then_some(v);
        Ok(Some(BucketState {
            limit: nonzero(int("lim")).map(|v| u32::try_from(v).unwrap_or(u32::MAX)),
            window: nonzero(int("win")).map(Duration::from_millis),
            seq: int("seq"),
            used: u32::try_from(int("used")).unwrap_or(u32::MAX),
            deadline_ms: nonzero(int("dl")),
            blocked_until_ms: nonzero(int("blk")),
            in_flight,
            limited_responses: int("n429"),
        }))
    }
}

fn parse_acquired(reply: Value) -> Result<Acquired, Error> {
    let bad = || Error::protocol("the acquire script answered something unexpected");
    let Value::Array(items) = reply else {
        return Err(bad());
    };
    let int = |value: Option<&Value>| match value {
        Some(Value::Int(n)) => u64::try_from(*n).ok(),
        _ => None,
    };
    let text = |value: Option<&Value>| match value {
        Some(Value::BulkString(bytes)) => std::str::from_utf8(bytes).ok().map(str::to_owned),
        Some(Value::SimpleString(s)) => Some(s.clone()),
        _ => None,
    };
    let bucket = || text(items.get(2)).as_deref().and_then(BucketHash::from_hex);
    match int(items.first()).ok_or_else(bad)? {
        0 => Ok(Acquired::Wait(Duration::from_millis(
            int(items.get(1)).ok_or_else(bad)?.max(1),
        ))),
        1 => Ok(Acquired::Granted {
            bucket: bucket().ok_or_else(bad)?,
            seq: int(items.get(1)).ok_or_else(bad)?,
        }),
        2 => Ok(Acquired::Blind),
        3 => Ok(Acquired::Moved(bucket().ok_or_else(bad)?)),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::keys::Namespace;

    /// Redis Cluster's slot of a key (CRC16/XMODEM of its hash tag).
    fn slot(key: &str) -> u16 {
        let bytes = key.as_bytes();
        let tagged = bytes
            .iter()
            .position(|&b| b == b'{')
            .and_then(|open| {
                let close = bytes[open + 1..].iter().position(|&b| b == b'}')?;
                (close > 0).then(|| &bytes[open + 1..open + 1 + close])
            })
            .unwrap_or(bytes);
        crc16::State::<crc16::XMODEM>::calculate(tagged) % 16384
    }

    #[test]
    fn every_script_key_shares_the_namespace_slot() {
        let raw = RawLimiter::new(
            Keyspace::new(Namespace::new("bot-7").unwrap()),
            Settings::default(),
        );
        let a = raw
            .keys()
            .bucket_hash("LIMITER/1.2.3.4/users.me/5/1/second");
        let b = raw
            .keys()
            .bucket_hash("LIMITER/1.2.3.4/guilds.get/5/1/second");
        let expected = slot(raw.keys().prefix());
        let mut keys: Vec<String> = Vec::new();
        for route in ["GET /guilds/{id}", "GET /users/@me", "x}{y", "\n"] {
            for declared in [None, Some(a)] {
                keys.extend(raw.acquire_keys(route, declared));
            }
            for (lease, response) in [(None, None), (None, Some(a)), (Some(a), Some(b))] {
                keys.extend(raw.complete_keys(route, lease, response));
            }
        }
        keys.push(raw.keys().wake_channel());
        keys.push(raw.keys().identify_holders());
        keys.push(raw.keys().events());
        keys.push(raw.keys().commands(9));
        for key in keys {
            assert_eq!(slot(&key), expected, "{key}");
        }
    }

    #[test]
    fn the_slot_function_matches_redis() {
        // Values from the Redis Cluster specification's examples.
        assert_eq!(slot("123456789"), 0x31C3);
        assert_eq!(slot("{user1000}.following"), slot("user1000"));
        // An empty tag is no tag; the first `}` after the first `{` closes it.
        assert_ne!(slot("foo{}{bar}"), slot("bar"));
        assert_eq!(slot("foo{{bar}}zap"), slot("{bar"));
    }

    #[test]
    fn replies_parse_and_junk_is_refused() {
        let hex = Value::BulkString(b"00112233445566778899aabbccddeeff".to_vec());
        let granted = Value::Array(vec![Value::Int(1), Value::Int(4), hex.clone()]);
        assert!(matches!(
            parse_acquired(granted),
            Ok(Acquired::Granted { seq: 4, .. })
        ));
        let wait = Value::Array(vec![Value::Int(0), Value::Int(250), Value::Nil]);
        assert_eq!(
            parse_acquired(wait).unwrap(),
            Acquired::Wait(Duration::from_millis(250))
        );
        for junk in [
            Value::Nil,
            Value::Int(1),
            Value::Array(vec![]),
            Value::Array(vec![Value::Int(9)]),
            Value::Array(vec![Value::Int(1), Value::Int(1), Value::Nil]),
            Value::Array(vec![Value::Int(0), Value::Int(-5)]),
        ] {
            assert!(parse_acquired(junk).is_err());
        }
    }
}
