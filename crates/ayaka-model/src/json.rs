//! One entry point for JSON, whichever parser is compiled in.
//!
//! [`from_slice`] uses simd-json when the `simd-json` feature is on and
//! serde_json otherwise; both give identical values (the test suite checks
//! every fixture both ways). simd-json parses in place, hence `&mut [u8]`:
//! the buffer's contents are unspecified afterwards.
//!
//! Both parsers refuse input nested deeper than [`MAX_DEPTH`] arrays and
//! objects (serde_json's limit, applied to simd-json too so that the two
//! agree), which bounds the stack any input can use.

use serde::Serialize;
use serde::de::{DeserializeOwned, DeserializeSeed};

use crate::Error;

/// The error of JSON functions: the crate's [`Error`], kind
/// [`Decode`](crate::ErrorKind::Decode) or [`Encode`](crate::ErrorKind::Encode).
pub type JsonError = Error;

/// The deepest nesting of arrays and objects either parser accepts.
pub const MAX_DEPTH: usize = 127;

/// Parses `bytes` as a `T`, with simd-json if the `simd-json` feature is on.
///
/// To parse many messages, [`Parser`] reuses simd-json's buffers.
///
/// ```
/// let mut bytes = br#"{"port": 8080}"#.to_vec();
/// let available: ayaka_model::Available = ayaka_model::json::from_slice(&mut bytes)?;
/// assert_eq!(available.port, 8080);
/// # Ok::<(), ayaka_model::Error>(())
/// ```
pub fn from_slice<T: DeserializeOwned>(bytes: &mut [u8]) -> Result<T, JsonError> {
    Parser::with_capacity(bytes.len()).parse(bytes)
}

/// A reusable parser: with simd-json it keeps its working buffers between
/// messages (a gateway connection parses thousands); with serde_json it
/// holds nothing.
///
/// ```
/// use ayaka_model::gateway::Event;
/// use ayaka_model::json::Parser;
///
/// let mut parser = Parser::new();
/// for message in [&br#"{"t": "ACK"}"#[..], br#"{"t": "GUILD_DELETE", "d": {"id": 1}}"#] {
///     let event: Event = parser.parse(&mut message.to_vec())?;
///     assert!(!event.name().is_empty());
/// }
/// # Ok::<(), ayaka_model::Error>(())
/// ```
pub struct Parser {
    #[cfg(feature = "simd-json")]
    buffers: simd_json::Buffers,
}

impl Parser {
    /// A parser with small initial buffers.
    pub fn new() -> Self {
        Self::with_capacity(1024)
    }

    /// A parser whose buffers fit messages of `bytes` without growing.
    pub fn with_capacity(bytes: usize) -> Self {
        #[cfg(not(feature = "simd-json"))]
        let _ = bytes;
        Self {
            #[cfg(feature = "simd-json")]
            buffers: simd_json::Buffers::with_max_depth(bytes, MAX_DEPTH),
        }
    }

    /// Parses `bytes` with `seed` (in place with simd-json): for a reader
    /// that carries state, such as
    /// [`EventFilter`](crate::gateway::EventFilter).
    pub fn parse_seed<S, T>(&mut self, seed: S, bytes: &mut [u8]) -> Result<T, JsonError>
    where
        S: for<'de> DeserializeSeed<'de, Value = T>,
    {
        #[cfg(feature = "simd-json")]
        {
            let mut deserializer =
                simd_json::Deserializer::from_slice_with_buffers(bytes, &mut self.buffers)
                    .map_err(Error::decode)?;
            seed.deserialize(&mut deserializer).map_err(Error::decode)
        }
        #[cfg(not(feature = "simd-json"))]
        {
            from_bytes_seed(seed, bytes)
        }
    }

    /// Parses `bytes` as a `T` (in place with simd-json).
    pub fn parse<T: DeserializeOwned>(&mut self, bytes: &mut [u8]) -> Result<T, JsonError> {
        #[cfg(feature = "simd-json")]
        {
            simd_json::serde::from_slice_with_buffers(bytes, &mut self.buffers)
                .map_err(Error::decode)
        }
        #[cfg(not(feature = "simd-json"))]
        {
            from_bytes(bytes)
        }
    }
}

impl Default for Parser {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Parser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = if cfg!(feature = "simd-json") {
            "simd-json"
        } else {
            "serde_json"
        };
        f.debug_struct("Parser").field("backend", &backend).finish()
    }
}

/// Parses `bytes` as a `T` with serde_json, leaving the input untouched.
pub fn from_bytes<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, JsonError> {
    serde_json::from_slice(bytes).map_err(Error::decode)
}

/// Parses `bytes` with `seed` and serde_json, leaving the input untouched.
pub fn from_bytes_seed<S, T>(seed: S, bytes: &[u8]) -> Result<T, JsonError>
where
    S: for<'de> DeserializeSeed<'de, Value = T>,
{
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = seed.deserialize(&mut deserializer).map_err(Error::decode)?;
    deserializer.end().map_err(Error::decode)?;
    Ok(value)
}

/// Parses `text` as a `T` with serde_json.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, JsonError> {
    serde_json::from_str(text).map_err(Error::decode)
}

/// Writes `value` as compact JSON.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, JsonError> {
    serde_json::to_vec(value).map_err(Error::encode)
}

/// Writes `value` as a compact JSON string.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, JsonError> {
    serde_json::to_string(value).map_err(Error::encode)
}
