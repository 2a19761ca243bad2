#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The shard's state machine without sockets, in virtual time: every
//! instant below is made up, and the machine believes it.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use ayaka_gateway::{
    Backoff, CloseFrame, Error, ErrorKind, IdentifyLease, LeaseEnd, ReconnectLimiter, ShardConfig,
    ShardConfigBuilder, ShardId, ShardMessage, ShardState,
    machine::{Frame, ShardMachine, Transmit},
};
use bytes::Bytes;

const READY: &str = r#"{"t":"READY","d":{"id":1,"username":"ayaka","separator":1}}"#;

fn config() -> ShardConfigBuilder {
    ShardConfig::builder("session")
}

/// A start far from the real clock: a machine reading the real time would
/// give itself away.
fn start() -> Instant {
    Instant::now() + Duration::from_secs(10 * 365 * 24 * 3600)
}

fn events(machine: &mut ShardMachine) -> Vec<ShardMessage> {
    std::iter::from_fn(|| machine.poll_event()).collect()
}

fn transmits(machine: &mut ShardMachine) -> Vec<Transmit> {
    std::iter::from_fn(|| machine.poll_transmit()).collect()
}

/// Opens a connection at `now` (the shell's part), taking identify out.
fn connect(machine: &mut ShardMachine, now: Instant) {
    assert!(machine.poll_connect(), "{machine:?}");
    machine.handle_connected(now, None);
    assert!(matches!(
        machine.poll_transmit(),
        Some(Transmit::Text(identify)) if identify.contains("session")
    ));
}

fn close(code: u16, reason: &str) -> Frame {
    Frame::Close(Some(CloseFrame {
        code,
        reason: reason.to_owned(),
    }))
}

/// Runs the machine until it asks to connect, as a shell would: sleeping
/// until each timeout. Returns when that is.
fn wait_for_connect(machine: &mut ShardMachine, mut now: Instant) -> Instant {
    while !machine.poll_connect() {
        now = machine
            .poll_timeout()
            .expect("a machine waiting has a timeout");
        machine.handle_timeout(now);
    }
    now
}

#[test]
fn the_machine_keeps_only_the_time_it_is_given() {
    let start = start();
    let config = config()
        .ping_jitter(0.0)
        .ready_timeout(Duration::from_secs(20))
        .build();
    let mut machine = ShardMachine::new(ShardId(0), config, start, 1);
    connect(&mut machine, start);
    assert_eq!(
        machine.poll_timeout(),
        Some(start + Duration::from_secs(15)),
        "the first ping, an interval after identify"
    );
    machine.handle_timeout(start + Duration::from_secs(15));
    assert!(matches!(
        transmits(&mut machine).as_slice(),
        [Transmit::Ping(_)]
    ));
    // READY never came: 20 s after identify, the READY timeout, and a
    // close with 1001
    assert_eq!(
        machine.poll_timeout(),
        Some(start + Duration::from_secs(20))
    );
    machine.handle_timeout(start + Duration::from_secs(20));
    assert!(events(&mut machine).iter().any(
        |m| matches!(m, ShardMessage::Error { error, .. } if error.kind() == ErrorKind::Timeout)
    ));
    assert_eq!(
        transmits(&mut machine),
        [Transmit::Close(CloseFrame::new(1001))]
    );
}

#[test]
fn a_fatal_close_ends_the_shard_with_its_code_and_reason() {
    let start = start();
    let mut machine = ShardMachine::new(ShardId(2), config().build(), start, 1);
    connect(&mut machine, start);
    machine.handle_frame(start, Frame::Text(READY.into()));
    machine.handle_frame(start, close(4004, "invalid event"));
    // the close reply goes out (the WebSocket layer's), then the socket ends
    assert!(machine.is_connected());
    machine.handle_socket_error(
        start,
        Error::with_source(ErrorKind::Transport, "connection closed"),
    );
    assert!(!machine.is_connected());
    let reports = events(&mut machine);
    assert!(matches!(
        reports.as_slice(),
        [
            ShardMessage::Connected { .. },
            ShardMessage::Event(_),
            ShardMessage::Ready { .. },
            ShardMessage::Disconnected { code: Some(4004), reason, .. },
            ShardMessage::Closed { error: Some(error), .. },
        ] if reason == "invalid event"
            && error.kind() == ErrorKind::FatalClose { code: 4004 }
            && error.to_string().contains("invalid event")
    ));
    assert!(machine.is_ended());
    assert_eq!(machine.state(), ShardState::Closed);
    assert!(!machine.poll_connect());
    assert_eq!(machine.poll_timeout(), None);
}

/// Counts the connections a shard makes in each of `minutes` virtual
/// minutes against a server that sends READY and closes with 4000 10 ms
/// later, every time.
fn connections_per_minute(config: ShardConfig, minutes: usize) -> Vec<usize> {
    let start = start();
    let mut machine = ShardMachine::new(ShardId(0), config, start, 42);
    let mut per_minute = vec![0; minutes];
    let mut now = start;
    loop {
        now = wait_for_connect(&mut machine, now);
        let minute = now.duration_since(start).as_secs() as usize / 60;
        if minute >= minutes {
            return per_minute;
        }
        per_minute[minute] += 1;
        machine.handle_connected(now, None);
        machine.handle_frame(now, Frame::Text(READY.into()));
        now += Duration::from_millis(10);
        machine.handle_frame(now, close(4000, ""));
        machine.handle_frame(now, Frame::Close(None)); // the closing handshake ends
        assert!(!machine.is_connected());
        events(&mut machine);
        transmits(&mut machine);
    }
}

#[test]
fn ready_then_4000_makes_a_handful_of_connections_a_minute() {
    let counts = connections_per_minute(config().build(), 10);
    // delays of about 0.1, 0.75, 1.5, 3, 6, 12, 24, 45 s, then 30 to 60 s
    assert!(counts[0] <= 10, "{counts:?}");
    assert!(counts[1..].iter().all(|&n| n <= 3), "{counts:?}");
    assert!(
        counts[1..].iter().all(|&n| n >= 1),
        "it keeps trying: {counts:?}"
    );
    // READY resetting the backoff (as if any uptime counted) is what the
    // rule prevents: then it is several connections a second
    let reset_on_ready =
        connections_per_minute(config().reset_backoff_after(Duration::ZERO).build(), 1);
    assert!(reset_on_ready[0] > 200, "{reset_on_ready:?}");
}

#[test]
fn a_connection_that_stayed_ready_long_enough_starts_the_backoff_over() {
    let start = start();
    let mut machine = ShardMachine::new(
        ShardId(0),
        config()
            .reset_backoff_after(Duration::from_secs(30))
            .build(),
        start,
        3,
    );
    let mut now = start;
    let mut attempts = Vec::new();
    for uptime in [1, 1, 1, 29, 31, 1] {
        now = wait_for_connect(&mut machine, now);
        machine.handle_connected(now, None);
        machine.handle_frame(now, Frame::Text(READY.into()));
        // keep the keepalive satisfied meanwhile
        let until = now + Duration::from_secs(uptime);
        while let Some(at) = machine.poll_timeout().filter(|&at| at < until) {
            now = at;
            machine.handle_timeout(now);
            for transmit in transmits(&mut machine) {
                if let Transmit::Ping(payload) = transmit {
                    machine.handle_frame(now, Frame::Pong(payload));
                }
            }
        }
        now = until;
        machine.handle_frame(now, close(4009, "session timed out"));
        machine.handle_frame(now, Frame::Close(None));
        for report in events(&mut machine) {
            if let ShardMessage::Reconnecting { attempt, .. } = report {
                attempts.push(attempt);
            }
        }
    }
    // 29 s is not long enough, 31 s is: the counter starts over after it
    assert_eq!(attempts, [1, 2, 3, 4, 1, 2]);
}

#[test]
fn shards_sharing_a_reconnect_limiter_stay_under_its_rate_together() {
    const SHARDS: usize = 20;
    let start = start();
    let limiter = Arc::new(ReconnectLimiter::new(5, Duration::from_secs(1)));
    let config = config()
        .backoff(Backoff {
            base: Duration::from_millis(1),
            max: Duration::from_millis(2),
            long: Duration::from_millis(2),
        })
        .reconnect_limiter(Arc::clone(&limiter))
        .build();
    let mut machines: Vec<_> = (0..SHARDS)
        .map(|n| ShardMachine::new(ShardId(n as u32), config.clone(), start, n as u64))
        .collect();
    // every shard: READY, then 4000, as fast as its backoff lets it
    let mut connects = Vec::new();
    let mut now = start;
    let end = start + Duration::from_secs(60);
    while now < end {
        for machine in &mut machines {
            if machine.poll_connect() {
                connects.push(now);
                machine.handle_connected(now, None);
                machine.handle_frame(now, Frame::Text(READY.into()));
                machine.handle_frame(now, close(4000, ""));
                machine.handle_frame(now, Frame::Close(None));
                events(machine);
                transmits(machine);
            } else if machine.poll_timeout().is_some_and(|at| at <= now) {
                machine.handle_timeout(now);
            }
        }
        now += Duration::from_millis(1);
    }
    let reconnects: Vec<_> = connects.iter().skip(SHARDS).collect();
    // 5 a second for 60 s, give or take the window's edge
    assert!(
        (290..=305).contains(&reconnects.len()),
        "{}",
        reconnects.len()
    );
    for (index, &&first) in reconnects.iter().enumerate() {
        let within = reconnects[index..]
            .iter()
            .take_while(|&&&at| at < first + Duration::from_secs(1))
            .count();
        assert!(within <= 5, "{within} reconnects within a second");
    }
}

#[test]
fn reconnects_of_many_shards_are_spread_by_jitter() {
    let start = start();
    let delays: Vec<Duration> = (0..20)
        .map(|seed| {
            let mut machine = ShardMachine::new(ShardId(0), config().build(), start, seed);
            connect(&mut machine, start);
            machine.handle_frame(start, Frame::Text(READY.into()));
            machine.handle_frame(start, close(4009, ""));
            machine.handle_frame(start, Frame::Close(None));
            events(&mut machine)
                .into_iter()
                .find_map(|m| match m {
                    ShardMessage::Reconnecting { delay, .. } => Some(delay),
                    _ => None,
                })
                .unwrap()
        })
        .collect();
    let mut distinct = delays.clone();
    distinct.sort();
    distinct.dedup();
    assert!(distinct.len() >= 18, "{delays:?}");
    // the first retry after 4009: within a quarter of the backoff base
    assert!(
        delays.iter().all(|d| *d < Duration::from_millis(125)),
        "{delays:?}"
    );
}

/// A frame-level model of the local server and a slow consumer: events
/// arrive at `rate`, the server keeps up to 1,024 waiting, the socket
/// holds 256 KiB in flight, the consumer takes 5 ms per event, and the
/// shell reads only while the read-ahead holds less than `bound` bytes.
struct SlowConsumer {
    machine: ShardMachine,
    origin: Instant,
    now: Instant,
    /// The server's queue for this connection.
    server_queue: VecDeque<Bytes>,
    /// Frames on the wire, in order, and their bytes.
    wire: VecDeque<Frame>,
    wire_bytes: usize,
    /// The read-ahead: what the machine reported and the consumer has not
    /// taken, with its cost.
    read_ahead: VecDeque<(ShardMessage, usize)>,
    buffered: usize,
    bound: usize,
    behind: bool,
    kicked: bool,
    pings_while_behind: usize,
    taken: Vec<ShardMessage>,
}

impl SlowConsumer {
    const SERVER_QUEUE: usize = 1024;
    const WIRE: usize = 256 * 1024;

    fn new(bound: usize) -> Self {
        let now = start();
        let config = config()
            .read_ahead(bound)
            .ping_interval(Duration::from_secs(1))
            .build();
        let mut machine = ShardMachine::new(ShardId(0), config, now, 9);
        connect(&mut machine, now);
        machine.handle_frame(now, Frame::Text(READY.into()));
        let mut model = Self {
            machine,
            origin: now,
            now,
            server_queue: VecDeque::new(),
            wire: VecDeque::new(),
            wire_bytes: 0,
            read_ahead: VecDeque::new(),
            buffered: 0,
            bound,
            behind: false,
            kicked: false,
            pings_while_behind: 0,
            taken: Vec::new(),
        };
        model.flush();
        model.taken.clear();
        while model.read_ahead.pop_front().is_some() {}
        model.buffered = 0;
        model
    }

    fn event(n: usize) -> Bytes {
        let text = format!("{n:05}:{}", "x".repeat(3_900));
        format!(r#"{{"t":"PRESENCE_UPDATE","id":2,"d":{{"type":1,"description":"{text}"}}}}"#)
            .into()
    }

    /// The machine's output: reports to the read-ahead, pings answered by
    /// the server (after what is already on the wire).
    fn flush(&mut self) {
        while let Some(message) = self.machine.poll_event() {
            let cost = match &message {
                ShardMessage::Event(received) => received.raw.len(),
                _ => 0,
            } + 128;
            self.buffered += cost;
            self.read_ahead.push_back((message, cost));
        }
        for transmit in transmits(&mut self.machine) {
            if let Transmit::Ping(payload) = transmit {
                if self.behind {
                    self.pings_while_behind += 1;
                }
                self.wire.push_back(Frame::Pong(payload));
            }
        }
        let full = self.buffered >= self.bound;
        if full != self.behind {
            self.behind = full;
            if full {
                self.machine.handle_consumer_behind(self.now);
            } else {
                self.machine.handle_consumer_caught_up(self.now);
            }
        }
    }

    /// One millisecond of the world.
    fn step(&mut self, produce: bool, produced: &mut usize) {
        if produce && !self.kicked {
            self.server_queue.push_back(Self::event(*produced));
            *produced += 1;
            if self.server_queue.len() > Self::SERVER_QUEUE {
                // the local server's answer to a client that cannot keep up
                self.kicked = true;
                self.server_queue.clear();
                self.wire
                    .push_back(close(4000, "too slow: event queue overflowed"));
            }
        }
        while self.wire_bytes < Self::WIRE
            && let Some(event) = self.server_queue.pop_front()
        {
            self.wire_bytes += event.len();
            self.wire.push_back(Frame::Text(event));
        }
        while self.machine.wants_read()
            && let Some(frame) = self.wire.pop_front()
        {
            if let Frame::Text(text) = &frame {
                self.wire_bytes -= text.len();
            }
            self.machine.handle_frame(self.now, frame);
            self.flush();
        }
        if self.machine.poll_timeout().is_some_and(|at| at <= self.now) {
            self.machine.handle_timeout(self.now);
            self.flush();
        }
        if self
            .now
            .duration_since(self.origin)
            .as_millis()
            .is_multiple_of(5)
            && let Some((message, cost)) = self.read_ahead.pop_front()
        {
            self.buffered -= cost;
            self.taken.push(message);
            self.flush();
        }
        self.now += Duration::from_millis(1);
    }

    /// 4,000 events at 400 a second, then until everything is taken.
    fn run(bound: usize) -> Self {
        let mut model = Self::new(bound);
        let mut produced = 0;
        for ms in 0..60_000 {
            let produce = produced < 4_000 && ms % 5 < 2;
            model.step(produce, &mut produced);
            if produced == 4_000 && model.read_ahead.is_empty() && model.wire.is_empty() {
                break;
            }
            if model.kicked && !model.machine.is_connected() && model.read_ahead.is_empty() {
                break;
            }
        }
        model
    }

    fn sequence(&self) -> Vec<usize> {
        self.taken
            .iter()
            .filter_map(|m| m.as_event())
            .map(|received| {
                let raw = received.raw_str().unwrap();
                let at = raw.find(r#""description":""#).unwrap() + 15;
                raw[at..at + 5].parse().unwrap()
            })
            .collect()
    }
}

#[test]
fn a_slow_consumer_within_the_read_ahead_bound_takes_every_event() {
    let model = SlowConsumer::run(16 * 1024 * 1024);
    assert!(!model.kicked, "the server never had to give up");
    assert_eq!(model.sequence(), (0..4_000).collect::<Vec<_>>());
    assert!(
        !model
            .taken
            .iter()
            .any(|m| matches!(m, ShardMessage::Error { .. }))
    );
    // the same model with a bound of a few events is kicked: it is the
    // bound that saves the events, not the model's generosity
    assert!(SlowConsumer::run(64 * 1024).kicked);
}

#[test]
fn a_consumer_past_the_bound_keeps_its_connection_alive_then_hears_a_typed_4000() {
    let model = SlowConsumer::run(256 * 1024);
    assert!(model.kicked);
    // every event read before the close, in order, none skipped
    let sequence = model.sequence();
    assert!(sequence.len() > 100);
    assert_eq!(sequence, (0..sequence.len()).collect::<Vec<_>>());
    let reports: Vec<_> = model
        .taken
        .iter()
        .filter(|m| m.as_event().is_none())
        .collect();
    assert!(
        matches!(
            reports.as_slice(),
            [
                ShardMessage::Disconnected { code: Some(4000), reason, .. },
                ShardMessage::Error { error, .. },
                ShardMessage::Reconnecting { .. },
            ] if reason.contains("too slow") && error.kind() == ErrorKind::TooSlow
        ),
        "{reports:?}"
    );
    // behind for seconds, unable to read pongs: still pinging, never dead
    assert!(model.pings_while_behind >= 1);
    assert!(model.machine.time_behind(model.now) > Duration::from_secs(2));
}

#[test]
fn a_consumer_behind_stops_neither_pings_nor_starts_the_ready_timeout() {
    let start = start();
    let mut machine = ShardMachine::new(ShardId(0), config().ping_jitter(0.0).build(), start, 5);
    connect(&mut machine, start);
    machine.handle_consumer_behind(start);
    assert!(!machine.wants_read());
    let mut now = start;
    let mut pings = 0;
    while now < start + Duration::from_secs(120) {
        now = machine.poll_timeout().unwrap();
        machine.handle_timeout(now);
        pings += transmits(&mut machine)
            .iter()
            .filter(|t| matches!(t, Transmit::Ping(_)))
            .count();
    }
    assert_eq!(pings, 8, "one ping every 15 s");
    machine.handle_consumer_caught_up(now);
    assert!(machine.wants_read());
    // READY was waiting unread all along: it is on time
    machine.handle_frame(now, Frame::Text(READY.into()));
    let reports = events(&mut machine);
    assert!(
        !reports
            .iter()
            .any(|m| matches!(m, ShardMessage::Error { .. })),
        "{reports:?}"
    );
    assert_eq!(machine.state(), ShardState::Ready);
    assert!(machine.time_behind(now) >= Duration::from_secs(120));
}

/// Records how each lease ended.
fn lease(log: &Arc<Mutex<Vec<LeaseEnd>>>) -> IdentifyLease {
    let log = Arc::clone(log);
    IdentifyLease::new(move |end| log.lock().unwrap().push(end))
}

#[test]
fn the_identify_lease_ends_on_ready_on_failure_or_when_dropped() {
    let start = start();
    let log = Arc::new(Mutex::new(Vec::new()));

    let mut machine = ShardMachine::new(ShardId(0), config().build(), start, 1);
    machine.handle_connected(start, Some(lease(&log)));
    assert!(log.lock().unwrap().is_empty(), "held until READY");
    machine.handle_frame(start, Frame::Text(READY.into()));

    let mut machine = ShardMachine::new(ShardId(1), config().build(), start, 1);
    machine.handle_connected(start, Some(lease(&log)));
    machine.handle_frame(start, close(4009, ""));

    let mut machine = ShardMachine::new(ShardId(2), config().build(), start, 1);
    machine.handle_close_request(start);
    machine.handle_connected(start, Some(lease(&log)));

    assert_eq!(
        *log.lock().unwrap(),
        [LeaseEnd::Ready, LeaseEnd::Failed, LeaseEnd::Dropped]
    );
}

#[test]
fn a_close_request_sends_1000_and_ends_without_error_on_the_answer() {
    let start = start();
    let mut machine = ShardMachine::new(ShardId(0), config().build(), start, 1);
    connect(&mut machine, start);
    machine.handle_close_request(start);
    assert_eq!(
        transmits(&mut machine),
        [Transmit::Close(CloseFrame::new(1000))]
    );
    // frames still arriving are dropped; the answer ends it
    machine.handle_frame(start, Frame::Text(READY.into()));
    machine.handle_frame(start, Frame::Close(Some(CloseFrame::new(1000))));
    let reports = events(&mut machine);
    assert!(matches!(
        reports.as_slice(),
        [
            ShardMessage::Connected { .. },
            ShardMessage::Closed { error: None, .. }
        ]
    ));
    // a peer that never answers: the grace period ends it too
    let mut machine = ShardMachine::new(ShardId(0), config().build(), start, 1);
    connect(&mut machine, start);
    machine.handle_close_request(start);
    let grace = machine.poll_timeout().unwrap();
    assert_eq!(grace, start + Duration::from_secs(2));
    machine.handle_timeout(grace);
    assert!(machine.is_ended());
}
