use std::fmt;

/// What went wrong, to match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A worker id outside `0..=31`.
    WorkerIdOutOfRange,
    /// A datacenter id outside `0..=31`.
    DatacenterIdOutOfRange,
    /// A sequence outside `0..=4095`.
    SequenceOutOfRange,
    /// A timestamp that does not fit the 41-bit field (before the epoch or
    /// about 69 years after it).
    TimestampOutOfRange,
    /// Text that is not a decimal integer fitting in 64 bits.
    InvalidDigits,
}

/// The error of this crate: a [`kind`](Error::kind) and the offending value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    value: u64,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, value: u64) -> Self {
        Self { kind, value }
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The rejected value (0 for [`ErrorKind::InvalidDigits`]).
    pub fn value(&self) -> u64 {
        self.value
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ErrorKind::WorkerIdOutOfRange => {
                write!(f, "worker id {} is out of range 0..=31", self.value)
            }
            ErrorKind::DatacenterIdOutOfRange => {
                write!(f, "datacenter id {} is out of range 0..=31", self.value)
            }
            ErrorKind::SequenceOutOfRange => {
                write!(f, "sequence {} is out of range 0..=4095", self.value)
            }
            ErrorKind::TimestampOutOfRange => {
                write!(f, "timestamp {} ms does not fit a snowflake", self.value)
            }
            ErrorKind::InvalidDigits => f.write_str("not a decimal 64-bit integer"),
        }
    }
}

impl std::error::Error for Error {}
