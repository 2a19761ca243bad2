//! The per-connection zlib stream of `encoding: "zlib"`, without a
//! per-connection compressor.
//!
//! miniz_oxide's compressor state is about 300 KiB (dictionary, hash
//! chains, output buffer), far more than an idle connection should cost.
//! So a connection holds a compressor only while it compresses a batch of
//! messages (those written together): messages of a batch share the
//! dictionary; the batch ends with a sync flush and its compressor goes
//! back to a small shared pool. The next batch starts with an empty
//! dictionary, which is valid deflate (nothing refers back past a flush),
//! so the client still reads one continuous zlib stream: the two-byte
//! header once, then raw deflate, every message ending in `00 00 FF FF`.
//! The stream never ends, so its Adler-32 trailer is never written.

use std::sync::{Mutex, PoisonError};

use miniz_oxide::deflate::core::{CompressorOxide, create_comp_flags_from_zip_params};
use miniz_oxide::deflate::stream::deflate;
use miniz_oxide::{MZFlush, MZStatus};

/// Level 6: zlib's default, a good trade for small JSON messages.
const LEVEL: i32 = 6;
/// Negative window bits: raw deflate (the header is written by hand, once).
const RAW_WINDOW_BITS: i32 = -15;
/// The RFC 1950 header for a 32 KiB window at the default level.
const ZLIB_HEADER: [u8; 2] = [0x78, 0x9C];
const CHUNK: usize = 4_096;
/// Idle compressors kept for reuse; more are freed.
const POOL_SIZE: usize = 8;

static POOL: Mutex<Vec<Box<CompressorOxide>>> = Mutex::new(Vec::new());

fn take_compressor() -> Box<CompressorOxide> {
    let pooled = POOL.lock().unwrap_or_else(PoisonError::into_inner).pop();
    pooled.unwrap_or_else(|| {
        let flags = create_comp_flags_from_zip_params(LEVEL, RAW_WINDOW_BITS, 0);
        Box::new(CompressorOxide::new(flags))
    })
}

fn give_back(mut compressor: Box<CompressorOxide>) {
    compressor.reset();
    let mut pool = POOL.lock().unwrap_or_else(PoisonError::into_inner);
    if pool.len() < POOL_SIZE {
        pool.push(compressor);
    }
}

/// One zlib stream for the life of a connection.
pub(crate) struct ZlibStream {
    /// Held between the messages of one batch only.
    compressor: Option<Box<CompressorOxide>>,
    header_written: bool,
    flush: MZFlush,
}

/// The compressor refused its input (it never should for in-memory data).
#[derive(Debug)]
pub(crate) struct CompressError;

impl ZlibStream {
    /// A new stream; `full_flush` imitates the deployed server (which
    /// resets the dictionary after every message).
    pub(crate) fn new(full_flush: bool) -> Self {
        Self {
            compressor: None,
            header_written: false,
            flush: if full_flush {
                MZFlush::Full
            } else {
                MZFlush::Sync
            },
        }
    }

    /// Compresses one message, flushed. `last` ends the batch: the
    /// compressor is let go, and the next message starts afresh.
    pub(crate) fn compress(
        &mut self,
        message: &[u8],
        last: bool,
    ) -> Result<Vec<u8>, CompressError> {
        let mut output = Vec::with_capacity(message.len() / 2 + 64);
        if !self.header_written {
            output.extend_from_slice(&ZLIB_HEADER);
            self.header_written = true;
        }
        let compressor = self.compressor.get_or_insert_with(take_compressor);
        let result = deflate_into(compressor, message, self.flush, &mut output);
        if (last || result.is_err())
            && let Some(compressor) = self.compressor.take()
        {
            give_back(compressor);
        }
        result.map(|()| output)
    }

    /// Whether the stream holds a compressor now (only inside a batch).
    #[cfg(test)]
    fn holds_a_compressor(&self) -> bool {
        self.compressor.is_some()
    }
}

fn deflate_into(
    compressor: &mut CompressorOxide,
    message: &[u8],
    flush: MZFlush,
    output: &mut Vec<u8>,
) -> Result<(), CompressError> {
    let mut consumed = 0;
    let mut chunk = [0_u8; CHUNK];
    loop {
        let result = deflate(compressor, &message[consumed..], &mut chunk, flush);
        match result.status {
            Ok(MZStatus::Ok) => {}
            _ => return Err(CompressError),
        }
        consumed += result.bytes_consumed;
        output.extend_from_slice(&chunk[..result.bytes_written]);
        // A chunk not filled means the flush is complete.
        if consumed == message.len() && result.bytes_written < CHUNK {
            return Ok(());
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
            let messages = [r#"{"t":"READY"}"#, big.as_str(), r#"{"t":"READY"}"#, "{}"];
            for (index, message) in messages.iter().enumerate() {
                // Two batches: the first two messages, then the others.
                let last = index == 1 || index == 3;
                let compressed = stream.compress(message.as_bytes(), last).unwrap();
                assert_eq!(stream.holds_a_compressor(), !last);
                assert!(compressed.ends_with(&[0, 0, 0xFF, 0xFF]));
                if index == 0 {
                    // The zlib header (CMF 0x78: deflate, 32 KiB window).
                    assert_eq!(compressed[0], 0x78);
                }
                assert_eq!(inflate_all(&mut inflater, &compressed), message.as_bytes());
            }
        }
    }

    #[test]
    fn messages_of_a_batch_share_the_dictionary() {
        let message = format!(
            r#"{{"t":"GUILD_INIT","d":"{}"}}"#,
            "0123456789abcdef".repeat(64)
        );
        let mut stream = ZlibStream::new(false);
        let mut inflater = InflateState::new(DataFormat::Zlib);
        let first = stream.compress(message.as_bytes(), false).unwrap();
        let repeat = stream.compress(message.as_bytes(), true).unwrap();
        let next_batch = stream.compress(message.as_bytes(), true).unwrap();
        assert!(
            repeat.len() < first.len() / 2,
            "{} vs {}",
            repeat.len(),
            first.len()
        );
        // A new batch cannot refer back, so it costs about as much as the
        // first message (less the header).
        assert!(next_batch.len() + 2 >= first.len() - 8);
        for compressed in [first, repeat, next_batch] {
            assert_eq!(inflate_all(&mut inflater, &compressed), message.as_bytes());
        }
    }
}
