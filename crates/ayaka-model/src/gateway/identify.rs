use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::user::Redacted;

/// How the server encodes its messages on a connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// Text frames of JSON (the default).
    #[default]
    Json,
    /// Binary frames of one zlib stream per connection.
    Zlib,
}

impl Encoding {
    /// The value as written on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Zlib => "zlib",
        }
    }
}

/// The identify payload, the first message a client sends:
/// `{"session_id": "...", "encoding": "json"}`.
///
/// `Debug` redacts the session id.
///
/// ```
/// use ayaka_model::gateway::{Encoding, Identify};
///
/// let identify = Identify::parse(br#"{"session_id": "abc", "encoding": "zlib"}"#)?;
/// assert_eq!(identify.encoding(), Encoding::Zlib);
/// assert!(!format!("{identify:?}").contains("abc"));
///
/// let error = Identify::parse(br#"{"session_id": 5}"#).unwrap_err();
/// assert_eq!(error.close_code(), 4001);
/// # Ok::<(), ayaka_model::gateway::IdentifyError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identify {
    /// The session to identify with (a credential: never log it).
    pub session_id: String,
    /// How the server should encode its messages (`json` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<Encoding>,
    /// Whether to receive presences (the deployed server's option).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presences: Option<bool>,
}

impl Identify {
    /// An identify payload with the default encoding.
    pub fn new(session_id: impl Into<String>) -> Self {
        Self {
            session_id: session_id.into(),
            encoding: None,
            presences: None,
        }
    }

    /// Asks for an encoding.
    #[must_use]
    pub fn with_encoding(mut self, encoding: Encoding) -> Self {
        self.encoding = Some(encoding);
        self
    }

    /// The encoding asked for, `json` when absent.
    pub fn encoding(&self) -> Encoding {
        self.encoding.unwrap_or_default()
    }

    /// Reads an identify payload as the server must, telling apart the
    /// failures that close the connection with different codes (see
    /// [`IdentifyError::close_code`]). Unknown fields are ignored; `null`
    /// counts as absent.
    pub fn parse(bytes: &[u8]) -> Result<Self, IdentifyError> {
        let value: Value = serde_json::from_slice(bytes).map_err(|_| IdentifyError::NotJson)?;
        let Value::Object(mut object) = value else {
            return Err(IdentifyError::NotObject);
        };
        let session_id = match object.remove("session_id") {
            None | Some(Value::Null) => None,
            Some(Value::String(session_id)) => Some(session_id),
            Some(_) => return Err(IdentifyError::WrongType("session_id")),
        };
        let encoding = match object.remove("encoding") {
            None | Some(Value::Null) => None,
            Some(Value::String(encoding)) => Some(encoding),
            Some(_) => return Err(IdentifyError::WrongType("encoding")),
        };
        let presences = match object.remove("presences") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(presences)) => Some(presences),
            Some(_) => return Err(IdentifyError::WrongType("presences")),
        };
        let session_id = session_id.ok_or(IdentifyError::MissingSessionId)?;
        let encoding = match encoding.as_deref() {
            None => None,
            Some("json") => Some(Encoding::Json),
            Some("zlib") => Some(Encoding::Zlib),
            Some(_) => return Err(IdentifyError::UnknownEncoding),
        };
        Ok(Self {
            session_id,
            encoding,
            presences,
        })
    }
}

impl fmt::Debug for Identify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identify")
            .field("session_id", &Redacted(1))
            .field("encoding", &self.encoding)
            .field("presences", &self.presences)
            .finish()
    }
}

/// Why an identify payload was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IdentifyError {
    /// Not JSON at all (close code 4002, "payload type").
    NotJson,
    /// JSON, but not an object (close code 4002).
    NotObject,
    /// A known field with a value of the wrong type (close code 4001).
    WrongType(&'static str),
    /// No `session_id` (close code 4002, as an invalid authorization).
    MissingSessionId,
    /// An `encoding` other than `json` or `zlib` (close code 4004).
    UnknownEncoding,
}

impl IdentifyError {
    /// The WebSocket close code the server sends for this error.
    pub const fn close_code(self) -> u16 {
        match self {
            Self::WrongType(_) => 4001,
            Self::NotJson | Self::NotObject | Self::MissingSessionId => 4002,
            Self::UnknownEncoding => 4004,
        }
    }
}

impl fmt::Display for IdentifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotJson => f.write_str("identify payload is not JSON"),
            Self::NotObject => f.write_str("identify payload is not a JSON object"),
            Self::WrongType(field) => write!(f, "identify field `{field}` has the wrong type"),
            Self::MissingSessionId => f.write_str("identify payload has no session_id"),
            Self::UnknownEncoding => f.write_str("identify encoding is neither json nor zlib"),
        }
    }
}

impl std::error::Error for IdentifyError {}
