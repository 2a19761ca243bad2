//! Every fixture parses, round-trips, is written back exactly when it is in
//! canonical form, and parses to the same value through simd-json.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fmt::Debug;

use ayaka_model::gateway::{ClientCommand, Event, Identify};
use ayaka_model::request::{
    CreateChannel, CreateGuild, CreateInvite, CreateUser, UpdateGuild, UpdateUser,
};
use ayaka_model::{
    Available, Channel, Emoji, ErrorBody, Guild, Invite, Member, PartialGuild, Presence, Role, User,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use common::{fixtures, is_canonical};

/// Parses with the crate's in-place entry point: simd-json when the
/// feature is on, so running the suite with `--all-features` compares the
/// two parsers on every fixture.
fn parse_in_place<T: DeserializeOwned>(bytes: &[u8]) -> T {
    let mut copy = bytes.to_vec();
    ayaka_model::json::from_slice(&mut copy).unwrap()
}

fn check<T>(dir: &str) -> usize
where
    T: DeserializeOwned + Serialize + PartialEq + Debug,
{
    let files = fixtures(dir);
    for (name, bytes) in &files {
        let parsed: T = serde_json::from_slice(bytes)
            .unwrap_or_else(|error| panic!("{name} does not parse: {error}"));
        let written = serde_json::to_vec(&parsed).unwrap();
        let reparsed: T = serde_json::from_slice(&written).unwrap();
        assert_eq!(parsed, reparsed, "{name} does not round-trip");
        if is_canonical(name) {
            let original: Value = serde_json::from_slice(bytes).unwrap();
            let written: Value = serde_json::from_slice(&written).unwrap();
            assert_eq!(original, written, "{name} is not written back exactly");
        }
        assert_eq!(parse_in_place::<T>(bytes), parsed, "{name}: parsers differ");
    }
    files.len()
}

#[test]
fn objects() {
    check::<User>("user");
    check::<Role>("role");
    check::<Emoji>("emoji");
    check::<Member>("member");
    check::<Channel>("channel");
    check::<Guild>("guild");
    check::<PartialGuild>("partial_guild");
    check::<Invite>("invite");
    check::<Presence>("presence");
    check::<ErrorBody>("error_body");
    check::<Available>("available");
    check::<Identify>("identify");
}

#[test]
fn request_bodies() {
    check::<CreateUser>("request/create_user");
    check::<UpdateUser>("request/update_user");
    check::<CreateGuild>("request/create_guild");
    check::<UpdateGuild>("request/update_guild");
    check::<CreateChannel>("request/create_channel");
    check::<CreateInvite>("request/create_invite");
}

#[test]
fn events() {
    let count = check::<Event>("event");
    assert!(count >= 25, "only {count} event fixtures");
    for (name, bytes) in fixtures("event") {
        let event = Event::from_json(&bytes).unwrap();
        let mut copy = bytes.clone();
        assert_eq!(Event::from_json_mut(&mut copy).unwrap(), event, "{name}");
        let text = std::str::from_utf8(&bytes).unwrap();
        assert_eq!(Event::from_json_str(text).unwrap(), event, "{name}");
        assert_eq!(
            Event::from_json(&event.to_json().unwrap()).unwrap(),
            event,
            "{name}"
        );
    }
}

#[test]
fn identify_parse_agrees_with_serde() {
    for (name, bytes) in fixtures("identify") {
        let parsed = Identify::parse(&bytes).unwrap_or_else(|error| panic!("{name}: {error}"));
        let derived: Identify = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(parsed, derived, "{name}");
    }
}

#[test]
fn client_commands() {
    for (name, bytes) in fixtures("command") {
        let command = ClientCommand::from_json(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let written = command.to_json().unwrap();
        assert_eq!(
            ClientCommand::from_json(&written).unwrap(),
            command,
            "{name}"
        );
        let original: Value = serde_json::from_slice(&bytes).unwrap();
        let written: Value = serde_json::from_slice(&written).unwrap();
        assert_eq!(original, written, "{name} is not written back exactly");
    }
}
