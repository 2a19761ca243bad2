//! Request bodies decoded so that a 400 names every bad field: wrong
//! JSON types, missing fields and the protocol's validation rules, all at
//! once.
//!
//! serde stops at the first error, so each body type lists its fields
//! ([`Body::SHAPE`]). Each present field is decoded on its own (an object
//! holding only that field: serde's derive visits present fields before
//! it looks for missing ones, so any error but "missing field" is that
//! field's); each absent required field is named. Then, to apply the
//! validation rules to the fields that were fine, the bad ones are
//! replaced by a valid filler (or removed, when optional) and the whole is
//! decoded and validated. All of it runs only on the error path.

use std::collections::BTreeMap;

use ayaka_model::Notification;
use ayaka_model::request::{
    CreateChannel, CreateGuild, CreateInvite, CreateUser, UpdateGuild, UpdateUser, ValidationError,
};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::reply::ApiError;

/// One field of a body: its JSON name and, when it is required, a valid
/// value (JSON text) that stands in for a bad one while the other fields
/// are validated.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    name: &'static str,
    filler: Option<&'static str>,
}

const fn required(name: &'static str, filler: &'static str) -> Field {
    Field {
        name,
        filler: Some(filler),
    }
}

const fn optional(name: &'static str) -> Field {
    Field { name, filler: None }
}

/// A request body the server decodes.
pub(crate) trait Body: DeserializeOwned {
    /// Every field, in the order errors are listed.
    const SHAPE: &'static [Field];

    /// The protocol's rules for this body.
    fn check(&self) -> Result<(), ValidationError>;
}

impl Body for CreateUser {
    const SHAPE: &'static [Field] = &[
        required("username", r#""x""#),
        required("separator", "0"),
        optional("bio"),
        required("email", r#""x@example.com""#),
        required("password", r#""password""#),
    ];

    fn check(&self) -> Result<(), ValidationError> {
        self.validate()
    }
}

impl Body for UpdateUser {
    const SHAPE: &'static [Field] = &[
        optional("username"),
        optional("separator"),
        optional("bio"),
        optional("email"),
        optional("password"),
    ];

    fn check(&self) -> Result<(), ValidationError> {
        self.validate()
    }
}

impl Body for CreateGuild {
    const SHAPE: &'static [Field] = &[required("name", r#""x""#), optional("description")];

    fn check(&self) -> Result<(), ValidationError> {
        self.validate()
    }
}

impl Body for UpdateGuild {
    const SHAPE: &'static [Field] = &[
        optional("name"),
        optional("description"),
        optional("banner"),
        optional("invite_banner"),
        optional("vanity_url"),
    ];

    fn check(&self) -> Result<(), ValidationError> {
        self.validate()
    }
}

impl Body for CreateChannel {
    const SHAPE: &'static [Field] = &[
        required("name", r#""x""#),
        optional("description"),
        required("type", "2"),
        optional("inside_of"),
        optional("position"),
    ];

    fn check(&self) -> Result<(), ValidationError> {
        self.validate()
    }
}

impl Body for CreateInvite {
    const SHAPE: &'static [Field] = &[];

    fn check(&self) -> Result<(), ValidationError> {
        self.validate()
    }
}

impl Body for Notification {
    const SHAPE: &'static [Field] = &[required("type", r#""MESSAGE""#), optional("excerpt")];

    fn check(&self) -> Result<(), ValidationError> {
        Ok(())
    }
}

/// Decodes and validates a JSON object body, naming every bad field.
pub(crate) fn decode<T: Body>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|error| ApiError::bad_field("body", format!("not valid JSON: {error}")))?;
    // Checked first: serde would also read a struct from an array.
    let Value::Object(object) = value else {
        return Err(ApiError::bad_field("body", "must be a JSON object"));
    };
    let mut errors = shape_errors::<T>(&object);
    if errors.is_empty() {
        let body = T::deserialize(Value::Object(object))
            .map_err(|error| ApiError::bad_field("body", error.to_string()))?;
        return match body.check() {
            Ok(()) => Ok(body),
            Err(invalid) => Err(ApiError::invalid(&invalid)),
        };
    }
    // Validate what was well-typed, with the bad fields stood in for.
    let mut patched = object;
    for field in T::SHAPE
        .iter()
        .filter(|field| errors.contains_key(field.name))
    {
        match field
            .filler
            .and_then(|filler| serde_json::from_str(filler).ok())
        {
            Some(filler) => patched.insert(field.name.to_owned(), filler),
            None => patched.remove(field.name),
        };
    }
    if let Ok(body) = T::deserialize(Value::Object(patched))
        && let Err(invalid) = body.check()
    {
        for (field, reason) in invalid.to_map() {
            errors.entry(field).or_insert(reason);
        }
    }
    Err(ApiError::fields(errors))
}

/// Wrong types and missing required fields, by field name.
fn shape_errors<T: Body>(object: &Map<String, Value>) -> BTreeMap<String, String> {
    let mut errors = BTreeMap::new();
    for field in T::SHAPE {
        match object.get(field.name) {
            Some(value) => {
                let mut alone = Map::new();
                alone.insert(field.name.to_owned(), value.clone());
                if let Err(error) = T::deserialize(Value::Object(alone)) {
                    let message = error.to_string();
                    if !message.starts_with("missing field") {
                        errors.insert(field.name.to_owned(), message);
                    }
                }
            }
            None if field.filler.is_some() => {
                errors.insert(field.name.to_owned(), "is required".to_owned());
            }
            None => {}
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use http::StatusCode;
    use serde::Serialize;

    use super::*;

    fn fields_of(error: &ApiError) -> Vec<String> {
        error.field_names()
    }

    /// The fillers of the required fields make a valid body; removing any
    /// of them is a missing field; the shape names every field the type
    /// serialises.
    fn shape_matches<T: Body + Serialize>(full: &T) {
        let fillers: Map<String, Value> = T::SHAPE
            .iter()
            .filter_map(|field| {
                let filler = field.filler?;
                Some((field.name.to_owned(), serde_json::from_str(filler).unwrap()))
            })
            .collect();
        let body = T::deserialize(Value::Object(fillers.clone())).unwrap();
        body.check().unwrap();
        for name in fillers.keys() {
            let mut without = fillers.clone();
            without.remove(name);
            let error = T::deserialize(Value::Object(without)).err().unwrap();
            assert!(error.to_string().starts_with("missing field"), "{name}");
        }
        let Value::Object(serialised) = serde_json::to_value(full).unwrap() else {
            panic!("an object")
        };
        let mut names: Vec<&str> = T::SHAPE.iter().map(|field| field.name).collect();
        names.sort_unstable();
        let mut keys: Vec<&str> = serialised.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(names, keys);
    }

    #[test]
    fn shapes_match_the_model() {
        use ayaka_model::{ChannelType, NotificationType};
        use ayaka_snowflake::ChannelId;

        shape_matches(&CreateUser::new("a", 1, "a@b.co", "password1").bio("b"));
        shape_matches(
            &UpdateUser::new()
                .username("a")
                .separator(1)
                .bio("b")
                .email("a@b.co")
                .password("password1"),
        );
        shape_matches(&CreateGuild::new("g").description("d"));
        shape_matches(
            &UpdateGuild::new()
                .name("g")
                .description("d")
                .banner("b")
                .invite_banner("i")
                .vanity_url("v"),
        );
        shape_matches(
            &CreateChannel::new("c", ChannelType::Text)
                .description("d")
                .inside_of(ChannelId::new(1))
                .position(1),
        );
        shape_matches(&CreateInvite::new());
        shape_matches(&Notification {
            kind: NotificationType::Message,
            excerpt: Value::from(1),
        });
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        // Two wrong types, one missing field, one broken rule.
        let body = br#"{"username": 5, "separator": "one", "bio": "", "password": "short"}"#;
        let error = decode::<CreateUser>(body).unwrap_err();
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            fields_of(&error),
            ["email", "password", "separator", "username"]
        );
        let reasons = error.field_reasons();
        assert_eq!(reasons["email"], "is required");
        assert!(reasons["separator"].contains("expected u16"), "{reasons:?}");
        assert!(reasons["password"].contains("8 to 256"), "{reasons:?}");

        let optional = br#"{"username": [], "bio": 7, "email": "nope"}"#;
        let error = decode::<UpdateUser>(optional).unwrap_err();
        assert_eq!(fields_of(&error), ["bio", "email", "username"]);
    }

    #[test]
    fn good_bodies_decode_and_bad_json_is_the_body() {
        let user: CreateUser =
            decode(br#"{"username": "a", "separator": 1, "email": "a@b.co", "password": "12345678", "extra": 1}"#)
                .unwrap();
        assert_eq!(user.username, "a");
        for bad in [&b"{"[..], b"[]", b"\"x\"", b""] {
            assert_eq!(fields_of(&decode::<CreateUser>(bad).unwrap_err()), ["body"]);
        }
        let invalid = decode::<CreateGuild>(br#"{"name": "a\u0000b"}"#).unwrap_err();
        assert_eq!(fields_of(&invalid), ["name"]);
    }
}
