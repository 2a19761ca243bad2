//! Ids in JSON: integers out, integers or digit strings in.
#![cfg(feature = "serde")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ayaka_snowflake::{Snowflake, UserId};

#[test]
fn ids_are_written_as_integers() {
    assert_eq!(serde_json::to_string(&UserId::new(42)).unwrap(), "42");
    assert_eq!(
        serde_json::to_string(&Snowflake::new(u64::MAX)).unwrap(),
        "18446744073709551615"
    );
}

#[test]
fn ids_are_read_from_integers_or_digit_strings() {
    for text in ["42", "\"42\""] {
        assert_eq!(
            serde_json::from_str::<UserId>(text).unwrap(),
            UserId::new(42)
        );
        assert_eq!(
            serde_json::from_str::<Snowflake>(text).unwrap(),
            Snowflake::new(42)
        );
    }
    assert_eq!(
        serde_json::from_str::<UserId>("\"18446744073709551615\"").unwrap(),
        UserId::new(u64::MAX)
    );
}

#[test]
fn anything_else_is_an_error() {
    for text in [
        "-1",
        "1.5",
        "18446744073709551616",
        "\"18446744073709551616\"",
        "\"\"",
        "\"-1\"",
        "\"12a\"",
        "null",
        "true",
        "[]",
        "{}",
    ] {
        assert!(serde_json::from_str::<UserId>(text).is_err(), "{text}");
        assert!(serde_json::from_str::<Snowflake>(text).is_err(), "{text}");
    }
}

#[test]
fn ids_round_trip_in_structures() {
    let ids = vec![UserId::new(1), UserId::new(u64::MAX)];
    let text = serde_json::to_string(&ids).unwrap();
    assert_eq!(serde_json::from_str::<Vec<UserId>>(&text).unwrap(), ids);
}
