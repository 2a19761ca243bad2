//! The crate's one error type.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use ayaka_model::{ErrorBody, ValidationError};
use bytes::Bytes;
use http::StatusCode;

/// Anything that can go wrong with a request. Match on [`Error::kind`].
///
/// ```no_run
/// # async fn demo(client: ayaka_http::Client) {
/// use ayaka_http::ErrorKind;
/// use ayaka_model::GuildId;
///
/// match client.delete_guild(GuildId::new(42)).await {
///     Ok(()) => println!("deleted"),
///     Err(e) if matches!(e.kind(), ErrorKind::MissingPermissions) => println!("not allowed"),
///     Err(e) if e.status() == Some(http::StatusCode::NOT_FOUND) => println!("no such guild"),
///     Err(e) => println!("failed: {e}"),
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct Error {
    /// Boxed so `Result<T, Error>` stays one pointer wide on the error side.
    inner: Box<Inner>,
}

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

/// What kind of failure an [`Error`] is.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The client could not be built (bad base URL, TLS setup).
    Config,
    /// Connecting, sending or receiving failed.
    Transport,
    /// No complete response within the request timeout.
    Timeout,
    /// The request body broke a rule; nothing was sent.
    Validation(ValidationError),
    /// The route needs a session id and none is set; nothing was sent.
    NoSession,
    /// The server answered with an error status (4xx, 5xx, or a 2xx the
    /// route does not produce), with its JSON error body if it had one.
    Status {
        /// The status code.
        status: StatusCode,
        /// The parsed `{"code", "message", "errors"?}` body, if it parsed.
        body: Option<ErrorBody>,
        /// The raw body, whatever it held.
        raw: Bytes,
    },
    /// `201` on `PATCH`/`DELETE /guilds/{id}`: not a member of the guild,
    /// or the session id is wrong.
    NotAMember,
    /// `203`: not enough permissions. Documented for `PATCH`/`DELETE
    /// /guilds/{id}`; the extension routes answer it too, so it is an error
    /// on every route.
    MissingPermissions,
    /// Rate limited: waiting was disabled or too long, or every retry after
    /// a 429 was used up.
    RateLimited {
        /// How long until a request could succeed.
        retry_after: Duration,
        /// 429 responses received for this call.
        limited_responses: u32,
    },
    /// A success response whose body is not what the route returns.
    Decode {
        /// The status code.
        status: StatusCode,
        /// The body, kept for the caller.
        body: Bytes,
    },
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Self {
        Self {
            inner: Box::new(Inner { kind, source: None }),
        }
    }

    pub(crate) fn with_source(
        kind: ErrorKind,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                source: Some(source.into()),
            }),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> &ErrorKind {
        &self.inner.kind
    }

    /// Takes the kind, dropping the source.
    pub fn into_kind(self) -> ErrorKind {
        self.inner.kind
    }

    /// The HTTP status the server answered with, if this error came from a
    /// response (`201` and `203` included).
    pub fn status(&self) -> Option<StatusCode> {
        match &self.inner.kind {
            ErrorKind::Status { status, .. } | ErrorKind::Decode { status, .. } => Some(*status),
            ErrorKind::NotAMember => Some(StatusCode::CREATED),
            ErrorKind::MissingPermissions => Some(StatusCode::NON_AUTHORITATIVE_INFORMATION),
            _ => None,
        }
    }

    /// The server's JSON error body, if it sent one.
    pub fn body(&self) -> Option<&ErrorBody> {
        match &self.inner.kind {
            ErrorKind::Status { body, .. } => body.as_ref(),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner.kind {
            ErrorKind::Config => f.write_str("invalid client configuration"),
            ErrorKind::Transport => {
                f.write_str("sending the request or receiving the response failed")
            }
            ErrorKind::Timeout => f.write_str("the request timed out"),
            ErrorKind::Validation(error) => write!(f, "invalid request body: {error}"),
            ErrorKind::NoSession => f.write_str("the route needs a session id and none is set"),
            ErrorKind::Status { status, body, .. } => {
                write!(f, "the server answered {status}")?;
                match body {
                    Some(body) if !body.message.is_empty() => write!(f, ": {}", body.message),
                    _ => Ok(()),
                }
            }
            ErrorKind::NotAMember => {
                f.write_str("not a member of the guild, or wrong session id (201)")
            }
            ErrorKind::MissingPermissions => f.write_str("not enough permissions (203)"),
            ErrorKind::RateLimited { retry_after, .. } => {
                write!(
                    f,
                    "rate limited, retry after {:.3}s",
                    retry_after.as_secs_f64()
                )
            }
            ErrorKind::Decode { status, body } => write!(
                f,
                "could not decode the {status} response body ({} bytes)",
                body.len()
            ),
        }
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match &self.inner.kind {
            ErrorKind::Validation(error) => Some(error),
            _ => self
                .inner
                .source
                .as_deref()
                .map(|e| e as &(dyn StdError + 'static)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_codes_report_their_status() {
        assert_eq!(
            Error::new(ErrorKind::NotAMember).status(),
            Some(StatusCode::CREATED)
        );
        assert_eq!(
            Error::new(ErrorKind::MissingPermissions).status(),
            Some(StatusCode::NON_AUTHORITATIVE_INFORMATION)
        );
        assert_eq!(Error::new(ErrorKind::Timeout).status(), None);
    }

    #[test]
    fn display_names_the_server_message_not_the_raw_body() {
        let error = Error::new(ErrorKind::Status {
            status: StatusCode::NOT_FOUND,
            body: Some(ErrorBody::new(404, "unknown guild")),
            raw: Bytes::from_static(
                b"{\"code\": 404, \"message\": \"unknown guild\", \"x\": \"secret\"}",
            ),
        });
        assert_eq!(
            error.to_string(),
            "the server answered 404 Not Found: unknown guild"
        );
        assert_eq!(error.body().map(|b| b.code), Some(404));
        let decode = Error::new(ErrorKind::Decode {
            status: StatusCode::OK,
            body: Bytes::from_static(b"secret"),
        });
        assert!(!decode.to_string().contains("secret"));
    }

    #[test]
    fn validation_errors_are_the_source() {
        let validation = ValidationError::single(
            "name",
            ayaka_model::request::Violation::Length {
                min: 1,
                max: 100,
                actual: 0,
            },
        );
        let error = Error::new(ErrorKind::Validation(validation));
        assert!(StdError::source(&error).is_some());
    }
}
