//! The server's one error type: a [`Copy`] kind to match on, and the cause.

use std::error::Error as StdError;
use std::fmt;
use std::net::SocketAddr;

use ayaka_model::cause;

/// What went wrong in the server's own operation (not a client's mistake:
/// those become HTTP error responses or close codes, never an `Error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A listener could not be bound.
    Bind,
    /// The configuration is inconsistent (for example too many gateway ports).
    Config,
    /// The data file could not be opened, read or written (permissions, a
    /// full disk, or another server holding it).
    DataUnavailable,
    /// The data file is damaged: not a database at all, or one that fails
    /// SQLite's integrity check. It is left as it is.
    DataCorrupt,
    /// The data file is a database, but not one of this server's. It is
    /// left as it is.
    DataForeign,
    /// The data file was written by a newer server whose schema this one
    /// does not know. It is left as it is.
    DataVersion,
}

impl ErrorKind {
    const fn describe(self) -> &'static str {
        match self {
            Self::Bind => "cannot bind a listener",
            Self::Config => "invalid configuration",
            Self::DataUnavailable => "the data file is not available",
            Self::DataCorrupt => "the data file is corrupt",
            Self::DataForeign => "the data file is not an ayaka-server database",
            Self::DataVersion => "the data file has an unknown schema version",
        }
    }
}

/// The server's error: an [`ErrorKind`] to match on, and the cause.
///
/// ```
/// # async fn run() {
/// use ayaka_server::{ErrorKind, Server};
///
/// let first = Server::builder().spawn().await.unwrap();
/// let error = Server::builder().bind(first.rest_addr()).spawn().await.unwrap_err();
/// assert_eq!(error.kind(), ErrorKind::Bind);
/// let (kind, source) = error.into_parts();
/// assert!(source.is_some());
/// # let _ = kind;
/// # }
/// ```
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl Error {
    #[cfg(test)]
    pub(crate) fn new(kind: ErrorKind) -> Self {
        Self { kind, source: None }
    }

    pub(crate) fn with_source(
        kind: ErrorKind,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self {
            kind,
            source: Some(source.into()),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The kind and the underlying cause, taking the error apart.
    pub fn into_parts(self) -> (ErrorKind, Option<Box<dyn StdError + Send + Sync>>) {
        (self.kind, self.source)
    }

    /// The underlying cause, if any.
    pub fn into_source(self) -> Option<Box<dyn StdError + Send + Sync>> {
        self.source
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.describe())?;
        cause::write_suffix(f, self.source.as_deref())
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        cause::as_source(self.source.as_deref())
    }
}

/// An address that could not be bound or read back.
#[derive(Debug)]
pub(crate) struct AddressError {
    pub(crate) address: Option<SocketAddr>,
    pub(crate) error: std::io::Error,
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.address {
            Some(address) => write!(f, "{address}: {}", self.error),
            None => write!(f, "no local address: {}", self.error),
        }
    }
}

impl StdError for AddressError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&self.error)
    }
}

/// Gateway ports that would not fit in a port number.
#[derive(Debug)]
pub(crate) struct InvalidPorts {
    pub(crate) first: u16,
    pub(crate) last: u32,
}

impl fmt::Display for InvalidPorts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gateway ports {}..={} are not valid ports",
            self.first, self.last
        )
    }
}

impl StdError for InvalidPorts {}

/// Both in-process data and a data file were given.
#[derive(Debug)]
pub(crate) struct BothData;

impl fmt::Display for BothData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("give either data or a data file, not both")
    }
}

impl StdError for BothData {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_kind_and_the_cause() {
        let error = Error::with_source(ErrorKind::Config, InvalidPorts { first: 1, last: 2 });
        assert_eq!(
            error.to_string(),
            "invalid configuration: gateway ports 1..=2 are not valid ports"
        );
        assert!(StdError::source(&error).is_some());
        let (kind, source) = error.into_parts();
        assert_eq!(kind, ErrorKind::Config);
        assert!(source.is_some());
        assert!(Error::new(ErrorKind::DataCorrupt).into_source().is_none());
    }
}
