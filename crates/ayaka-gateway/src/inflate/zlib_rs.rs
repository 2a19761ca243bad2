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
    inflateEnd, inflateInit2_, inflateReset, z_stream, zlibVersion,
};

use super::{Outcome, Step};
use crate::error::{Error, ErrorKind};

/// A 32 KiB window and a zlib header, as the server writes.
const WINDOW_BITS: c_int = 15;

/// `data_type` bit: the inflater stopped between two blocks.
const BETWEEN_BLOCKS: c_int = 128;

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
        Self {
            stream: (status == Z_OK).then_some(stream),
        }
    }

    pub(super) fn reset(&mut self) {
        if let Some(stream) = &mut self.stream {
            // SAFETY: the stream was initialised by `inflateInit2_`.
            unsafe { inflateReset(&mut **stream) };
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
        let output_full = stream.avail_out == 0;
        stream.next_in = std::ptr::null();
        stream.avail_in = 0;
        stream.next_out = std::ptr::null_mut();
        stream.avail_out = 0;
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
        })
    }
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
