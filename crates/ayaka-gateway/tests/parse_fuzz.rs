#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The event parser never panics, whatever it is fed.

mod common;

use ayaka_gateway::{ErrorKind, parse_event};
use proptest::prelude::*;

const FIXTURES: [&str; 8] = [
    "ready",
    "guild_init",
    "presence_update",
    "docs_notification",
    "quirk_ready_d_string",
    "quirk_hello",
    "channel_create_text",
    "unknown_event",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_are_an_error_or_an_event(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Err(error) = parse_event(&bytes) {
            prop_assert_eq!(error.kind(), ErrorKind::Parse);
        }
    }

    #[test]
    fn truncated_events_never_panic(which in 0..FIXTURES.len(), cut in any::<prop::sample::Index>()) {
        let json = common::fixture(FIXTURES[which]);
        let json = json.trim_end();
        let cut = cut.index(json.len());
        let truncated = &json.as_bytes()[..cut];
        prop_assert!(parse_event(truncated).is_err());
    }

    #[test]
    fn corrupted_events_never_panic(which in 0..FIXTURES.len(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut json = common::fixture(FIXTURES[which]).into_bytes();
        let at = at.index(json.len());
        json[at] = byte;
        let _ = parse_event(&json);
    }
}

#[test]
fn every_fixture_parses() {
    for name in FIXTURES {
        parse_event(common::fixture(name).as_bytes()).unwrap();
    }
}
