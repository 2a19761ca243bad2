//! A hostile REST server for the rate limiter.
//!
//! It enforces a true limit per bucket (fixed windows, each opened by the
//! first request after the previous one ended, as the local server does),
//! lies in its headers in the ways [`Lie`] lists, can rename its buckets and
//! merge two of them mid-run, and records every request it allows or
//! refuses, so tests count 429s where they happen: at the server.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ayaka_model::route::{Resolved, Route, RouteKind};

use super::{reply, serve};

/// How the server lies in its rate-limit headers. The limit it enforces is
/// true whatever it says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lie {
    /// Every documented header, true, with a fractional `Reset`.
    Honest,
    /// `Date` off by this many seconds; `Reset` on the true clock.
    DateSkew(i64),
    /// `Reset` a few seconds before `Date`.
    ResetBeforeDate,
    /// `Reset` equal to `Date`.
    ResetAtDate,
    /// `Reset` ten years ahead.
    FarFutureReset,
    /// `Limit`, `Remaining`, `Reset` and both retry headers unusable (a
    /// different kind of garbage on each response); the bucket name and the
    /// 429 body stay true.
    Garbage,
    /// 429s carry no retry header: the wait is only in the JSON body.
    RetryAfterOnlyInBody,
    /// `Reset` before `Date`, and a bucket id that spells no window: the
    /// client has no window to fall back to but its own default.
    OpaqueBucketResetBeforeDate,
}

/// A bucket's true limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub limit: u32,
    pub window: Duration,
}

/// One request, as the server counted it.
#[derive(Debug, Clone, Copy)]
pub struct Event {
    pub at: Instant,
    pub route: RouteKind,
    /// The true bucket it counted in.
    pub bucket: &'static str,
    pub allowed: bool,
}

/// One window of one bucket.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub opened: Instant,
    pub allowed: u32,
    pub refused: u32,
}

#[derive(Debug)]
struct State {
    lie: Lie,
    default: Rule,
    rules: HashMap<&'static str, Rule>,
    /// After [`HostileServer::rename`]: every bucket has a new name and
    /// `PATCH /guilds/{id}` counts in `POST /guilds`'s bucket.
    renamed: bool,
    windows: HashMap<&'static str, Vec<Window>>,
    events: Vec<Event>,
    responses: u64,
}

/// What a request got.
struct Decision {
    allowed: bool,
    bucket: &'static str,
    rule: Rule,
    remaining: u32,
    /// Time left in the window.
    reset_in: Duration,
}

impl State {
    fn rule(&self, bucket: &str) -> Rule {
        self.rules.get(bucket).copied().unwrap_or(self.default)
    }

    fn bucket(&self, route: RouteKind) -> &'static str {
        if self.renamed && route == RouteKind::UpdateGuild {
            RouteKind::CreateGuild.bucket()
        } else {
            route.bucket()
        }
    }

    fn hit(&mut self, route: RouteKind, now: Instant) -> Decision {
        let bucket = self.bucket(route);
        let rule = self.rule(bucket);
        let windows = self.windows.entry(bucket).or_default();
        let open = windows
            .last()
            .is_some_and(|window| now.duration_since(window.opened) < rule.window);
        if !open {
            windows.push(Window {
                opened: now,
                allowed: 0,
                refused: 0,
            });
        }
        let window = windows.last_mut().expect("a window was just opened");
        let allowed = window.allowed < rule.limit;
        if allowed {
            window.allowed += 1;
        } else {
            window.refused += 1;
        }
        let decision = Decision {
            allowed,
            bucket,
            rule,
            remaining: rule.limit - window.allowed,
            reset_in: rule
                .window
                .saturating_sub(now.duration_since(window.opened)),
        };
        self.events.push(Event {
            at: now,
            route,
            bucket,
            allowed,
        });
        decision
    }

    /// The rate-limit headers and status of one answer, as `lie` says.
    fn answer(&mut self, decision: &Decision) -> (u16, Vec<(String, String)>, String) {
        self.responses += 1;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_secs_f64();
        let reset = now + decision.reset_in.as_secs_f64();
        // Whole milliseconds, rounded up as the local server does: a refusal
        // never says "retry now" while its window is still open.
        let retry_after = (decision.reset_in.as_secs_f64() * 1000.0).ceil().max(1.0) / 1000.0;
        let Rule { limit, window } = decision.rule;
        let suffix = if self.renamed { ".v2" } else { "" };
        let name = format!(
            "LIMITER/127.0.0.1/{}{suffix}/{limit}/{}/second",
            decision.bucket,
            window.as_secs_f64()
        );
        let date = |secs: f64| {
            httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs_f64(secs.max(0.0)))
        };
        let mut headers = vec![
            ("x-ratelimit-bucket".to_owned(), name),
            ("x-ratelimit-limit".to_owned(), limit.to_string()),
            (
                "x-ratelimit-remaining".to_owned(),
                decision.remaining.to_string(),
            ),
            ("x-ratelimit-reset".to_owned(), format!("{reset:.3}")),
            ("date".to_owned(), date(now)),
        ];
        let mut retry_headers = !decision.allowed;
        let set = |headers: &mut Vec<(String, String)>, name: &str, value: String| {
            if let Some(slot) = headers.iter_mut().find(|(n, _)| n == name) {
                slot.1 = value;
            } else {
                headers.push((name.to_owned(), value));
            }
        };
        match self.lie {
            Lie::Honest => {}
            Lie::DateSkew(skew) => set(&mut headers, "date", date(now + skew as f64)),
            Lie::ResetBeforeDate => {
                set(
                    &mut headers,
                    "x-ratelimit-reset",
                    format!("{:.3}", now - 3.0),
                );
            }
            Lie::ResetAtDate => {
                set(
                    &mut headers,
                    "x-ratelimit-reset",
                    format!("{}", now.floor()),
                );
            }
            Lie::FarFutureReset => {
                let ten_years = 10.0 * 365.0 * 86_400.0;
                set(
                    &mut headers,
                    "x-ratelimit-reset",
                    format!("{:.3}", now + ten_years),
                );
            }
            Lie::Garbage => {
                let garbage: [[&str; 3]; 4] = [
                    ["-5", "abc", "NaN"],
                    ["0", "-1", "soon"],
                    ["99999999999999999999", "1e3", "-1700000000"],
                    ["", " ", "inf"],
                ];
                let [limit, remaining, reset] = garbage[(self.responses % 4) as usize];
                set(&mut headers, "x-ratelimit-limit", limit.to_owned());
                set(&mut headers, "x-ratelimit-remaining", remaining.to_owned());
                set(&mut headers, "x-ratelimit-reset", reset.to_owned());
                if retry_headers {
                    set(&mut headers, "x-ratelimit-retry-after", "-1".to_owned());
                    set(&mut headers, "retry-after", "later".to_owned());
                    retry_headers = false;
                }
            }
            Lie::RetryAfterOnlyInBody => retry_headers = false,
            Lie::OpaqueBucketResetBeforeDate => {
                set(
                    &mut headers,
                    "x-ratelimit-bucket",
                    format!("opaque-{}{suffix}", decision.bucket),
                );
                set(
                    &mut headers,
                    "x-ratelimit-reset",
                    format!("{:.3}", now - 3.0),
                );
            }
        }
        if decision.allowed {
            if self.lie != Lie::Garbage {
                set(&mut headers, "x-ratelimit-retry-after", "0".to_owned());
            }
            return (200, headers, String::new());
        }
        if retry_headers {
            set(
                &mut headers,
                "x-ratelimit-retry-after",
                format!("{retry_after:.3}"),
            );
            set(
                &mut headers,
                "retry-after",
                format!("{}", retry_after.ceil().max(1.0)),
            );
        }
        let body = format!(
            r#"{{"code": 429, "message": "You are being rate limited.", "retry_after": {retry_after:.3}}}"#
        );
        (429, headers, body)
    }
}

/// The body a route answers with when allowed.
fn body(route: RouteKind) -> (u16, &'static str) {
    const USER: &str = r#"{"id": 1, "username": "ayaka", "separator": 1}"#;
    const GUILD: &str = r#"{"id": 1, "name": "g", "owner": 1}"#;
    match route {
        RouteKind::CreateUser | RouteKind::GetCurrentUser | RouteKind::UpdateCurrentUser => {
            (200, USER)
        }
        RouteKind::CreateGuild
        | RouteKind::GetGuild
        | RouteKind::UpdateGuild
        | RouteKind::GetGuildPreview => (200, GUILD),
        RouteKind::GetGuildChannels => (200, "[]"),
        _ => (204, ""),
    }
}

/// Builds a [`HostileServer`].
#[derive(Debug)]
pub struct Hostile {
    lie: Lie,
    default: Rule,
    rules: HashMap<&'static str, Rule>,
}

impl Hostile {
    /// A server lying as `lie`, enforcing `limit` per `window` on every bucket.
    pub fn new(lie: Lie, limit: u32, window: Duration) -> Self {
        Self {
            lie,
            default: Rule { limit, window },
            rules: HashMap::new(),
        }
    }

    /// A different true limit for the bucket `route` counts in.
    pub fn bucket_limit(mut self, route: RouteKind, limit: u32, window: Duration) -> Self {
        self.rules.insert(route.bucket(), Rule { limit, window });
        self
    }

    pub async fn serve(self) -> HostileServer {
        let state = Arc::new(Mutex::new(State {
            lie: self.lie,
            default: self.default,
            rules: self.rules,
            renamed: false,
            windows: HashMap::new(),
            events: Vec::new(),
            responses: 0,
        }));
        let addr = serve(None, {
            let state = Arc::clone(&state);
            move |seen: super::Seen| {
                let route = match Route::resolve(seen.method.as_str(), &seen.path) {
                    Resolved::Route(route) => Some(route.kind()),
                    _ => None,
                };
                let response = match route {
                    Some(route) => {
                        let mut state = state.lock().unwrap();
                        let decision = state.hit(route, Instant::now());
                        let (status, headers, limited_body) = state.answer(&decision);
                        let headers: Vec<(&str, &str)> = headers
                            .iter()
                            .map(|(n, v)| (n.as_str(), v.as_str()))
                            .collect();
                        if status == 429 {
                            reply(429, &headers, &limited_body)
                        } else {
                            let (status, body) = body(route);
                            reply(status, &headers, body)
                        }
                    }
                    None => reply(404, &[], r#"{"code": 0, "message": "404: Not Found"}"#),
                };
                async move { response }
            }
        })
        .await;
        HostileServer { addr, state }
    }
}

/// A running hostile server.
#[derive(Debug, Clone)]
pub struct HostileServer {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl HostileServer {
    /// Renames every bucket (`guilds.get` becomes `guilds.get.v2`, counts
    /// carried over) and moves `PATCH /guilds/{id}` into `POST /guilds`'s
    /// bucket, at once. Returns when it happened.
    pub fn rename(&self) -> Instant {
        let mut state = self.state.lock().unwrap();
        state.renamed = true;
        Instant::now()
    }

    /// Every request the server counted.
    pub fn events(&self) -> Vec<Event> {
        self.state.lock().unwrap().events.clone()
    }

    /// Each true bucket's windows, in order.
    pub fn windows(&self) -> HashMap<&'static str, Vec<Window>> {
        self.state.lock().unwrap().windows.clone()
    }

    /// The true rule of a bucket.
    pub fn rule(&self, bucket: &str) -> Rule {
        self.state.lock().unwrap().rule(bucket)
    }

    /// 429s the server sent at or after `since`.
    pub fn refused_since(&self, since: Instant) -> usize {
        self.events()
            .iter()
            .filter(|e| !e.allowed && e.at >= since)
            .count()
    }

    /// The 429s of [`refused_since`](Self::refused_since) that answered a
    /// route's very first request. That request goes blind (no client can
    /// know which bucket a route shares before it answers), and is refused
    /// when a route sharing its bucket spent the window first: at most one
    /// per shared bucket, and no limiter can prevent it.
    pub fn blind_refusals_since(&self, since: Instant) -> Vec<Event> {
        let mut seen = HashSet::new();
        self.events()
            .into_iter()
            .filter(|e| seen.insert(e.route) && !e.allowed && e.at >= since)
            .collect()
    }
}
