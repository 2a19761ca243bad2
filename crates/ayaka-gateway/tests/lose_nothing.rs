#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Nothing lost, end to end against the local server over loopback: the
//! error a shard ends with, slow consumers, READY-then-close loops, the
//! reconnect rate of a manager, panicking listeners and shard tasks. (The
//! same points on the state machine, in virtual time: `tests/machine.rs`.)

mod common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use ayaka_gateway::{
    Acquire, Backoff, Dispatcher, ErrorKind, GatewayEndpoint, IdentifyQueue, Shard, ShardConfig,
    ShardId, ShardManager, ShardMessage, ShardState,
};
use ayaka_model::{
    Presence, PresenceType,
    gateway::{Event, EventKind},
};
use ayaka_server::{Limit, testing};
use common::{
    GUARD,
    rest::{User, server_with_user},
    shard_config, wait_ready,
};

#[tokio::test]
async fn a_fatal_close_is_the_last_item_next_event_yields() {
    let server = testing::server().await;
    let mut shard = Shard::spawn(ShardId(0), shard_config(&server, "no-such-session").build());
    let last = tokio::time::timeout(GUARD, shard.next_event())
        .await
        .unwrap()
        .expect("the shard says why it ended");
    let error = last.expect_err("an unknown session is no event");
    assert_eq!(error.kind(), ErrorKind::FatalClose { code: 4002 });
    assert!(error.is_fatal());
    assert!(
        tokio::time::timeout(GUARD, shard.next_event())
            .await
            .unwrap()
            .is_none()
    );
    server.shutdown().await;
}

/// 4,000 events of about 4 KB, each taking the consumer 5 ms: 20 s of
/// work arriving in 10 s.
const SLOW_EVENTS: usize = 4_000;
const SLOW_WORK: Duration = Duration::from_millis(5);
/// The talker's pace: faster than the consumer, slow enough for an
/// unoptimised test build of the shard to read at.
const SEND_EVERY: Duration = Duration::from_micros(2_500);

/// What the watcher saw of a slow run.
struct SlowRun {
    /// The sequence numbers of the PRESENCE_UPDATEs taken, in order.
    sequence: Vec<usize>,
    /// The first connection's end, if it ended.
    disconnected: Option<(Option<u16>, String)>,
    errors: Vec<ayaka_gateway::Error>,
    stats: ayaka_gateway::ShardStats,
}

/// A watcher with `read_ahead` and a talker sharing a guild; the talker
/// sends [`SLOW_EVENTS`] presence updates (4 KB each, numbered), which the
/// watcher's consumer takes at [`SLOW_WORK`] each, until it has them all or
/// its first connection ends.
async fn slow_consumer(read_ahead: Option<usize>) -> SlowRun {
    let server = testing::builder()
        .client_message_limit(Limit::per_second(1_000_000))
        .spawn()
        .await
        .unwrap();
    let watcher = User::sign_up(&server, "watcher").await;
    let talker = User::sign_up(&server, "talker").await;
    let guild = watcher.create_guild("slow").await;
    let code = watcher.create_invite(guild).await;
    talker.join(&code).await;

    let mut config = shard_config(&server, &watcher.session);
    if let Some(bytes) = read_ahead {
        config = config.read_ahead(bytes);
    }
    let mut shard = Shard::spawn(ShardId(0), config.build());
    wait_ready(&mut shard).await;
    let mut sender = Shard::spawn(
        ShardId(1),
        shard_config(&server, &talker.session)
            .send_limit(1_000_000, Duration::from_secs(1), 1)
            .build(),
    );
    wait_ready(&mut sender).await;
    let handle = sender.handle().clone();
    let drain = tokio::spawn(async move { while sender.next_message().await.is_some() {} });
    let talking = tokio::spawn(async move {
        let mut pace = tokio::time::interval(SEND_EVERY);
        for n in 0..SLOW_EVENTS {
            pace.tick().await;
            let text = format!("{n:05}:{}", "x".repeat(3_900));
            let presence = Presence::new(PresenceType::Online).description(text);
            if handle.update_presence(presence).await.is_err() {
                return;
            }
        }
    });

    let mut run = SlowRun {
        sequence: Vec::new(),
        disconnected: None,
        errors: Vec::new(),
        stats: Default::default(),
    };
    // bounded: every event within 30 s of the one before
    while run.sequence.len() < SLOW_EVENTS {
        let message = tokio::time::timeout(Duration::from_secs(30), shard.next_message())
            .await
            .expect("the watcher went quiet")
            .expect("the watcher ended");
        match message {
            ShardMessage::Event(received) => {
                if let Event::PresenceUpdate(update) = &received.event {
                    let text = update.presence.description.as_deref().unwrap_or("");
                    run.sequence.push(text[..5].parse().unwrap());
                    assert!(received.raw.len() > 3_900);
                    tokio::time::sleep(SLOW_WORK).await;
                }
            }
            ShardMessage::Error { error, .. } => run.errors.push(error),
            ShardMessage::Disconnected { code, reason, .. } => {
                run.disconnected = Some((code, reason));
            }
            ShardMessage::Reconnecting { .. } => break,
            _ => {}
        }
    }
    run.stats = shard.stats();
    talking.abort();
    shard.close().await;
    drain.abort();
    server.shutdown().await;
    run
}

/// Within the read-ahead bound (the default 16 MiB holds the whole
/// backlog) the shard reads on however slow the consumer is, so the
/// server never has to drop the connection: every event arrives, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_receives_every_event_the_read_ahead_bound_allows() {
    let run = slow_consumer(None).await;
    assert_eq!(run.disconnected, None, "errors: {:?}", run.errors);
    assert!(run.errors.is_empty(), "{:?}", run.errors);
    assert_eq!(run.sequence, (0..SLOW_EVENTS).collect::<Vec<_>>());
    assert!(run.stats.events_delivered >= SLOW_EVENTS as u64);
    assert_eq!(
        run.stats.time_behind,
        Duration::ZERO,
        "never past the bound"
    );
    assert_eq!(run.stats.connections, 1);
}

/// Past the bound the shard pushes back; the server, unable to hold the
/// rest, closes with 4000, and that close (code and reason) reaches the
/// consumer after every event read before it, typed as `TooSlow`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_past_the_read_ahead_bound_gets_a_typed_4000() {
    let run = slow_consumer(Some(256 * 1024)).await;
    let (code, reason) = run.disconnected.expect("the server closed the connection");
    assert_eq!(code, Some(4000));
    assert!(reason.contains("too slow"), "{reason:?}");
    assert_eq!(
        run.errors.iter().map(|e| e.kind()).collect::<Vec<_>>(),
        [ErrorKind::TooSlow]
    );
    // nothing the shard read was lost: no gap before the close
    assert!(!run.sequence.is_empty());
    assert_eq!(run.sequence, (0..run.sequence.len()).collect::<Vec<_>>());
    assert!(run.stats.time_behind > Duration::ZERO);
}

/// A server that sends READY and closes (here: 4009, its ping timeout
/// passing in 50 ms) gets exponentially rarer reconnects, not one every
/// backoff base: READY no longer resets the attempt counter.
#[tokio::test]
async fn ready_then_close_gets_ever_rarer_reconnects() {
    let (server, user) =
        server_with_user(testing::builder().ping_timeout(Duration::from_millis(50))).await;
    let config = ShardConfig::builder(&user.session)
        .endpoint(GatewayEndpoint::Url(server.gateway_url()))
        .backoff(Backoff::default())
        .ping_interval(Duration::from_secs(30))
        .build();
    let mut shard = Shard::spawn(ShardId(0), config);
    let mut connections = 0;
    let mut closes = Vec::new();
    let window = tokio::time::sleep(Duration::from_secs(3));
    tokio::pin!(window);
    loop {
        tokio::select! {
            () = &mut window => break,
            message = shard.next_message() => match message.unwrap() {
                ShardMessage::Connected { .. } => connections += 1,
                ShardMessage::Disconnected { code, .. } => closes.push(code),
                ShardMessage::Reconnecting { attempt, .. } => {
                    assert_eq!(attempt as usize, closes.len(), "the counter kept counting");
                }
                _ => {}
            },
        }
    }
    assert!(closes.iter().all(|code| *code == Some(4009)), "{closes:?}");
    // delays of about 0.1, 0.75, 1.5 and 3 s: at most 4 in 3 s (READY
    // resetting the backoff gave one every 50 to 200 ms)
    assert!(
        (2..=4).contains(&connections),
        "{connections} connections in 3 s"
    );
    shard.close().await;
    server.shutdown().await;
}

/// However small each shard's backoff, a manager's shards together
/// reconnect at most at its rate.
#[tokio::test]
async fn a_manager_bounds_the_reconnect_rate_of_all_its_shards() {
    const SHARDS: usize = 8;
    let (server, user) =
        server_with_user(testing::builder().ping_timeout(Duration::from_millis(50))).await;
    let template = shard_config(&server, &user.session)
        .backoff(Backoff {
            base: Duration::from_millis(1),
            max: Duration::from_millis(2),
            long: Duration::from_millis(2),
        })
        .ping_interval(Duration::from_secs(30))
        .build();
    let mut manager = ShardManager::builder(template)
        .connections_per_session(SHARDS)
        .identify_concurrency(SHARDS)
        .reconnect_rate(4, Duration::from_secs(1))
        .spawn();
    let mut connections = 0;
    let window = tokio::time::sleep(Duration::from_secs(2));
    tokio::pin!(window);
    loop {
        tokio::select! {
            () = &mut window => break,
            message = manager.next_message() => {
                if let ShardMessage::Connected { .. } = message.unwrap() {
                    connections += 1;
                }
            }
        }
    }
    // the first connections, then at most 4 reconnects in each second
    assert!(
        (SHARDS + 4..=SHARDS + 8).contains(&connections),
        "{connections} connections in 2 s"
    );
    tokio::time::timeout(GUARD, manager.close_all())
        .await
        .unwrap();
    server.shutdown().await;
}

/// On a live shard, a listener that panics is reported and the others
/// keep hearing events.
#[tokio::test]
async fn a_panicking_listener_leaves_the_others_hearing_a_live_shard() {
    let (server, user) = server_with_user(testing::builder()).await;
    let dispatcher = Dispatcher::new();
    dispatcher.on(EventKind::Ready, |_| async {
        panic!("cannot handle READY")
    });
    let panicked = dispatcher.wait_for(
        |m| matches!(m, ShardMessage::Error { error, .. } if error.kind() == ErrorKind::ListenerPanicked),
        GUARD,
    );
    let created = dispatcher.wait_for_event(EventKind::GuildCreate, GUARD);
    let shard = Shard::spawn(ShardId(0), shard_config(&server, &user.session).build());
    let handle = shard.handle().clone();
    let running = tokio::spawn({
        let dispatcher = dispatcher.clone();
        async move { dispatcher.run(shard).await }
    });
    panicked.await.unwrap();
    let guild = user.create_guild("still listening").await;
    let created = created.await.unwrap();
    assert_eq!(created.event.guild_id().map(|id| id.get()), Some(guild));
    handle.request_close();
    let ended = tokio::time::timeout(GUARD, running).await.unwrap().unwrap();
    assert!(ended.is_ok(), "{ended:?}");
    server.shutdown().await;
}

/// An identify queue that panics: the code a shard's task runs for the
/// user.
#[derive(Debug, Default)]
struct PanickingQueue {
    calls: AtomicUsize,
}

impl IdentifyQueue for PanickingQueue {
    fn acquire(&self, _shard: ShardId) -> Acquire<'_> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        Box::pin(async { panic!("identify queue bug") })
    }
}

#[tokio::test]
async fn a_panicking_shard_task_is_reported_as_closed_with_a_typed_error() {
    let server = testing::server().await;
    let queue = Arc::new(PanickingQueue::default());
    let config = shard_config(&server, "any")
        .identify_queue(Arc::clone(&queue) as Arc<dyn IdentifyQueue>)
        .build();
    let mut shard = Shard::spawn(ShardId(3), config.clone());
    let last = tokio::time::timeout(GUARD, shard.next_event())
        .await
        .unwrap()
        .expect("a report, not a silent end");
    let error = last.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ShardPanicked);
    assert!(error.to_string().contains("identify queue bug"), "{error}");
    assert!(shard.next_event().await.is_none());
    assert_eq!(shard.state(), ShardState::Closed);

    // the same through a manager, for each of its shards
    let mut manager = ShardManager::builder(config)
        .connections_per_session(2)
        .spawn();
    let mut closed = Vec::new();
    while closed.len() < 2 {
        let message = tokio::time::timeout(GUARD, manager.next_message())
            .await
            .unwrap()
            .unwrap();
        if let ShardMessage::Closed { shard_id, error } = message {
            assert_eq!(error.map(|e| e.kind()), Some(ErrorKind::ShardPanicked));
            closed.push(shard_id);
        }
    }
    closed.sort();
    assert_eq!(closed, [ShardId(0), ShardId(1)]);
    assert_eq!(queue.calls.load(Ordering::Relaxed), 3);
    server.shutdown().await;
}
