//! What the fuzz targets in `fuzz/` drive: the decoding of what clients
//! send, free of sockets. Behind the `fuzzing` feature; not part of the API.

use ayaka_model::gateway::Identify;

use crate::gateway::protocol::{self, Frame};

pub use crate::rest::fuzzing::{Body, Refusal, decode_body};

/// Reads a text frame as the gateway reads an identify: the payload, or the
/// close code the connection ends with.
pub fn identify(frame: &[u8]) -> Result<Identify, u16> {
    protocol::identify(Frame::Text(frame)).map_err(|reason| reason.code())
}
