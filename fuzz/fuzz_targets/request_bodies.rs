//! `cargo fuzz run request_bodies`: see `ayaka_fuzz_checks::request::bodies`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ayaka_fuzz_checks::request::bodies(data));
