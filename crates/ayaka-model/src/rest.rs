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
    /// time (a deployed-server quirk), see [`ErrorBody::retry_after_secs`]
    /// and [`is_absolute_time`].
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
    /// in seconds: an absolute Unix time (see [`is_absolute_time`], a
    /// deployed-server quirk) is turned into the time left, never negative.
    /// `None` for a missing, negative or non-finite value.
    pub fn retry_after_secs(&self, now_unix_secs: f64) -> Option<f64> {
        seconds_to_wait(self.retry_after?, Some(now_unix_secs))
    }
}

/// The boundary between "seconds to wait" and "an absolute Unix time": a
/// value strictly greater is absolute (see [`is_absolute_time`]).
///
/// 10^9 seconds is almost 32 years, so no real wait comes near it, and
/// every Unix time since September 2001 is above it.
pub const ABSOLUTE_TIME_THRESHOLD: f64 = 1e9;

/// Whether `secs`, found where a duration belongs (`retry_after`,
/// `X-RateLimit-Retry-After`, `X-RateLimit-Reset-After`) or where an
/// absolute time belongs (`X-RateLimit-Reset`), is an absolute Unix time:
/// strictly greater than [`ABSOLUTE_TIME_THRESHOLD`]. The threshold itself
/// is a duration, as the protocol page says ("larger than 10^9").
///
/// ```
/// use ayaka_model::is_absolute_time;
///
/// assert!(is_absolute_time(1_645_970_050.0));
/// assert!(!is_absolute_time(1e9));
/// assert!(!is_absolute_time(2.5));
/// ```
pub const fn is_absolute_time(secs: f64) -> bool {
    secs > ABSOLUTE_TIME_THRESHOLD
}

/// A "seconds to wait" value as a wait in seconds: an absolute Unix time
/// ([`is_absolute_time`]) becomes the time left after `now_unix_secs`
/// (never negative; `None` without a `now`), a smaller value is the wait
/// itself. `None` for a negative or non-finite value.
///
/// `now_unix_secs` should be the server's clock where there is one (a
/// response's `Date`), not the local one.
///
/// ```
/// use ayaka_model::seconds_to_wait;
///
/// assert_eq!(seconds_to_wait(1.5, None), Some(1.5));
/// assert_eq!(seconds_to_wait(1_645_970_050.0, Some(1_645_970_048.0)), Some(2.0));
/// assert_eq!(seconds_to_wait(1_645_970_050.0, None), None);
/// assert_eq!(seconds_to_wait(-1.0, None), None);
/// ```
pub fn seconds_to_wait(secs: f64, now_unix_secs: Option<f64>) -> Option<f64> {
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    if is_absolute_time(secs) {
        return now_unix_secs.map(|now| (secs - now).max(0.0));
    }
    Some(secs)
}

/// The answer of `GET /available`: the gateway port to connect to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Available {
    /// The port on the gateway host.
    pub port: u16,
    /// The full `ws://host:port` URL (**extension** of the local server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_threshold_itself_is_a_duration() {
        assert!(!is_absolute_time(ABSOLUTE_TIME_THRESHOLD));
        assert!(is_absolute_time(ABSOLUTE_TIME_THRESHOLD + 1.0));
        assert!(is_absolute_time(1_000_000_000.000_001));
        assert_eq!(seconds_to_wait(1e9, None), Some(1e9));
        assert_eq!(seconds_to_wait(1e9 + 1.0, None), None);
        assert_eq!(seconds_to_wait(1e9 + 1.0, Some(1e9)), Some(1.0));
        let body = |secs| ErrorBody {
            retry_after: Some(secs),
            ..ErrorBody::new(429, "slow down")
        };
        assert_eq!(body(1e9).retry_after_secs(2e9), Some(1e9));
        assert_eq!(body(1e9 + 5.0).retry_after_secs(1e9), Some(5.0));
        // In the past: no wait, not a negative one.
        assert_eq!(body(1e9 + 5.0).retry_after_secs(2e9), Some(0.0));
        assert_eq!(body(f64::NAN).retry_after_secs(0.0), None);
        assert_eq!(body(f64::INFINITY).retry_after_secs(0.0), None);
        assert_eq!(body(-0.5).retry_after_secs(0.0), None);
    }
}
