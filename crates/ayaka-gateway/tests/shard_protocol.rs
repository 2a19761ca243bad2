#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Shard behaviour against a scripted peer: quirks, zlib, close codes,
//! keepalive, corrupt streams, commands and closing.

mod common;

use std::time::Duration;

use ayaka_gateway::{ErrorKind, Shard, ShardConfigBuilder, ShardId, ShardMessage, ShardState};
use ayaka_model::{
    Presence, PresenceType,
    gateway::{Encoding, Event, EventKind},
};
use common::{
    Connection, GUARD, READY, ScriptedGateway, closed_error, expect_message, fixture, next_error,
    next_event, wait_disconnected, wait_ready, wait_reconnecting,
};

fn is_event(kind: EventKind) -> impl FnMut(&ShardMessage) -> bool {
    move |message| matches!(message, ShardMessage::Event(event) if event.kind() == kind)
}

/// A scripted gateway, a shard whose config `configure` changes, and the
/// shard's first connection.
async fn connect(
    configure: impl FnOnce(ShardConfigBuilder) -> ShardConfigBuilder,
) -> (ScriptedGateway, Shard, Connection) {
    let mut gateway = ScriptedGateway::start().await;
    let shard = Shard::spawn(ShardId(0), configure(gateway.config()).build());
    let connection = gateway.accept().await;
    (gateway, shard, connection)
}

/// The configuration as the scripted gateway gives it: plain JSON.
fn plain(config: ShardConfigBuilder) -> ShardConfigBuilder {
    config
}

/// The configuration change for a zlib-compressed stream.
fn zlib(config: ShardConfigBuilder) -> ShardConfigBuilder {
    config.encoding(Encoding::Zlib)
}

/// What a scripted peer does on a shard's first connection.
enum Peer {
    /// Holds it, neither reading nor writing.
    Silent,
    /// Sends this text message, then holds it.
    Sends(String),
}

/// A shard (its config changed by `configure`) whose first connection gets
/// `peer`: it reports an error of `kind`, reconnects, and is ready on the
/// next connection.
async fn check_error_then_reconnect(
    configure: impl FnOnce(ShardConfigBuilder) -> ShardConfigBuilder,
    peer: Peer,
    kind: ErrorKind,
) {
    // `first` is held to the end, as a peer that stopped answering would
    let (mut gateway, mut shard, mut first) = connect(configure).await;
    if let Peer::Sends(text) = peer {
        first.text(&text).await;
    }
    let error = next_error(&mut shard).await;
    assert_eq!(error.kind(), kind, "{error}");
    wait_reconnecting(&mut shard).await;
    let mut again = gateway.accept().await;
    again.text(READY).await;
    wait_ready(&mut shard).await;
    again.finish(shard).await;
}

#[tokio::test]
async fn handshake_carries_the_user_agent_and_identify_is_exactly_the_protocol() {
    let (_gateway, shard, connection) = connect(zlib).await;
    assert_eq!(
        connection.user_agent.as_deref(),
        Some(ayaka_gateway::USER_AGENT)
    );
    assert_eq!(
        connection.identify,
        r#"{"session_id":"scripted-session","encoding":"zlib"}"#
    );
    connection.finish(shard).await;
}

#[tokio::test]
async fn json_events_arrive_typed_with_raw_json_and_lifecycle() {
    let mut gateway = ScriptedGateway::start().await;
    let mut shard = Shard::spawn(ShardId(7), gateway.config().build());
    let mut connection = gateway.accept().await;
    expect_message(&mut shard, |m| {
        matches!(
            m,
            ShardMessage::Connected {
                shard_id: ShardId(7)
            }
        )
    })
    .await;
    let ready = fixture("ready");
    connection.text(&ready).await;
    connection.text(&fixture("guild_init")).await;
    let ShardMessage::Event(event) = expect_message(&mut shard, is_event(EventKind::Ready)).await
    else {
        unreachable!()
    };
    assert_eq!(event.shard_id, ShardId(7));
    assert_eq!(event.raw_str(), Some(ready.as_str()));
    wait_ready(&mut shard).await;
    assert_eq!(shard.state(), ShardState::Ready);
    let received = shard.next_event().await.unwrap().unwrap();
    assert_eq!(received.kind(), EventKind::GuildInit);
    assert!(received.event.guild_id().is_some());
    connection.finish(shard).await;
}

#[tokio::test]
async fn deployed_server_quirks_are_accepted() {
    let (_gateway, mut shard, mut connection) = connect(plain).await;
    connection.text(&fixture("quirk_hello")).await;
    connection.text(&fixture("quirk_ready_d_string")).await;
    // an older server compressed nothing but still sent binary frames
    connection
        .binary(fixture("guild_create").into_bytes())
        .await;
    connection.text(&fixture("quirk_ack")).await;
    connection.text(&fixture("unknown_event")).await;
    let kinds: Vec<EventKind> = {
        let mut kinds = Vec::new();
        while kinds.len() < 5 {
            let received = next_event(&mut shard).await;
            kinds.push(received.kind());
        }
        kinds
    };
    assert_eq!(
        kinds,
        [
            EventKind::Hello,
            EventKind::Ready,
            EventKind::GuildCreate,
            EventKind::HeartbeatAck,
            EventKind::Unknown
        ]
    );
    connection.finish(shard).await;
}

#[tokio::test]
async fn zlib_messages_split_across_frames_arrive_whole() {
    let (_gateway, mut shard, mut connection) = connect(zlib).await;
    connection.zlib(READY, 7).await;
    let guild = fixture("guild_init");
    for frame_size in [1, 3, 1024] {
        connection.zlib(&guild, frame_size).await;
    }
    assert_eq!(next_event(&mut shard).await.kind(), EventKind::Ready);
    // a text frame under zlib is plain JSON, and the stream carries on after it
    connection.text(&fixture("guild_delete")).await;
    connection.zlib(&guild, 64).await;
    for _ in 0..3 {
        let received = next_event(&mut shard).await;
        assert_eq!(received.kind(), EventKind::GuildInit);
        assert_eq!(received.raw_str(), Some(guild.as_str()));
    }
    assert_eq!(next_event(&mut shard).await.kind(), EventKind::GuildDelete);
    assert_eq!(next_event(&mut shard).await.kind(), EventKind::GuildInit);
    connection.finish(shard).await;
}

#[tokio::test]
async fn a_corrupt_zlib_frame_is_an_error_then_a_reconnect_with_a_fresh_stream() {
    let (mut gateway, mut shard, mut connection) = connect(zlib).await;
    connection.zlib(READY, 1024).await;
    wait_ready(&mut shard).await;
    connection
        .binary(b"\xde\xad\xbe\xef not zlib \x00\x00\xff\xff".to_vec())
        .await;
    let error = next_error(&mut shard).await;
    assert_eq!(error.kind(), ErrorKind::Decompress);
    expect_message(&mut shard, |m| {
        matches!(m, ShardMessage::Reconnecting { attempt: 1, .. })
    })
    .await;
    // the new connection starts a new zlib stream, and identifies again
    let mut connection = gateway.accept().await;
    assert!(connection.identify.contains("scripted-session"));
    connection.zlib(READY, 5).await;
    expect_message(&mut shard, is_event(EventKind::Ready)).await;
    connection.finish(shard).await;
}

#[tokio::test]
async fn an_unparsable_message_is_reported_and_the_connection_survives() {
    let (_gateway, mut shard, mut connection) = connect(plain).await;
    connection.text("{not json").await;
    connection.text(READY).await;
    let error = next_error(&mut shard).await;
    assert_eq!(error.kind(), ErrorKind::Parse);
    expect_message(&mut shard, is_event(EventKind::Ready)).await;
    connection.finish(shard).await;
}

#[tokio::test]
async fn fatal_close_codes_end_the_shard_with_a_typed_error() {
    for code in [4001, 4002, 4004] {
        let (_gateway, mut shard, connection) = connect(plain).await;
        connection.close(code).await;
        wait_disconnected(&mut shard, code).await;
        // a fatal close carries its error
        let error = closed_error(&mut shard).await;
        assert_eq!(error.kind(), ErrorKind::FatalClose { code });
        assert_eq!(error.close_code(), Some(code));
        assert_eq!(shard.state(), ShardState::Closed);
        assert!(shard.next_message().await.is_none(), "nothing after Closed");
        let presence = shard
            .update_presence(Presence::new(PresenceType::Online))
            .await;
        assert_eq!(presence.unwrap_err().kind(), ErrorKind::Closed);
    }
}

#[tokio::test]
async fn recoverable_close_codes_reconnect_and_identify_again() {
    for code in [4000, 4003, 4008, 4009, 1000, 1011] {
        let (mut gateway, mut shard, mut connection) = connect(plain).await;
        connection.text(READY).await;
        wait_ready(&mut shard).await;
        connection.close(code).await;
        let (attempt, delay) = wait_reconnecting(&mut shard).await;
        assert_eq!(attempt, 1);
        if code == 4003 {
            assert!(
                delay >= Duration::from_millis(300),
                "4003 waits long: {delay:?}"
            );
        } else {
            assert!(
                delay < Duration::from_millis(300),
                "code {code} waited {delay:?}"
            );
        }
        let mut connection = gateway.accept().await;
        connection.text(READY).await;
        wait_ready(&mut shard).await;
        connection.finish(shard).await;
    }
}

#[tokio::test]
async fn a_silent_server_is_detected_by_the_ping_timeout() {
    // the peer holds the connection without reading it: pings go unanswered
    check_error_then_reconnect(
        |config| {
            config
                .ping_interval(Duration::from_millis(100))
                .ping_timeout(Duration::from_millis(300))
        },
        Peer::Silent,
        ErrorKind::PingTimeout,
    )
    .await;
}

#[tokio::test]
async fn latency_is_measured_from_pongs() {
    let (_gateway, shard, connection) =
        connect(|config| config.ping_interval(Duration::from_millis(50))).await;
    let server = tokio::spawn(connection.serve());
    let latency = tokio::time::timeout(GUARD, async {
        loop {
            let latency = shard.latency();
            if latency.average.is_some() {
                return latency;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("no latency measured");
    assert!(latency.last.unwrap() < Duration::from_secs(1));
    shard.close().await;
    server.await.unwrap();
}

#[tokio::test]
async fn presence_updates_are_sent_and_rate_limited() {
    let window = Duration::from_millis(600);
    let (_gateway, shard, mut connection) = connect(|config| config.send_limit(3, window, 1)).await;
    for kind in [
        PresenceType::Online,
        PresenceType::Idle,
        PresenceType::Online,
    ] {
        shard.update_presence(Presence::new(kind)).await.unwrap();
    }
    let started = tokio::time::Instant::now();
    assert_eq!(
        connection.next_text().await,
        r#"{"t":"PRESENCE_UPDATE","d":{"type":1}}"#
    );
    assert_eq!(
        connection.next_text().await,
        r#"{"t":"PRESENCE_UPDATE","d":{"type":2}}"#
    );
    // two of three slots are for commands: the third waits for the window
    assert_eq!(
        connection.next_text().await,
        r#"{"t":"PRESENCE_UPDATE","d":{"type":1}}"#
    );
    assert!(
        started.elapsed() >= window / 2,
        "third command came after {:?}",
        started.elapsed()
    );
    connection.finish(shard).await;
}

#[tokio::test]
async fn close_sends_a_clean_close_frame_and_ends_the_task() {
    let (_gateway, shard, mut connection) = connect(plain).await;
    let handle = shard.handle().clone();
    let closing = tokio::spawn(shard.close());
    assert_eq!(connection.next_close().await, Some(1000));
    tokio::time::timeout(GUARD, closing).await.unwrap().unwrap();
    assert_eq!(handle.state(), ShardState::Closed);
    assert_eq!(
        handle.send_raw("{}").await.unwrap_err().kind(),
        ErrorKind::Closed
    );
}

#[tokio::test]
async fn dropping_the_shard_closes_the_connection() {
    let (_gateway, shard, mut connection) = connect(plain).await;
    drop(shard);
    assert_eq!(connection.next_close().await, Some(1000));
}

#[tokio::test]
async fn an_unreachable_gateway_keeps_retrying_with_growing_delays() {
    // a port nobody listens on
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    drop(listener);
    let config = common::fast(
        ayaka_gateway::ShardConfig::builder("s").endpoint(ayaka_gateway::GatewayEndpoint::Url(url)),
    )
    .build();
    let mut shard = Shard::spawn(ShardId(0), config);
    let mut delays = Vec::new();
    while delays.len() < 4 {
        match tokio::time::timeout(GUARD, shard.next_message())
            .await
            .unwrap()
            .unwrap()
        {
            ShardMessage::Error { error, .. } => assert_eq!(error.kind(), ErrorKind::Connect),
            ShardMessage::Reconnecting { delay, .. } => delays.push(delay),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(delays[3] > delays[0], "{delays:?}");
    shard.close().await;
}

#[tokio::test]
async fn an_invalid_url_is_fatal() {
    let config = ayaka_gateway::ShardConfig::builder("s")
        .endpoint(ayaka_gateway::GatewayEndpoint::Discover(
            "http://not-a-websocket".into(),
        ))
        .build();
    let mut shard = Shard::spawn(ShardId(0), config);
    let error = closed_error(&mut shard).await;
    assert_eq!(error.kind(), ErrorKind::InvalidUrl);
}

/// With the `simd-json` feature, `parse_event` uses simd-json: it must
/// agree with serde_json on every fixture of these tests.
#[test]
fn events_parse_the_same_as_serde_json_on_every_fixture() {
    let dir = format!("{}/tests/fixtures/event", env!("CARGO_MANIFEST_DIR"));
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let raw = std::fs::read(entry.unwrap().path()).unwrap();
        match (ayaka_gateway::parse_event(&raw), Event::from_json(&raw)) {
            (Ok(ours), Ok(serde)) => assert_eq!(ours, serde),
            (Err(_), Err(_)) => {}
            (ours, serde) => panic!("disagree: {ours:?} vs {serde:?}"),
        }
        count += 1;
    }
    assert!(count >= 10);
}

#[tokio::test]
async fn no_ready_in_time_is_a_timeout_and_a_reconnect() {
    check_error_then_reconnect(
        |config| config.ready_timeout(Duration::from_millis(200)),
        Peer::Silent,
        ErrorKind::Timeout,
    )
    .await;
}

#[tokio::test]
async fn a_slow_consumer_gets_backpressure_and_loses_nothing() {
    const COUNT: u64 = 200;
    let (_gateway, mut shard, mut connection) = connect(|config| config.read_ahead(256)).await;
    connection.text(READY).await;
    for id in 0..COUNT {
        connection
            .text(&format!(r#"{{"t":"GUILD_DELETE","d":{{"id":{id}}}}}"#))
            .await;
    }
    expect_message(&mut shard, is_event(EventKind::Ready)).await;
    for id in 0..COUNT {
        let received = next_event(&mut shard).await;
        assert_eq!(received.event.guild_id().map(|g| g.get()), Some(id));
    }
    connection.finish(shard).await;
}

#[tokio::test]
async fn next_event_is_cancellation_safe() {
    const COUNT: u64 = 100;
    let (_gateway, mut shard, mut connection) = connect(plain).await;
    let sending = tokio::spawn(async move {
        for id in 0..COUNT {
            connection
                .text(&format!(r#"{{"t":"GUILD_DELETE","d":{{"id":{id}}}}}"#))
                .await;
            tokio::task::yield_now().await;
        }
        connection
    });
    let mut next = 0;
    let mut cancelled = 0u32;
    tokio::time::timeout(GUARD, async {
        while next < COUNT {
            // a racing branch drops next_event() mid-wait again and again
            tokio::select! {
                item = shard.next_event() => {
                    let received = item.unwrap().unwrap();
                    assert_eq!(received.event.guild_id().map(|g| g.get()), Some(next));
                    next += 1;
                }
                () = tokio::task::yield_now() => cancelled += 1,
            }
        }
    })
    .await
    .unwrap();
    assert!(cancelled > 0);
    sending.await.unwrap().finish(shard).await;
}

#[tokio::test]
async fn without_reconnect_a_recoverable_close_ends_the_shard_with_its_cause() {
    let mut gateway = ScriptedGateway::start().await;
    let mut shard = Shard::spawn(ShardId(0), gateway.config().reconnect(false).build());
    gateway.accept().await.close(4009).await;
    let error = closed_error(&mut shard).await;
    assert_eq!(error.kind(), ErrorKind::Transport);
    assert!(error.to_string().contains("4009"), "{error}");
}

#[tokio::test]
async fn the_configured_presence_is_sent_after_every_ready() {
    let (mut gateway, shard, mut connection) =
        connect(|config| config.presence(Presence::new(PresenceType::Idle))).await;
    connection.text(READY).await;
    assert_eq!(
        connection.next_text().await,
        r#"{"t":"PRESENCE_UPDATE","d":{"type":2}}"#
    );
    assert_eq!(shard.messages_received(), 1);
    assert_eq!(shard.bytes_received(), READY.len() as u64);
    connection.close(4000).await;
    let mut connection = gateway.accept().await;
    connection.text(READY).await;
    assert_eq!(
        connection.next_text().await,
        r#"{"t":"PRESENCE_UPDATE","d":{"type":2}}"#
    );
    connection.finish(shard).await;
}

#[tokio::test]
async fn a_message_over_the_size_limit_is_a_typed_error_and_a_reconnect() {
    let huge = format!(r#"{{"t":"X","d":"{}"}}"#, "x".repeat(4096));
    check_error_then_reconnect(
        |config| config.max_message_size(1024),
        Peer::Sends(huge),
        ErrorKind::MessageTooLarge,
    )
    .await;
}

#[tokio::test]
async fn a_flood_of_frames_starves_neither_pings_nor_commands() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let (_gateway, mut shard, connection) =
        connect(|config| config.ping_interval(Duration::from_millis(20))).await;
    let (mut sink, mut stream) = connection.ws.split();
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let flood = tokio::spawn(async move {
        let mut sent = 0u64;
        loop {
            if stopped.try_recv().is_ok() {
                return sent;
            }
            let message = format!(r#"{{"t":"GUILD_DELETE","d":{{"id":{sent}}}}}"#);
            if sink.send(Message::text(message)).await.is_err() {
                return sent;
            }
            sent += 1;
        }
    });
    let handle = shard.handle().clone();
    let consumer = tokio::spawn(async move { while shard.next_message().await.is_some() {} });
    handle.send_raw(r#"{"t":"HEARTBEAT"}"#).await.unwrap();
    let (mut pings, mut commands) = (0, 0);
    tokio::time::timeout(GUARD, async {
        while pings < 3 || commands < 1 {
            match stream.next().await {
                Some(Ok(Message::Ping(_))) => pings += 1,
                Some(Ok(Message::Text(_))) => commands += 1,
                Some(Ok(_)) => {}
                other => panic!("connection ended: {other:?}"),
            }
        }
    })
    .await
    .expect("pings or commands starved by the flood");
    stop.send(()).unwrap();
    let sent = flood.await.unwrap();
    assert!(sent > 0);
    handle.request_close();
    // answer the close handshake
    tokio::time::timeout(GUARD, async {
        while let Some(Ok(_)) = stream.next().await {}
    })
    .await
    .unwrap();
    consumer.await.unwrap();
}

#[tokio::test]
async fn a_fatal_close_reaches_a_consumer_whose_queue_is_full() {
    let mut gateway = ScriptedGateway::start().await;
    // room for one lifecycle report (each costs 128 bytes): Connected
    // fits, the Disconnected after it fills the read-ahead buffer
    let mut shard = Shard::spawn(ShardId(0), gateway.config().read_ahead(200).build());
    gateway.accept().await.close(4004).await;
    let first = tokio::time::timeout(GUARD, shard.next_message()).await;
    assert!(matches!(first, Ok(Some(ShardMessage::Connected { .. }))));
    // Disconnected now fills the queue while the shard ends: its error
    // must still come after it, however late the consumer reads.
    tokio::time::timeout(GUARD, async {
        while shard.state() != ShardState::Closed {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the shard did not end");
    let disconnected = tokio::time::timeout(GUARD, shard.next_message()).await;
    assert!(matches!(
        disconnected,
        Ok(Some(ShardMessage::Disconnected {
            code: Some(4004),
            ..
        }))
    ));
    let closed = tokio::time::timeout(GUARD, shard.next_message()).await;
    let Ok(Some(ShardMessage::Closed {
        error: Some(error), ..
    })) = closed
    else {
        panic!("expected Closed with its error, got {closed:?}");
    };
    assert_eq!(error.close_code(), Some(4004));
}

#[tokio::test]
async fn a_consumer_pausing_past_the_ping_timeout_keeps_the_connection() {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;

    let (_gateway, mut shard, mut connection) = connect(|config| {
        config
            .read_ahead(1)
            .ping_interval(Duration::from_millis(50))
            .ping_timeout(Duration::from_millis(300))
    })
    .await;
    connection.text(READY).await;
    for id in 0..3 {
        connection
            .text(&format!(r#"{{"t":"GUILD_DELETE","d":{{"id":{id}}}}}"#))
            .await;
    }
    let pings = Arc::new(AtomicUsize::new(0));
    let server = tokio::spawn({
        let pings = Arc::clone(&pings);
        async move {
            // reading answers the pings
            while let Some(Ok(message)) = connection.ws.next().await {
                if matches!(message, Message::Ping(_)) {
                    pings.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    });
    // a consumer busy elsewhere for several ping timeouts: the shard cannot
    // read pongs meanwhile, and must neither count that against the server
    // nor stop pinging it
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        pings.load(Ordering::Relaxed) >= 3,
        "pings stopped while the consumer was slow"
    );
    let mut deleted = 0;
    while deleted < 3 {
        let message = tokio::time::timeout(GUARD, shard.next_message())
            .await
            .unwrap()
            .unwrap();
        match message {
            ShardMessage::Event(event) if event.kind() == EventKind::GuildDelete => deleted += 1,
            ShardMessage::Error { .. }
            | ShardMessage::Disconnected { .. }
            | ShardMessage::Reconnecting { .. } => {
                panic!("the connection was dropped: {message:?}")
            }
            _ => {}
        }
    }
    assert_eq!(shard.state(), ShardState::Ready);
    shard.close().await;
    tokio::time::timeout(GUARD, server).await.unwrap().unwrap();
}

#[tokio::test]
async fn a_server_that_stops_reading_cannot_stall_the_shard() {
    // never read: the socket buffers fill and the shard's writes block
    let (mut gateway, mut shard, _deaf) = connect(|config| {
        config
            .ping_timeout(Duration::from_millis(300))
            .send_limit(10_000, Duration::from_secs(1), 1)
            .command_queue(4)
    })
    .await;
    // however large the machine's socket buffers are: send until stalled
    // (bounded: 1 GiB is more than any loopback buffers)
    let handle = shard.handle().clone();
    let sender = tokio::spawn(async move {
        let big = format!(r#"{{"t":"X","d":"{}"}}"#, "x".repeat(1 << 20));
        for _ in 0..1024 {
            handle.send_raw(big.clone()).await.unwrap();
        }
    });
    let error = next_error(&mut shard).await;
    sender.abort();
    assert_eq!(error.kind(), ErrorKind::Timeout);
    wait_reconnecting(&mut shard).await;
    gateway.accept().await.finish(shard).await;
}

#[tokio::test]
async fn durations_meaning_never_do_not_overflow() {
    let (_gateway, mut shard, mut connection) = connect(|config| {
        config
            .ping_interval(Duration::MAX)
            .ping_timeout(Duration::MAX)
            .connect_timeout(Duration::MAX)
            .ready_timeout(Duration::MAX)
            .send_limit(10, Duration::MAX, 1)
    })
    .await;
    shard.send_raw(r#"{"t":"HEARTBEAT"}"#).await.unwrap();
    assert_eq!(connection.next_text().await, r#"{"t":"HEARTBEAT"}"#);
    connection.text(READY).await;
    wait_ready(&mut shard).await;
    connection.finish(shard).await;
}

#[tokio::test]
async fn a_consumer_pausing_before_ready_does_not_time_ready_out() {
    let (_gateway, mut shard, mut connection) = connect(|config| {
        config
            .read_ahead(1)
            .ready_timeout(Duration::from_millis(300))
    })
    .await;
    connection.text(&fixture("quirk_hello")).await;
    connection.text(READY).await;
    // the shard waits to hand over HELLO while READY sits unread
    tokio::time::sleep(Duration::from_millis(900)).await;
    loop {
        let message = tokio::time::timeout(GUARD, shard.next_message())
            .await
            .unwrap()
            .unwrap();
        match message {
            ShardMessage::Ready { .. } => break,
            ShardMessage::Error { .. } | ShardMessage::Disconnected { .. } => {
                panic!("READY was timed out while it waited: {message:?}")
            }
            _ => {}
        }
    }
    connection.finish(shard).await;
}
