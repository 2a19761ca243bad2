//! The per-connection zlib stream of `encoding: "zlib"`.

use miniz_oxide::deflate::core::{CompressorOxide, create_comp_flags_from_zip_params};
use miniz_oxide::deflate::stream::deflate;
use miniz_oxide::{MZFlush, MZStatus};

/// Level 6: zlib's default, a good trade for small JSON messages.
const LEVEL: i32 = 6;
/// Positive window bits ask for the RFC 1950 header (written once, at the
/// start of the stream).
const WINDOW_BITS: i32 = 15;
const CHUNK: usize = 4_096;

/// One zlib stream for the life of a connection: messages share the
/// dictionary, and each ends with a flush so that it ends in `00 00 FF FF`.
pub(crate) struct ZlibStream {
    compressor: Box<CompressorOxide>,
    flush: MZFlush,
}

/// The compressor refused its input (it never should for in-memory data).
#[derive(Debug)]
pub(crate) struct CompressError;

impl ZlibStream {
    /// A new stream; `full_flush` imitates the deployed server (which
    /// resets the dictionary after every message).
    pub(crate) fn new(full_flush: bool) -> Self {
        let flags = create_comp_flags_from_zip_params(LEVEL, WINDOW_BITS, 0);
        Self {
            compressor: Box::new(CompressorOxide::new(flags)),
            flush: if full_flush {
                MZFlush::Full
            } else {
                MZFlush::Sync
            },
        }
    }

    /// Compresses one message, flushed.
    pub(crate) fn compress(&mut self, message: &[u8]) -> Result<Vec<u8>, CompressError> {
        let mut output = Vec::with_capacity(message.len() / 2 + 64);
        let mut consumed = 0;
        let mut chunk = [0_u8; CHUNK];
        loop {
            let result = deflate(
                &mut self.compressor,
                &message[consumed..],
                &mut chunk,
                self.flush,
            );
            match result.status {
                Ok(MZStatus::Ok) => {}
                _ => return Err(CompressError),
            }
            consumed += result.bytes_consumed;
            output.extend_from_slice(&chunk[..result.bytes_written]);
            // A chunk not filled means the flush is complete.
            if consumed == message.len() && result.bytes_written < CHUNK {
                return Ok(output);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use miniz_oxide::inflate::stream::{InflateState, inflate};
    use miniz_oxide::{DataFormat, MZFlush};

    use super::*;

    fn inflate_all(state: &mut InflateState, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut consumed = 0;
        let mut chunk = [0_u8; 1024];
        loop {
            let result = inflate(state, &input[consumed..], &mut chunk, MZFlush::Sync);
            consumed += result.bytes_consumed;
            out.extend_from_slice(&chunk[..result.bytes_written]);
            if consumed == input.len() && result.bytes_written < chunk.len() {
                return out;
            }
        }
    }

    #[test]
    fn messages_share_one_stream_and_end_in_the_flush_marker() {
        for full_flush in [false, true] {
            let mut stream = ZlibStream::new(full_flush);
            let mut inflater = InflateState::new(DataFormat::Zlib);
            let big = format!("{{\"t\":\"X\",\"d\":\"{}\"}}", "ayaka ".repeat(5_000));
            for (index, message) in [r#"{"t":"READY"}"#, big.as_str(), r#"{"t":"READY"}"#]
                .iter()
                .enumerate()
            {
                let compressed = stream.compress(message.as_bytes()).unwrap();
                assert!(compressed.ends_with(&[0, 0, 0xFF, 0xFF]));
                if index == 0 {
                    // The zlib header (CMF 0x78: deflate, 32 KiB window).
                    assert_eq!(compressed[0], 0x78);
                }
                assert_eq!(inflate_all(&mut inflater, &compressed), message.as_bytes());
            }
        }
    }
}
