//! Decoding only the kinds wanted: every event fixture, through both JSON
//! parsers, wanted or not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use ayaka_model::gateway::{Decoded, Event, EventFilter, EventKind, EventKinds};
use ayaka_model::json::Parser;

/// `bytes` read with `wanted` by serde_json and by the default parser
/// (simd-json with its feature), which must agree.
fn decode(bytes: &[u8], wanted: EventKinds) -> Result<Decoded, ayaka_model::ErrorKind> {
    let serde_json = Event::from_json_wanted(bytes, wanted).map_err(|error| error.kind());
    let mut copy = bytes.to_vec();
    let default = Parser::new()
        .parse_seed(EventFilter::new(wanted), &mut copy)
        .map_err(|error| error.kind());
    assert_eq!(serde_json, default, "the parsers disagree");
    serde_json
}

#[test]
fn every_event_wanted_decodes_as_without_a_filter() {
    for (name, bytes) in common::fixtures("event") {
        let Ok(event) = Event::from_json(&bytes) else {
            continue;
        };
        assert_eq!(
            decode(&bytes, EventKinds::ALL),
            Ok(Decoded::Event(event.clone())),
            "{name}"
        );
        assert_eq!(
            decode(&bytes, EventKinds::from(event.kind())),
            Ok(Decoded::Event(event)),
            "{name}"
        );
    }
}

#[test]
fn every_event_not_wanted_is_skipped_with_its_kind() {
    for (name, bytes) in common::fixtures("event") {
        let Ok(event) = Event::from_json(&bytes) else {
            continue;
        };
        let kind = event.kind();
        for wanted in [EventKinds::NONE, EventKinds::ALL - kind] {
            assert_eq!(decode(&bytes, wanted), Ok(Decoded::Skipped(kind)), "{name}");
        }
    }
}

#[test]
fn the_payload_before_the_name_is_dropped_or_decoded() {
    let bytes = br#"{"d": {"id": 5}, "t": "GUILD_DELETE"}"#;
    assert_eq!(
        decode(bytes, EventKinds::NONE),
        Ok(Decoded::Skipped(EventKind::GuildDelete))
    );
    let Ok(Decoded::Event(Event::GuildDelete(deleted))) =
        decode(bytes, EventKind::GuildDelete.into())
    else {
        panic!("not decoded");
    };
    assert_eq!(deleted.id.get(), 5);
    // top-level fields before the name are kept for a wanted event
    let presence = br#"{"id": 9, "t": "PRESENCE_UPDATE", "d": {"type": 1}}"#;
    let Ok(Decoded::Event(Event::PresenceUpdate(update))) =
        decode(presence, EventKind::PresenceUpdate.into())
    else {
        panic!("not decoded");
    };
    assert_eq!(update.user_id.get(), 9);
}

#[test]
fn a_skipped_payload_is_never_typed_but_must_still_be_json() {
    let wanted = EventKinds::from(EventKind::Ready);
    // a payload the typed decode would refuse: skipped, not an error
    assert_eq!(
        decode(
            br#"{"t": "GUILD_DELETE", "d": {"id": "not a number"}}"#,
            wanted
        ),
        Ok(Decoded::Skipped(EventKind::GuildDelete))
    );
    // but malformed JSON and a missing name are errors, wanted or not
    for bad in [
        &br#"{"t": "GUILD_DELETE", "d": {"id": }"#[..],
        br#"{"t": "GUILD_DELETE", "d": {}} trailing"#,
        br#"{"d": {"id": 1}}"#,
        br#"{"t": "GUILD_DELETE", "t": "READY"}"#,
    ] {
        assert!(
            decode(bad, wanted).is_err(),
            "{}",
            String::from_utf8_lossy(bad)
        );
        assert!(decode(bad, EventKinds::NONE).is_err());
    }
}

#[test]
fn unknown_names_are_the_unknown_kind() {
    let bytes = br#"{"t": "MESSAGE_CREATE", "d": {"content": "hi"}, "x": 1}"#;
    assert_eq!(
        decode(bytes, EventKinds::ALL - EventKind::Unknown),
        Ok(Decoded::Skipped(EventKind::Unknown))
    );
    let Ok(Decoded::Event(Event::Unknown(unknown))) = decode(bytes, EventKind::Unknown.into())
    else {
        panic!("not kept");
    };
    assert_eq!(unknown.name(), "MESSAGE_CREATE");
    assert_eq!(unknown.raw().get("x"), Some(&serde_json::json!(1)));
}
