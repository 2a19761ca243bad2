//! The miniz_oxide engine: inflates straight into the decompressor's
//! buffer, which therefore holds the stream's history (no ring buffer, no
//! copy).

use miniz_oxide::inflate::{
    TINFLStatus,
    core::{DecompressorOxide, decompress, inflate_flags},
};

use super::{Outcome, Step};
use crate::error::{Error, ErrorKind};

/// Inflate straight into our buffer (no copy through a ring buffer), with
/// more input to come, stopping at every block's end so that the end of a
/// message is known; the stream's adler32 is never checked since a gateway
/// stream never ends.
const FLAGS: u32 = inflate_flags::TINFL_FLAG_PARSE_ZLIB_HEADER
    | inflate_flags::TINFL_FLAG_HAS_MORE_INPUT
    | inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF
    | inflate_flags::TINFL_FLAG_IGNORE_ADLER32
    | inflate_flags::TINFL_FLAG_STOP_ON_BLOCK_BOUNDARY;

pub(super) struct Miniz {
    inflater: Box<DecompressorOxide>,
}

impl Miniz {
    pub(super) fn new() -> Self {
        Self {
            inflater: Box::default(),
        }
    }

    pub(super) fn reset(&mut self) {
        self.inflater.init();
    }

    /// Inflates `input` into `output[filled..]`; `output[..filled]` is the
    /// history the stream may refer back to.
    pub(super) fn inflate(
        &mut self,
        input: &[u8],
        output: &mut [u8],
        filled: usize,
    ) -> Result<Step, Error> {
        let (status, consumed, written) =
            decompress(&mut self.inflater, input, output, filled, FLAGS);
        let outcome = match status {
            TINFLStatus::BlockBoundary => Outcome::BlockEnd,
            TINFLStatus::NeedsMoreInput => Outcome::NeedsInput,
            TINFLStatus::HasMoreOutput => Outcome::OutputFull,
            TINFLStatus::Done => return Err(super::stream_ended()),
            failed => {
                return Err(Error::with_source(
                    ErrorKind::Decompress,
                    format!("inflate failed: {failed:?}"),
                ));
            }
        };
        Ok(Step {
            consumed,
            written,
            outcome,
            then_empty_block: false,
        })
    }
}
