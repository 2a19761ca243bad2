//! Streaming zlib inflate for one gateway connection.
//!
//! Under `encoding: "zlib"` the server compresses every message of a
//! connection into one zlib stream and ends each message with a sync (or
//! full) flush, so a complete message ends in `00 00 FF FF`. Frames may split
//! a message anywhere, including inside that suffix.
//!
//! Those four bytes alone do not make a message's end: a stored block's
//! header or its data may read the same (a block of 0xFF00 bytes starts
//! `00 00 FF FF`). A message ends where a frame ends with the suffix *and*
//! the inflater, having consumed the whole frame, stands between two blocks
//! right after an empty one: the empty stored block a flush writes.

use miniz_oxide::inflate::{
    TINFLStatus,
    core::{DecompressorOxide, decompress, inflate_flags},
};

use crate::error::{Error, ErrorKind};

/// The bytes a sync or full flush ends with.
pub const ZLIB_SUFFIX: [u8; 4] = [0x00, 0x00, 0xFF, 0xFF];

/// Default for [`Decompressor::with_max_message_size`]: 16 MiB.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 16 * 1024 * 1024;

/// How much output room to add when the buffer is full.
const GROW_STEP: usize = 64 * 1024;

/// How far back deflate may refer: the history kept before each message.
const WINDOW: usize = 32 * 1024;

/// Past this much history, the next message first moves the last
/// [`WINDOW`] bytes to the front (amortised: rarely, and only 32 KiB).
const COMPACT_AT: usize = 1024 * 1024;

/// Inflate straight into our buffer (no copy through a ring buffer), with
/// more input to come, stopping at every block's end so that the end of a
/// message is known; the stream's adler32 is never checked since a gateway
/// stream never ends.
const FLAGS: u32 = inflate_flags::TINFL_FLAG_PARSE_ZLIB_HEADER
    | inflate_flags::TINFL_FLAG_HAS_MORE_INPUT
    | inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF
    | inflate_flags::TINFL_FLAG_IGNORE_ADLER32
    | inflate_flags::TINFL_FLAG_STOP_ON_BLOCK_BOUNDARY;

/// Inflates one connection's zlib stream, message by message.
///
/// Feed it every binary frame in order; it returns `None` while a message is
/// partial and the whole decompressed message once its flush arrives (the
/// empty stored block ending in `00 00 FF FF`, as the inflater reads it).
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
    inflater: Box<DecompressorOxide>,
    /// Decompressed bytes: recent history (which the stream refers back
    /// to), then the message so far, `output[message_start..filled]`.
    output: Vec<u8>,
    message_start: usize,
    filled: usize,
    /// A complete message was handed out and must be dropped on the next call.
    delivered: bool,
    /// The last four compressed bytes seen, across frames.
    tail: [u8; 4],
    tail_len: usize,
    /// The inflater stands between two blocks, with all input consumed.
    between_blocks: bool,
    /// The block that ended last wrote nothing (a flush's empty block).
    last_block_empty: bool,
    /// Bytes the current block has written so far.
    block_written: usize,
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
            inflater: Box::default(),
            output: Vec::new(),
            message_start: 0,
            filled: 0,
            delivered: false,
            tail: [0; 4],
            tail_len: 0,
            between_blocks: false,
            last_block_empty: false,
            block_written: 0,
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
            self.start_message();
        }
        self.bytes_in += frame.len() as u64;
        self.remember_tail(frame);
        if let Err(error) = self.inflate_all(frame) {
            self.failed = true;
            return Err(error);
        }
        if self.at_flush() {
            // the suffix belongs to this message only
            self.tail_len = 0;
            self.delivered = true;
            self.messages += 1;
            Ok(Some(&self.output[self.message_start..self.filled]))
        } else {
            Ok(None)
        }
    }

    /// Starts over for a new connection (a new zlib stream), keeping the
    /// buffers. Counters are kept too.
    pub fn reset(&mut self) {
        self.inflater.init();
        self.filled = 0;
        self.message_start = 0;
        self.delivered = false;
        self.tail_len = 0;
        self.between_blocks = false;
        self.last_block_empty = false;
        self.block_written = 0;
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
        !self.delivered && (self.filled > self.message_start || self.tail_len > 0)
    }

    /// Whether the input so far ends with a flush: the suffix is the last
    /// thing fed (the cheap test, failing on almost every partial frame),
    /// and the inflater read it as the end of an empty block.
    fn at_flush(&self) -> bool {
        self.tail_len == 4
            && self.tail == ZLIB_SUFFIX
            && self.between_blocks
            && self.last_block_empty
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

    /// Keeps the history the next message may refer to, dropping older
    /// output once there is a lot of it.
    fn start_message(&mut self) {
        if self.filled > COMPACT_AT {
            self.output
                .copy_within(self.filled - WINDOW..self.filled, 0);
            self.filled = WINDOW;
        }
        self.message_start = self.filled;
    }

    /// Runs the inflater until the frame is consumed and no output is pending.
    fn inflate_all(&mut self, mut input: &[u8]) -> Result<(), Error> {
        // A block boundary is progress once; twice in a row without
        // consuming or writing anything it would be a loop.
        let mut boundary_without_progress = false;
        loop {
            if self.filled == self.output.len() {
                self.grow()?;
            }
            let (status, consumed, written) = decompress(
                &mut self.inflater,
                input,
                &mut self.output,
                self.filled,
                FLAGS,
            );
            input = &input[consumed..];
            self.filled += written;
            self.block_written += written;
            self.bytes_out += written as u64;
            let progressed = consumed > 0 || written > 0;
            if progressed {
                self.between_blocks = false;
            }
            match status {
                TINFLStatus::BlockBoundary if progressed || !boundary_without_progress => {
                    boundary_without_progress = !progressed;
                    self.last_block_empty = self.block_written == 0;
                    self.block_written = 0;
                    if input.is_empty() {
                        self.between_blocks = true;
                        return Ok(());
                    }
                }
                TINFLStatus::NeedsMoreInput if input.is_empty() => return Ok(()),
                TINFLStatus::NeedsMoreInput | TINFLStatus::HasMoreOutput if progressed => {
                    boundary_without_progress = false;
                }
                // The stream ended (zlib trailer): the server never does that
                // mid-connection, and nothing may follow.
                TINFLStatus::Done => {
                    return Err(Error::with_source(
                        ErrorKind::Decompress,
                        "zlib stream ended before the connection did",
                    ));
                }
                TINFLStatus::HasMoreOutput
                | TINFLStatus::NeedsMoreInput
                | TINFLStatus::BlockBoundary => {
                    return Err(Error::with_source(
                        ErrorKind::Decompress,
                        "inflate made no progress",
                    ));
                }
                failed => {
                    return Err(Error::with_source(
                        ErrorKind::Decompress,
                        format!("inflate failed: {failed:?}"),
                    ));
                }
            }
        }
    }

    fn grow(&mut self) -> Result<(), Error> {
        let message_len = self.output.len() - self.message_start;
        if message_len >= self.max_message_size {
            return Err(Error::new(ErrorKind::MessageTooLarge));
        }
        let room = GROW_STEP
            .max(self.output.len())
            .min(self.max_message_size - message_len);
        self.output.resize(self.output.len() + room, 0);
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
            .field("buffered", &(self.filled - self.message_start))
            .field("failed", &self.failed)
            .finish()
    }
}
