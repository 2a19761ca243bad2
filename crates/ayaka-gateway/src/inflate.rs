//! Streaming zlib inflate for one gateway connection.
//!
//! Under `encoding: "zlib"` the server compresses every message of a
//! connection into one zlib stream and ends each message with a sync (or
//! full) flush, so a complete message ends in `00 00 FF FF`. Frames may split
//! a message anywhere, including inside that suffix.

use miniz_oxide::{
    DataFormat, MZError, MZFlush, MZStatus,
    inflate::{
        TINFLStatus,
        stream::{InflateState, inflate},
    },
};

use crate::error::{Error, ErrorKind};

/// The bytes a sync or full flush ends with.
pub const ZLIB_SUFFIX: [u8; 4] = [0x00, 0x00, 0xFF, 0xFF];

/// Default for [`Decompressor::with_max_message_size`]: 16 MiB.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 16 * 1024 * 1024;

/// How much output room to add when the buffer is full.
const GROW_STEP: usize = 16 * 1024;

/// Inflates one connection's zlib stream, message by message.
///
/// Feed it every binary frame in order; it returns `None` while a message is
/// partial and the whole decompressed message once its flush suffix arrives.
/// Buffers are reused, so once they have grown to the largest message no
/// more allocation happens. Call [`reset`](Self::reset) for a new connection.
///
/// ```
/// use ayaka_gateway::Decompressor;
/// # use miniz_oxide::{deflate::core::CompressorOxide, deflate::stream::deflate, DataFormat, MZFlush};
/// # let mut compressor = CompressorOxide::default();
/// # compressor.set_format_and_level(DataFormat::Zlib, 6);
/// # let mut compressed = vec![0; 256];
/// # let message = br#"{"t":"READY","d":{}}"#;
/// # let written = deflate(&mut compressor, message, &mut compressed, MZFlush::Sync).bytes_written;
/// # compressed.truncate(written);
/// let mut decompressor = Decompressor::new();
/// let (first, second) = compressed.split_at(5);
/// assert_eq!(decompressor.decompress(first)?, None);
/// assert_eq!(decompressor.decompress(second)?, Some(&message[..]));
/// # Ok::<(), ayaka_gateway::Error>(())
/// ```
pub struct Decompressor {
    state: Box<InflateState>,
    /// Decompressed bytes; `output[..filled]` is the message so far.
    output: Vec<u8>,
    filled: usize,
    /// A complete message was handed out and must be dropped on the next call.
    delivered: bool,
    /// The last four compressed bytes seen, across frames.
    tail: [u8; 4],
    tail_len: usize,
    /// A previous error poisoned the stream until the next reset.
    failed: bool,
    max_message_size: usize,
    bytes_in: u64,
    bytes_out: u64,
    messages: u64,
}

impl Decompressor {
    /// A decompressor with the default message size limit.
    pub fn new() -> Self {
        Self::with_max_message_size(DEFAULT_MAX_MESSAGE_SIZE)
    }

    /// A decompressor that refuses messages larger than `max_message_size`
    /// decompressed bytes (a guard against compression bombs).
    pub fn with_max_message_size(max_message_size: usize) -> Self {
        Self {
            state: InflateState::new_boxed(DataFormat::ZLibIgnoreChecksum),
            output: Vec::new(),
            filled: 0,
            delivered: false,
            tail: [0; 4],
            tail_len: 0,
            failed: false,
            max_message_size,
            bytes_in: 0,
            bytes_out: 0,
            messages: 0,
        }
    }

    /// Feeds one frame of the stream.
    ///
    /// Returns `Ok(None)` while the message is incomplete and `Ok(Some(message))`
    /// when the frame completed one. The returned slice is valid until the
    /// next call.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Decompress`] for a corrupt stream or one that ended,
    /// [`ErrorKind::MessageTooLarge`] past the size limit. After an error
    /// every call fails until [`reset`](Self::reset).
    pub fn decompress(&mut self, frame: &[u8]) -> Result<Option<&[u8]>, Error> {
        if self.failed {
            return Err(Error::new(ErrorKind::Decompress));
        }
        if self.delivered {
            self.delivered = false;
            self.filled = 0;
        }
        self.bytes_in += frame.len() as u64;
        self.remember_tail(frame);
        if let Err(error) = self.inflate_all(frame) {
            self.failed = true;
            return Err(error);
        }
        if self.tail_len == 4 && self.tail == ZLIB_SUFFIX {
            // the suffix belongs to this message only
            self.tail_len = 0;
            self.delivered = true;
            self.messages += 1;
            Ok(Some(&self.output[..self.filled]))
        } else {
            Ok(None)
        }
    }

    /// Starts over for a new connection (a new zlib stream), keeping the
    /// buffers. Counters are kept too.
    pub fn reset(&mut self) {
        self.state.reset(DataFormat::ZLibIgnoreChecksum);
        self.filled = 0;
        self.delivered = false;
        self.tail_len = 0;
        self.failed = false;
    }

    /// Compressed bytes fed in since creation.
    pub fn bytes_in(&self) -> u64 {
        self.bytes_in
    }

    /// Decompressed bytes produced since creation.
    pub fn bytes_out(&self) -> u64 {
        self.bytes_out
    }

    /// Complete messages produced since creation.
    pub fn messages(&self) -> u64 {
        self.messages
    }

    /// Whether part of a message is buffered, waiting for more frames.
    pub fn has_partial_message(&self) -> bool {
        !self.delivered && (self.filled > 0 || self.tail_len > 0)
    }

    fn remember_tail(&mut self, frame: &[u8]) {
        if frame.len() >= 4 {
            self.tail.copy_from_slice(&frame[frame.len() - 4..]);
            self.tail_len = 4;
        } else {
            for &byte in frame {
                self.tail.copy_within(1.., 0);
                self.tail[3] = byte;
            }
            self.tail_len = (self.tail_len + frame.len()).min(4);
        }
    }

    /// Runs the inflater until the frame is consumed and no output is pending.
    fn inflate_all(&mut self, mut input: &[u8]) -> Result<(), Error> {
        loop {
            if self.filled == self.output.len() {
                self.grow()?;
            }
            let result = inflate(
                &mut self.state,
                input,
                &mut self.output[self.filled..],
                MZFlush::None,
            );
            input = &input[result.bytes_consumed..];
            self.filled += result.bytes_written;
            self.bytes_out += result.bytes_written as u64;
            let progressed = result.bytes_consumed > 0 || result.bytes_written > 0;
            match result.status {
                // The stream ended (zlib trailer): the server never does that
                // mid-connection, and nothing may follow.
                Ok(MZStatus::StreamEnd) => {
                    return Err(Error::with_source(
                        ErrorKind::Decompress,
                        "zlib stream ended before the connection did",
                    ));
                }
                Ok(_) => {}
                // "Needs more input": fine once the frame is used up.
                Err(MZError::Buf) if input.is_empty() => return Ok(()),
                Err(MZError::Buf) if progressed => continue,
                Err(error) => {
                    return Err(Error::with_source(
                        ErrorKind::Decompress,
                        format!("inflate failed: {error:?}"),
                    ));
                }
            }
            let output_pending = self.state.last_status() == TINFLStatus::HasMoreOutput
                || self.filled == self.output.len();
            if input.is_empty() && !output_pending {
                return Ok(());
            }
            if !progressed {
                return Err(Error::with_source(
                    ErrorKind::Decompress,
                    "inflate made no progress",
                ));
            }
        }
    }

    fn grow(&mut self) -> Result<(), Error> {
        if self.output.len() >= self.max_message_size {
            return Err(Error::new(ErrorKind::MessageTooLarge));
        }
        let new_len =
            (self.output.len() + GROW_STEP.max(self.output.len())).min(self.max_message_size);
        self.output.resize(new_len, 0);
        Ok(())
    }
}

impl Default for Decompressor {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Decompressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decompressor")
            .field("bytes_in", &self.bytes_in)
            .field("bytes_out", &self.bytes_out)
            .field("messages", &self.messages)
            .field("buffered", &self.filled)
            .field("failed", &self.failed)
            .finish()
    }
}
