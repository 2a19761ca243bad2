//! The crate's one error type.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use ayaka_model::cause;

/// Anything that can go wrong talking to Redis. Match on [`Error::kind`].
///
/// ```
/// use ayaka_redis::{ErrorKind, Namespace};
///
/// let error = Namespace::new("has spaces").unwrap_err();
/// assert_eq!(error.kind(), ErrorKind::Config);
/// ```
#[derive(Debug)]
pub struct Error {
    /// Boxed so `Result<T, Error>` stays small on the error side.
    inner: Box<Inner>,
}

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    retry_after: Option<Duration>,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

/// What kind of failure an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A builder was given something unusable (a bad namespace, a zero
    /// capacity, an unparsable URL).
    Config,
    /// Redis answered with an error, or the connection failed.
    Redis,
    /// Redis did not answer within the call timeout.
    Timeout,
    /// Redis answered something the scripts never return (another program
    /// wrote to our keys, or a different version of this crate did).
    Protocol,
    /// Redis cannot be used now and the caller asked not to fall back
    /// (a fail-closed rate limiter, or leases that could not be had in time).
    Unavailable,
    /// The rate limit leaves nothing for longer than the caller agreed to
    /// wait; [`Error::retry_after`] says how long.
    Exhausted,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                retry_after: None,
                source: None,
            }),
        }
    }

    pub(crate) fn with_source(
        kind: ErrorKind,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        let mut error = Self::new(kind);
        error.inner.source = Some(source.into());
        error
    }

    pub(crate) fn config(message: &'static str) -> Self {
        Self::with_source(ErrorKind::Config, message)
    }

    pub(crate) fn protocol(message: &'static str) -> Self {
        Self::with_source(ErrorKind::Protocol, message)
    }

    pub(crate) fn waiting(kind: ErrorKind, retry_after: Duration) -> Self {
        let mut error = Self::new(kind);
        error.inner.retry_after = Some(retry_after);
        error
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// For [`ErrorKind::Exhausted`] and [`ErrorKind::Unavailable`]: how long
    /// until trying again makes sense.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// Whether Redis itself failed (connection, timeout, error reply), as
    /// opposed to a decision such as [`ErrorKind::Exhausted`].
    pub fn is_redis_failure(&self) -> bool {
        matches!(
            self.inner.kind,
            ErrorKind::Redis | ErrorKind::Timeout | ErrorKind::Protocol
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.inner.kind {
            ErrorKind::Config => "invalid configuration",
            ErrorKind::Redis => "redis failed",
            ErrorKind::Timeout => "redis did not answer in time",
            ErrorKind::Protocol => "unexpected reply from redis",
            ErrorKind::Unavailable => "redis is unavailable",
            ErrorKind::Exhausted => "rate limit exhausted",
        };
        f.write_str(what)?;
        if let Some(retry_after) = self.inner.retry_after {
            write!(f, ", retry after {:.3}s", retry_after.as_secs_f64())?;
        }
        cause::write_suffix(f, self.inner.source.as_deref())
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        cause::as_source(self.inner.source.as_deref())
    }
}

impl From<redis::RedisError> for Error {
    fn from(error: redis::RedisError) -> Self {
        let kind = if error.is_timeout() {
            ErrorKind::Timeout
        } else {
            ErrorKind::Redis
        };
        Self::with_source(kind, error)
    }
}
