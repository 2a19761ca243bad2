//! A property of the rate-limit scripts: whatever the timing, crashes and
//! number of processes, no server window ever receives more than its limit.
//!
//! One caveat is by design: every unknown route learns its bucket with one
//! blind request, and two unknown routes that turn out to share a bucket
//! may each send theirs into one window. So where routes share a bucket the
//! property is "no window gets more than its limit of granted (non-blind)
//! requests"; where they do not, "the server never refuses a request".
//!
//! A simulated server with fixed windows that start at the first request
//! (as ayaka-server's do), on a clock unrelated to Redis's, answers callers
//! that each stand for a process. Everything runs in simulated time (the
//! Redis clock is injected into the scripts); the scripts are the real ones
//! on a real redis-server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Duration;

use ayaka_http::ratelimit::RateLimitHeaders;
use ayaka_redis::Connection;
use ayaka_redis::keys::{BucketHash, Keyspace};
use ayaka_redis::ratelimit::raw::{Acquired, Completion, Lease, PermitId, RawLimiter, Settings};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Routes and the server bucket each counts against (two share one).
const ROUTES: [(&str, usize); 3] = [
    ("GET /users/@me", 0),
    ("PATCH /users/@me", 0),
    ("GET /guilds/{id}", 1),
];
const LEASE_MS: u64 = 5_000;
/// Simulated time after which the run counts as wedged.
const HORIZON_MS: u64 = 600_000;
const MAX_EVENTS: usize = 50_000;

#[derive(Debug, Clone)]
struct Sim {
    limits: [u32; 2],
    window_secs: [u64; 2],
    callers: Vec<Caller>,
    /// The server's clock minus Redis's, in ms.
    server_offset_ms: i64,
    /// Whether two of the routes share a server bucket.
    share: bool,
    seed: u64,
}

#[derive(Debug, Clone)]
struct Caller {
    requests: u32,
    /// Chance in 1000 that the process dies with a request in flight.
    death_per_mille: u32,
    /// The longest one-way trip between it and the server, in ms.
    latency_ms: u64,
}

fn sim() -> impl Strategy<Value = Sim> {
    (
        [1u32..=5, 1u32..=5],
        [1u64..=2, 1u64..=2],
        prop::collection::vec(
            (
                1u32..=12,
                prop_oneof![Just(0u32), 0u32..=100],
                prop_oneof![Just(5u64), Just(60), Just(400), Just(1_500)],
            )
                .prop_map(|(requests, death, latency_ms)| Caller {
                    requests,
                    death_per_mille: death,
                    latency_ms,
                }),
            1..=6,
        ),
        -3_600_000_000i64..=3_600_000_000,
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(
            |(limits, window_secs, callers, server_offset_ms, share, seed)| Sim {
                limits,
                window_secs,
                callers,
                server_offset_ms,
                share,
                seed,
            },
        )
}

/// The server side: fixed windows per bucket, started by the first request.
struct Server {
    limits: [u32; 2],
    window_secs: [u64; 2],
    windows: [Option<Window>; 2],
    /// Requests refused for being over the limit.
    refused: u32,
    /// Windows that received more granted (non-blind) requests than allowed.
    overfull_windows: u32,
}

#[derive(Clone, Copy)]
struct Window {
    ends_ms: u64,
    used: u32,
    granted: u32,
}

impl Server {
    fn bucket_name(&self, bucket: usize) -> String {
        let name = ["users.me", "guilds.get"][bucket];
        format!(
            "LIMITER/127.0.0.1/{name}/{}/{}/second",
            self.limits[bucket], self.window_secs[bucket]
        )
    }

    /// Counts a request arriving at server time `now_ms`; its headers.
    fn hit(&mut self, bucket: usize, now_ms: u64, blind: bool) -> (RateLimitHeaders, bool) {
        let limit = self.limits[bucket];
        let mut window = match self.windows[bucket] {
            Some(window) if window.ends_ms > now_ms => window,
            _ => Window {
                ends_ms: now_ms + self.window_secs[bucket] * 1_000,
                used: 0,
                granted: 0,
            },
        };
        let allowed = window.used < limit;
        if allowed {
            window.used += 1;
        } else {
            self.refused += 1;
        }
        if !blind {
            window.granted += 1;
            if window.granted == limit + 1 {
                self.overfull_windows += 1;
            }
        }
        self.windows[bucket] = Some(window);
        let headers = RateLimitHeaders {
            bucket: Some(self.bucket_name(bucket).into()),
            limit: Some(limit),
            remaining: Some(limit - window.used),
            reset: Some(window.ends_ms.div_ceil(1_000) as f64),
            reset_after: None,
            retry_after: Some(if allowed {
                0.0
            } else {
                (window.ends_ms - now_ms).div_ceil(1_000).max(1) as f64
            }),
            date: Some(now_ms / 1_000),
        };
        (headers, !allowed)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    /// The caller asks for a permit (stale unless `generation` matches).
    Try { caller: usize, generation: u64 },
    /// The caller's request reaches the server.
    Arrive { caller: usize },
    /// The caller's response comes back.
    Complete { caller: usize },
}

struct InFlight {
    route: usize,
    permit: PermitId,
    lease: Lease,
    response: Option<(RateLimitHeaders, bool)>,
}

struct CallerState {
    left: u32,
    route: usize,
    generation: u64,
    waiting: bool,
    dead: bool,
    known: HashMap<usize, BucketHash>,
    in_flight: Option<InFlight>,
}

async fn run(redis: &Connection, keys: Keyspace, sim: Sim) -> Result<(), String> {
    let raw = RawLimiter::new(
        keys,
        Settings {
            lease: Duration::from_millis(LEASE_MS),
            margin: Duration::ZERO,
            ..Settings::default()
        },
    );
    let mut rng = StdRng::seed_from_u64(sim.seed);
    let mut server = Server {
        limits: sim.limits,
        window_secs: sim.window_secs,
        windows: [None, None],
        refused: 0,
        overfull_windows: 0,
    };
    // Without sharing, the first and last routes only: one bucket each.
    let routes: &[usize] = if sim.share { &[0, 1, 2] } else { &[0, 2] };
    let pick = |rng: &mut StdRng| routes[rng.random_range(0..routes.len())];
    let t0: u64 = 10_000_000;
    let server_ms = |t: u64| (1_700_000_000_000i64 + sim.server_offset_ms + t as i64) as u64;
    let mut callers: Vec<CallerState> = sim
        .callers
        .iter()
        .map(|c| CallerState {
            left: c.requests,
            route: pick(&mut rng),
            generation: 0,
            waiting: false,
            dead: false,
            known: HashMap::new(),
            in_flight: None,
        })
        .collect();
    let mut events = BinaryHeap::new();
    let mut order = 0u64;
    let mut push = |events: &mut BinaryHeap<_>, at: u64, event: Event| {
        order += 1;
        events.push(Reverse((at, order, event)));
    };
    for caller in 0..callers.len() {
        let at = t0 + rng.random_range(0..50);
        push(
            &mut events,
            at,
            Event::Try {
                caller,
                generation: 0,
            },
        );
    }

    let mut handled = 0;
    while let Some(Reverse((now, _, event))) = events.pop() {
        handled += 1;
        if handled > MAX_EVENTS || now > t0 + HORIZON_MS {
            return Err(format!("wedged after {handled} events at {}", now - t0));
        }
        match event {
            Event::Try { caller, generation } => {
                let c = &mut callers[caller];
                if c.generation != generation || c.dead || c.in_flight.is_some() || c.left == 0 {
                    continue;
                }
                let (route, _) = ROUTES[c.route];
                let declared = c.known.get(&c.route).copied();
                let permit = PermitId::random();
                let reply = raw
                    .acquire(redis, route, permit, declared, Some(now))
                    .await
                    .map_err(|e| e.to_string())?;
                let lease = match reply {
                    Acquired::Granted { bucket, seq } => Lease::granted(bucket, seq),
                    Acquired::Blind => Lease::Blind,
                    Acquired::Moved(bucket) => {
                        c.known.insert(c.route, bucket);
                        c.generation += 1;
                        let generation = c.generation;
                        push(&mut events, now, Event::Try { caller, generation });
                        continue;
                    }
                    Acquired::Wait(wait) => {
                        c.waiting = true;
                        c.generation += 1;
                        let generation = c.generation;
                        let at = now + u64::try_from(wait.as_millis()).unwrap();
                        push(&mut events, at, Event::Try { caller, generation });
                        continue;
                    }
                };
                c.waiting = false;
                c.in_flight = Some(InFlight {
                    route: c.route,
                    permit,
                    lease,
                    response: None,
                });
                let latency = sim.callers[caller].latency_ms;
                push(
                    &mut events,
                    now + rng.random_range(0..=latency),
                    Event::Arrive { caller },
                );
            }
            Event::Arrive { caller } => {
                let death = sim.callers[caller].death_per_mille;
                let c = &mut callers[caller];
                let Some(request) = c.in_flight.as_mut() else {
                    continue;
                };
                let bucket = ROUTES[request.route].1;
                let blind = matches!(request.lease, Lease::Blind);
                request.response = Some(server.hit(bucket, server_ms(now), blind));
                if rng.random_range(0..1_000) < death {
                    // The process dies: its lease is never released.
                    c.dead = true;
                    continue;
                }
                let latency = sim.callers[caller].latency_ms;
                push(
                    &mut events,
                    now + rng.random_range(0..=latency),
                    Event::Complete { caller },
                );
            }
            Event::Complete { caller } => {
                let c = &mut callers[caller];
                let Some(request) = c.in_flight.take() else {
                    continue;
                };
                let (route, _) = ROUTES[request.route];
                let completion = Completion {
                    route,
                    permit: request.permit,
                    lease: request.lease,
                    response: request.response.as_ref().map(|(h, limited)| (h, *limited)),
                };
                let bucket = raw
                    .complete(redis, &completion, Some(now))
                    .await
                    .map_err(|e| e.to_string())?;
                if let Some(bucket) = bucket {
                    c.known.insert(request.route, bucket);
                }
                c.left -= 1;
                c.route = pick(&mut rng);
                c.generation += 1;
                let generation = c.generation;
                push(
                    &mut events,
                    now + rng.random_range(0..=40),
                    Event::Try { caller, generation },
                );
                // Wake-ups: everyone waiting asks again now (more often than
                // pub/sub would wake them, which only makes this stricter).
                for (other, state) in callers.iter_mut().enumerate() {
                    if state.waiting && !state.dead {
                        state.generation += 1;
                        let generation = state.generation;
                        push(
                            &mut events,
                            now,
                            Event::Try {
                                caller: other,
                                generation,
                            },
                        );
                    }
                }
            }
        }
    }
    if server.overfull_windows > 0 {
        return Err(format!(
            "{} windows got more granted requests than their limit",
            server.overfull_windows
        ));
    }
    if !sim.share && server.refused > 0 {
        return Err(format!(
            "the server refused {} requests over its limit",
            server.refused
        ));
    }
    let unfinished: Vec<_> = callers
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.dead && c.left > 0)
        .map(|(i, _)| i)
        .collect();
    if !unfinished.is_empty() {
        return Err(format!("callers {unfinished:?} never finished"));
    }
    Ok(())
}

#[test]
fn no_server_window_ever_gets_more_than_its_limit() {
    let server = redis_or_skip!("no_server_window_ever_gets_more_than_its_limit");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let redis = server.connection().call_timeout(Duration::from_secs(5));
    let mut runner = TestRunner::new(Config {
        cases: 256,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&sim(), |sim| {
        let keys = Keyspace::new(support::namespace("property"));
        runtime
            .block_on(run(&redis, keys, sim))
            .map_err(TestCaseError::fail)
    });
    if let Err(error) = result {
        panic!("{error}");
    }
}

/// Cases the property once failed on, replayed on every run.
#[test]
fn failing_cases_found_before_still_hold() {
    let server = redis_or_skip!("failing_cases_found_before_still_hold");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let redis = server.connection().call_timeout(Duration::from_secs(5));
    let caller = |requests, latency_ms| Caller {
        requests,
        death_per_mille: 0,
        latency_ms,
    };
    let cases = [Sim {
        // Two routes in one bucket, trips up to 1.5 s against 2 s windows.
        limits: [5, 4],
        window_secs: [2, 2],
        callers: vec![
            caller(5, 60),
            caller(6, 60),
            caller(2, 1_500),
            caller(7, 400),
            caller(3, 1_500),
        ],
        server_offset_ms: 0,
        share: true,
        seed: 10_838_551_351_297_453_169,
    }];
    for sim in cases {
        let keys = Keyspace::new(support::namespace("regression"));
        if let Err(error) = runtime.block_on(run(&redis, keys, sim.clone())) {
            panic!("{error}: {sim:?}");
        }
    }
}
