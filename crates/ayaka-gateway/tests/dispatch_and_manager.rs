#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The dispatcher's routing and the shard manager's lifecycle.

mod common;

use std::time::Duration;

use ayaka_gateway::{
    Dispatcher, ErrorKind, ReceivedEvent, Shard, ShardId, ShardManager, ShardMessage, ShardState,
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
    let dispatcher = Dispatcher::new();
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
    // the run ends when the shard does
    handle.request_close();
    tokio::time::timeout(GUARD, running).await.unwrap().unwrap();
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
