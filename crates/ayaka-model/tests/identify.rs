//! The identify payload: what the server accepts and the close code of each
//! refusal.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ayaka_model::gateway::{Encoding, Identify, IdentifyError};

fn code(bytes: &[u8]) -> u16 {
    Identify::parse(bytes).unwrap_err().close_code()
}

#[test]
fn accepts_the_documented_payload_and_ignores_unknown_fields() {
    let identify = Identify::parse(br#"{"session_id": "my_session_id"}"#).unwrap();
    assert_eq!(identify, Identify::new("my_session_id"));
    assert_eq!(identify.encoding(), Encoding::Json);

    let identify = Identify::parse(
        br#"{"session_id": "s", "encoding": "zlib", "presences": false, "intents": 3, "encoding_version": [1]}"#,
    )
    .unwrap();
    assert_eq!(identify.encoding, Some(Encoding::Zlib));
    assert_eq!(identify.presences, Some(false));

    let nulls = Identify::parse(br#"{"session_id": "s", "encoding": null, "presences": null}"#);
    assert_eq!(nulls.unwrap(), Identify::new("s"));
}

#[test]
fn writes_only_what_is_set() {
    let bytes = serde_json::to_vec(&Identify::new("s")).unwrap();
    assert_eq!(bytes, br#"{"session_id":"s"}"#);
    let bytes = serde_json::to_vec(&Identify::new("s").with_encoding(Encoding::Zlib)).unwrap();
    assert_eq!(bytes, br#"{"session_id":"s","encoding":"zlib"}"#);
}

#[test]
fn payload_type_errors_close_with_4002() {
    assert_eq!(code(b"not json"), 4002);
    assert_eq!(code(b""), 4002);
    assert_eq!(code(b"{\"session_id\": \"s\""), 4002);
    assert_eq!(code(br#"["session_id", "s"]"#), 4002);
    assert_eq!(code(br#""s""#), 4002);
    assert_eq!(code(br#"{"encoding": "json"}"#), 4002);
    assert_eq!(
        Identify::parse(b"{}").unwrap_err(),
        IdentifyError::MissingSessionId
    );
}

#[test]
fn wrong_field_types_close_with_4001() {
    assert_eq!(code(br#"{"session_id": 5}"#), 4001);
    assert_eq!(code(br#"{"session_id": ["s"]}"#), 4001);
    assert_eq!(code(br#"{"session_id": "s", "encoding": 1}"#), 4001);
    assert_eq!(code(br#"{"session_id": "s", "presences": "yes"}"#), 4001);
    // a wrong type wins over a missing session id or a bad encoding
    assert_eq!(code(br#"{"presences": 1}"#), 4001);
    assert_eq!(
        code(br#"{"session_id": "s", "encoding": "etf", "presences": 1}"#),
        4001
    );
}

#[test]
fn unknown_encodings_close_with_4004() {
    assert_eq!(code(br#"{"session_id": "s", "encoding": "etf"}"#), 4004);
    assert_eq!(code(br#"{"session_id": "s", "encoding": "JSON"}"#), 4004);
    assert_eq!(code(br#"{"session_id": "s", "encoding": ""}"#), 4004);
}

#[test]
fn debug_redacts_the_session_id() {
    let identify = Identify::new("285790153431875585.c2VjcmV0");
    let debug = format!("{identify:?}");
    assert!(!debug.contains("c2VjcmV0") && !debug.contains("2857901534"));
}
