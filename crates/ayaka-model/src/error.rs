use std::error::Error as StdError;
use std::fmt;

use crate::decode_error::DecodeError;
use crate::request::ValidationError;

/// What went wrong, to match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input was not valid JSON, or did not have the expected shape
    /// (wrong type, missing required field, number out of range...).
    Decode,
    /// A value could not be written as JSON (for example a
    /// [`Timestamp`](crate::Timestamp) whose year does not fit RFC 3339).
    Encode,
    /// A request body broke one of the protocol's validation rules; the
    /// source is a [`ValidationError`].
    Validation,
    /// A client command (`{"t": ...}` sent to the gateway) had a name this
    /// library does not know.
    UnknownCommand,
}

/// The error of this crate: a [`kind`](Error::kind) to match on and the
/// underlying cause as [`source`](StdError::source).
pub struct Error {
    kind: ErrorKind,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self {
            kind,
            source: Some(source.into()),
        }
    }

    /// The source's message is kept without the input's values: it may
    /// quote a session id or an email (see [`DecodeError`]).
    pub(crate) fn decode(source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self::new(ErrorKind::Decode, DecodeError::new(&*source.into()))
    }

    pub(crate) fn encode(source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self::new(ErrorKind::Encode, source)
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The validation failures, when the kind is [`ErrorKind::Validation`].
    pub fn validation(&self) -> Option<&ValidationError> {
        self.source.as_deref()?.downcast_ref()
    }

    /// Takes the underlying cause (for [`ErrorKind::Validation`], a
    /// [`ValidationError`] to downcast to).
    pub fn into_source(self) -> Option<Box<dyn StdError + Send + Sync>> {
        self.source
    }

    /// Splits the error into its kind and its underlying cause.
    pub fn into_parts(self) -> (ErrorKind, Option<Box<dyn StdError + Send + Sync>>) {
        (self.kind, self.source)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("source", &self.source)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            ErrorKind::Decode => "failed to decode JSON",
            ErrorKind::Encode => "failed to encode JSON",
            ErrorKind::Validation => "invalid request body",
            ErrorKind::UnknownCommand => "unknown gateway command",
        };
        f.write_str(what)?;
        crate::cause::write_suffix(f, self.source.as_deref())
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        crate::cause::as_source(self.source.as_deref())
    }
}

impl From<ValidationError> for Error {
    fn from(error: ValidationError) -> Self {
        Self::new(ErrorKind::Validation, error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Violation;

    #[test]
    fn parts_keep_the_kind_and_the_source() {
        let error = Error::from(ValidationError::single("name", Violation::Email));
        assert_eq!(error.kind(), ErrorKind::Validation);
        assert!(error.validation().is_some());
        let (kind, source) = error.into_parts();
        assert_eq!(kind, ErrorKind::Validation);
        let source = source.and_then(|s| s.downcast::<ValidationError>().ok());
        assert_eq!(
            source.map(|s| s.errors().len()),
            Some(1),
            "the validation errors survive"
        );
        let error = Error::decode("bad");
        assert_eq!(
            error.into_source().map(|s| s.to_string()).as_deref(),
            Some("bad")
        );
    }
}
