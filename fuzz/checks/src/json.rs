//! The envelope and event parser, and every model type, on every JSON
//! backend: one answer for the same bytes.

use std::fmt::Debug;

use ayaka_model::gateway::{Event, Identify};
use ayaka_model::json::{Backend, Parser};
use ayaka_model::request::{
    CreateChannel, CreateGuild, CreateInvite, CreateUser, UpdateGuild, UpdateUser,
};
use ayaka_model::{
    Available, Channel, Emoji, ErrorBody, ErrorKind, Guild, GuildDeleted, Invite, Member,
    Notification, PartialGuild, Presence, Role, Timestamp, User,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::input;

/// Parses `bytes` as a `T` with every backend compiled in (both, in this
/// crate), with [`ayaka_model::json::from_bytes`] and with the in-place
/// [`ayaka_model::json::from_slice`], and demands one answer: the same
/// `Ok` value (by `==` and by `Debug`, which tells `-0.0` from `0.0`) or
/// an error of the same kind from all. Returns it.
pub fn parse_everywhere<T: DeserializeOwned + PartialEq + Debug>(
    bytes: &[u8],
) -> Result<T, ErrorKind> {
    let what = || String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned();
    let answers = Backend::ALL
        .iter()
        .map(|&backend| {
            let parsed = Parser::with_backend(backend).parse::<T>(&mut bytes.to_vec());
            (backend.name(), parsed.map_err(|error| error.kind()))
        })
        .chain([
            (
                "json::from_bytes",
                ayaka_model::json::from_bytes::<T>(bytes).map_err(|error| error.kind()),
            ),
            (
                "json::from_slice",
                ayaka_model::json::from_slice::<T>(&mut bytes.to_vec())
                    .map_err(|error| error.kind()),
            ),
        ]);
    let mut first: Option<(&str, Result<T, ErrorKind>)> = None;
    for (name, answer) in answers {
        let Some((first_name, first_answer)) = &first else {
            first = Some((name, answer));
            continue;
        };
        match (first_answer, &answer) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a, b, "{first_name} and {name} differ on {:?}", what());
                assert_eq!(
                    format!("{a:?}"),
                    format!("{b:?}"),
                    "{first_name} and {name} differ on {:?}",
                    what()
                );
            }
            (Err(a), Err(b)) => assert_eq!(a, b, "on {:?}", what()),
            (a, b) => panic!(
                "{first_name} gives {a:?} but {name} gives {b:?} on {:?}",
                what()
            ),
        }
    }
    first.map_or(Err(ErrorKind::Decode), |(_, answer)| answer)
}

/// Demands that `written`, what `value` was written as, reads back (with
/// one answer from everywhere, see [`parse_everywhere`]) equal to `value`.
/// Returns what was read.
pub fn reads_back<T: DeserializeOwned + PartialEq + Debug>(value: &T, written: &[u8]) -> T {
    let reread = parse_everywhere::<T>(written).unwrap_or_else(|error| {
        panic!(
            "{:?} does not read back: {error:?}",
            String::from_utf8_lossy(written)
        )
    });
    assert_eq!(
        &reread,
        value,
        "written as {:?}",
        String::from_utf8_lossy(written)
    );
    reread
}

/// Any answer, as long as it is the same from everywhere.
fn agree<T: DeserializeOwned + PartialEq + Debug>(bytes: &[u8]) {
    let _ = parse_everywhere::<T>(bytes);
}

/// A gateway message: the same answer from every backend, from
/// [`ayaka_gateway::parse_event`], and an event written back reads back
/// the same.
fn event(bytes: &[u8]) {
    let parsed = parse_everywhere::<Event>(bytes);
    let by_gateway = ayaka_gateway::parse_event(bytes);
    assert_eq!(
        parsed.as_ref().ok(),
        by_gateway.as_ref().ok(),
        "ayaka_gateway::parse_event differs"
    );
    if let Ok(event) = parsed {
        let written = event.to_json().expect("an event read is written");
        reads_back(&event, &written);
    }
}

/// The first byte picks a type, the rest is JSON read as that type on
/// every backend (see [`parse_everywhere`]); gateway messages also go
/// through [`ayaka_gateway::parse_event`] and back through `to_json`.
pub fn parity(data: &[u8]) {
    let Some((selector, bytes)) = input::selector(data) else {
        return;
    };
    match selector % 24 {
        0 => agree::<Value>(bytes),
        1..=4 => event(bytes),
        5 => agree::<Identify>(bytes),
        6 => agree::<User>(bytes),
        7 => agree::<Guild>(bytes),
        8 => agree::<PartialGuild>(bytes),
        9 => agree::<GuildDeleted>(bytes),
        10 => agree::<Member>(bytes),
        11 => agree::<Role>(bytes),
        12 => agree::<Emoji>(bytes),
        13 => agree::<Channel>(bytes),
        14 => agree::<Invite>(bytes),
        15 => agree::<Presence>(bytes),
        16 => agree::<Notification>(bytes),
        17 => agree::<ErrorBody>(bytes),
        18 => agree::<Available>(bytes),
        19 => agree::<Timestamp>(bytes),
        20 => agree::<CreateUser>(bytes),
        21 => agree::<UpdateUser>(bytes),
        22 => agree::<CreateGuild>(bytes),
        _ => {
            agree::<UpdateGuild>(bytes);
            agree::<CreateChannel>(bytes);
            agree::<CreateInvite>(bytes);
        }
    }
}
