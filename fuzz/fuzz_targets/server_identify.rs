//! `cargo fuzz run server_identify`: see `ayaka_fuzz_checks::server::identify`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ayaka_fuzz_checks::server::identify(data));
