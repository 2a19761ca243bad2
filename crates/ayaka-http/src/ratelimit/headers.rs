//! Lenient parsing of the rate-limit headers, as pure functions.
//!
//! Every value the server sends is treated as hostile: a header that is
//! absent, negative, non-numeric, non-finite or absurd parses to `None`
//! rather than an error, so the limiter can fall back to reactive behaviour.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ayaka_model::{is_absolute_time, seconds_to_wait};
use http::HeaderMap;

/// The longest window a bucket name may describe before it counts as absurd.
const MAX_WINDOW: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Header names, lowercase as `http` stores them.
const BUCKET: &str = "x-ratelimit-bucket";
const LIMIT: &str = "x-ratelimit-limit";
const REMAINING: &str = "x-ratelimit-remaining";
const RESET: &str = "x-ratelimit-reset";
const RESET_AFTER: &str = "x-ratelimit-reset-after";
const RETRY_AFTER: &str = "x-ratelimit-retry-after";
const PLAIN_RETRY_AFTER: &str = "retry-after";

/// The rate-limit information of one response, parsed leniently.
///
/// Each field is `None` when its header is missing or unusable. The
/// interpretation (absolute times versus durations, server clock) happens in
/// the accessor methods, so a backend gets the same answers everywhere.
///
/// `Debug` leaves out the bucket id: the deployed server once put the
/// `Authorization` value in it.
#[derive(Clone, Default, PartialEq)]
pub struct RateLimitHeaders {
    /// `X-RateLimit-Bucket`, the server's bucket identity.
    pub bucket: Option<Box<str>>,
    /// `X-RateLimit-Limit`, requests per window (never zero).
    pub limit: Option<u32>,
    /// `X-RateLimit-Remaining`, requests left in the window.
    pub remaining: Option<u32>,
    /// `X-RateLimit-Reset`, in seconds (meant as Unix time on the server).
    pub reset: Option<f64>,
    /// `X-RateLimit-Reset-After`, in seconds (a deployed-server header).
    pub reset_after: Option<f64>,
    /// `X-RateLimit-Retry-After` (or `Retry-After`), in seconds.
    pub retry_after: Option<f64>,
    /// The response's `Date`, in whole seconds since the Unix epoch.
    pub date: Option<u64>,
}

impl std::fmt::Debug for RateLimitHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimitHeaders")
            .field("bucket", &self.bucket.as_ref().map(|_| "<redacted>"))
            .field("limit", &self.limit)
            .field("remaining", &self.remaining)
            .field("reset", &self.reset)
            .field("reset_after", &self.reset_after)
            .field("retry_after", &self.retry_after)
            .field("date", &self.date)
            .finish()
    }
}

impl RateLimitHeaders {
    /// Parses the rate-limit headers of a response. Never fails.
    ///
    /// ```
    /// use ayaka_http::ratelimit::RateLimitHeaders;
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("x-ratelimit-limit", "10".parse().unwrap());
    /// headers.insert("x-ratelimit-remaining", "-3".parse().unwrap());
    /// let parsed = RateLimitHeaders::from_headers(&headers);
    /// assert_eq!(parsed.limit, Some(10));
    /// assert_eq!(parsed.remaining, None); // negative: ignored
    /// ```
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        Self {
            bucket: text(BUCKET).and_then(parse_bucket),
            limit: text(LIMIT).and_then(parse_count).filter(|&n| n > 0),
            remaining: text(REMAINING).and_then(parse_count),
            reset: text(RESET).and_then(parse_seconds),
            reset_after: text(RESET_AFTER).and_then(parse_seconds),
            retry_after: text(RETRY_AFTER)
                .and_then(parse_seconds)
                .or_else(|| text(PLAIN_RETRY_AFTER).and_then(parse_seconds)),
            date: text("date").and_then(parse_date),
        }
    }

    /// Whether the response carried any usable rate-limit information.
    pub fn is_empty(&self) -> bool {
        self.bucket.is_none()
            && self.limit.is_none()
            && self.remaining.is_none()
            && self.reset.is_none()
            && self.reset_after.is_none()
            && self.retry_after.is_none()
    }

    /// How long the server asked to wait before retrying, if it said so and
    /// the value can be made sense of. An absolute Unix time in this field
    /// ([`is_absolute_time`]: the deployed server put epochs in duration
    /// fields) is converted with the response's `Date`.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
            .and_then(|secs| as_duration(secs, self.date))
    }

    /// How long until the window resets, from the server's own clock: the
    /// `Reset-After` duration if present, otherwise `Reset` minus `Date`.
    ///
    /// Never uses the local clock. `Date` has one-second resolution and is
    /// truncated, so `Reset - Date` errs towards waiting longer.
    pub fn reset_after(&self) -> Option<Duration> {
        if let Some(after) = self.reset_after.and_then(|s| as_duration(s, self.date)) {
            return Some(after);
        }
        let reset = self.reset?;
        if !is_absolute_time(reset) {
            // A duration where an absolute time belongs.
            return secs_to_duration(reset);
        }
        let date = self.date? as f64;
        secs_to_duration((reset - date).max(0.0))
    }

    /// The window length and limit spelled in the bucket name
    /// (`LIMITER/<ip>/<ROUTE>/<limit>/<time>/<per>`).
    pub fn window(&self) -> Option<(u32, Duration)> {
        self.bucket.as_deref().and_then(parse_window)
    }
}

/// Interprets `secs` as a duration, or as an absolute Unix time when it is
/// implausibly large for a duration (needs the server's `Date` then): the
/// model's [`seconds_to_wait`], so every reader draws the line in one place.
pub(crate) fn as_duration(secs: f64, date: Option<u64>) -> Option<Duration> {
    seconds_to_wait(secs, date.map(|date| date as f64)).and_then(secs_to_duration)
}

fn secs_to_duration(secs: f64) -> Option<Duration> {
    Duration::try_from_secs_f64(secs).ok()
}

/// Parses a non-negative integer count. Accepts `"10"` and `"10.0"`;
/// values beyond `u32::MAX` saturate.
pub(crate) fn parse_count(value: &str) -> Option<u32> {
    let value = value.trim();
    if let Ok(n) = value.parse::<u64>() {
        return Some(u32::try_from(n).unwrap_or(u32::MAX));
    }
    let float = parse_seconds(value)?;
    (float.fract() == 0.0).then(|| {
        // Saturating float-to-int conversion, by definition of `as`.
        float.min(f64::from(u32::MAX)) as u32
    })
}

/// Parses a finite, non-negative number of seconds (integer or decimal).
pub(crate) fn parse_seconds(value: &str) -> Option<f64> {
    let value = value.trim();
    // Reject what `f64::from_str` accepts but no server means: "inf", "NaN", "1e400".
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    value
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
}

/// Parses an HTTP `Date` into whole seconds since the Unix epoch.
pub(crate) fn parse_date(value: &str) -> Option<u64> {
    let time: SystemTime = httpdate::parse_http_date(value.trim()).ok()?;
    time.duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs())
}

fn parse_bucket(value: &str) -> Option<Box<str>> {
    let value = value.trim();
    // Bucket ids are map keys: refuse empty or huge ones.
    (!value.is_empty() && value.len() <= 512).then(|| value.into())
}

/// Reads `<limit>/<time>/<per>` from the end of a bucket name.
pub(crate) fn parse_window(bucket: &str) -> Option<(u32, Duration)> {
    let mut parts = bucket.rsplit('/');
    let per = parts.next()?;
    let time = parts.next()?;
    let limit = parse_count(parts.next()?).filter(|&n| n > 0)?;
    let per = per.trim();
    // Case-insensitive, singular or plural, without allocating: this runs
    // on every response.
    let per = per
        .strip_suffix('s')
        .or_else(|| per.strip_suffix('S'))
        .unwrap_or(per);
    let unit = [
        ("second", 1),
        ("sec", 1),
        ("minute", 60),
        ("min", 60),
        ("hour", 3600),
        ("day", 86_400),
    ]
    .into_iter()
    .find(|(name, _)| per.eq_ignore_ascii_case(name))
    .map(|(_, secs)| secs)?;
    let secs = parse_seconds(time)?;
    let window = secs_to_duration(secs * f64::from(unit))?;
    (!window.is_zero() && window <= MAX_WINDOW).then_some((limit, window))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> RateLimitHeaders {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        RateLimitHeaders::from_headers(&map)
    }

    #[test]
    fn documented_headers_parse() {
        let h = headers(&[
            (
                "X-RateLimit-Bucket",
                "LIMITER/127.0.0.1/get_guild/10/1/second",
            ),
            ("X-RateLimit-Limit", "10"),
            ("X-RateLimit-Remaining", "3"),
            ("X-RateLimit-Reset", "1645970050"),
            ("X-RateLimit-Retry-After", "0"),
            ("Date", "Sun, 27 Feb 2022 13:54:08 GMT"),
        ]);
        assert_eq!(h.limit, Some(10));
        assert_eq!(h.remaining, Some(3));
        assert_eq!(h.date, Some(1_645_970_048));
        assert_eq!(h.reset_after(), Some(Duration::from_secs(2)));
        assert_eq!(h.retry_after(), Some(Duration::ZERO));
        assert_eq!(h.window(), Some((10, Duration::from_secs(1))));
        assert!(!h.is_empty());
    }

    #[test]
    fn hostile_counts_are_ignored() {
        for bad in [
            "-1", "abc", "", " ", "1.5", "NaN", "inf", "-0.5", "0x10", "1e3", "١٠",
        ] {
            assert_eq!(parse_count(bad), None, "{bad:?}");
        }
        assert_eq!(parse_count(" 7 "), Some(7));
        assert_eq!(parse_count("7.0"), Some(7));
        assert_eq!(parse_count("99999999999999999999"), Some(u32::MAX));
        assert_eq!(parse_count("4294967296"), Some(u32::MAX));
        assert_eq!(parse_count("1e300"), None);
    }

    #[test]
    fn zero_limit_is_no_limit_information() {
        assert_eq!(headers(&[("x-ratelimit-limit", "0")]).limit, None);
    }

    #[test]
    fn hostile_seconds_are_ignored() {
        for bad in [
            "-1", "NaN", "inf", "infinity", "1e400", "", "1,5", "--1", "1.2.3", "+3",
        ] {
            assert_eq!(parse_seconds(bad), None, "{bad:?}");
        }
        assert_eq!(parse_seconds("0.25"), Some(0.25));
        assert!(parse_seconds(&"9".repeat(400)).is_none());
    }

    #[test]
    fn absolute_epoch_in_a_duration_field_uses_the_date() {
        let h = headers(&[
            ("x-ratelimit-retry-after", "1645970050"),
            ("date", "Sun, 27 Feb 2022 13:54:08 GMT"),
        ]);
        assert_eq!(h.retry_after(), Some(Duration::from_secs(2)));
        // Without a Date an absolute time cannot be interpreted.
        let h = headers(&[("x-ratelimit-retry-after", "1645970050")]);
        assert_eq!(h.retry_after(), None);
        // In the past: no wait, not a negative one.
        let h = headers(&[
            ("x-ratelimit-reset-after", "1645970000"),
            ("date", "Sun, 27 Feb 2022 13:54:08 GMT"),
        ]);
        assert_eq!(h.reset_after(), Some(Duration::ZERO));
    }

    #[test]
    fn the_absolute_time_threshold_itself_is_a_duration() {
        let date = ("date", "Sun, 27 Feb 2022 13:54:08 GMT");
        let at = |secs: &str| headers(&[("x-ratelimit-retry-after", secs), date]).retry_after();
        assert_eq!(at("1000000000"), Some(Duration::from_secs(1_000_000_000)));
        // Just above: an absolute time, long past by the Date: no wait.
        assert_eq!(at("1000000000.5"), Some(Duration::ZERO));
        assert_eq!(at("1000000001"), Some(Duration::ZERO));
        let reset = |secs: &str| headers(&[("x-ratelimit-reset", secs), date]).reset_after();
        assert_eq!(
            reset("1000000000"),
            Some(Duration::from_secs(1_000_000_000))
        );
        assert_eq!(reset("1000000001"), Some(Duration::ZERO));
        assert_eq!(reset("1645970050"), Some(Duration::from_secs(2)));
    }

    #[test]
    fn small_reset_is_a_duration() {
        let h = headers(&[("x-ratelimit-reset", "1.5")]);
        assert_eq!(h.reset_after(), Some(Duration::from_millis(1500)));
    }

    #[test]
    fn reset_without_date_is_unknown() {
        assert_eq!(
            headers(&[("x-ratelimit-reset", "1645970050")]).reset_after(),
            None
        );
    }

    #[test]
    fn reset_after_header_wins_over_reset() {
        let h = headers(&[
            ("x-ratelimit-reset", "1645970050"),
            ("x-ratelimit-reset-after", "0.5"),
            ("date", "Sun, 27 Feb 2022 13:54:08 GMT"),
        ]);
        assert_eq!(h.reset_after(), Some(Duration::from_millis(500)));
    }

    #[test]
    fn plain_retry_after_is_a_fallback() {
        let h = headers(&[("retry-after", "3")]);
        assert_eq!(h.retry_after(), Some(Duration::from_secs(3)));
        let h = headers(&[("retry-after", "3"), ("x-ratelimit-retry-after", "1")]);
        assert_eq!(h.retry_after(), Some(Duration::from_secs(1)));
    }

    #[test]
    fn bad_dates_are_ignored() {
        for bad in [
            "yesterday",
            "",
            "Sun, 99 Feb 2022 13:54:08 GMT",
            "1645970048",
        ] {
            assert_eq!(parse_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn windows_from_bucket_names() {
        let cases = [
            ("LIMITER/1.2.3.4/r/10/1/second", Some((10, 1))),
            ("LIMITER/::1/r/5/2/minutes", Some((5, 120))),
            ("LIMITER/x/r/1/1/hour", Some((1, 3600))),
            ("LIMITER/x/r/1/1/Day", Some((1, 86_400))),
            ("LIMITER/x/r/0/1/second", None),
            ("LIMITER/x/r/10/0/second", None),
            ("LIMITER/x/r/10/-1/second", None),
            ("LIMITER/x/r/10/1/fortnight", None),
            ("LIMITER/x/r/10/1000/day", None),
            ("10/1", None),
            ("", None),
            ("session-id-like-opaque", None),
        ];
        for (name, want) in cases {
            let want = want.map(|(l, s)| (l, Duration::from_secs(s)));
            assert_eq!(parse_window(name), want, "{name:?}");
        }
    }

    #[test]
    fn empty_and_oversized_buckets_are_ignored() {
        assert_eq!(headers(&[("x-ratelimit-bucket", " ")]).bucket, None);
        let long = "a".repeat(600);
        assert_eq!(headers(&[("x-ratelimit-bucket", &long)]).bucket, None);
        assert!(headers(&[]).is_empty());
    }

    #[test]
    fn debug_redacts_the_bucket() {
        let h = headers(&[("x-ratelimit-bucket", "LIMITER/secret-session/r/1/1/second")]);
        assert!(!format!("{h:?}").contains("secret"));
    }
}
