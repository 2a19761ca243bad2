//! The zlib-rs engine (feature `zlib-rs`), through zlib-rs's C API in Rust
//! (`libz-rs-sys`), which is memory-safe Rust behind an `extern "C"`
//! signature.
//!
//! Why not zlib-rs's safe `Inflate` (or flate2 over it)? Finding a
//! message's end needs to know whether the inflater, having used every byte
//! of a frame, stands between two blocks; that is the stream's
//! `data_type`, which only the C API shows. Everything unsafe about that API
//! is in this file: pointers into slices that live for one call.
#![allow(unsafe_code)]

use std::ffi::c_int;

use libz_rs_sys::{
    Z_BLOCK, Z_BUF_ERROR, Z_DATA_ERROR, Z_MEM_ERROR, Z_NEED_DICT, Z_OK, Z_STREAM_END, inflate,
    inflateEnd, inflateInit2_, inflatePrime, inflateReset, inflateValidate, z_stream, zlibVersion,
};

use super::{Outcome, Step};
use crate::error::{Error, ErrorKind};

/// A 32 KiB window and a zlib header, as the server writes.
const WINDOW_BITS: c_int = 15;

/// `data_type` bit: the inflater stopped between two blocks.
const BETWEEN_BLOCKS: c_int = 128;

/// `data_type` bits: how many bits of input the inflater holds unused.
const UNUSED_BITS: c_int = 63;

/// The bytes of an empty stored block after its header: LEN 0, NLEN !0.
const EMPTY_STORED: [u8; 4] = [0x00, 0x00, 0xFF, 0xFF];

pub(super) struct ZlibRs {
    /// `None` when zlib-rs could not allocate its state.
    stream: Option<Box<z_stream>>,
}

// SAFETY: the stream's pointers to input and output are set for one call
// of `inflate` on borrowed slices and cleared after it; its state is owned
// by the stream alone, so moving it to another thread is sound, and `&self`
// gives no access to it at all.
unsafe impl Send for ZlibRs {}
// SAFETY: as above; no method reads the stream through `&self`.
unsafe impl Sync for ZlibRs {}

impl ZlibRs {
    pub(super) fn new() -> Self {
        // the default stream uses the Rust allocator
        let mut stream = Box::new(z_stream::default());
        let size = c_int::try_from(std::mem::size_of::<z_stream>()).unwrap_or(c_int::MAX);
        // SAFETY: `stream` is a valid, default-initialised z_stream (its
        // allocator fields set), and the version is zlib-rs's own C string.
        let status = unsafe { inflateInit2_(&mut *stream, WINDOW_BITS, zlibVersion(), size) };
        let mut engine = Self {
            stream: (status == Z_OK).then_some(stream),
        };
        engine.skip_checksum();
        engine
    }

    pub(super) fn reset(&mut self) {
        if let Some(stream) = &mut self.stream {
            // SAFETY: the stream was initialised by `inflateInit2_`.
            unsafe { inflateReset(&mut **stream) };
        }
        self.skip_checksum();
    }

    /// The Adler-32 of a stream is checked only at its end, which a
    /// gateway stream never reaches: computing it is wasted work.
    fn skip_checksum(&mut self) {
        if let Some(stream) = &mut self.stream {
            // SAFETY: the stream was initialised by `inflateInit2_`.
            unsafe { inflateValidate(&mut **stream, 0) };
        }
    }

    /// Inflates `input` into `output` (the room after the message so far:
    /// zlib-rs keeps the stream's history in its own window).
    pub(super) fn inflate(&mut self, input: &[u8], output: &mut [u8]) -> Result<Step, Error> {
        let Some(stream) = &mut self.stream else {
            return Err(Error::with_source(
                ErrorKind::Decompress,
                "zlib-rs could not allocate its state",
            ));
        };
        // inputs past 4 GiB are fed in parts: the caller loops on what is left
        let avail_in = u32::try_from(input.len()).unwrap_or(u32::MAX);
        let avail_out = u32::try_from(output.len()).unwrap_or(u32::MAX);
        stream.next_in = input.as_ptr();
        stream.avail_in = avail_in;
        stream.next_out = output.as_mut_ptr();
        stream.avail_out = avail_out;
        // SAFETY: the stream was initialised by `inflateInit2_`; `next_in`
        // and `next_out` point to `avail_in` readable and `avail_out`
        // writable bytes of slices borrowed for this call.
        let status = unsafe { inflate(&mut **stream, Z_BLOCK) };
        let consumed = (avail_in - stream.avail_in) as usize;
        let written = (avail_out - stream.avail_out) as usize;
        let between_blocks = stream.data_type & BETWEEN_BLOCKS != 0;
        let unused_bits = (stream.data_type & UNUSED_BITS) as usize;
        let output_full = stream.avail_out == 0;
        stream.next_in = std::ptr::null();
        stream.avail_in = 0;
        stream.next_out = std::ptr::null_mut();
        stream.avail_out = 0;
        let mut consumed = consumed;
        let mut then_empty_block = false;
        if matches!(status, Z_OK | Z_BUF_ERROR)
            && between_blocks
            && consumed < input.len()
            && empty_stored_block_ends(input, consumed * 8, unused_bits)
        {
            // What is left is a flush's empty stored block: skip it instead
            // of another call, leaving the inflater as that block would
            // (between blocks, at a byte boundary: nothing held).
            // SAFETY: the stream was initialised by `inflateInit2_`.
            unsafe { inflatePrime(&mut **stream, -1, 0) };
            consumed = input.len();
            then_empty_block = true;
        }
        let outcome = match status {
            Z_OK | Z_BUF_ERROR if between_blocks => Outcome::BlockEnd,
            Z_OK | Z_BUF_ERROR if output_full => Outcome::OutputFull,
            Z_OK | Z_BUF_ERROR => Outcome::NeedsInput,
            Z_STREAM_END => return Err(super::stream_ended()),
            Z_DATA_ERROR => {
                return Err(Error::with_source(
                    ErrorKind::Decompress,
                    "inflate failed: corrupt deflate data",
                ));
            }
            Z_NEED_DICT => {
                return Err(Error::with_source(
                    ErrorKind::Decompress,
                    "inflate failed: the stream asks for a preset dictionary",
                ));
            }
            Z_MEM_ERROR => {
                return Err(Error::with_source(
                    ErrorKind::Decompress,
                    "inflate failed: out of memory",
                ));
            }
            other => {
                return Err(Error::with_source(
                    ErrorKind::Decompress,
                    format!("inflate failed: zlib status {other}"),
                ));
            }
        };
        Ok(Step {
            consumed,
            written,
            outcome,
            then_empty_block,
        })
    }
}

/// Whether `input`, from the block header starting `unused_bits` before
/// bit `read_bits`, is exactly one empty, non-final stored block: header
/// bits `000`, padding to the byte, then `00 00 FF FF` and nothing more.
fn empty_stored_block_ends(input: &[u8], read_bits: usize, unused_bits: usize) -> bool {
    let Some(header) = read_bits.checked_sub(unused_bits) else {
        // the header started in an earlier frame
        return false;
    };
    let header_bits_zero = (header..header + 3).all(|bit| {
        input
            .get(bit / 8)
            .is_some_and(|byte| byte >> (bit % 8) & 1 == 0)
    });
    let data = (header + 3).div_ceil(8);
    header_bits_zero && input.get(data..) == Some(&EMPTY_STORED[..])
}

impl Drop for ZlibRs {
    fn drop(&mut self) {
        if let Some(stream) = &mut self.stream {
            // SAFETY: the stream was initialised by `inflateInit2_` and is
            // not used after this.
            unsafe { inflateEnd(&mut **stream) };
        }
    }
}
