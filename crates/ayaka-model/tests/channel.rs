//! A channel is told apart by its `type`, wherever in the object it comes,
//! and read in one pass on both JSON backends.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use ayaka_model::json::{Backend, Parser};
use ayaka_model::{Channel, ChannelType, ErrorKind};
use serde_json::json;

fn parse(text: &str) -> Vec<Result<Channel, ErrorKind>> {
    Backend::ALL
        .iter()
        .map(|&backend| {
            Parser::with_backend(backend)
                .parse::<Channel>(&mut text.as_bytes().to_vec())
                .map_err(|error| error.kind())
        })
        .collect()
}

fn one(text: &str) -> Result<Channel, ErrorKind> {
    let mut all = parse(text);
    let first = all.remove(0);
    for other in all {
        assert_eq!(other, first, "the backends disagree on {text}");
    }
    first
}

#[test]
fn the_type_may_come_first_last_or_between() {
    let texts = [
        r#"{"type": 2, "id": 7, "name": "general", "inside_of": 3, "position": 1, "guild_id": 9}"#,
        r#"{"id": 7, "name": "general", "inside_of": 3, "type": 2, "position": 1, "guild_id": 9}"#,
        r#"{"id": 7, "name": "general", "inside_of": 3, "position": 1, "guild_id": 9, "type": 2}"#,
    ];
    for text in texts {
        let Channel::Text(channel) = one(text).unwrap() else {
            panic!("{text}")
        };
        assert_eq!(channel.id.get(), 7);
        assert_eq!(channel.name, "general");
        assert_eq!(channel.inside_of.map(|id| id.get()), Some(3));
        assert_eq!(channel.position, 1);
        assert_eq!(channel.guild_id.map(|id| id.get()), Some(9));
        assert_eq!(channel.description, None);
    }
}

#[test]
fn each_known_type_reads_its_own_fields() {
    let category =
        one(r#"{"id": 1, "name": "c", "type": 1, "position": 0, "inside_of": 0, "x": [1]}"#);
    let Channel::Category(category) = category.unwrap() else {
        panic!()
    };
    assert_eq!(category.inside_of, 0);
    let voice = one(
        r#"{"id": 2, "name": "v", "type": 3, "position": 4, "inside_of": 0, "description": "talk"}"#,
    );
    let Channel::Voice(voice) = voice.unwrap() else {
        panic!()
    };
    assert_eq!(voice.inside_of, None, "0 means top level");
    assert_eq!(voice.description.as_deref(), Some("talk"));
    // a category's inside_of is a number, a text channel's may be a string
    assert!(one(r#"{"id": 1, "name": "c", "type": 1, "position": 0, "inside_of": "5"}"#).is_err());
    let text = one(r#"{"id": 1, "name": "c", "type": 2, "position": 0, "inside_of": "5"}"#);
    assert_eq!(text.unwrap().kind(), ChannelType::Text);
}

#[test]
fn an_unknown_type_keeps_every_field() {
    let text = r#"{"id": 8, "stage": {"live": true}, "name": "s", "type": 9, "position": "top"}"#;
    let Channel::Unknown { id, kind, raw } = one(text).unwrap() else {
        panic!()
    };
    assert_eq!((id.get(), kind), (8, 9));
    assert_eq!(
        raw,
        json!({"id": 8, "stage": {"live": true}, "name": "s", "type": 9, "position": "top"})
    );
}

#[test]
fn a_repeated_field_keeps_its_last_value() {
    let channel = one(r#"{"id": 1, "name": "old", "type": 2, "position": 0, "name": "new"}"#);
    assert_eq!(channel.unwrap().name(), Some("new"));
}

#[test]
fn missing_or_mistyped_fields_are_errors() {
    let bad = [
        r#"{"id": 1, "name": "c", "position": 0}"#,
        r#"{"id": 1, "type": 2, "position": 0}"#,
        r#"{"name": "c", "type": 9}"#,
        r#"{"id": 1, "name": "c", "type": "2", "position": 0}"#,
        r#"{"id": 1, "name": 5, "type": 2, "position": 0}"#,
        r#"[1, 2]"#,
        r#""channel""#,
    ];
    for text in bad {
        assert_eq!(one(text).unwrap_err(), ErrorKind::Decode, "{text}");
    }
}
