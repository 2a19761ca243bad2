//! `cargo fuzz run server_rest_body`: see `ayaka_fuzz_checks::server::rest_body`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ayaka_fuzz_checks::server::rest_body(data));
