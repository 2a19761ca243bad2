//! Project automation, run as `cargo xtask <command>` (matklad's xtask pattern).
//!
//! - `cargo xtask ci`: what CI runs (`.ci/run`).
//! - `cargo xtask unused-deps`: fails if a crate declares a dependency its
//!   code never names (part of CI).
//! - `cargo xtask doc-links`: after `cargo doc`, fails on a link of the
//!   READMEs or `docs/` that names no doc page, file or heading (part of CI).
//! - `cargo xtask bench [FILTER] [--rounds N]`: the criterion benches in
//!   `benches/`, N rounds of them (default 5), then the generated part of
//!   `docs/benchmarks.md` written from their results: median ratios against
//!   each group's baseline, with their spread over the rounds. With a
//!   FILTER, only the groups measured are rewritten; the rest are kept.

mod bench;
mod doc_links;
mod unused_deps;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use serde_json::Value;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => run_command(Command::new("bash").arg(".ci/run")),
        Some("unused-deps") => unused_deps::run(),
        Some("doc-links") => doc_links::run(),
        Some("bench") => bench::Options::parse(&args[1..]).and_then(|options| bench::run(&options)),
        _ => {
            eprintln!(
                "usage: cargo xtask <ci | unused-deps | doc-links | bench [FILTER] [--rounds N]>"
            );
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

/// `cargo metadata --no-deps` of the workspace at `root`, parsed.
pub(crate) fn metadata(root: &Path) -> Result<Value, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(root)
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| format!("cargo metadata: {e}"))
}
