//! The client's rate-limit header parser, on hostile values.

use std::time::Duration;

use ayaka_http::ratelimit::RateLimitHeaders;
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::input;

/// The headers the parser reads, in the order the input fills them.
const NAMES: [&str; 8] = [
    "x-ratelimit-bucket",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "x-ratelimit-reset-after",
    "x-ratelimit-retry-after",
    "retry-after",
    "date",
];

/// The longest window a bucket name may describe (the parser's own bound).
const MAX_WINDOW: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Header values separated by `\n`, one per name in `NAMES` (values that
/// are no valid header value are left out): parsing never panics, keeps
/// only sane values, and every accessor answers within bounds.
pub fn headers(data: &[u8]) {
    let mut map = HeaderMap::new();
    for (name, value) in NAMES.iter().zip(input::separated(data, b'\n')) {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            map.append(HeaderName::from_static(name), value);
        }
    }
    let parsed = RateLimitHeaders::from_headers(&map);

    assert_ne!(
        parsed.limit,
        Some(0),
        "a zero limit is no limit information"
    );
    for (what, seconds) in [
        ("reset", parsed.reset),
        ("reset_after", parsed.reset_after),
        ("retry_after", parsed.retry_after),
    ] {
        if let Some(seconds) = seconds {
            assert!(seconds.is_finite() && seconds >= 0.0, "{what}: {seconds}");
        }
    }
    if let Some(bucket) = &parsed.bucket {
        assert!(
            !bucket.is_empty() && bucket.len() <= 512,
            "bucket of {} bytes",
            bucket.len()
        );
        assert_eq!(bucket.trim(), &**bucket, "bucket not trimmed");
        // Debug never shows the bucket (it once held an Authorization value)
        let other = RateLimitHeaders {
            bucket: Some("another".into()),
            ..parsed.clone()
        };
        assert_eq!(
            format!("{parsed:?}"),
            format!("{other:?}"),
            "Debug shows the bucket"
        );
    }
    if let Some((limit, window)) = parsed.window() {
        assert!(limit > 0, "a window with no requests");
        assert!(
            !window.is_zero() && window <= MAX_WINDOW,
            "window {window:?}"
        );
    }
    // durations come out finite and non-negative by construction: asking
    // must just not panic
    let _ = (
        parsed.retry_after(),
        parsed.reset_after(),
        parsed.is_empty(),
    );
    assert_eq!(
        RateLimitHeaders::from_headers(&map),
        parsed,
        "parsing is not deterministic"
    );
}
