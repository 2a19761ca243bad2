//! `cargo fuzz run json_parity`: see `ayaka_fuzz_checks::json::parity`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ayaka_fuzz_checks::json::parity(data));
