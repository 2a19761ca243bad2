//! `cargo xtask unused-deps`: every dependency a crate declares is named
//! in that crate's code.
//!
//! A light check, in the spirit of cargo-machete: `cargo metadata` lists
//! each workspace crate's dependencies (workspace inheritance resolved), and
//! the crate's Rust files are searched for each one's Rust name used as a
//! path (`name::`), imported (`use name`) or declared (`extern crate name`).
//! `[dependencies]` must be named under the directories of the crate's
//! library and binaries, `[dev-dependencies]` anywhere in the crate (tests,
//! examples, benches, doc tests). Entries of `[workspace.dependencies]` that
//! no crate uses are reported too.
//!
//! A dependency needed only for what it does to another one (a feature it
//! turns on, a version it pins) goes in [`ALLOWED`], with the reason.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::{metadata, workspace_root};

/// `(crate, dependency, why it is declared though never named)`.
const ALLOWED: &[(&str, &str, &str)] = &[];

/// Runs the check, listing every finding.
pub(crate) fn run() -> Result<(), String> {
    let root = workspace_root();
    let metadata = metadata(&root)?;
    let packages = metadata["packages"]
        .as_array()
        .ok_or("cargo metadata: no packages")?;
    let mut findings = Vec::new();
    let mut used_anywhere = BTreeSet::new();
    for package in packages {
        let crate_findings = check_package(package, &mut used_anywhere)?;
        findings.extend(crate_findings);
    }
    for name in workspace_dependencies(&root)? {
        if !used_anywhere.contains(&name) {
            findings.push(format!(
                "Cargo.toml: `{name}` in [workspace.dependencies] is used by no crate"
            ));
        }
    }
    if findings.is_empty() {
        println!("unused-deps: every dependency is used");
        return Ok(());
    }
    for finding in &findings {
        eprintln!("{finding}");
    }
    Err(format!(
        "{} unused dependencies (remove them, or allow one in xtask/src/unused_deps.rs with the reason)",
        findings.len()
    ))
}

/// One crate's unused dependencies; records the package names it uses.
fn check_package(
    package: &Value,
    used_anywhere: &mut BTreeSet<String>,
) -> Result<Vec<String>, String> {
    let name = package["name"].as_str().unwrap_or_default();
    let manifest = Path::new(package["manifest_path"].as_str().unwrap_or_default());
    let crate_dir = manifest.parent().ok_or("a manifest has no directory")?;
    let code_dirs: Vec<PathBuf> = package["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|target| {
            target["kind"].as_array().is_some_and(|kinds| {
                kinds
                    .iter()
                    .any(|k| matches!(k.as_str(), Some("lib" | "bin" | "proc-macro")))
            })
        })
        .filter_map(|target| Some(Path::new(target["src_path"].as_str()?).parent()?.to_owned()))
        .collect();
    let code = read_rust(&code_dirs)?;
    let everything = read_rust(&[crate_dir.to_owned()])?;
    let dependencies = package["dependencies"]
        .as_array()
        .ok_or("cargo metadata: no dependencies")?;
    let normal: BTreeSet<&str> = dependencies
        .iter()
        .filter(|d| d["kind"].is_null())
        .filter_map(|d| d["name"].as_str())
        .collect();
    let mut findings = Vec::new();
    for dependency in dependencies {
        let package_name = dependency["name"].as_str().unwrap_or_default();
        used_anywhere.insert(package_name.to_owned());
        let rust_name = dependency["rename"]
            .as_str()
            .unwrap_or(package_name)
            .replace('-', "_");
        let (section, haystack) = match dependency["kind"].as_str() {
            None => ("[dependencies]", &code),
            // A dev-dependency that is also a normal one only adds features.
            Some("dev") if normal.contains(package_name) => continue,
            Some("dev") => ("[dev-dependencies]", &everything),
            Some(_) => continue,
        };
        let allowed = ALLOWED
            .iter()
            .any(|(krate, dep, _)| *krate == name && *dep == package_name);
        if allowed || names(haystack, &rust_name) {
            continue;
        }
        if section == "[dependencies]" && names(&everything, &rust_name) {
            findings.push(format!(
                "{name}: `{package_name}` in [dependencies] is named only by tests, examples or benches: make it a dev-dependency"
            ));
        } else {
            findings.push(format!(
                "{name}: `{package_name}` in {section} is never named in its code"
            ));
        }
    }
    Ok(findings)
}

/// The text of every `.rs` file under `dirs`, skipping build output.
fn read_rust(dirs: &[PathBuf]) -> Result<String, String> {
    let mut text = String::new();
    let mut pending = dirs.to_vec();
    while let Some(dir) = pending.pop() {
        let entries = fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                if path.file_name().is_none_or(|n| n != "target") {
                    pending.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                text.push_str(
                    &fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?,
                );
                text.push('\n');
            }
        }
    }
    Ok(text)
}

/// Whether `text` uses the crate `name`: `name::`, `use name`, `extern
/// crate name`, with `name` a whole identifier.
fn names(text: &str, name: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(name).any(|(at, _)| {
        let before = &text[..at];
        let after = &text[at + name.len()..];
        if before.ends_with(is_ident) || after.starts_with(is_ident) {
            return false;
        }
        after.starts_with("::")
            || before.ends_with("use ")
            || before.ends_with("use ::")
            || before.ends_with("extern crate ")
    })
}

/// The keys of the root manifest's `[workspace.dependencies]` table (a file
/// this project writes: one `name = ...` per line).
fn workspace_dependencies(root: &Path) -> Result<Vec<String>, String> {
    let manifest = fs::read_to_string(root.join("Cargo.toml")).map_err(|e| e.to_string())?;
    let mut in_table = false;
    let mut names = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_table = line == "[workspace.dependencies]";
            continue;
        }
        if in_table
            && !line.starts_with('#')
            && let Some((key, _)) = line.split_once('=')
        {
            names.push(key.trim().to_owned());
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::names;

    #[test]
    fn a_name_counts_only_as_a_path_or_an_import() {
        assert!(names("use serde::Serialize;", "serde"));
        assert!(names("#[tokio::test]", "tokio"));
        assert!(names("pub use ayaka_http as http;", "ayaka_http"));
        assert!(names("extern crate alloc;", "alloc"));
        assert!(names("let x = ::rand::random();", "rand"));
        assert!(!names("use serde_json::Value;", "serde"));
        assert!(!names("// serde is nice", "serde"));
        assert!(!names("my_tokio::spawn()", "tokio"));
        assert!(!names("", "http"));
    }
}
