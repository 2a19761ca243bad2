//! Replays every fuzz target's checked-in inputs through its check, on
//! stable and without a fuzzer: the seeds in `fuzz/corpus/<target>/` and
//! every input that ever failed, in `fuzz/regressions/<target>/`.
//!
//! Failing inputs whose fix belongs to code outside the fuzzing work wait
//! in `fuzz/regressions/<target>/open/`, replayed by the ignored test at
//! the end until they are fixed and moved up a directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::io::ErrorKind;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use ayaka_fuzz_checks::{TARGETS, Target};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The files directly in `dir`, sorted (none if it does not exist).
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file() && !path.ends_with(".gitignore"))
        .collect();
    files.sort();
    files
}

/// Runs `target`'s check on every file of `dirs`; returns how many inputs
/// ran, and the failing ones.
fn replay(target: &Target, dirs: &[PathBuf]) -> (usize, Vec<String>) {
    let mut failures = Vec::new();
    let mut count = 0;
    for dir in dirs {
        for path in inputs(dir) {
            let data = match fs::read(&path) {
                Ok(data) => data,
                // a fuzzer running alongside replaces its corpus files
                Err(error) if error.kind() == ErrorKind::NotFound => continue,
                Err(error) => panic!("{}: {error}", path.display()),
            };
            count += 1;
            if catch_unwind(AssertUnwindSafe(|| (target.check)(&data))).is_err() {
                failures.push(path.display().to_string());
            }
        }
    }
    (count, failures)
}

#[test]
fn every_target_has_a_fuzz_target_file_and_seeds() {
    for target in TARGETS {
        let source = fuzz_dir().join(format!("fuzz_targets/{}.rs", target.name));
        let text = fs::read_to_string(&source)
            .unwrap_or_else(|error| panic!("{}: {error}", source.display()));
        let call = format!("ayaka_fuzz_checks::{}(data)", target.path);
        assert!(
            text.contains(&call),
            "{} does not call {call}",
            source.display()
        );
        let seeds = inputs(&fuzz_dir().join("corpus").join(target.name));
        assert!(!seeds.is_empty(), "{}: no seeds", target.name);
    }
}

#[test]
fn every_seed_and_every_fixed_failure_passes() {
    let mut failures = Vec::new();
    for target in TARGETS {
        let dirs = [
            fuzz_dir().join("corpus").join(target.name),
            fuzz_dir().join("regressions").join(target.name),
        ];
        let (count, failed) = replay(target, &dirs);
        assert!(count > 0, "{}: nothing replayed", target.name);
        failures.extend(failed);
    }
    assert!(failures.is_empty(), "failing inputs: {failures:#?}");
}

/// Failures found by the fuzzers whose fix is outside the fuzzing work
/// (see `docs/fuzzing.md`, "Open findings"). Run with `--ignored`; once one
/// passes, move its file up to `fuzz/regressions/<target>/`.
#[test]
#[ignore = "open findings: fixes belong to other crates' owners (docs/fuzzing.md)"]
fn open_findings() {
    let mut failures = Vec::new();
    for target in TARGETS {
        let open = fuzz_dir()
            .join("regressions")
            .join(target.name)
            .join("open");
        failures.extend(replay(target, &[open]).1);
    }
    assert!(failures.is_empty(), "still failing: {failures:#?}");
}
