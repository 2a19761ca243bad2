//! Responses, JSON error bodies and request-body decoding.

use std::collections::BTreeMap;

use ayaka_model::ErrorBody;
use ayaka_model::request::ValidationError;
use bytes::Bytes;
use http::{HeaderMap, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde::Serialize;

/// Largest accepted request body.
pub(crate) const MAX_BODY: usize = 64 * 1024;
/// How long a client may take to send its body.
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A successful answer: a status and perhaps a JSON body.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) body: Option<Bytes>,
}

impl Reply {
    pub(crate) fn json<T: Serialize>(status: StatusCode, value: &T) -> Result<Self, ApiError> {
        let body = serde_json::to_vec(value).map_err(|_| ApiError::internal())?;
        Ok(Self {
            status,
            body: Some(Bytes::from(body)),
        })
    }

    pub(crate) fn empty(status: StatusCode) -> Self {
        Self { status, body: None }
    }
}

/// A refusal: a status, a message and, for a 400, the bad fields.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    message: String,
    errors: Option<BTreeMap<String, String>>,
    retry_after: Option<f64>,
    allow: Option<&'static str>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            errors: None,
            retry_after: None,
            allow: None,
        }
    }

    pub(crate) fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "missing or unknown session id")
    }

    pub(crate) fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("unknown {what}"))
    }

    /// The documented 201 of PATCH/DELETE `/guilds/{id}`.
    pub(crate) fn not_a_member() -> Self {
        Self::new(StatusCode::CREATED, "not a member, or incorrect session id")
    }

    /// The documented 203: a member without the permission.
    pub(crate) fn missing_permission(permission: &str) -> Self {
        Self::new(
            StatusCode::NON_AUTHORITATIVE_INFORMATION,
            format!("not enough permissions: needs {permission}"),
        )
    }

    pub(crate) fn bad_field(field: &str, reason: impl Into<String>) -> Self {
        let mut errors = BTreeMap::new();
        errors.insert(field.to_owned(), reason.into());
        Self {
            errors: Some(errors),
            ..Self::new(StatusCode::BAD_REQUEST, "invalid request body")
        }
    }

    /// A 400 naming each bad field with its reason.
    pub(crate) fn fields(errors: BTreeMap<String, String>) -> Self {
        Self {
            errors: Some(errors),
            ..Self::new(StatusCode::BAD_REQUEST, "invalid request body")
        }
    }

    /// The fields a 400 names, sorted.
    #[cfg(test)]
    pub(crate) fn field_names(&self) -> Vec<String> {
        self.errors
            .iter()
            .flat_map(|errors| errors.keys().cloned())
            .collect()
    }

    /// The reasons of a 400, by field.
    #[cfg(test)]
    pub(crate) fn field_reasons(&self) -> BTreeMap<String, String> {
        self.errors.clone().unwrap_or_default()
    }

    pub(crate) fn invalid(error: &ValidationError) -> Self {
        Self {
            errors: Some(error.to_map()),
            ..Self::new(
                StatusCode::BAD_REQUEST,
                format!("invalid request body: {error}"),
            )
        }
    }

    pub(crate) fn rate_limited(retry_after_secs: f64) -> Self {
        Self {
            retry_after: Some(retry_after_secs),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, "you are being rate limited")
        }
    }

    /// 503: every hashing worker is busy and the queue is full.
    pub(crate) fn busy(retry_after_secs: u64) -> Self {
        Self {
            retry_after: Some(retry_after_secs as f64),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many password hashes at once, retry later",
            )
        }
    }

    /// The standard `Retry-After` header's seconds, for a 503 (a 429's
    /// comes with the rate-limit headers).
    pub(crate) fn retry_after_header(&self) -> Option<u64> {
        (self.status == StatusCode::SERVICE_UNAVAILABLE)
            .then_some(self.retry_after)
            .flatten()
            .map(|secs| secs.ceil() as u64)
    }

    pub(crate) fn method_not_allowed(allow: &'static str) -> Self {
        Self {
            allow: Some(allow),
            ..Self::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed on this route",
            )
        }
    }

    /// 503: the data file can no longer be written (see the journal).
    pub(crate) fn storage_unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server cannot write its data file; it must be restarted",
        )
    }

    pub(crate) fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
    }

    /// The `Allow` header of a 405.
    pub(crate) fn allow(&self) -> Option<&'static str> {
        self.allow
    }

    /// The JSON body: `{"code", "message", "errors"?, "retry_after"?}`, or
    /// the deployed server's `{"message": "404: Not Found", "code": 0}`.
    pub(crate) fn body(&self, quirks: bool) -> Bytes {
        let body = if quirks {
            let reason = self.status.canonical_reason().unwrap_or("Error");
            ErrorBody {
                retry_after: self.retry_after,
                ..ErrorBody::new(0, format!("{}: {reason}", self.status.as_u16()))
            }
        } else {
            ErrorBody {
                code: i64::from(self.status.as_u16()),
                message: self.message.clone(),
                errors: self.errors.clone(),
                retry_after: self.retry_after,
            }
        };
        // Serialising strings and numbers cannot fail; an empty body is the
        // safe fallback if it ever did.
        Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// Reads a body of at most [`MAX_BODY`] bytes. `required` bodies must be
/// JSON by content type; an optional one may be empty.
pub(crate) async fn read_body(
    headers: &HeaderMap,
    body: Incoming,
    required: bool,
) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BODY as u64) {
        return Err(too_large());
    }
    let collect = tokio::time::timeout(BODY_TIMEOUT, Limited::new(body, MAX_BODY).collect());
    let Ok(collected) = collect.await else {
        return Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "the body took too long",
        ));
    };
    let bytes = match collected {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => return Err(too_large()),
        Err(_) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "could not read the body",
            ));
        }
    };
    if bytes.is_empty() && !required {
        return Ok(bytes);
    }
    if !is_json(headers) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be sent as `Content-Type: application/json`",
        ));
    }
    Ok(bytes)
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the body is over {MAX_BODY} bytes"),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn error_bodies_have_both_shapes() {
        let error = ApiError::bad_field("name", "too long");
        let normal: serde_json::Value = serde_json::from_slice(&error.body(false)).unwrap();
        assert_eq!(normal["code"], 400);
        assert_eq!(normal["errors"]["name"], "too long");
        let quirky: serde_json::Value =
            serde_json::from_slice(&ApiError::not_found("guild").body(true)).unwrap();
        assert_eq!(
            quirky,
            serde_json::json!({"code": 0, "message": "404: Not Found"})
        );
    }
}
