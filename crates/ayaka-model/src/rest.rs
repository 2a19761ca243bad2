use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The JSON body of an error response: `{"code": ..., "message": ...}`,
/// with `errors` on a 400 and `retry_after` on a 429.
///
/// Also reads the deployed server's `{"message": "404: Not Found", "code": 0}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A numeric code (the local server uses the HTTP status; the deployed
    /// server sent `0`).
    #[serde(default)]
    pub code: i64,
    /// What went wrong, for people.
    #[serde(default)]
    pub message: String,
    /// On a 400: each offending field and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<BTreeMap<String, String>>,
    /// On a 429: seconds to wait. A value over `1e9` is an absolute Unix
    /// time (a deployed-server quirk), see [`ErrorBody::retry_after_secs`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<f64>,
}

impl ErrorBody {
    /// A body with only a code and a message.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            errors: None,
            retry_after: None,
        }
    }

    /// `retry_after` as a duration in seconds, given the current Unix time
    /// in seconds: values over `1e9` are absolute times (deployed-server
    /// quirk) and are turned into the time left, never negative. `None`
    /// for a missing, negative or non-finite value.
    pub fn retry_after_secs(&self, now_unix_secs: f64) -> Option<f64> {
        let value = self.retry_after?;
        if !value.is_finite() || value < 0.0 {
            return None;
        }
        if value > ABSOLUTE_TIME_THRESHOLD {
            Some((value - now_unix_secs).max(0.0))
        } else {
            Some(value)
        }
    }
}

/// Above this, a "seconds to wait" value is really an absolute Unix time.
pub const ABSOLUTE_TIME_THRESHOLD: f64 = 1e9;

/// The answer of `GET /available`: the gateway port to connect to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Available {
    /// The port on the gateway host.
    pub port: u16,
    /// The full `ws://host:port` URL (**extension** of the local server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}
