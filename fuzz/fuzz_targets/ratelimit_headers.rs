//! `cargo fuzz run ratelimit_headers`: see `ayaka_fuzz_checks::ratelimit::headers`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ayaka_fuzz_checks::ratelimit::headers(data));
