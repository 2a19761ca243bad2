//! `cargo fuzz run decompressor_round_trip`: see `ayaka_fuzz_checks::decompressor::round_trip`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ayaka_fuzz_checks::decompressor::round_trip(data));
