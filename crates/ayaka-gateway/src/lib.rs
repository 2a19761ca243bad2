//! Ayaka gateway connections: shards, a streaming zlib decompressor,
//! dispatchers and a shard manager.

mod error;
mod inflate;

pub use error::{Error, ErrorKind};
pub use inflate::{DEFAULT_MAX_MESSAGE_SIZE, Decompressor, ZLIB_SUFFIX};
