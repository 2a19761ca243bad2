use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Error, ErrorKind, Presence, json};

/// A message from a client to the gateway server, after identify.
///
/// ```
/// use ayaka_model::gateway::ClientCommand;
/// use ayaka_model::{Presence, PresenceType};
///
/// let command = ClientCommand::PresenceUpdate(Presence::new(PresenceType::Idle));
/// let bytes = command.to_json()?;
/// assert_eq!(bytes, br#"{"t":"PRESENCE_UPDATE","d":{"type":2}}"#);
/// assert_eq!(ClientCommand::from_json(&bytes)?, command);
/// # Ok::<(), ayaka_model::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientCommand {
    /// `{"t": "PRESENCE_UPDATE", "d": {presence}}` (**extension**): set the
    /// user's presence.
    PresenceUpdate(Presence),
    /// `{"t": "HEARTBEAT"}`: the deployed server's application heartbeat,
    /// answered with `ACK`.
    Heartbeat,
}

/// How much of an unknown command name an error message repeats.
const MAX_NAME_SHOWN: usize = 64;

#[derive(Deserialize)]
struct RawCommand {
    t: String,
    #[serde(default)]
    d: Option<Value>,
}

impl ClientCommand {
    /// Parses a client message. A name this library does not know is an
    /// error of kind [`ErrorKind::UnknownCommand`] (the server closes with
    /// 4004); bad JSON or a bad presence is [`ErrorKind::Decode`].
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        let raw: RawCommand = json::from_bytes(bytes)?;
        match raw.t.as_str() {
            "HEARTBEAT" => Ok(Self::Heartbeat),
            "PRESENCE_UPDATE" => {
                let data = raw
                    .d
                    .ok_or_else(|| Error::decode("PRESENCE_UPDATE without `d`"))?;
                let presence = Presence::deserialize(data).map_err(Error::decode)?;
                Ok(Self::PresenceUpdate(presence))
            }
            other => {
                // the name is the peer's: keep error messages (and logs) short
                let shown: String = other.chars().take(MAX_NAME_SHOWN).collect();
                let ellipsis = if shown.len() < other.len() { "..." } else { "" };
                Err(Error::new(
                    ErrorKind::UnknownCommand,
                    format!("unknown command `{}{ellipsis}`", shown.escape_debug()),
                ))
            }
        }
    }

    /// Writes the command as compact JSON.
    pub fn to_json(&self) -> Result<Vec<u8>, Error> {
        json::to_vec(self)
    }
}

impl Serialize for ClientCommand {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        match self {
            Self::PresenceUpdate(presence) => {
                map.serialize_entry("t", "PRESENCE_UPDATE")?;
                map.serialize_entry("d", presence)?;
            }
            Self::Heartbeat => map.serialize_entry("t", "HEARTBEAT")?,
        }
        map.end()
    }
}
