//! Records the compiler and hyper versions for the User-Agent header.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RUSTC");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let rust_version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.split_whitespace().nth(1).map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=AYAKA_HTTP_RUST_VERSION={rust_version}");
    println!(
        "cargo:rustc-env=AYAKA_HTTP_HYPER_VERSION={}",
        hyper_version()
    );
}

/// hyper's version from the nearest `Cargo.lock`, or its major version.
fn hyper_version() -> String {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    for dir in Path::new(&manifest_dir).ancestors() {
        let lock = dir.join("Cargo.lock");
        let Ok(text) = std::fs::read_to_string(&lock) else {
            continue;
        };
        println!("cargo:rerun-if-changed={}", lock.display());
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            if line.trim() == "name = \"hyper\""
                && let Some(version) = lines.next()
                && let Some(version) = version.trim().strip_prefix("version = \"")
            {
                return version.trim_end_matches('"').to_owned();
            }
        }
        break;
    }
    "1".to_owned()
}
