//! One entry point for JSON, whichever parser is compiled in.
//!
//! [`from_slice`] uses simd-json when the `simd-json` feature is on and
//! serde_json otherwise. simd-json parses in place, hence `&mut [u8]`: the
//! buffer's contents are unspecified afterwards. [`Parser`] picks a
//! [`Backend`] explicitly.
//!
//! # One reading of JSON
//!
//! Both backends give the same `Ok` or `Err`, and the same values, for the
//! same bytes, whatever the bytes (a fuzz target and the replay of its
//! corpus check this). The two parsers disagree on their own in a few
//! places; the rules this module applies to both are:
//!
//! - **JSON text is UTF-8**: invalid UTF-8 anywhere is an error, also inside
//!   a field that is ignored (serde_json skips ignored strings unchecked;
//!   this module validates the text once, up front).
//! - **Ignored values follow the rules of kept ones**: a lone surrogate
//!   escape, a number out of `f64` range or nesting past [`MAX_DEPTH`] is an
//!   error wherever it is, not only in a field that is read.
//! - **Integers past the 64-bit range are floats**: `18446744073709551616`
//!   reads as the nearest `f64`, as serde_json reads it (simd-json runs with
//!   its `big-int-as-float` feature). Where an integer belongs (an id, a
//!   count) such a number is therefore an error, from both.
//! - **`-0` is the float `-0.0`**, as serde_json reads it, so it is an error
//!   where an integer belongs.
//! - **A number is only a number**: a field of an integer type is read from
//!   the number as written (`1.0` is not an integer), never converted.
//! - Input nested deeper than [`MAX_DEPTH`] arrays and objects is refused
//!   (serde_json's limit, applied to simd-json too), which bounds the stack
//!   any input can use.
//!
//! These hold for this crate's types and for [`serde_json::Value`]; other
//! types get the same reading of the text, and their own `Deserialize`
//! decides the rest.

mod strict;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;
use strict::{Origin, Strict};

/// The error of JSON functions: the crate's [`Error`], kind
/// [`Decode`](crate::ErrorKind::Decode) or [`Encode`](crate::ErrorKind::Encode).
pub type JsonError = Error;

/// The deepest nesting of arrays and objects either parser accepts.
pub const MAX_DEPTH: usize = 127;

/// A JSON parser this crate can read with; both read JSON the same way (see
/// the [module documentation](self)).
///
/// ```
/// use ayaka_model::json::{Backend, Parser};
///
/// for &backend in Backend::ALL {
///     let mut parser = Parser::with_backend(backend);
///     let port: u16 = parser.parse(&mut b"8080".to_vec())?;
///     assert_eq!(port, 8080);
/// }
/// # Ok::<(), ayaka_model::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// serde_json, always compiled in.
    SerdeJson,
    /// simd-json, with the `simd-json` feature.
    #[cfg(feature = "simd-json")]
    SimdJson,
}

impl Backend {
    /// The backend [`from_slice`] and [`Parser::new`] use: simd-json with the
    /// `simd-json` feature, serde_json otherwise.
    #[cfg(feature = "simd-json")]
    pub const DEFAULT: Self = Self::SimdJson;
    /// The backend [`from_slice`] and [`Parser::new`] use: simd-json with the
    /// `simd-json` feature, serde_json otherwise.
    #[cfg(not(feature = "simd-json"))]
    pub const DEFAULT: Self = Self::SerdeJson;

    /// Every backend compiled in, serde_json first.
    pub const ALL: &'static [Self] = &[
        Self::SerdeJson,
        #[cfg(feature = "simd-json")]
        Self::SimdJson,
    ];

    /// The parser's crate name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::SerdeJson => "serde_json",
            #[cfg(feature = "simd-json")]
            Self::SimdJson => "simd-json",
        }
    }
}

impl Default for Backend {
    fn default() -> Self {
        Self::DEFAULT
    }
}

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
    backend: Backend,
    #[cfg(feature = "simd-json")]
    buffers: simd_json::Buffers,
}

impl Parser {
    /// A parser with the [default backend](Backend::DEFAULT) and small
    /// initial buffers.
    pub fn new() -> Self {
        Self::with_capacity(1024)
    }

    /// A parser with the [default backend](Backend::DEFAULT) whose buffers
    /// fit messages of `bytes` without growing.
    pub fn with_capacity(bytes: usize) -> Self {
        Self::build(Backend::DEFAULT, bytes)
    }

    /// A parser reading with `backend`.
    pub fn with_backend(backend: Backend) -> Self {
        Self::build(backend, 1024)
    }

    fn build(backend: Backend, bytes: usize) -> Self {
        #[cfg(not(feature = "simd-json"))]
        let _ = bytes;
        Self {
            backend,
            // serde_json needs no buffers
            #[cfg(feature = "simd-json")]
            buffers: simd_json::Buffers::with_max_depth(
                if backend == Backend::SimdJson {
                    bytes
                } else {
                    0
                },
                MAX_DEPTH,
            ),
        }
    }

    /// The backend this parser reads with.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Parses `bytes` as a `T` (in place with simd-json).
    pub fn parse<T: DeserializeOwned>(&mut self, bytes: &mut [u8]) -> Result<T, JsonError> {
        match self.backend {
            Backend::SerdeJson => from_bytes(bytes),
            #[cfg(feature = "simd-json")]
            Backend::SimdJson => {
                let mut deserializer =
                    simd_json::Deserializer::from_slice_with_buffers(bytes, &mut self.buffers)
                        .map_err(Error::decode)?;
                T::deserialize(Strict::new(&mut deserializer, Origin::SimdJson))
                    .map_err(Error::decode)
            }
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
        f.debug_struct("Parser")
            .field("backend", &self.backend.name())
            .finish()
    }
}

/// Parses `bytes` as a `T` with serde_json, leaving the input untouched.
pub fn from_bytes<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, JsonError> {
    // Checked once here, so that serde_json need not check each string it
    // reads, and cannot skip one it ignores.
    let text = std::str::from_utf8(bytes).map_err(Error::decode)?;
    from_str(text)
}

/// Parses `text` as a `T` with serde_json.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, JsonError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value =
        T::deserialize(Strict::new(&mut deserializer, Origin::SerdeJson)).map_err(Error::decode)?;
    deserializer.end().map_err(Error::decode)?;
    Ok(value)
}

/// Writes `value` as compact JSON.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, JsonError> {
    serde_json::to_vec(value).map_err(Error::encode)
}

/// Writes `value` as a compact JSON string.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, JsonError> {
    serde_json::to_string(value).map_err(Error::encode)
}
