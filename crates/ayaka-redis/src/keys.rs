//! The key schema: every key under `ayaka:v1:{NS}:`, so one namespace is one
//! Redis Cluster hash slot and every script's keys share it.
//!
//! Nothing that may hold client data (bucket names embed the client address,
//! and the deployed server once put the `Authorization` value in them) is
//! written raw: it is hashed with SHA-256, keyed by the namespace.

use std::fmt;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::error::Error;

/// The schema version in every key; bumped when a script's data changes
/// shape, so old and new processes never read each other's state.
pub const SCHEMA_VERSION: u32 = 1;

/// The longest namespace accepted.
const MAX_NAMESPACE: usize = 64;

/// The longest route written into a key as it is; longer ones are hashed.
const MAX_RAW_ROUTE: usize = 96;

/// The processes that share one budget: one egress address and one session.
///
/// 1 to 64 characters from `A-Z a-z 0-9 . _ -`. Every key of the crate lives
/// under `ayaka:v1:{namespace}:`.
///
/// ```
/// use ayaka_redis::Namespace;
///
/// let ns = Namespace::new("bot-eu1")?;
/// assert_eq!(ns.as_str(), "bot-eu1");
/// assert!(Namespace::new("a{b}").is_err());
/// # Ok::<(), ayaka_redis::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Namespace(Arc<str>);

impl Namespace {
    /// Checks and wraps a namespace name.
    pub fn new(name: &str) -> Result<Self, Error> {
        let valid = !name.is_empty()
            && name.len() <= MAX_NAMESPACE
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if valid {
            Ok(Self(name.into()))
        } else {
            Err(Error::config(
                "a namespace is 1 to 64 characters from A-Z a-z 0-9 . _ -",
            ))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Namespace").field(&&*self.0).finish()
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A server bucket's identity, hashed: 128 bits of SHA-256 as 32 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BucketHash([u8; 16]);

impl BucketHash {
    /// The hex form, as keys and script replies carry it.
    pub(crate) fn to_hex(self) -> String {
        hex(&self.0)
    }

    /// Parses the hex form from a script reply.
    pub(crate) fn from_hex(text: &str) -> Option<Self> {
        if text.len() != 32 {
            return None;
        }
        let mut bytes = [0; 16];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Self(bytes))
    }
}

impl fmt::Debug for BucketHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A prefix is enough to tell buckets apart in logs.
        write!(f, "BucketHash({})", &self.to_hex()[..8])
    }
}

fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// Builds every key name of one namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keyspace {
    namespace: Namespace,
    prefix: Arc<str>,
}

impl Keyspace {
    /// The keys of `namespace`.
    pub fn new(namespace: Namespace) -> Self {
        let prefix = format!("ayaka:v{SCHEMA_VERSION}:{{{namespace}}}:").into();
        Self { namespace, prefix }
    }

    /// The namespace.
    pub fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    /// `ayaka:v1:{NS}:`, the prefix of every key.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn key(&self, parts: &[&str]) -> String {
        let mut key = String::with_capacity(self.prefix.len() + 48);
        key.push_str(&self.prefix);
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                key.push(':');
            }
            key.push_str(part);
        }
        key
    }

    /// Hashes a server bucket name (`X-RateLimit-Bucket`).
    pub fn bucket_hash(&self, bucket_name: &str) -> BucketHash {
        let digest = Sha256::new()
            .chain_update(b"ayaka-redis bucket\0")
            .chain_update(self.namespace.as_str().as_bytes())
            .chain_update(b"\0")
            .chain_update(bucket_name.as_bytes())
            .finalize();
        let mut bytes = [0; 16];
        bytes.copy_from_slice(&digest[..16]);
        BucketHash(bytes)
    }

    /// The form a route takes inside keys and wake-up messages: as it is
    /// when short and printable, otherwise hashed.
    pub fn route_part(&self, route: &str) -> String {
        let plain = route.len() <= MAX_RAW_ROUTE
            && !route.is_empty()
            && route.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
        if plain {
            return route.to_owned();
        }
        let digest = Sha256::new()
            .chain_update(b"ayaka-redis route\0")
            .chain_update(route.as_bytes())
            .finalize();
        format!("#{}", hex(&digest[..16]))
    }

    /// `rl:r:<route>`: the bucket a route uses.
    pub fn route(&self, route_part: &str) -> String {
        self.key(&["rl", "r", route_part])
    }

    /// `rl:blind:<route>`: the one blind request of an unknown route.
    pub fn blind(&self, route_part: &str) -> String {
        self.key(&["rl", "blind", route_part])
    }

    /// `rl:blinds`: every blind request in flight (buckets keep one slot
    /// back for each, since it may count against them).
    pub fn blinds(&self) -> String {
        self.key(&["rl", "blinds"])
    }

    /// `rl:b:<bucket>`: a bucket's window and counters.
    pub fn bucket(&self, bucket: BucketHash) -> String {
        self.key(&["rl", "b", &bucket.to_hex()])
    }

    /// `rl:l:<bucket>`: a bucket's requests in flight (leases).
    pub fn leases(&self, bucket: BucketHash) -> String {
        self.key(&["rl", "l", &bucket.to_hex()])
    }

    /// `rl:b:-` / `rl:l:-`: stand-ins a script is given for a bucket it
    /// does not have, so its key list keeps one shape. Never written.
    pub fn no_bucket(&self) -> (String, String) {
        (self.key(&["rl", "b", "-"]), self.key(&["rl", "l", "-"]))
    }

    /// `rl:wake`: the pub/sub channel on which buckets announce capacity.
    pub fn wake_channel(&self) -> String {
        self.key(&["rl", "wake"])
    }

    /// `id:holders`: the identify leases.
    pub fn identify_holders(&self) -> String {
        self.key(&["id", "holders"])
    }

    /// `id:wake`: the pub/sub channel on which an identify lease is freed.
    pub fn identify_wake_channel(&self) -> String {
        self.key(&["id", "wake"])
    }

    /// `ev`: the event stream.
    pub fn events(&self) -> String {
        self.key(&["ev"])
    }

    /// `cmd:<shard>`: the command stream of one shard.
    pub fn commands(&self, shard: u32) -> String {
        self.key(&["cmd", &shard.to_string()])
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn keys() -> Keyspace {
        Keyspace::new(Namespace::new("bot-1").unwrap())
    }

    #[test]
    fn namespaces_are_checked() {
        for good in ["a", "bot-1", "eu_west.2", &"x".repeat(64)] {
            assert!(Namespace::new(good).is_ok(), "{good:?}");
        }
        for bad in ["", "a b", "a{b", "a}b", "a:b", "é", &"x".repeat(65)] {
            assert!(Namespace::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn keys_are_versioned_and_tagged() {
        let keys = keys();
        assert_eq!(keys.prefix(), "ayaka:v1:{bot-1}:");
        assert_eq!(
            keys.route("GET /users/@me"),
            "ayaka:v1:{bot-1}:rl:r:GET /users/@me"
        );
        assert_eq!(keys.events(), "ayaka:v1:{bot-1}:ev");
        assert_eq!(keys.commands(3), "ayaka:v1:{bot-1}:cmd:3");
    }

    #[test]
    fn bucket_names_never_appear_in_keys() {
        let keys = keys();
        let secret = "LIMITER/secret-session.abcdef/users.me/5/1/second";
        let hash = keys.bucket_hash(secret);
        for key in [keys.bucket(hash), keys.leases(hash)] {
            assert!(!key.contains("secret"), "{key}");
            assert!(!key.contains("LIMITER"), "{key}");
        }
        assert!(!format!("{hash:?}").contains("secret"));
        assert_eq!(BucketHash::from_hex(&hash.to_hex()), Some(hash));
        assert_eq!(BucketHash::from_hex("zz"), None);
        assert_eq!(BucketHash::from_hex(&"g".repeat(32)), None);
    }

    #[test]
    fn bucket_hashes_depend_on_the_namespace() {
        let other = Keyspace::new(Namespace::new("bot-2").unwrap());
        assert_ne!(keys().bucket_hash("b"), other.bucket_hash("b"));
        assert_eq!(keys().bucket_hash("b"), keys().bucket_hash("b"));
        assert_ne!(keys().bucket_hash("a"), keys().bucket_hash("b"));
    }

    #[test]
    fn odd_routes_are_hashed() {
        let keys = keys();
        assert_eq!(keys.route_part("GET /guilds/{id}"), "GET /guilds/{id}");
        for odd in ["", "tab\there", "new\nline", &"r".repeat(200), "ünï"] {
            let part = keys.route_part(odd);
            assert!(part.starts_with('#') && part.len() == 33, "{odd:?}: {part}");
        }
    }
}
