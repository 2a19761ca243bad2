//! `cargo fuzz run decompressor_frames`: see `ayaka_fuzz_checks::decompressor::frames`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ayaka_fuzz_checks::decompressor::frames(data));
