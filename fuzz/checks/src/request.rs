//! REST request bodies: reading them (on every backend) and validating
//! them.

use std::fmt::Debug;

use ayaka_model::ValidationError;
use ayaka_model::request::{
    CreateChannel, CreateGuild, CreateInvite, CreateUser, UpdateGuild, UpdateUser,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::input;
use crate::json::{parse_everywhere, reads_back};

/// Reads `bytes` as a body on every backend (one answer), validates what
/// was read (the same verdict twice, every failure named with a field and
/// written as an error body), and writes it back: a body written reads
/// back equal and gets the same verdict.
fn body<T>(bytes: &[u8], validate: fn(&T) -> Result<(), ValidationError>)
where
    T: DeserializeOwned + Serialize + PartialEq + Debug,
{
    let Ok(body) = parse_everywhere::<T>(bytes) else {
        return;
    };
    let verdict = validate(&body);
    assert_eq!(validate(&body), verdict, "validation is not deterministic");
    if let Err(error) = &verdict {
        assert!(!error.errors().is_empty(), "a failure naming no field");
        let map = error.to_map();
        assert_eq!(map.len(), error.errors().len(), "a field named twice");
        let written = serde_json::to_vec(&error.to_error_body()).expect("an error body is written");
        let reread: serde_json::Value = serde_json::from_slice(&written).expect("valid JSON");
        assert!(reread["errors"].is_object(), "no errors in {reread}");
    }
    let written = serde_json::to_vec(&body).expect("a body read is written");
    let reread = reads_back(&body, &written);
    assert_eq!(
        validate(&reread).is_ok(),
        verdict.is_ok(),
        "the verdict changed on writing"
    );
}

/// The first byte picks a body type, the rest is its JSON (see `body`).
pub fn bodies(data: &[u8]) {
    let Some((selector, bytes)) = input::selector(data) else {
        return;
    };
    match selector % 6 {
        0 => body::<CreateUser>(bytes, CreateUser::validate),
        1 => body::<UpdateUser>(bytes, UpdateUser::validate),
        2 => body::<CreateGuild>(bytes, CreateGuild::validate),
        3 => body::<UpdateGuild>(bytes, UpdateGuild::validate),
        4 => body::<CreateChannel>(bytes, CreateChannel::validate),
        _ => body::<CreateInvite>(bytes, CreateInvite::validate),
    }
}
