//! The cause an error carries, for error types built the way every crate
//! of this workspace builds its own: a `Copy` kind to match on and an
//! optional boxed cause, written after the kind's message
//! (`"timed out: connection reset"`) and returned by
//! [`Error::source`](StdError::source). One home for the two pieces each
//! of those types would otherwise write again.
//!
//! ```
//! use std::{error::Error as StdError, fmt};
//!
//! use ayaka_model::cause;
//!
//! #[derive(Debug)]
//! struct MyError {
//!     source: Option<Box<dyn StdError + Send + Sync>>,
//! }
//!
//! impl fmt::Display for MyError {
//!     fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
//!         f.write_str("it failed")?;
//!         cause::write_suffix(f, self.source.as_deref())
//!     }
//! }
//!
//! impl StdError for MyError {
//!     fn source(&self) -> Option<&(dyn StdError + 'static)> {
//!         cause::as_source(self.source.as_deref())
//!     }
//! }
//!
//! let error = MyError { source: Some("connection reset".into()) };
//! assert_eq!(error.to_string(), "it failed: connection reset");
//! assert_eq!(error.source().map(|s| s.to_string()).as_deref(), Some("connection reset"));
//! let error = MyError { source: None };
//! assert_eq!(error.to_string(), "it failed");
//! assert!(error.source().is_none());
//! ```

use std::error::Error as StdError;
use std::fmt;

/// Writes `": <cause>"` when there is a cause, nothing otherwise: the end
/// of an error's `Display`, after its own message.
pub fn write_suffix(
    f: &mut fmt::Formatter<'_>,
    cause: Option<&(dyn StdError + Send + Sync)>,
) -> fmt::Result {
    match cause {
        Some(cause) => write!(f, ": {cause}"),
        None => Ok(()),
    }
}

/// The cause as [`Error::source`](StdError::source) returns it: the same
/// object, without its `Send + Sync`.
pub fn as_source<'a>(
    cause: Option<&'a (dyn StdError + Send + Sync + 'static)>,
) -> Option<&'a (dyn StdError + 'static)> {
    cause.map(|cause| cause as &(dyn StdError + 'static))
}
