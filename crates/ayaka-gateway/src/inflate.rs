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

mod miniz;
#[cfg(feature = "zlib-rs")]
mod zlib_rs;

use crate::error::{Error, ErrorKind};

/// The bytes a sync or full flush ends with.
pub const ZLIB_SUFFIX: [u8; 4] = [0x00, 0x00, 0xFF, 0xFF];

/// Default for [`Decompressor::with_max_message_size`]: 16 MiB.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 16 * 1024 * 1024;

/// The first output room: most messages are small.
const FIRST_ROOM: usize = 4 * 1024;

/// Frames of a message that cannot be its last (they do not end in the
/// suffix) are held back up to this many compressed bytes and inflated with
/// the frame that may end it: one inflate call per message instead of one
/// per frame, which is most of the cost of a small message split in two.
/// Larger messages still stream, in steps of this size.
const MAX_HELD_BACK: usize = 16 * 1024;

/// How far back deflate may refer: the history kept before each message
/// (by this buffer under miniz_oxide, by zlib-rs in its own window).
const WINDOW: usize = 32 * 1024;

/// Past this much history, the next message first moves the last
/// [`WINDOW`] bytes to the front (amortised: one 32 KiB copy per 224 KiB
/// of output at most, and a busy connection's buffer stays near this).
const COMPACT_AT: usize = 256 * 1024;

/// The inflate implementation a [`Decompressor`] runs.
///
/// ```
/// use ayaka_gateway::{Decompressor, InflateBackend};
///
/// for &backend in InflateBackend::ALL {
///     let decompressor = Decompressor::builder().backend(backend).build();
///     assert_eq!(decompressor.backend(), backend);
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InflateBackend {
    /// miniz_oxide, pure Rust: inflates straight into the decompressor's
    /// buffer, which holds the stream's 32 KiB of history.
    MinizOxide,
    /// zlib-rs, pure Rust (feature `zlib-rs`): faster, with its own window.
    #[cfg(feature = "zlib-rs")]
    ZlibRs,
}

impl InflateBackend {
    /// What [`Decompressor::new`] uses: zlib-rs with the `zlib-rs` feature,
    /// miniz_oxide otherwise.
    #[cfg(feature = "zlib-rs")]
    pub const DEFAULT: Self = Self::ZlibRs;
    /// What [`Decompressor::new`] uses: zlib-rs with the `zlib-rs` feature,
    /// miniz_oxide otherwise.
    #[cfg(not(feature = "zlib-rs"))]
    pub const DEFAULT: Self = Self::MinizOxide;

    /// Every backend compiled in, miniz_oxide first.
    pub const ALL: &'static [Self] = &[
        Self::MinizOxide,
        #[cfg(feature = "zlib-rs")]
        Self::ZlibRs,
    ];

    /// The implementation's crate name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::MinizOxide => "miniz_oxide",
            #[cfg(feature = "zlib-rs")]
            Self::ZlibRs => "zlib-rs",
        }
    }
}

impl Default for InflateBackend {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// What one call of an engine did.
struct Step {
    consumed: usize,
    written: usize,
    outcome: Outcome,
    /// After the block that ended, an empty block took the rest of the
    /// input (the engine read it without another call).
    then_empty_block: bool,
}

/// Why an engine returned.
enum Outcome {
    /// A block ended: the inflater stands between two blocks.
    BlockEnd,
    /// It wants more input (all of it was used, or the call is to go on).
    NeedsInput,
    /// The output room is full.
    OutputFull,
}

fn stream_ended() -> Error {
    // The zlib trailer: the server never ends the stream mid-connection,
    // and nothing may follow.
    Error::with_source(
        ErrorKind::Decompress,
        "zlib stream ended before the connection did",
    )
}

enum Engine {
    Miniz(miniz::Miniz),
    #[cfg(feature = "zlib-rs")]
    ZlibRs(zlib_rs::ZlibRs),
}

impl Engine {
    fn new(backend: InflateBackend) -> Self {
        match backend {
            InflateBackend::MinizOxide => Self::Miniz(miniz::Miniz::new()),
            #[cfg(feature = "zlib-rs")]
            InflateBackend::ZlibRs => Self::ZlibRs(zlib_rs::ZlibRs::new()),
        }
    }

    fn reset(&mut self) {
        match self {
            Self::Miniz(engine) => engine.reset(),
            #[cfg(feature = "zlib-rs")]
            Self::ZlibRs(engine) => engine.reset(),
        }
    }

    fn inflate(&mut self, input: &[u8], output: &mut [u8], filled: usize) -> Result<Step, Error> {
        match self {
            Self::Miniz(engine) => engine.inflate(input, output, filled),
            #[cfg(feature = "zlib-rs")]
            Self::ZlibRs(engine) => engine.inflate(input, &mut output[filled..]),
        }
    }
}

/// Builds a [`Decompressor`]: its backend and size limit.
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct DecompressorBuilder {
    backend: InflateBackend,
    max_message_size: usize,
}

impl DecompressorBuilder {
    /// The inflate implementation (default [`InflateBackend::DEFAULT`]).
    pub fn backend(mut self, backend: InflateBackend) -> Self {
        self.backend = backend;
        self
    }

    /// Refuse messages larger than `bytes` decompressed (a guard against
    /// compression bombs; default [`DEFAULT_MAX_MESSAGE_SIZE`]).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// The decompressor.
    pub fn build(self) -> Decompressor {
        Decompressor {
            backend: self.backend,
            engine: None,
            held_back: Vec::new(),
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
            max_message_size: self.max_message_size,
            bytes_in: 0,
            bytes_out: 0,
            messages: 0,
        }
    }
}

/// Inflates one connection's zlib stream, message by message.
///
/// Feed it every binary frame in order; it returns `None` while a message is
/// partial and the whole decompressed message once its flush arrives (the
/// empty stored block ending in `00 00 FF FF`, as the inflater reads it).
/// Frames that cannot end a message (they do not end in the suffix) are
/// held back, up to 16 KiB, and inflated with the frame that may end it.
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
    backend: InflateBackend,
    /// Made on the first frame: a connection that never sees one (a json
    /// shard) never pays for the inflater's state.
    engine: Option<Engine>,
    /// Compressed frames not inflated yet: none can end the message, and
    /// together they are under [`MAX_HELD_BACK`].
    held_back: Vec<u8>,
    /// Decompressed bytes: under miniz_oxide recent history (which the
    /// stream refers back to), then the message so far,
    /// `output[message_start..filled]`; under zlib-rs the message alone.
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
    /// A decompressor with the [default backend](InflateBackend::DEFAULT)
    /// and the default message size limit.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A decompressor that refuses messages larger than `max_message_size`
    /// decompressed bytes (a guard against compression bombs).
    pub fn with_max_message_size(max_message_size: usize) -> Self {
        Self::builder().max_message_size(max_message_size).build()
    }

    /// A builder, to choose the backend and the size limit.
    pub fn builder() -> DecompressorBuilder {
        DecompressorBuilder {
            backend: InflateBackend::DEFAULT,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
        }
    }

    /// The inflate implementation this decompressor runs.
    pub fn backend(&self) -> InflateBackend {
        self.backend
    }

    /// Whether the output buffer holds the stream's history (miniz_oxide
    /// inflates into it; zlib-rs keeps a window of its own).
    fn keeps_history_in_output(&self) -> bool {
        self.backend == InflateBackend::MinizOxide
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
        let may_end = self.tail_len == 4 && self.tail == ZLIB_SUFFIX;
        let held = self.held_back.len() + frame.len();
        if !may_end && held <= MAX_HELD_BACK {
            self.held_back.extend_from_slice(frame);
            return Ok(None);
        }
        let inflated = if self.held_back.is_empty() {
            self.inflate_all(frame)
        } else {
            let mut input = std::mem::take(&mut self.held_back);
            input.extend_from_slice(frame);
            let inflated = self.inflate_all(&input);
            input.clear();
            self.held_back = input;
            inflated
        };
        if let Err(error) = inflated {
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
        if let Some(engine) = &mut self.engine {
            engine.reset();
        }
        self.held_back.clear();
        self.filled = 0;
        self.message_start = 0;
        self.delivered = false;
        self.tail_len = 0;
        self.between_blocks = false;
        self.last_block_empty = false;
        self.block_written = 0;
        self.failed = false;
    }

    /// Gives back the memory the output buffer holds beyond what the
    /// stream needs: the last message handed out, and spare room. Under
    /// miniz_oxide the buffer keeps the stream's last 32 KiB (its window)
    /// and any partial message; under zlib-rs, only a partial message.
    ///
    /// Buffers grow to the largest message and are reused, which is what
    /// makes a busy connection fast; a quiet one should not keep a large
    /// message's room. A shard calls this after a message over 256 KiB and
    /// when a ping interval passed without a message.
    ///
    /// ```
    /// let mut decompressor = ayaka_gateway::Decompressor::new();
    /// decompressor.shrink();
    /// // nothing is allocated before the first frame
    /// assert_eq!(decompressor.buffer_capacity(), 0);
    /// ```
    pub fn shrink(&mut self) {
        if self.delivered {
            self.delivered = false;
            self.start_message();
        }
        if self.keeps_history_in_output() {
            let keep_from = self.message_start.saturating_sub(WINDOW);
            if keep_from > 0 {
                self.output.copy_within(keep_from..self.filled, 0);
                self.filled -= keep_from;
                self.message_start -= keep_from;
            }
        }
        self.output.truncate(self.filled);
        self.output.shrink_to_fit();
        self.held_back.shrink_to_fit();
    }

    /// Bytes the buffers hold now (their capacity): the output, and the
    /// frames of a partial message not inflated yet.
    pub fn buffer_capacity(&self) -> usize {
        self.output.capacity() + self.held_back.capacity()
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
        !self.delivered
            && (self.filled > self.message_start || self.tail_len > 0 || !self.held_back.is_empty())
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

    /// Drops the message handed out. Under miniz_oxide the history the
    /// next message may refer to stays, older output going once there is
    /// a lot of it.
    fn start_message(&mut self) {
        if !self.keeps_history_in_output() {
            self.filled = 0;
        } else if self.filled > COMPACT_AT {
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
            let backend = self.backend;
            let engine = self.engine.get_or_insert_with(|| Engine::new(backend));
            let step = engine.inflate(input, &mut self.output, self.filled)?;
            input = &input[step.consumed..];
            self.filled += step.written;
            self.block_written += step.written;
            self.bytes_out += step.written as u64;
            let progressed = step.consumed > 0 || step.written > 0;
            if progressed {
                self.between_blocks = false;
            }
            match step.outcome {
                Outcome::BlockEnd if progressed || !boundary_without_progress => {
                    boundary_without_progress = !progressed;
                    self.last_block_empty = step.then_empty_block || self.block_written == 0;
                    self.block_written = 0;
                    if input.is_empty() {
                        self.between_blocks = true;
                        return Ok(());
                    }
                }
                Outcome::NeedsInput if input.is_empty() => return Ok(()),
                Outcome::NeedsInput | Outcome::OutputFull if progressed => {
                    boundary_without_progress = false;
                }
                Outcome::BlockEnd | Outcome::NeedsInput | Outcome::OutputFull => {
                    return Err(Error::with_source(
                        ErrorKind::Decompress,
                        "inflate made no progress",
                    ));
                }
            }
        }
    }

    /// Adds output room: doubling, from a small start, up to the limit.
    fn grow(&mut self) -> Result<(), Error> {
        let message_len = self.output.len() - self.message_start;
        if message_len >= self.max_message_size {
            return Err(Error::new(ErrorKind::MessageTooLarge));
        }
        let room = FIRST_ROOM
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
            .field("held_back", &self.held_back.len())
            .field("failed", &self.failed)
            .field("backend", &self.backend())
            .finish()
    }
}
