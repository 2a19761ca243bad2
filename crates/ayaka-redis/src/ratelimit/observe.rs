//! What a response's headers say, in the form the scripts take: durations
//! measured on the server's own clock, every hostile value filtered out.
//!
//! Pure functions, so the rules are tested without Redis.

use std::time::Duration;

use ayaka_http::ratelimit::RateLimitHeaders;
use ayaka_model::is_absolute_time;

/// Bounds that keep a hostile server from wedging every process at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// The longest wait any header may impose; a server duration beyond
    /// it is garbage, not a window.
    pub max_wait: Duration,
    /// The wait used when a bucket is exhausted and nothing says how long.
    pub fallback_wait: Duration,
}

impl Default for Caps {
    fn default() -> Self {
        Self {
            max_wait: Duration::from_secs(3600),
            fallback_wait: Duration::from_secs(1),
        }
    }
}

/// One response, normalised.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Observation {
    /// The server answered 429.
    pub(super) limited: bool,
    /// Requests per window: `X-RateLimit-Limit`, else the bucket name's.
    pub(super) limit: Option<u32>,
    /// `X-RateLimit-Remaining`.
    pub(super) remaining: Option<u32>,
    /// Time until the window resets, on the server's clock; `None` when the
    /// server gave none that makes sense (a Reset at or before Date, an
    /// absolute time without a Date, garbage, or longer than the cap).
    pub(super) reset_after: Option<Duration>,
    /// The window length the bucket name spells, capped.
    pub(super) window: Option<Duration>,
    /// The raw absolute `Reset`, when it can tell two windows apart.
    pub(super) reset_id: Option<f64>,
    /// How long a 429 blocks the bucket; the fallback wait otherwise.
    pub(super) block: Duration,
}

impl Observation {
    /// Reads the headers of one response.
    pub(super) fn new(headers: &RateLimitHeaders, limited: bool, caps: Caps) -> Self {
        let window = headers
            .window()
            .map(|(limit, length)| (limit, length.min(caps.max_wait)));
        let reset_after = server_reset_after(headers).filter(|d| *d <= caps.max_wait);
        let block = if limited {
            headers
                .retry_after()
                .filter(|d| !d.is_zero())
                .or(reset_after)
                .or(window.map(|(_, length)| length))
                .unwrap_or(caps.fallback_wait)
                .min(caps.max_wait)
        } else {
            caps.fallback_wait
        };
        Self {
            limited,
            limit: headers.limit.or(window.map(|(limit, _)| limit)),
            remaining: headers.remaining,
            reset_after,
            window: window.map(|(_, length)| length),
            reset_id: reset_after.and(reset_id(headers)),
            block,
        }
    }
}

/// The time until the reset, from the server's clock only; zero is no
/// window, not "now".
fn server_reset_after(headers: &RateLimitHeaders) -> Option<Duration> {
    let date = headers.date.map(|d| d as f64);
    let seconds = |value: f64| -> Option<f64> {
        if !value.is_finite() || value < 0.0 {
            return None;
        }
        if is_absolute_time(value) {
            // An absolute time, where the name promises a duration or not.
            return Some(value - date?);
        }
        Some(value)
    };
    let after = match headers.reset_after {
        Some(value) => seconds(value),
        None => headers.reset.and_then(seconds),
    }?;
    if after <= 0.0 {
        return None;
    }
    Duration::try_from_secs_f64(after).ok()
}

/// The raw Reset, when it is an absolute time that follows the Date.
fn reset_id(headers: &RateLimitHeaders) -> Option<f64> {
    let reset = headers.reset?;
    let date = headers.date? as f64;
    (reset.is_finite() && is_absolute_time(reset) && reset > date).then_some(reset)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATE: u64 = 1_700_000_000;
    const BUCKET: &str = "LIMITER/127.0.0.1/users.me/5/1/second";

    fn headers() -> RateLimitHeaders {
        RateLimitHeaders {
            bucket: Some(BUCKET.into()),
            limit: Some(5),
            remaining: Some(3),
            reset: Some((DATE + 1) as f64),
            reset_after: None,
            retry_after: Some(0.0),
            date: Some(DATE),
        }
    }

    fn observe(headers: &RateLimitHeaders, limited: bool) -> Observation {
        Observation::new(headers, limited, Caps::default())
    }

    #[test]
    fn documented_headers() {
        let o = observe(&headers(), false);
        assert_eq!(o.limit, Some(5));
        assert_eq!(o.remaining, Some(3));
        assert_eq!(o.reset_after, Some(Duration::from_secs(1)));
        assert_eq!(o.window, Some(Duration::from_secs(1)));
        assert_eq!(o.reset_id, Some((DATE + 1) as f64));
        assert_eq!(o.block, Caps::default().fallback_wait);
    }

    #[test]
    fn reset_at_or_before_date_is_no_window() {
        for reset in [DATE, DATE - 5] {
            let h = RateLimitHeaders {
                reset: Some(reset as f64),
                ..headers()
            };
            let o = observe(&h, false);
            assert_eq!(o.reset_after, None, "{reset}");
            assert_eq!(o.reset_id, None, "{reset}");
            // The bucket name's window still stands.
            assert_eq!(o.window, Some(Duration::from_secs(1)));
        }
    }

    #[test]
    fn absolute_reset_without_date_is_unknown() {
        let h = RateLimitHeaders {
            date: None,
            ..headers()
        };
        let o = observe(&h, false);
        assert_eq!((o.reset_after, o.reset_id), (None, None));
    }

    #[test]
    fn far_future_reset_is_garbage() {
        let h = RateLimitHeaders {
            reset: Some(9.0e12),
            ..headers()
        };
        let o = observe(&h, false);
        assert_eq!((o.reset_after, o.reset_id), (None, None));
        // A 429 with it blocks for the bucket name's window, not for ages.
        let h = RateLimitHeaders {
            retry_after: None,
            ..h
        };
        assert_eq!(observe(&h, true).block, Duration::from_secs(1));
    }

    #[test]
    fn epoch_in_reset_after_uses_the_date() {
        let h = RateLimitHeaders {
            reset: None,
            reset_after: Some((DATE + 2) as f64),
            ..headers()
        };
        assert_eq!(observe(&h, false).reset_after, Some(Duration::from_secs(2)));
        let h = RateLimitHeaders {
            reset_after: Some(0.25),
            ..h
        };
        assert_eq!(
            observe(&h, false).reset_after,
            Some(Duration::from_millis(250))
        );
    }

    #[test]
    fn retry_after_blocks_a_429_within_the_cap() {
        let h = RateLimitHeaders {
            retry_after: Some(2.5),
            ..headers()
        };
        assert_eq!(observe(&h, true).block, Duration::from_millis(2500));
        let h = RateLimitHeaders {
            retry_after: Some(999_999_999.0),
            ..headers()
        };
        assert_eq!(observe(&h, true).block, Caps::default().max_wait);
        // Retry-After 0 on a 429 means "see the reset".
        assert_eq!(observe(&headers(), true).block, Duration::from_secs(1));
        // Nothing at all: the fallback.
        let bare = RateLimitHeaders::default();
        assert_eq!(observe(&bare, true).block, Caps::default().fallback_wait);
    }

    #[test]
    fn limit_comes_from_the_name_when_the_header_lacks_it() {
        let h = RateLimitHeaders {
            limit: None,
            ..headers()
        };
        assert_eq!(observe(&h, false).limit, Some(5));
        let h = RateLimitHeaders {
            limit: None,
            bucket: Some("opaque".into()),
            ..headers()
        };
        assert_eq!(observe(&h, false).limit, None);
    }

    #[test]
    fn long_windows_are_capped() {
        let h = RateLimitHeaders {
            bucket: Some("LIMITER/x/r/5/3/day".into()),
            ..headers()
        };
        assert_eq!(observe(&h, false).window, Some(Duration::from_secs(3600)));
    }
}
