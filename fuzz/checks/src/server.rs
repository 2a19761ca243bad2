//! The local server's decoding of what clients send: the gateway's
//! identify frame and REST request bodies.

use ayaka_model::gateway::Identify;
use ayaka_server::fuzzing::{self, Body};
use serde_json::Value;

use crate::input;

/// A text frame read as an identify: never a panic; a refusal closes with
/// one of the protocol's identify codes (4001, 4002, 4004); an accepted
/// identify is what [`Identify::parse`] reads and reads back the same once
/// written.
pub fn identify(data: &[u8]) {
    match fuzzing::identify(data) {
        Err(code) => {
            assert!([4001, 4002, 4004].contains(&code), "close code {code}");
            assert!(Identify::parse(data).is_err());
        }
        Ok(identify) => {
            assert_eq!(Identify::parse(data).ok().as_ref(), Some(&identify));
            let written = serde_json::to_vec(&identify).expect("an identify is written");
            assert_eq!(fuzzing::identify(&written).ok(), Some(identify));
        }
    }
}

/// The first byte picks a route's body, the rest is the body: decoding and
/// validating never panics, gives the same answer twice, and a refusal is a
/// 400 whose body is the documented error object (a code, a message, the
/// bad fields as strings) in both the documented and the deployed shape.
pub fn rest_body(data: &[u8]) {
    let Some((selector, bytes)) = input::selector(data) else {
        return;
    };
    let body = Body::ALL[usize::from(selector) % Body::ALL.len()];
    let decoded = fuzzing::decode_body(body, bytes);
    assert_eq!(
        fuzzing::decode_body(body, bytes),
        decoded,
        "not deterministic"
    );
    let Err(refusal) = decoded else {
        return;
    };
    assert_eq!(
        refusal.status, 400,
        "{body:?} refused with {}",
        refusal.status
    );
    for written in [&refusal.body, &refusal.quirk_body] {
        let error: Value = serde_json::from_slice(written)
            .unwrap_or_else(|_| panic!("not JSON: {:?}", String::from_utf8_lossy(written)));
        assert!(
            error["code"].is_number() && error["message"].is_string(),
            "{error}"
        );
        if let Some(errors) = error.get("errors") {
            let errors = errors.as_object().expect("errors is an object");
            assert!(
                !errors.is_empty() && errors.values().all(Value::is_string),
                "{error}"
            );
        }
    }
}
