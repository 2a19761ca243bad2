//! Loading the fixture files shared by the tests (and other crates).
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

/// The fixtures directory.
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Every `*.json` file under `fixtures/<dir>`, sorted by name, as
/// `(name, bytes)`.
pub(crate) fn fixtures(dir: &str) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = fs::read_dir(root().join(dir))
        .unwrap_or_else(|error| panic!("fixtures/{dir}: {error}"))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (format!("{dir}/{name}"), fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {dir}");
    files
}

/// Fixtures in the exact form this library writes: re-serialising gives the
/// same JSON value. Others (`lenient_*`, `quirk_*`) only need to parse and
/// then round-trip.
pub(crate) fn is_canonical(name: &str) -> bool {
    let file = name.rsplit('/').next().unwrap_or(name);
    !file.starts_with("lenient_") && !file.starts_with("quirk_")
}
