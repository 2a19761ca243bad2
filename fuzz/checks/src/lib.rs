//! The checks behind the fuzz targets in `fuzz/`.
//!
//! Each function takes the raw bytes libFuzzer hands a target and panics
//! when the code under test breaks a promise. The cargo-fuzz package
//! (`fuzz/`, nightly features, libFuzzer) only wraps them; this crate is an
//! ordinary workspace member, so that `cargo test` on stable replays every
//! seed and every input that ever failed (`tests/replay.rs`) without a
//! fuzzer. See `docs/fuzzing.md`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod decompressor;
pub mod json;
pub mod ratelimit;
pub mod request;
pub mod server;

mod input;

/// A fuzz target: its name (the file in `fuzz/fuzz_targets/`, the
/// directory in `fuzz/corpus/` and `fuzz/regressions/`) and its check.
#[derive(Clone, Copy)]
pub struct Target {
    /// The target's name.
    pub name: &'static str,
    /// The check run on each input.
    pub check: fn(&[u8]),
    /// The check's path in this crate, as the fuzz target calls it.
    pub path: &'static str,
}

/// Every target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "decompressor_frames",
        check: decompressor::frames,
        path: "decompressor::frames",
    },
    Target {
        name: "decompressor_round_trip",
        check: decompressor::round_trip,
        path: "decompressor::round_trip",
    },
    Target {
        name: "json_parity",
        check: json::parity,
        path: "json::parity",
    },
    Target {
        name: "ratelimit_headers",
        check: ratelimit::headers,
        path: "ratelimit::headers",
    },
    Target {
        name: "request_bodies",
        check: request::bodies,
        path: "request::bodies",
    },
    Target {
        name: "server_identify",
        check: server::identify,
        path: "server::identify",
    },
    Target {
        name: "server_rest_body",
        check: server::rest_body,
        path: "server::rest_body",
    },
];
