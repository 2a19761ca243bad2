//! One entry point for JSON, whichever parser is compiled in.
//!
//! [`from_slice`] uses simd-json when the `simd-json` feature is on and
//! serde_json otherwise; both give identical values (the test suite checks
//! every fixture both ways). simd-json parses in place, hence `&mut [u8]`:
//! the buffer's contents are unspecified afterwards.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;

/// The error of JSON functions: the crate's [`Error`], kind
/// [`Decode`](crate::ErrorKind::Decode) or [`Encode`](crate::ErrorKind::Encode).
pub type JsonError = Error;

/// Parses `bytes` as a `T`, with simd-json if the `simd-json` feature is on.
///
/// ```
/// let mut bytes = br#"{"port": 8080}"#.to_vec();
/// let available: ayaka_model::Available = ayaka_model::json::from_slice(&mut bytes)?;
/// assert_eq!(available.port, 8080);
/// # Ok::<(), ayaka_model::Error>(())
/// ```
pub fn from_slice<T: DeserializeOwned>(bytes: &mut [u8]) -> Result<T, JsonError> {
    #[cfg(feature = "simd-json")]
    {
        simd_json::serde::from_slice(bytes).map_err(Error::decode)
    }
    #[cfg(not(feature = "simd-json"))]
    {
        from_bytes(bytes)
    }
}

/// Parses `bytes` as a `T` with serde_json, leaving the input untouched.
pub fn from_bytes<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, JsonError> {
    serde_json::from_slice(bytes).map_err(Error::decode)
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
