#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The dispatcher's routing and the shard manager's lifecycle.

mod common;

use std::time::Duration;

use ayaka_gateway::{
    Delivery, Dispatcher, ErrorKind, ReceivedEvent, Shard, ShardId, ShardManager, ShardMessage,
    ShardState,
};
use ayaka_model::gateway::EventKind;
use bytes::Bytes;
use common::{GUARD, READY, ScriptedGateway, fixture};
use tokio::sync::mpsc;

fn event(shard: u32, json: &str) -> ShardMessage {
    ShardMessage::Event(ReceivedEvent {
        shard_id: ShardId(shard),
        event: ayaka_gateway::parse_event(json.as_bytes()).unwrap(),
        raw: Bytes::copy_from_slice(json.as_bytes()),
    })
}

#[tokio::test]
async fn listeners_get_their_kind_names_raw_and_lifecycle() {
    // ordered delivery: the log below is in registration order
    let dispatcher = Dispatcher::builder().delivery(Delivery::Ordered).build();
    let (sender, mut received) = mpsc::unbounded_channel::<String>();
    let tx = sender.clone();
    dispatcher.on(EventKind::GuildCreate, move |event| {
        let tx = tx.clone();
        async move { tx.send(format!("kind {}", event.name())).unwrap() }
    });
    let tx = sender.clone();
    dispatcher.on_name("MESSAGE_CREATE", move |event| {
        let tx = tx.clone();
        async move { tx.send(format!("name {}", event.name())).unwrap() }
    });
    let tx = sender.clone();
    dispatcher.on_raw(move |event| {
        let tx = tx.clone();
        async move { tx.send(format!("raw {}", event.raw.len())).unwrap() }
    });
    let tx = sender.clone();
    dispatcher.on_lifecycle(move |message| {
        let tx = tx.clone();
        async move {
            if let ShardMessage::Disconnected { code, .. } = message {
                tx.send(format!("disconnected {code:?}")).unwrap();
            }
        }
    });
    let guild = fixture("guild_create");
    dispatcher.dispatch(event(0, &guild)).await;
    let message = r#"{"t":"MESSAGE_CREATE","d":{}}"#;
    dispatcher.dispatch(event(0, message)).await;
    dispatcher
        .dispatch(ShardMessage::Disconnected {
            shard_id: ShardId(0),
            code: Some(4009),
            reason: String::new(),
        })
        .await;
    // the listeners hold the other senders: dropping the dispatcher ends the log
    drop(dispatcher);
    drop(sender);
    let mut log = Vec::new();
    while let Some(line) = tokio::time::timeout(GUARD, received.recv()).await.unwrap() {
        log.push(line);
    }
    assert_eq!(
        log,
        [
            format!("raw {}", guild.len()),
            "kind GUILD_CREATE".to_owned(),
            format!("raw {}", message.len()),
            "name MESSAGE_CREATE".to_owned(),
            "disconnected Some(4009)".to_owned(),
        ]
    );
}

#[tokio::test]
async fn wait_for_returns_the_first_match_after_the_call_or_times_out() {
    let dispatcher = Dispatcher::new();
    let waiting = dispatcher.wait_for(
        |message| matches!(message, ShardMessage::Event(e) if e.kind() == EventKind::GuildDelete),
        GUARD,
    );
    // registered at the call: an event dispatched before the first poll counts
    dispatcher.dispatch(event(1, READY)).await;
    dispatcher
        .dispatch(event(2, r#"{"t":"GUILD_DELETE","d":{"id":5}}"#))
        .await;
    let found = waiting.await.unwrap();
    assert_eq!(found.shard_id(), ShardId(2));

    let deleted = dispatcher.wait_for_event(EventKind::GuildDelete, GUARD);
    dispatcher
        .dispatch(event(5, r#"{"t":"GUILD_DELETE","d":{"id":6}}"#))
        .await;
    assert_eq!(deleted.await.unwrap().shard_id, ShardId(5));

    let error = dispatcher
        .wait_for(|_| false, Duration::from_millis(30))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout);
}

#[tokio::test]
async fn a_dropped_wait_for_is_forgotten() {
    let dispatcher = Dispatcher::new();
    drop(dispatcher.wait_for(|_| true, GUARD));
    dispatcher.dispatch(event(0, READY)).await;
    let kept = dispatcher.wait_for(|_| true, GUARD);
    dispatcher.dispatch(event(3, READY)).await;
    assert_eq!(kept.await.unwrap().shard_id(), ShardId(3));
}

#[tokio::test]
async fn a_dispatcher_runs_over_a_live_shard() {
    let mut gateway = ScriptedGateway::start().await;
    let shard = Shard::spawn(ShardId(4), gateway.config().build());
    let handle = shard.handle().clone();
    let dispatcher = Dispatcher::new();
    let ready = dispatcher.wait_for(|m| matches!(m, ShardMessage::Ready { .. }), GUARD);
    let guild = dispatcher.wait_for(
        |m| {
            m.as_event()
                .is_some_and(|e| e.kind() == EventKind::GuildInit)
        },
        GUARD,
    );
    let running = tokio::spawn({
        let dispatcher = dispatcher.clone();
        async move { dispatcher.run(shard).await }
    });
    let mut connection = gateway.accept().await;
    connection.text(READY).await;
    connection.text(&fixture("guild_init")).await;
    assert_eq!(ready.await.unwrap().shard_id(), ShardId(4));
    assert!(guild.await.is_ok());
    let server = tokio::spawn(connection.serve());
    // the run ends when the shard does, without error since it was asked to
    handle.request_close();
    let ended = tokio::time::timeout(GUARD, running).await.unwrap().unwrap();
    assert!(ended.is_ok(), "{ended:?}");
    server.await.unwrap();
}

#[tokio::test]
async fn the_manager_limits_identify_merges_events_and_rescales() {
    let mut gateway = ScriptedGateway::start().await;
    let template = gateway.config().build();
    let mut manager = ShardManager::builder(template)
        .sessions(["a", "b"])
        .connections_per_session(1)
        .identify_concurrency(1)
        .spawn();
    assert_eq!(manager.len(), 2);

    // one identify at a time: the second connects only after the first READY
    let mut first = gateway.accept().await;
    let early = tokio::time::timeout(Duration::from_millis(300), gateway.accept()).await;
    assert!(
        early.is_err(),
        "second shard identified before the first was ready"
    );
    first.text(READY).await;
    let mut second = gateway.accept().await;
    second.text(READY).await;
    let sessions = [first.identify.clone(), second.identify.clone()];
    assert!(
        sessions.iter().any(|s| s.contains(r#""a""#))
            && sessions.iter().any(|s| s.contains(r#""b""#))
    );

    let mut ready = Vec::new();
    while ready.len() < 2 {
        let received = tokio::time::timeout(GUARD, manager.next_event())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(received.kind(), EventKind::Ready);
        ready.push(received.shard_id);
    }
    ready.sort();
    assert_eq!(ready, [ShardId(0), ShardId(1)]);
    let infos = manager.shards();
    assert_eq!(infos.len(), 2);
    assert!(infos.iter().all(|info| info.state == ShardState::Ready));

    // removing one leaves the other running
    let (mut removed, mut kept) = if first.identify.contains(r#""a""#) {
        (first, second)
    } else {
        (second, first)
    };
    let closing = tokio::spawn(async move { removed.next_close().await });
    assert!(manager.remove_shard(ShardId(0)).await);
    assert_eq!(closing.await.unwrap(), Some(1000));
    assert!(!manager.remove_shard(ShardId(0)).await);
    kept.text(&fixture("guild_delete")).await;
    let received = tokio::time::timeout(GUARD, manager.next_event())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        (received.shard_id, received.kind()),
        (ShardId(1), EventKind::GuildDelete)
    );

    // adding one at runtime
    let added = manager.add_shard("c");
    assert_eq!(added.id(), ShardId(2));
    let third = gateway.accept().await;
    assert!(third.identify.contains(r#""c""#));
    assert_eq!(
        manager
            .shards()
            .iter()
            .map(|info| info.id)
            .collect::<Vec<_>>(),
        [ShardId(1), ShardId(2)]
    );

    let servers = [tokio::spawn(kept.serve()), tokio::spawn(third.serve())];
    tokio::time::timeout(GUARD, manager.close_all())
        .await
        .unwrap();
    assert!(manager.is_empty());
    for server in servers {
        server.await.unwrap();
    }
    assert_eq!(added.state(), ShardState::Closed);
}

/// A listener that panics on every event is reported each time, and the
/// listener after it still gets every event, in both delivery modes.
#[tokio::test]
async fn a_panicking_listener_is_reported_and_the_others_keep_being_called() {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    for delivery in [Delivery::Concurrent, Delivery::Ordered] {
        let dispatcher = Dispatcher::builder().delivery(delivery).build();
        let panicked = Arc::new(AtomicUsize::new(0));
        let heard = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&panicked);
        dispatcher.on(EventKind::GuildDelete, move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
            async { panic!("listener bug") }
        });
        // panics before it even returns a future
        dispatcher.on_raw(|_| -> std::future::Ready<()> { panic!("synchronous listener bug") });
        let counter = Arc::clone(&heard);
        dispatcher.on(EventKind::GuildDelete, move |_| {
            let counter = Arc::clone(&counter);
            async move {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        });
        let (reports, mut reported) = mpsc::unbounded_channel();
        dispatcher.on_lifecycle(move |message| {
            let reports = reports.clone();
            async move {
                if let ShardMessage::Error { error, shard_id } = message {
                    reports.send((shard_id, error)).unwrap();
                }
            }
        });
        for id in 0..3 {
            let json = format!(r#"{{"t":"GUILD_DELETE","d":{{"id":{id}}}}}"#);
            dispatcher.dispatch(event(9, &json)).await;
        }
        tokio::time::timeout(GUARD, dispatcher.idle())
            .await
            .unwrap();
        assert_eq!(heard.load(Ordering::Relaxed), 3, "{delivery:?}");
        assert_eq!(panicked.load(Ordering::Relaxed), 3, "{delivery:?}");
        let mut messages = Vec::new();
        while let Ok((shard_id, error)) = reported.try_recv() {
            assert_eq!(shard_id, ShardId(9));
            assert_eq!(error.kind(), ErrorKind::ListenerPanicked);
            messages.push(error.to_string());
        }
        assert_eq!(messages.len(), 6, "{delivery:?}: {messages:?}");
        assert!(
            messages
                .iter()
                .any(|m| m.contains("GUILD_DELETE") && m.contains("listener bug"))
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("synchronous listener bug"))
        );
    }
}

/// A lifecycle listener that panics on the panic report itself is only
/// logged: no loop, and the others still hear of it.
#[tokio::test]
async fn a_lifecycle_listener_panicking_on_a_panic_report_does_not_loop() {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    let dispatcher = Dispatcher::builder().delivery(Delivery::Ordered).build();
    dispatcher.on_raw(|_| async { panic!("first") });
    dispatcher.on_lifecycle(|_| async { panic!("second") });
    let heard = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&heard);
    dispatcher.on_lifecycle(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
        async {}
    });
    dispatcher.dispatch(event(0, READY)).await;
    // the raw listener's panic, reported to both lifecycle listeners
    assert_eq!(heard.load(Ordering::Relaxed), 1);
}

/// Under concurrent delivery a listener stuck in slow work holds up
/// neither dispatching nor the other listeners; under ordered delivery it
/// holds up the next message, as documented.
#[tokio::test]
async fn a_slow_listener_holds_the_queue_only_under_ordered_delivery() {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    for delivery in [Delivery::Concurrent, Delivery::Ordered] {
        let dispatcher = Dispatcher::builder().delivery(delivery).build();
        let release = Arc::new(tokio::sync::Notify::new());
        let gate = Arc::clone(&release);
        dispatcher.on(EventKind::GuildDelete, move |_| {
            let gate = Arc::clone(&gate);
            async move { gate.notified().await }
        });
        let heard = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&heard);
        dispatcher.on_raw(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
            async {}
        });
        let dispatching = {
            let dispatcher = dispatcher.clone();
            tokio::spawn(async move {
                for id in 0..100 {
                    let json = format!(r#"{{"t":"GUILD_DELETE","d":{{"id":{id}}}}}"#);
                    dispatcher.dispatch(event(0, &json)).await;
                }
            })
        };
        match delivery {
            Delivery::Concurrent => {
                tokio::time::timeout(GUARD, dispatching)
                    .await
                    .expect("dispatching waited for the slow listener")
                    .unwrap();
                tokio::time::timeout(GUARD, async {
                    while heard.load(Ordering::Relaxed) < 100 {
                        tokio::task::yield_now().await;
                    }
                })
                .await
                .expect("the fast listener was held up");
                release.notify_waiters();
            }
            _ => {
                // the raw listener runs first: it saw the first event, and
                // nothing more can come while the slow one waits
                let held = tokio::time::timeout(Duration::from_millis(200), async {
                    while !dispatching.is_finished() {
                        tokio::task::yield_now().await;
                    }
                })
                .await;
                assert!(held.is_err(), "ordered delivery did not wait");
                assert_eq!(heard.load(Ordering::Relaxed), 1);
                dispatching.abort();
            }
        }
    }
}

/// Concurrent delivery is bounded: past `max_in_flight` running calls,
/// dispatching waits for one to finish.
#[tokio::test]
async fn concurrent_delivery_waits_past_max_in_flight() {
    use std::sync::Arc;

    let dispatcher = Dispatcher::builder().max_in_flight(2).build();
    let release = Arc::new(tokio::sync::Semaphore::new(0));
    let gate = Arc::clone(&release);
    dispatcher.on_raw(move |_| {
        let gate = Arc::clone(&gate);
        async move {
            let _ = gate
                .acquire()
                .await
                .map(tokio::sync::SemaphorePermit::forget);
        }
    });
    dispatcher.dispatch(event(0, READY)).await;
    dispatcher.dispatch(event(0, READY)).await;
    let third = dispatcher.dispatch(event(0, READY));
    tokio::pin!(third);
    assert!(
        tokio::time::timeout(Duration::from_millis(100), &mut third)
            .await
            .is_err(),
        "a third call started while two ran"
    );
    release.add_permits(1);
    tokio::time::timeout(GUARD, third).await.unwrap();
    release.add_permits(2);
    tokio::time::timeout(GUARD, dispatcher.idle())
        .await
        .unwrap();
}

/// `run` says why a shard ended by itself.
#[tokio::test]
async fn run_returns_the_error_a_shard_ended_with() {
    let mut gateway = ScriptedGateway::start().await;
    let shard = Shard::spawn(ShardId(0), gateway.config().build());
    let dispatcher = Dispatcher::new();
    let running = tokio::spawn({
        let dispatcher = dispatcher.clone();
        async move { dispatcher.run(shard).await }
    });
    gateway.accept().await.close(4004).await;
    let ended = tokio::time::timeout(GUARD, running).await.unwrap().unwrap();
    assert_eq!(
        ended.unwrap_err().kind(),
        ErrorKind::FatalClose { code: 4004 }
    );
}
