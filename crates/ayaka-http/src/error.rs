//! The crate's one error type.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use ayaka_model::{ErrorBody, ValidationError, cause};
use bytes::Bytes;
use http::StatusCode;

use crate::ratelimit::AcquireError;

/// Anything that can go wrong with a request. Match on [`Error::kind`]; what
/// a kind carries (the status, the server's error body, the wait) is read
/// with the accessors.
///
/// ```no_run
/// # async fn demo(client: ayaka_http::Client) {
/// use ayaka_http::ErrorKind;
/// use ayaka_model::GuildId;
///
/// match client.delete_guild(GuildId::new(42)).await {
///     Ok(()) => println!("deleted"),
///     Err(e) if e.kind() == ErrorKind::MissingPermissions => println!("not allowed"),
///     Err(e) if e.status() == Some(http::StatusCode::NOT_FOUND) => println!("no such guild"),
///     Err(e) if e.kind() == ErrorKind::RateLimited => {
///         println!("try again in {:?}", e.retry_after());
///     }
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
    detail: Detail,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

/// What some kinds carry, behind the accessors.
enum Detail {
    None,
    /// [`ErrorKind::Status`] and [`ErrorKind::Decode`].
    Response {
        status: StatusCode,
        body: Option<ErrorBody>,
        raw: Bytes,
    },
    /// [`ErrorKind::RateLimited`].
    RateLimited {
        retry_after: Duration,
        limited_responses: u32,
    },
}

/// What kind of failure an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The client could not be built (bad base URL, TLS setup).
    Config,
    /// Connecting, sending or receiving failed.
    Transport,
    /// No complete response within the request timeout.
    Timeout,
    /// The request body broke a rule; nothing was sent. The
    /// [`ValidationError`] is [`Error::validation`] (and the source).
    Validation,
    /// The route needs a session id and none is set; nothing was sent.
    NoSession,
    /// The server answered with an error status (4xx, 5xx, or a 2xx the
    /// route does not produce): [`Error::status`], the JSON error body if it
    /// parsed ([`Error::body`]) and the raw body ([`Error::raw_body`]).
    Status,
    /// `201` on `PATCH`/`DELETE /guilds/{id}`: not a member of the guild,
    /// or the session id is wrong.
    NotAMember,
    /// `203`: not enough permissions. Documented for `PATCH`/`DELETE
    /// /guilds/{id}`; the extension routes answer it too, so it is an error
    /// on every route.
    MissingPermissions,
    /// Rate limited: waiting was disabled or too long, or every retry after
    /// a 429 was used up. [`Error::retry_after`] says how long until a
    /// request could succeed, [`Error::limited_responses`] how many 429s
    /// this call received.
    RateLimited,
    /// The rate limiter could not decide whether the request may go and
    /// refused it (a limiter shared through a store, such as Redis, that is
    /// unreachable, and built to fail closed); nothing was sent.
    /// [`Error::retry_after`] says when it tries its store again; the source
    /// is the limiter's error.
    RateLimiterUnavailable,
    /// A success response whose body is not what the route returns:
    /// [`Error::status`] and [`Error::raw_body`]; the source is the decode
    /// error.
    Decode,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Self {
        Self::from_parts(kind, Detail::None, None)
    }

    pub(crate) fn with_source(
        kind: ErrorKind,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self::from_parts(kind, Detail::None, Some(source.into()))
    }

    pub(crate) fn invalid(error: ValidationError) -> Self {
        Self::with_source(ErrorKind::Validation, error)
    }

    /// An error status, with the body as received.
    pub(crate) fn status_code(status: StatusCode, body: Option<ErrorBody>, raw: Bytes) -> Self {
        let detail = Detail::Response { status, body, raw };
        Self::from_parts(ErrorKind::Status, detail, None)
    }

    /// A success status whose body did not decode.
    pub(crate) fn decode(
        status: StatusCode,
        raw: Bytes,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        let detail = Detail::Response {
            status,
            body: None,
            raw,
        };
        Self::from_parts(ErrorKind::Decode, detail, Some(source.into()))
    }

    pub(crate) fn rate_limited(retry_after: Duration, limited_responses: u32) -> Self {
        let detail = Detail::RateLimited {
            retry_after,
            limited_responses,
        };
        Self::from_parts(ErrorKind::RateLimited, detail, None)
    }

    /// What the rate limiter's refusal means for the call.
    pub(crate) fn acquire_failed(error: AcquireError, limited_responses: u32) -> Self {
        match error {
            AcquireError::Unavailable {
                retry_after,
                source,
            } => {
                let detail = Detail::RateLimited {
                    retry_after,
                    limited_responses,
                };
                Self::from_parts(ErrorKind::RateLimiterUnavailable, detail, Some(source))
            }
            AcquireError::Exhausted(exhausted) => {
                Self::rate_limited(exhausted.retry_after, limited_responses)
            }
        }
    }

    fn from_parts(
        kind: ErrorKind,
        detail: Detail,
        source: Option<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                detail,
                source,
            }),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The HTTP status the server answered with, if this error came from a
    /// response (`201` and `203` included).
    pub fn status(&self) -> Option<StatusCode> {
        match (&self.inner.detail, self.inner.kind) {
            (Detail::Response { status, .. }, _) => Some(*status),
            (_, ErrorKind::NotAMember) => Some(StatusCode::CREATED),
            (_, ErrorKind::MissingPermissions) => Some(StatusCode::NON_AUTHORITATIVE_INFORMATION),
            _ => None,
        }
    }

    /// The server's JSON error body (`{"code", "message", "errors"?}`), if
    /// it sent one that parsed.
    pub fn body(&self) -> Option<&ErrorBody> {
        match &self.inner.detail {
            Detail::Response { body, .. } => body.as_ref(),
            _ => None,
        }
    }

    /// The response body as received, whatever it held
    /// ([`ErrorKind::Status`] and [`ErrorKind::Decode`]).
    pub fn raw_body(&self) -> Option<&Bytes> {
        match &self.inner.detail {
            Detail::Response { raw, .. } => Some(raw),
            _ => None,
        }
    }

    /// How long until a request could succeed ([`ErrorKind::RateLimited`]),
    /// or until the limiter tries its store again
    /// ([`ErrorKind::RateLimiterUnavailable`]).
    pub fn retry_after(&self) -> Option<Duration> {
        match self.inner.detail {
            Detail::RateLimited { retry_after, .. } => Some(retry_after),
            _ => None,
        }
    }

    /// How many 429 responses this call received
    /// ([`ErrorKind::RateLimited`]; 0 when the limiter refused to wait
    /// before anything was sent).
    pub fn limited_responses(&self) -> Option<u32> {
        match self.inner.detail {
            Detail::RateLimited {
                limited_responses, ..
            } => Some(limited_responses),
            _ => None,
        }
    }

    /// The rules the request body broke ([`ErrorKind::Validation`]).
    pub fn validation(&self) -> Option<&ValidationError> {
        self.inner.source.as_deref()?.downcast_ref()
    }

    /// Takes the underlying cause, if there is one.
    pub fn into_source(self) -> Option<Box<dyn StdError + Send + Sync>> {
        self.inner.source
    }

    /// Splits the error into its kind and its underlying cause. What the
    /// accessors return is dropped: read it first.
    pub fn into_parts(self) -> (ErrorKind, Option<Box<dyn StdError + Send + Sync>>) {
        (self.inner.kind, self.inner.source)
    }
}

// The raw body by its length only: a `/users/@me` response that failed
// to decode holds the session id and the email.
impl fmt::Debug for Detail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Response { status, body, raw } => f
                .debug_struct("Response")
                .field("status", status)
                .field("body", body)
                .field("raw_len", &raw.len())
                .finish(),
            Self::RateLimited {
                retry_after,
                limited_responses,
            } => f
                .debug_struct("RateLimited")
                .field("retry_after", retry_after)
                .field("limited_responses", limited_responses)
                .finish(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.inner.kind {
            ErrorKind::Config => f.write_str("invalid client configuration"),
            ErrorKind::Transport => {
                f.write_str("sending the request or receiving the response failed")
            }
            ErrorKind::Timeout => f.write_str("the request timed out"),
            ErrorKind::Validation => match self.validation() {
                Some(error) => write!(f, "invalid request body: {error}"),
                None => f.write_str("invalid request body"),
            },
            ErrorKind::NoSession => f.write_str("the route needs a session id and none is set"),
            ErrorKind::Status => {
                f.write_str("the server answered")?;
                if let Some(status) = self.status() {
                    write!(f, " {status}")?;
                }
                match self.body() {
                    Some(body) if !body.message.is_empty() => write!(f, ": {}", body.message),
                    _ => Ok(()),
                }
            }
            ErrorKind::NotAMember => {
                f.write_str("not a member of the guild, or wrong session id (201)")
            }
            ErrorKind::MissingPermissions => f.write_str("not enough permissions (203)"),
            ErrorKind::RateLimited => {
                let wait = self.retry_after().unwrap_or_default();
                write!(f, "rate limited, retry after {:.3}s", wait.as_secs_f64())
            }
            ErrorKind::RateLimiterUnavailable => {
                let wait = self.retry_after().unwrap_or_default();
                write!(
                    f,
                    "the rate limiter cannot decide and refused the request, retry after {:.3}s",
                    wait.as_secs_f64()
                )
            }
            ErrorKind::Decode => {
                f.write_str("could not decode the")?;
                if let Some(status) = self.status() {
                    write!(f, " {status}")?;
                }
                let bytes = self.raw_body().map_or(0, Bytes::len);
                write!(f, " response body ({bytes} bytes)")
            }
        }
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        cause::as_source(self.inner.source.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ratelimit::Exhausted;

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
        let error = Error::status_code(
            StatusCode::NOT_FOUND,
            Some(ErrorBody::new(404, "unknown guild")),
            Bytes::from_static(
                b"{\"code\": 404, \"message\": \"unknown guild\", \"x\": \"secret\"}",
            ),
        );
        assert_eq!(
            error.to_string(),
            "the server answered 404 Not Found: unknown guild"
        );
        assert_eq!(error.body().map(|b| b.code), Some(404));
        let decode = Error::decode(StatusCode::OK, Bytes::from_static(b"secret"), "not JSON");
        assert!(!decode.to_string().contains("secret"));
        assert!(!format!("{decode:?}").contains("secret"));
        assert_eq!(
            decode.to_string(),
            "could not decode the 200 OK response body (6 bytes)"
        );
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
        let error = Error::invalid(validation);
        assert!(StdError::source(&error).is_some());
        assert_eq!(error.kind(), ErrorKind::Validation);
        assert!(
            error
                .validation()
                .is_some_and(|v| v.violation("name").is_some())
        );
        assert!(error.to_string().starts_with("invalid request body: name"));
    }

    #[test]
    fn every_detail_is_reachable() {
        let status =
            Error::status_code(StatusCode::BAD_REQUEST, None, Bytes::from_static(b"<html>"));
        assert_eq!(status.kind(), ErrorKind::Status);
        assert_eq!(status.status(), Some(StatusCode::BAD_REQUEST));
        assert_eq!(status.body(), None);
        assert_eq!(status.raw_body().map(|b| &b[..]), Some(&b"<html>"[..]));
        assert_eq!(status.retry_after(), None);

        let limited = Error::rate_limited(Duration::from_millis(1500), 2);
        assert_eq!(limited.kind(), ErrorKind::RateLimited);
        assert_eq!(limited.retry_after(), Some(Duration::from_millis(1500)));
        assert_eq!(limited.limited_responses(), Some(2));
        assert_eq!(limited.status(), None);
        assert_eq!(limited.to_string(), "rate limited, retry after 1.500s");
    }

    #[test]
    fn parts_keep_the_kind_and_the_source() {
        let error = Error::decode(StatusCode::OK, Bytes::new(), "expected a guild");
        let (kind, source) = error.into_parts();
        assert_eq!(kind, ErrorKind::Decode);
        assert_eq!(
            source.map(|s| s.to_string()).as_deref(),
            Some("expected a guild")
        );
        assert!(Error::new(ErrorKind::Timeout).into_source().is_none());
        let validation = Error::invalid(ValidationError::single(
            "email",
            ayaka_model::request::Violation::Email,
        ));
        let source = validation.into_source().unwrap();
        assert!(source.downcast_ref::<ValidationError>().is_some());
    }

    #[test]
    fn a_limiter_that_cannot_decide_is_not_a_rate_limit() {
        let wait = Duration::from_secs(3);
        let limited = Error::acquire_failed(Exhausted { retry_after: wait }.into(), 1);
        assert_eq!(limited.kind(), ErrorKind::RateLimited);
        assert_eq!(limited.retry_after(), Some(wait));
        assert_eq!(limited.limited_responses(), Some(1));
        assert!(limited.into_source().is_none());

        let down = Error::acquire_failed(AcquireError::unavailable(wait, "redis is down"), 0);
        assert_eq!(down.kind(), ErrorKind::RateLimiterUnavailable);
        assert_eq!(down.retry_after(), Some(wait));
        assert_eq!(
            down.to_string(),
            "the rate limiter cannot decide and refused the request, retry after 3.000s"
        );
        let source = down.into_source().map(|source| source.to_string());
        assert_eq!(source.as_deref(), Some("redis is down"));
    }
}
