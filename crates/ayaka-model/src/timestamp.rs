use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// A point in time, written in JSON as an RFC 3339 string
/// (`"2022-02-27T13:54:10Z"`).
///
/// Reading also accepts an ISO 8601 date-time without offset
/// (`"2022-02-27T13:54:10.123456"`, what Python's `isoformat()` gives for a
/// naive time), taken as UTC: the documents only say "ISO8601 timestamp".
///
/// ```
/// use ayaka_model::Timestamp;
///
/// let at: Timestamp = "2022-02-27T13:54:10Z".parse()?;
/// assert_eq!(at.get().unix_timestamp(), 1_645_970_050);
/// assert_eq!(at.to_string(), "2022-02-27T13:54:10Z");
/// # Ok::<(), ayaka_model::TimestampError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

/// A string that is not an RFC 3339 (or offset-less ISO 8601) date-time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampError {
    message: String,
}

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid timestamp: {}", self.message)
    }
}

impl std::error::Error for TimestampError {}

impl Timestamp {
    /// Wraps a date-time.
    pub const fn new(at: OffsetDateTime) -> Self {
        Self(at)
    }

    /// The current time, in UTC.
    pub fn now() -> Self {
        Self(OffsetDateTime::now_utc())
    }

    /// The time `seconds` after the Unix epoch, in UTC.
    pub fn from_unix_timestamp(seconds: i64) -> Result<Self, TimestampError> {
        OffsetDateTime::from_unix_timestamp(seconds)
            .map(Self)
            .map_err(|error| TimestampError {
                message: error.to_string(),
            })
    }

    /// The wrapped date-time.
    pub const fn get(self) -> OffsetDateTime {
        self.0
    }

    /// Parses RFC 3339, or ISO 8601 without an offset (taken as UTC).
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
            return Ok(Self(at));
        }
        let naive = format_description!(
            version = 2,
            "[year]-[month]-[day][first [T][ ]][hour]:[minute]:[second][optional [.[subsecond]]]"
        );
        PrimitiveDateTime::parse(text, naive)
            .map(|at| Self(at.assume_offset(UtcOffset::UTC)))
            .map_err(|error| TimestampError {
                message: error.to_string(),
            })
    }

    fn format(self) -> Result<String, TimestampError> {
        self.0.format(&Rfc3339).map_err(|error| TimestampError {
            message: error.to_string(),
        })
    }
}

// The conversions are `new` and `get` by another name.
impl From<OffsetDateTime> for Timestamp {
    fn from(at: OffsetDateTime) -> Self {
        Self::new(at)
    }
}

impl From<Timestamp> for OffsetDateTime {
    fn from(at: Timestamp) -> Self {
        at.get()
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339; a date-time RFC 3339 cannot express (year outside
    /// 0..=9999) falls back to `time`'s own notation.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.format() {
            Ok(text) => f.write_str(&text),
            Err(_) => fmt::Display::fmt(&self.0, f),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = self.format().map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&text)
    }
}

struct TimestampVisitor;

impl Visitor<'_> for TimestampVisitor {
    type Value = Timestamp;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 timestamp string")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Timestamp, E> {
        Timestamp::parse(text).map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(TimestampVisitor)
    }
}
