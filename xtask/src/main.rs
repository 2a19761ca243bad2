//! Project automation, run as `cargo xtask <command>` (matklad's xtask pattern).
//!
//! - `cargo xtask ci`: what CI runs (`.ci/run`).
//! - `cargo xtask unused-deps`: fails if a crate declares a dependency its
//!   code never names (part of CI).
//! - `cargo xtask bench [FILTER]`: the criterion benches in `benches/`, then
//!   `docs/benchmarks.md` written from their results.

mod bench;
mod unused_deps;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => run_command(Command::new("bash").arg(".ci/run")),
        Some("unused-deps") => unused_deps::run(),
        Some("bench") => bench::run(args.get(1).map(String::as_str)),
        _ => {
            eprintln!("usage: cargo xtask <ci | unused-deps | bench [FILTER]>");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: xtask's manifest sits one level below it.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Runs a command at the workspace root, failing on a non-zero exit.
fn run_command(command: &mut Command) -> Result<(), String> {
    let status = command
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("cannot start {command:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} failed: {status}"))
    }
}
