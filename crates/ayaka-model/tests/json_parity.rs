//! One JSON truth: every backend compiled in gives the same `Ok` or `Err`
//! and the same value for the same bytes. With `--all-features` serde_json
//! and simd-json are both compiled in and compared on every input here;
//! without, serde_json alone is held to the same rules.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fmt::Debug;
use std::fs;
use std::path::Path;

use ayaka_model::gateway::{Event, Identify};
use ayaka_model::json::{self, Backend, Parser};
use ayaka_model::request::{
    CreateChannel, CreateGuild, CreateInvite, CreateUser, UpdateGuild, UpdateUser,
};
use ayaka_model::{
    Available, Channel, Emoji, ErrorBody, ErrorKind, Guild, GuildDeleted, Invite, Member,
    Notification, PartialGuild, Presence, Role, Timestamp, User,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Parses `bytes` as a `T` with every backend and demands one answer;
/// returns it.
fn parse<T: DeserializeOwned + PartialEq + Debug>(bytes: &[u8]) -> Result<T, ErrorKind> {
    let what = || String::from_utf8_lossy(&bytes[..bytes.len().min(120)]).into_owned();
    let mut first: Option<(Backend, Result<T, ErrorKind>)> = None;
    for &backend in Backend::ALL {
        let result = Parser::with_backend(backend)
            .parse::<T>(&mut bytes.to_vec())
            .map_err(|error| error.kind());
        let Some((first_backend, first_result)) = &first else {
            first = Some((backend, result));
            continue;
        };
        match (first_result, &result) {
            (Ok(a), Ok(b)) => {
                // Debug too: it tells `-0.0` from `0.0`, which `==` does not
                assert_eq!(
                    a,
                    b,
                    "{first_backend:?} and {backend:?} differ on {:?}",
                    what()
                );
                assert_eq!(format!("{a:?}"), format!("{b:?}"), "on {:?}", what());
            }
            (Err(a), Err(b)) => assert_eq!(a, b, "on {:?}", what()),
            (a, b) => panic!(
                "{first_backend:?} gives {a:?} but {backend:?} gives {b:?} on {:?}",
                what()
            ),
        }
    }
    let (_, result) = first.expect("at least one backend");
    // the functions that take the input by reference agree too
    let by_ref = json::from_bytes::<T>(bytes).map_err(|error| error.kind());
    assert_eq!(format!("{by_ref:?}"), format!("{result:?}"), "{:?}", what());
    result
}

/// Parses as every type a message or body can be read as.
fn parse_as_everything(bytes: &[u8]) {
    let _ = parse::<Value>(bytes);
    let _ = parse::<Event>(bytes);
    let _ = parse::<Identify>(bytes);
    let _ = parse::<User>(bytes);
    let _ = parse::<Guild>(bytes);
    let _ = parse::<PartialGuild>(bytes);
    let _ = parse::<GuildDeleted>(bytes);
    let _ = parse::<Member>(bytes);
    let _ = parse::<Role>(bytes);
    let _ = parse::<Emoji>(bytes);
    let _ = parse::<Channel>(bytes);
    let _ = parse::<Invite>(bytes);
    let _ = parse::<Presence>(bytes);
    let _ = parse::<Notification>(bytes);
    let _ = parse::<ErrorBody>(bytes);
    let _ = parse::<Available>(bytes);
    let _ = parse::<Timestamp>(bytes);
    let _ = parse::<CreateUser>(bytes);
    let _ = parse::<UpdateUser>(bytes);
    let _ = parse::<CreateGuild>(bytes);
    let _ = parse::<UpdateGuild>(bytes);
    let _ = parse::<CreateChannel>(bytes);
    let _ = parse::<CreateInvite>(bytes);
}

fn every_fixture() -> Vec<(String, Vec<u8>)> {
    fn walk(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|ext| ext == "json") {
                out.push((path.display().to_string(), fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(&common::root(), &mut out);
    out.sort();
    assert!(out.len() > 50, "fixtures not found");
    out
}

/// The inputs on which the two parsers disagreed before this module settled
/// them, and their neighbours.
const EDGES: &[&[u8]] = &[
    // integers past the 64-bit range
    br#"{"t":"X","id":18446744073709551616}"#,
    br#"{"t":"X","id":18446744073709551615}"#,
    br#"{"t":"X","id":-9223372036854775808}"#,
    br#"{"t":"X","id":-9223372036854775809}"#,
    br#"{"t":"X","d":[99999999999999999999999999999,-99999999999999999999999]}"#,
    br#"{"t":"GUILD_DELETE","d":{"id":18446744073709551616}}"#,
    br#"{"message":"m","code":0,"retry_after":18446744073709551616}"#,
    // -0
    br#"{"t":"X","id":-0}"#,
    br#"{"t":"X","id":-0.0}"#,
    br#"{"t":"X","id":-0e3}"#,
    br#"{"t":"HELLO","s":-0}"#,
    br#"{"t":"PRESENCE_UPDATE","id":-0,"d":{"type":1}}"#,
    br#"{"t":"PRESENCE_UPDATE","id":1,"d":{"type":-0}}"#,
    br#"{"type":-0}"#,
    br#"{"message":"m","code":-0,"retry_after":-0}"#,
    br#"{"name":"a","type":2,"position":-0}"#,
    // numbers written as floats where integers belong
    br#"{"name":"a","type":2,"position":1.0}"#,
    br#"{"name":"a","type":2,"position":1e0}"#,
    br#"{"separator":1.0}"#,
    br#"{"t":"GUILD_DELETE","d":{"id":1.0}}"#,
    // numbers out of f64 range, kept or ignored
    br#"{"t":"X","id":1e400}"#,
    br#"{"t":"X","id":-1e400}"#,
    br#"{"t":"X","id":1.7976931348623159e308}"#,
    br#"{"t":"X","id":1e-400}"#,
    br#"{"t":"X","id":4.9406564584124654e-324}"#,
    br#"{"t":"X","id":0e999999999999}"#,
    br#"{"t":"ACK","ignored":1e400}"#,
    // invalid UTF-8 and lone surrogates, kept or ignored
    b"{\"x\":\"\xff\"}",
    b"{\"username\":\"\xff\"}",
    b"{\"t\":\"ACK\",\"x\":\"\xc3\"}",
    b"{\"t\":\"ACK\",\"\xff\":1}",
    br#"{"x":"\ud800"}"#,
    br#"{"x":"\udc00"}"#,
    br#"{"x":"\ud800\u0041"}"#,
    br#"{"x":"\ud83d\ude00"}"#,
    br#"{"t":"ACK","x":"\ud800"}"#,
    // control characters and escapes
    b"{\"x\":\"\x01\"}",
    b"{\"x\":\"\x7f\"}",
    br#"{"x":"\q"}"#,
    br#"{"x":"\u0000"}"#,
    // options: null against absent
    br#"{"session_id":"s","encoding":null}"#,
    br#"{"name":"a","description":null}"#,
    br#"{"session_id":"s","encoding":{"json":null}}"#,
    // structs from arrays
    br#"{"t":"GUILD_DELETE","d":[1]}"#,
    br#"[1]"#,
    // framing
    b"",
    b" ",
    b"{} ",
    b"{}x",
    b"{}{}",
    b"\xef\xbb\xbf{}",
    b"{\x0c}",
];

#[test]
fn the_edges_agree() {
    for edge in EDGES {
        parse_as_everything(edge);
    }
}

#[test]
fn every_fixture_agrees_as_every_type() {
    for (_, bytes) in every_fixture() {
        parse_as_everything(&bytes);
    }
}

#[test]
fn every_prefix_of_every_event_fixture_agrees() {
    for (name, bytes) in every_fixture() {
        if !name.contains("/event/") || bytes.len() > 4096 {
            continue;
        }
        for end in 0..bytes.len() {
            let _ = parse::<Event>(&bytes[..end]);
            let _ = parse::<Value>(&bytes[..end]);
        }
    }
}

#[test]
fn nesting_past_the_limit_is_refused_also_where_it_is_ignored() {
    let nested = |depth: usize| {
        format!(
            r#"{{"t":"ACK","x":{}{}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        )
    };
    // the envelope is one level: `x` may nest one less than the limit
    assert_eq!(
        parse::<Event>(nested(json::MAX_DEPTH - 1).as_bytes()),
        Ok(Event::HeartbeatAck)
    );
    assert_eq!(
        parse::<Event>(nested(json::MAX_DEPTH).as_bytes()),
        Err(ErrorKind::Decode)
    );
    let body = format!(r#"{{"x":{}{}}}"#, "[".repeat(200), "]".repeat(200));
    assert_eq!(
        parse::<CreateInvite>(body.as_bytes()),
        Err(ErrorKind::Decode)
    );
}

#[test]
fn integers_past_64_bits_are_floats_and_no_id() {
    let Ok(Event::Unknown(event)) = parse::<Event>(br#"{"t":"X","id":18446744073709551616}"#)
    else {
        panic!("an unknown event with a big number is kept");
    };
    assert_eq!(
        event.raw()["id"].as_f64(),
        Some(18_446_744_073_709_551_616.0)
    );
    assert_eq!(event.raw()["id"].as_u64(), None);

    let as_value = parse::<Value>(b"-9223372036854775809").unwrap();
    assert_eq!(as_value.as_f64(), Some(-9_223_372_036_854_775_809.0));
    assert_eq!(as_value.as_i64(), None);

    for id_too_big in [
        &br#"{"t":"GUILD_DELETE","d":{"id":18446744073709551616}}"#[..],
        br#"{"t":"PRESENCE_UPDATE","id":18446744073709551616,"d":{"type":1}}"#,
    ] {
        assert_eq!(parse::<Event>(id_too_big), Err(ErrorKind::Decode));
    }
    assert!(parse::<Event>(br#"{"t":"GUILD_DELETE","d":{"id":18446744073709551615}}"#).is_ok());
}

#[test]
fn invalid_utf8_is_an_error_wherever_it_is() {
    // an ignored field of a body: serde_json alone skipped it unchecked
    assert_eq!(
        parse::<UpdateUser>(b"{\"x\":\"\xff\"}"),
        Err(ErrorKind::Decode)
    );
    assert_eq!(
        parse::<CreateGuild>(b"{\"name\":\"g\",\"x\":\"\xff\"}"),
        Err(ErrorKind::Decode)
    );
    // an envelope field skipped for a known event
    assert_eq!(
        parse::<Event>(b"{\"t\":\"ACK\",\"x\":\"\xe2\x82\"}"),
        Err(ErrorKind::Decode)
    );
    // valid multibyte text is fine
    assert!(parse::<UpdateUser>("{\"x\":\"日本\"}".as_bytes()).is_ok());
}

#[test]
fn ignored_values_are_held_to_the_rules_of_kept_ones() {
    for ignored in [
        &br#"{"x":"\ud800"}"#[..],
        br#"{"x":1e400}"#,
        br#"{"x":[-1e999]}"#,
    ] {
        assert_eq!(parse::<UpdateUser>(ignored), Err(ErrorKind::Decode));
        assert_eq!(parse::<CreateInvite>(ignored), Err(ErrorKind::Decode));
    }
    assert_eq!(
        parse::<Event>(br#"{"t":"ACK","x":"\udc00"}"#),
        Err(ErrorKind::Decode)
    );
    // READY's user given as a string of JSON (a deployed-server quirk) is
    // read by the same rules
    let ready = |extra: &str| {
        format!(r#"{{"t":"READY","d":"{{\"id\":1,\"username\":\"a\",\"separator\":1{extra}}}"}}"#)
    };
    assert!(parse::<Event>(ready("").as_bytes()).is_ok());
    assert_eq!(
        parse::<Event>(ready(r#",\"x\":\"\\ud800\""#).as_bytes()),
        Err(ErrorKind::Decode)
    );
    // a surrogate pair is one character
    assert!(parse::<UpdateUser>(br#"{"x":"\ud83d\ude00"}"#).is_ok());
}

#[test]
fn minus_zero_is_a_float() {
    let zero = parse::<Value>(b"-0").unwrap();
    assert!(zero.is_f64());
    assert!(zero.as_f64().unwrap().is_sign_negative());
    assert_eq!(parse::<u64>(b"-0"), Err(ErrorKind::Decode));
    assert_eq!(parse::<i32>(b"-0"), Err(ErrorKind::Decode));
    assert_eq!(parse::<f64>(b"-0").map(f64::is_sign_negative), Ok(true));
    assert_eq!(
        parse::<Event>(br#"{"t":"PRESENCE_UPDATE","id":-0,"d":{"type":1}}"#),
        Err(ErrorKind::Decode)
    );
    // the integer 0 and negative integers are integers
    assert_eq!(parse::<i64>(b"0"), Ok(0));
    assert_eq!(parse::<i64>(b"-7"), Ok(-7));
    assert!(parse::<Value>(b"-7").unwrap().is_i64());
}

#[test]
fn numbers_are_read_as_written() {
    assert_eq!(parse::<u16>(b"1.0"), Err(ErrorKind::Decode));
    assert_eq!(parse::<u8>(b"256"), Err(ErrorKind::Decode));
    assert_eq!(parse::<u64>(b"\"1\""), Err(ErrorKind::Decode));
    assert_eq!(parse::<u64>(b"null"), Err(ErrorKind::Decode));
    assert_eq!(parse::<f64>(b"3"), Ok(3.0));
    assert_eq!(parse::<Option<u32>>(b"null"), Ok(None));
    assert_eq!(parse::<Option<u32>>(b"4"), Ok(Some(4)));
}

#[test]
fn every_backend_is_listed_and_named() {
    assert_eq!(Backend::ALL[0], Backend::SerdeJson);
    assert!(Backend::ALL.contains(&Backend::DEFAULT));
    assert_eq!(Parser::new().backend(), Backend::DEFAULT);
    assert_eq!(
        Backend::ALL.len(),
        if cfg!(feature = "simd-json") { 2 } else { 1 }
    );
    let names: Vec<&str> = Backend::ALL.iter().map(|backend| backend.name()).collect();
    assert!(names.contains(&"serde_json"));
}
