//! What the tests that run the examples share.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

/// `target/<profile>/examples/<name>`, from `target/<profile>/deps/<test>`:
/// `cargo test` builds the examples next to the test binaries.
pub fn example(name: &str) -> PathBuf {
    let test = std::env::current_exe().expect("the test binary's path");
    let profile_dir = test
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary is in target/<profile>/deps");
    profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}
