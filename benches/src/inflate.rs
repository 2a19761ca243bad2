//! The inflate baselines: twilight's approach to a gateway zlib stream.
//!
//! A bench's streams are its own and well formed: an inflate error here is
//! a broken bench, so it panics.
#![allow(clippy::unwrap_used)]

use flate2::{Decompress, FlushDecompress};
use miniz_oxide::{
    DataFormat, MZFlush,
    deflate::{core::CompressorOxide, stream::deflate},
    inflate::stream::{InflateState, inflate},
};

/// What ends a flushed message.
const ZLIB_SUFFIX: [u8; 4] = [0x00, 0x00, 0xFF, 0xFF];

/// The session as the server sends it under zlib: one stream, a sync
/// flush after each message.
pub fn compressed_stream(messages: &[String]) -> Vec<Vec<u8>> {
    let mut compressor = Box::<CompressorOxide>::default();
    compressor.set_format_and_level(DataFormat::Zlib, 6);
    messages
        .iter()
        .map(|message| {
            let mut out = vec![0; message.len() * 2 + 64];
            let result = deflate(&mut compressor, message.as_bytes(), &mut out, MZFlush::Sync);
            out.truncate(result.bytes_written);
            out
        })
        .collect()
}

/// Output room twilight's inflater adds at a time.
const CHUNK: usize = 32 * 1024;

/// Twilight's approach: frames are buffered until one ends in the suffix,
/// then inflated with a sync flush into an output buffer reused across
/// messages. (Stronger than twilight's own, which inflates into a 32 KiB
/// buffer and copies out of it: here the output is written in place.)
pub struct SyncFlush<E> {
    engine: E,
    compressed: Vec<u8>,
    output: Vec<u8>,
}

/// One streaming inflate call: `(consumed, written)` appending to `output`.
pub trait SyncEngine {
    /// Inflates with a sync flush, appending to `output`: `(consumed, written)`.
    fn inflate_sync(&mut self, input: &[u8], output: &mut Vec<u8>) -> (usize, usize);
}

/// flate2's `Decompress` (here on zlib-rs).
pub struct Flate2(Decompress);

impl SyncEngine for Flate2 {
    /// Inflates with a sync flush, appending to `output`: `(consumed, written)`.
    fn inflate_sync(&mut self, input: &[u8], output: &mut Vec<u8>) -> (usize, usize) {
        let (before_in, before_out) = (self.0.total_in(), self.0.total_out());
        self.0
            .decompress_vec(input, output, FlushDecompress::Sync)
            .unwrap();
        (
            (self.0.total_in() - before_in) as usize,
            (self.0.total_out() - before_out) as usize,
        )
    }
}

/// miniz_oxide's streaming inflate as flate2's miniz_oxide backend calls
/// it: the spare capacity is zeroed, written into, then cut back.
pub struct MinizStream(Box<InflateState>);

impl SyncEngine for MinizStream {
    /// Inflates with a sync flush, appending to `output`: `(consumed, written)`.
    fn inflate_sync(&mut self, input: &[u8], output: &mut Vec<u8>) -> (usize, usize) {
        let len = output.len();
        output.resize(output.capacity(), 0);
        let result = inflate(&mut self.0, input, &mut output[len..], MZFlush::Sync);
        result.status.unwrap();
        output.truncate(len + result.bytes_written);
        (result.bytes_consumed, result.bytes_written)
    }
}

impl<E: SyncEngine> SyncFlush<E> {
    /// An inflater over `engine`.
    pub fn new(engine: E) -> Self {
        Self {
            engine,
            compressed: Vec::new(),
            output: Vec::with_capacity(CHUNK),
        }
    }

    /// Feeds one frame; a message once a frame ends in the suffix.
    pub fn decompress(&mut self, frame: &[u8]) -> Option<&[u8]> {
        self.compressed.extend_from_slice(frame);
        if !self.compressed.ends_with(&ZLIB_SUFFIX) {
            return None;
        }
        self.output.clear();
        let mut offset = 0;
        loop {
            if self.output.len() == self.output.capacity() {
                self.output.reserve(CHUNK);
            }
            let (consumed, _) = self
                .engine
                .inflate_sync(&self.compressed[offset..], &mut self.output);
            offset += consumed;
            if offset == self.compressed.len() && self.output.len() < self.output.capacity() {
                break;
            }
        }
        self.compressed.clear();
        Some(&self.output)
    }
}

impl Flate2 {
    /// A zlib stream's inflater.
    pub fn new() -> Self {
        Self(Decompress::new(true))
    }
}

impl Default for Flate2 {
    fn default() -> Self {
        Self::new()
    }
}

impl MinizStream {
    /// A zlib stream's inflater.
    pub fn new() -> Self {
        Self(InflateState::new_boxed(DataFormat::Zlib))
    }
}

impl Default for MinizStream {
    fn default() -> Self {
        Self::new()
    }
}
