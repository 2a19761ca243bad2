//! Bad input is an error, never a panic, through both parsers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use ayaka_model::gateway::{ClientCommand, Event, Identify};
use ayaka_model::{Channel, ErrorKind, Guild, Invite, Member, User, json};
use proptest::prelude::*;
use serde::de::DeserializeOwned;

/// Parses with serde_json and with the in-place parser (simd-json under
/// `--all-features`), and demands an error from both.
fn rejects<T: DeserializeOwned + std::fmt::Debug>(bytes: &[u8]) {
    let what = String::from_utf8_lossy(&bytes[..bytes.len().min(80)]).into_owned();
    let error = json::from_bytes::<T>(bytes).expect_err(&what);
    assert_eq!(error.kind(), ErrorKind::Decode, "{what}");
    let mut copy = bytes.to_vec();
    let error = json::from_slice::<T>(&mut copy).expect_err(&what);
    assert_eq!(error.kind(), ErrorKind::Decode, "{what}");
}

#[test]
fn wrong_types_are_errors() {
    rejects::<User>(br#"{"id": true, "username": "a", "separator": 1}"#);
    rejects::<User>(br#"{"id": 1, "username": 5, "separator": 1}"#);
    rejects::<User>(br#"{"id": 1, "username": "a", "separator": "1"}"#);
    rejects::<User>(br#"{"id": 1, "username": "a", "separator": 65536}"#);
    rejects::<User>(br#"{"id": 1, "username": "a", "separator": 1, "flags": "x"}"#);
    rejects::<User>(br#"{"id": 1.5, "username": "a", "separator": 1}"#);
    rejects::<Member>(
        br#"{"user": {"id": 1, "username": "a", "separator": 1}, "joined_at": "yesterday"}"#,
    );
    rejects::<Invite>(
        br#"{"code": 1, "guild_id": 1, "inviter_id": 1, "created_at": "2022-02-27T13:54:10Z"}"#,
    );
    rejects::<Channel>(br#"{"id": 1, "name": "a", "type": "2", "position": 0}"#);
    rejects::<Channel>(br#"{"id": 1, "name": "a", "type": 2, "position": 0, "inside_of": "x"}"#);
    rejects::<Channel>(br#"[1, 2]"#);
    rejects::<Event>(br#"{"t": "GUILD_CREATE", "d": []}"#);
    rejects::<Event>(br#"{"t": "PRESENCE_UPDATE", "id": "me", "d": {"type": 1}}"#);
    rejects::<Event>(br#"{"t": "PRESENCE_UPDATE", "id": 1, "d": {"type": 1.5}}"#);
    rejects::<Event>(br#"["t", "READY"]"#);
    rejects::<Event>(br#""READY""#);
}

#[test]
fn missing_required_fields_are_errors() {
    rejects::<User>(br#"{"id": 1, "separator": 1}"#);
    rejects::<User>(br#"{"username": "a", "separator": 1}"#);
    rejects::<Guild>(br#"{"id": 1, "name": "g"}"#);
    rejects::<Member>(br#"{"user": {"id": 1, "username": "a", "separator": 1}}"#);
    rejects::<Invite>(br#"{"code": "c", "guild_id": 1, "inviter_id": 1}"#);
    rejects::<Channel>(br#"{"id": 1, "name": "a", "position": 0}"#);
    rejects::<Channel>(br#"{"id": 1, "type": 1, "position": 0}"#);
    rejects::<Channel>(br#"{"name": "stage", "type": 13}"#);
    rejects::<Channel>(br#"{"id": "x", "type": 13}"#);
    rejects::<Event>(br#"{}"#);
}

#[test]
fn ids_over_u64_are_errors() {
    rejects::<Event>(br#"{"t": "GUILD_DELETE", "d": {"id": 18446744073709551616}}"#);
    rejects::<Event>(br#"{"t": "GUILD_DELETE", "d": {"id": "18446744073709551616"}}"#);
    rejects::<Event>(br#"{"t": "GUILD_DELETE", "d": {"id": -1}}"#);
    rejects::<Event>(br#"{"t": "GUILD_DELETE", "d": {"id": "12a"}}"#);
    rejects::<Event>(
        br#"{"t": "PRESENCE_UPDATE", "id": 99999999999999999999999, "d": {"type": 1}}"#,
    );
    rejects::<User>(br#"{"id": 18446744073709551616, "username": "a", "separator": 1}"#);
    // the largest id is fine
    let event = Event::from_json(br#"{"t": "GUILD_DELETE", "d": {"id": 18446744073709551615}}"#);
    assert_eq!(event.unwrap().guild_id().map(|id| id.get()), Some(u64::MAX));
}

#[test]
fn deep_nesting_is_an_error() {
    let deep = |open: &str| -> Vec<u8> {
        let mut bytes = br#"{"t": "SOMETHING", "d": "#.to_vec();
        bytes.extend(open.repeat(10_000).as_bytes());
        bytes
    };
    rejects::<Event>(&deep("["));
    rejects::<Event>(&deep(r#"{"a":"#));
    rejects::<Event>(&"[".repeat(10_000).into_bytes());
    rejects::<Guild>(&"[".repeat(10_000).into_bytes());
    let mut closed = "[".repeat(10_000);
    closed.push_str(&"]".repeat(10_000));
    rejects::<Event>(closed.as_bytes());
    assert!(ClientCommand::from_json(&deep("[")).is_err());
    assert!(Identify::parse(&"[".repeat(10_000).into_bytes()).is_err());
}

#[test]
fn both_parsers_share_one_depth_limit() {
    let nested = |depth: usize| -> Vec<u8> {
        let mut text = String::from(r#"{"t": "SOMETHING", "d": "#);
        text.push_str(&"[".repeat(depth - 1));
        text.push_str(&"]".repeat(depth - 1));
        text.push('}');
        text.into_bytes()
    };
    let deepest = nested(json::MAX_DEPTH);
    let event = Event::from_json(&deepest).unwrap();
    assert_eq!(Event::from_json_mut(&mut deepest.clone()).unwrap(), event);
    assert_eq!(
        json::Parser::new()
            .parse::<Event>(&mut deepest.clone())
            .unwrap(),
        event
    );
    rejects::<Event>(&nested(json::MAX_DEPTH + 1));
}

#[test]
fn invalid_utf8_is_an_error() {
    rejects::<Event>(
        b"{\"t\": \"READY\", \"d\": {\"id\": 1, \"username\": \"\xff\xfe\", \"separator\": 1}}",
    );
    rejects::<Event>(b"{\"t\": \"\xc3\x28\", \"d\": null}");
    rejects::<Event>(b"{\"t\": \"X\", \"\xed\xa0\x80\": 1}");
    rejects::<User>(b"{\"id\": 1, \"username\": \"a\xc0\xaf\", \"separator\": 1}");
}

#[test]
fn truncated_json_is_an_error() {
    for (name, bytes) in common::fixtures("event") {
        let end = bytes.trim_ascii_end().len();
        // every cut of small payloads; about 2000 cuts of large ones
        let step = (end / 2000).max(1);
        for cut in (0..end).step_by(step).chain(end.saturating_sub(64)..end) {
            let prefix = &bytes[..cut];
            assert!(Event::from_json(prefix).is_err(), "{name} cut at {cut}");
            let mut copy = prefix.to_vec();
            assert!(
                Event::from_json_mut(&mut copy).is_err(),
                "{name} cut at {cut}"
            );
        }
    }
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Event::from_json(&bytes);
        let mut copy = bytes.clone();
        let _ = Event::from_json_mut(&mut copy);
        let _ = ClientCommand::from_json(&bytes);
        let _ = Identify::parse(&bytes);
    }

    #[test]
    fn mutated_fixtures_never_panic(
        index in 0usize..64,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let files = common::fixtures("event");
        let (_, original) = &files[index % files.len()];
        let mut bytes = original.clone();
        for (at, byte) in edits {
            let at = at.index(bytes.len());
            bytes[at] = byte;
        }
        if let Ok(event) = Event::from_json(&bytes) {
            // whatever parses also writes and reads back
            let written = event.to_json().unwrap();
            prop_assert_eq!(Event::from_json(&written).unwrap(), event);
        }
        let _ = Event::from_json_mut(&mut bytes);
    }
}
