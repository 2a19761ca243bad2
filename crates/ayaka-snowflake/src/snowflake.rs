use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{Error, ErrorKind};

/// The Ayaka epoch in Unix milliseconds: `1577836801` s, the first second of
/// 2020 as the documents count it.
pub const EPOCH_MS: u64 = 1_577_836_801_000;

/// The largest datacenter or worker id (5 bits).
pub const MAX_ID_COMPONENT: u8 = 31;

/// The largest sequence number (12 bits).
pub const MAX_SEQUENCE: u16 = 4095;

pub(crate) const SEQUENCE_BITS: u32 = 12;
pub(crate) const WORKER_SHIFT: u32 = SEQUENCE_BITS;
pub(crate) const DATACENTER_SHIFT: u32 = WORKER_SHIFT + 5;
pub(crate) const TIMESTAMP_SHIFT: u32 = DATACENTER_SHIFT + 5;
/// The largest value of the 41-bit timestamp field.
pub(crate) const MAX_TIMESTAMP: u64 = (1 << 41) - 1;

/// An Ayaka snowflake: a 64-bit id that records when and where it was made.
///
/// Ordering follows creation time, then datacenter, worker and sequence.
/// Ids received from a server are opaque integers: the timestamp helpers
/// assume the documented epoch, which older deployed servers did not always
/// use.
///
/// ```
/// use ayaka_snowflake::{Parts, Snowflake};
///
/// let parts = Parts { timestamp_ms: 1_000, datacenter_id: 1, worker_id: 2, sequence: 3 };
/// let id = Snowflake::from_parts(parts)?;
/// assert_eq!(id.parts(), parts);
/// assert_eq!(id.to_string().parse::<Snowflake>()?, id);
/// # Ok::<(), ayaka_snowflake::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Snowflake(u64);

/// The fields of a [`Snowflake`], each in range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Parts {
    /// Milliseconds since [`EPOCH_MS`] (41 bits).
    pub timestamp_ms: u64,
    /// Datacenter id, `0..=31`.
    pub datacenter_id: u8,
    /// Worker id, `0..=31`.
    pub worker_id: u8,
    /// Sequence within the millisecond, `0..=4095`.
    pub sequence: u16,
}

impl Snowflake {
    /// Wraps a raw 64-bit value.
    pub const fn new(value: u64) -> Self {
        Self(value)
    }

    /// The raw 64-bit value.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// Assembles a snowflake, checking every field's range.
    pub fn from_parts(parts: Parts) -> Result<Self, Error> {
        if parts.timestamp_ms > MAX_TIMESTAMP {
            return Err(Error::new(
                ErrorKind::TimestampOutOfRange,
                parts.timestamp_ms,
            ));
        }
        if parts.datacenter_id > MAX_ID_COMPONENT {
            return Err(Error::new(
                ErrorKind::DatacenterIdOutOfRange,
                parts.datacenter_id.into(),
            ));
        }
        if parts.worker_id > MAX_ID_COMPONENT {
            return Err(Error::new(
                ErrorKind::WorkerIdOutOfRange,
                parts.worker_id.into(),
            ));
        }
        if parts.sequence > MAX_SEQUENCE {
            return Err(Error::new(
                ErrorKind::SequenceOutOfRange,
                parts.sequence.into(),
            ));
        }
        Ok(Self::from_parts_unchecked(parts))
    }

    /// Callers guarantee every field is in range.
    pub(crate) const fn from_parts_unchecked(parts: Parts) -> Self {
        Self(
            (parts.timestamp_ms << TIMESTAMP_SHIFT)
                | ((parts.datacenter_id as u64) << DATACENTER_SHIFT)
                | ((parts.worker_id as u64) << WORKER_SHIFT)
                | parts.sequence as u64,
        )
    }

    /// The smallest snowflake made at `unix_ms` (Unix milliseconds): useful as
    /// a bound when filtering ids by creation time.
    pub fn from_unix_ms(unix_ms: u64) -> Result<Self, Error> {
        let timestamp_ms = unix_ms
            .checked_sub(EPOCH_MS)
            .ok_or(Error::new(ErrorKind::TimestampOutOfRange, unix_ms))?;
        Self::from_parts(Parts {
            timestamp_ms,
            datacenter_id: 0,
            worker_id: 0,
            sequence: 0,
        })
    }

    /// Every field at once.
    pub const fn parts(self) -> Parts {
        Parts {
            timestamp_ms: self.timestamp_ms(),
            datacenter_id: self.datacenter_id(),
            worker_id: self.worker_id(),
            sequence: self.sequence(),
        }
    }

    /// Milliseconds since [`EPOCH_MS`].
    pub const fn timestamp_ms(self) -> u64 {
        (self.0 >> TIMESTAMP_SHIFT) & MAX_TIMESTAMP
    }

    /// Creation time in Unix milliseconds.
    pub const fn created_at_unix_ms(self) -> u64 {
        self.timestamp_ms() + EPOCH_MS
    }

    /// Creation time.
    pub fn created_at(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.created_at_unix_ms())
    }

    /// The datacenter id, `0..=31`.
    pub const fn datacenter_id(self) -> u8 {
        ((self.0 >> DATACENTER_SHIFT) & 0x1F) as u8
    }

    /// The worker id, `0..=31`.
    pub const fn worker_id(self) -> u8 {
        ((self.0 >> WORKER_SHIFT) & 0x1F) as u8
    }

    /// The sequence number within its millisecond, `0..=4095`.
    pub const fn sequence(self) -> u16 {
        (self.0 & MAX_SEQUENCE as u64) as u16
    }
}

impl fmt::Debug for Snowflake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Snowflake({})", self.0)
    }
}

impl fmt::Display for Snowflake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for Snowflake {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_digits(s).map(Self)
    }
}

/// Parses a plain decimal `u64`: digits only, no sign, no whitespace.
pub(crate) fn parse_digits(s: &str) -> Result<u64, Error> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::new(ErrorKind::InvalidDigits, 0));
    }
    s.parse()
        .map_err(|_| Error::new(ErrorKind::InvalidDigits, 0))
}

impl From<u64> for Snowflake {
    fn from(value: u64) -> Self {
        Self(value)
    }
}

impl From<Snowflake> for u64 {
    fn from(value: Snowflake) -> Self {
        value.0
    }
}
