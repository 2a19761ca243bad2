//! `cargo xtask doc-links`: the links of the project's Markdown, checked
//! offline, after `cargo doc --workspace --no-deps --all-features`.
//!
//! Each library crate's README is also its front page on docs.rs
//! (`#![doc = include_str!("../README.md")]`), so its links must work in
//! three places: GitHub, crates.io and rustdoc. They are reference links
//! defined at the bottom of the README and pointing at docs.rs
//! (`` [`Shard`]: https://docs.rs/ayaka-gateway/latest/ayaka_gateway/struct.Shard.html ``),
//! which rustdoc does not check. This does, for the READMEs and `docs/`:
//!
//! - a docs.rs link to a workspace crate names a page of the local doc
//!   build, and an anchor on it (`#method.next_event`) that exists;
//! - a link into this repository (its GitHub URL, or a relative path)
//!   names a file that exists, and a heading of it for `#anchor`;
//! - every `` [`Item`] `` reference is defined (rustdoc would resolve an
//!   undefined one as an intra-doc link, and GitHub print the brackets),
//!   and every definition is used;
//! - a code span that names a path of the tree (`crates/...`, `docs/...`)
//!   names one that exists, so the code map in `docs/architecture.md`
//!   cannot point at files that moved;
//! - every library crate under `crates/` with a README of its own takes
//!   its crate docs from it and names it as its `readme`.
//!
//! A page older than its crate's index is left over from an earlier doc
//! build (rustdoc rewrites every page of a crate it documents) and counts
//! as missing.

mod markdown;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{metadata, workspace_root};
use markdown::Links;

/// The prefixes of the tree that a code span may name as a path.
const TREE_ROOTS: &[&str] = &["crates/", "docs/", "xtask/", "benches/", "fuzz/", ".ci/"];

/// Runs the check, listing every finding.
pub(crate) fn run() -> Result<(), String> {
    let root = workspace_root();
    let workspace = Workspace::read(&root)?;
    let mut findings = workspace.check_crate_docs();
    for file in workspace.markdown_files()? {
        let text = fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        findings.extend(workspace.check_file(&file, &markdown::scan(&text)));
    }
    if findings.is_empty() {
        println!("doc-links: every link resolves");
        return Ok(());
    }
    for finding in &findings {
        eprintln!("{finding}");
    }
    Err(format!("{} broken links", findings.len()))
}

/// What the links are checked against.
struct Workspace {
    root: PathBuf,
    /// `target/doc`.
    doc: PathBuf,
    /// The repository's URL, as the manifests give it.
    repository: String,
    /// Workspace packages: name, manifest directory, whether a library.
    packages: Vec<(String, PathBuf, Option<PathBuf>)>,
}

impl Workspace {
    fn read(root: &Path) -> Result<Self, String> {
        let metadata = metadata(root)?;
        let doc = Path::new(metadata["target_directory"].as_str().unwrap_or("target")).join("doc");
        let mut repository = String::new();
        let mut packages = Vec::new();
        for package in metadata["packages"].as_array().into_iter().flatten() {
            let name = package["name"].as_str().unwrap_or_default().to_owned();
            let manifest = Path::new(package["manifest_path"].as_str().unwrap_or_default());
            let dir = manifest.parent().unwrap_or(root).to_owned();
            let lib = package["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|t| {
                    t["kind"]
                        .as_array()
                        .is_some_and(|k| k.iter().any(|k| k == "lib"))
                })
                .and_then(|t| t["src_path"].as_str())
                .map(PathBuf::from);
            if let Some(url) = package["repository"].as_str() {
                repository = url.trim_end_matches('/').to_owned();
            }
            packages.push((name, dir, lib));
        }
        let workspace = Self {
            root: root.to_owned(),
            doc,
            repository,
            packages,
        };
        for (name, _, lib) in &workspace.packages {
            let index = workspace
                .doc
                .join(name.replace('-', "_"))
                .join("index.html");
            if lib.is_some() && name.starts_with("ayaka") && !index.is_file() {
                return Err(format!(
                    "{} is missing: run `cargo doc --workspace --no-deps --all-features` first",
                    index.display()
                ));
            }
        }
        Ok(workspace)
    }

    /// The root README, each crate's README and `docs/*.md`.
    fn markdown_files(&self) -> Result<Vec<PathBuf>, String> {
        let mut files = vec![self.root.join("README.md")];
        for (_, dir, _) in &self.packages {
            let readme = dir.join("README.md");
            if readme.is_file() && dir != &self.root {
                files.push(readme);
            }
        }
        let docs = self.root.join("docs");
        for entry in fs::read_dir(&docs).map_err(|e| format!("{}: {e}", docs.display()))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.extension().is_some_and(|e| e == "md") {
                files.push(path);
            }
        }
        files.sort();
        Ok(files)
    }

    /// Crates with a README of their own take their docs from it.
    fn check_crate_docs(&self) -> Vec<String> {
        let mut findings = Vec::new();
        for (name, dir, lib) in &self.packages {
            let (Some(lib), true) = (lib, dir.join("README.md").is_file()) else {
                continue;
            };
            if !dir.starts_with(self.root.join("crates")) {
                continue;
            }
            let source = fs::read_to_string(lib).unwrap_or_default();
            if !source.contains(r#"#![doc = include_str!("../README.md")]"#) {
                findings.push(format!(
                    "{}: {name} has a README but does not take its docs from it",
                    lib.display()
                ));
            }
            let manifest = fs::read_to_string(dir.join("Cargo.toml")).unwrap_or_default();
            if !manifest
                .lines()
                .any(|line| line.trim() == r#"readme = "README.md""#)
            {
                findings.push(format!(
                    "{name}: Cargo.toml does not say readme = \"README.md\""
                ));
            }
        }
        findings
    }

    fn check_file(&self, file: &Path, links: &Links) -> Vec<String> {
        let shown = file
            .strip_prefix(&self.root)
            .unwrap_or(file)
            .display()
            .to_string();
        let mut findings = Vec::new();
        let mut used = BTreeSet::new();
        for label in &links.references {
            used.insert(label.clone());
            if !links.definitions.contains_key(label) {
                findings.push(format!("{shown}: [{label}] is used but not defined"));
            }
        }
        used.extend(links.shortcuts.iter().cloned());
        for label in links.definitions.keys() {
            if !used.contains(label) {
                findings.push(format!("{shown}: [{label}] is defined but not used"));
            }
        }
        for url in &links.urls {
            if let Err(problem) = self.check_url(file, links, url) {
                findings.push(format!("{shown}: {url}: {problem}"));
            }
        }
        for span in &links.code_spans {
            if let Some(path) = tree_path(span)
                && !self.root.join(path).exists()
            {
                findings.push(format!("{shown}: `{span}` names no file of the tree"));
            }
        }
        findings
    }

    fn check_url(&self, file: &Path, links: &Links, url: &str) -> Result<(), String> {
        if let Some(rest) = url.strip_prefix("https://docs.rs/") {
            return self.check_docs_rs(rest);
        }
        let in_repository = [
            format!("{}/blob/main/", self.repository),
            format!("{}/tree/main/", self.repository),
        ];
        if let Some(path) = in_repository
            .iter()
            .find_map(|prefix| url.strip_prefix(prefix))
        {
            return check_path(&self.root.join(path_part(path)), fragment(path));
        }
        if url.contains("://") || url.starts_with("mailto:") {
            // the web at large is not checked offline
            return Ok(());
        }
        if let Some(anchor) = url.strip_prefix('#') {
            return if links.anchors.iter().any(|a| a == anchor) {
                Ok(())
            } else {
                Err("no such heading here".to_owned())
            };
        }
        let dir = file.parent().unwrap_or(&self.root);
        check_path(&dir.join(path_part(url)), fragment(url))
    }

    /// `<crate>/latest/<crate_ident>/<page>[#anchor]`, for workspace crates.
    fn check_docs_rs(&self, rest: &str) -> Result<(), String> {
        let mut parts = rest.splitn(3, '/');
        let krate = parts.next().unwrap_or_default();
        if !self
            .packages
            .iter()
            .any(|(name, _, lib)| name == krate && lib.is_some())
        {
            return Ok(());
        }
        if parts.next() != Some("latest") {
            return Err("link the latest version: docs.rs/<crate>/latest/...".to_owned());
        }
        let page = parts.next().unwrap_or_default();
        if !page.starts_with(&format!("{}/", krate.replace('-', "_"))) {
            return Err(format!(
                "the path after latest/ starts with {}/",
                krate.replace('-', "_")
            ));
        }
        let mut path = path_part(page).to_owned();
        if path.is_empty() || path.ends_with('/') {
            path.push_str("index.html");
        }
        let page_file = self.doc.join(&path);
        let html =
            fs::read_to_string(&page_file).map_err(|_| format!("the doc build has no {path}"))?;
        if is_stale(
            &page_file,
            &self.doc.join(krate.replace('-', "_")).join("index.html"),
        ) {
            return Err(format!("{path} is left from an earlier doc build"));
        }
        match fragment(page) {
            Some(anchor) if !html.contains(&format!("id=\"{anchor}\"")) => {
                Err(format!("{path} has no #{anchor}"))
            }
            _ => Ok(()),
        }
    }
}

/// Whether `page` is older than its crate's `index`: rustdoc writes every
/// page of a crate it documents, so an older one is an item that is gone.
fn is_stale(page: &Path, index: &Path) -> bool {
    let modified = |path: &Path| fs::metadata(path).and_then(|m| m.modified()).ok();
    match (modified(page), modified(index)) {
        (Some(page), Some(index)) => index
            .duration_since(page)
            .is_ok_and(|age| age > Duration::from_secs(60)),
        _ => false,
    }
}

/// A file of the tree, and a heading of it if it is Markdown.
fn check_path(path: &Path, anchor: Option<&str>) -> Result<(), String> {
    if !path.exists() {
        return Err("no such file".to_owned());
    }
    match anchor {
        Some(anchor) if path.extension().is_some_and(|e| e == "md") => {
            let text = fs::read_to_string(path).map_err(|e| e.to_string())?;
            if markdown::scan(&text).anchors.iter().any(|a| a == anchor) {
                Ok(())
            } else {
                Err(format!("no heading #{anchor}"))
            }
        }
        _ => Ok(()),
    }
}

fn path_part(url: &str) -> &str {
    url.split('#').next().unwrap_or(url)
}

fn fragment(url: &str) -> Option<&str> {
    url.split_once('#').map(|(_, anchor)| anchor)
}

/// The path a code span names, if it names one of the tree: a single word
/// under one of [`TREE_ROOTS`], with no pattern in it (a glob, or a
/// placeholder such as `fuzz/corpus/TARGET/`).
fn tree_path(span: &str) -> Option<&str> {
    let placeholder = |segment: &str| {
        segment.len() > 1 && segment.chars().all(|c| c.is_ascii_uppercase() || c == '_')
    };
    let plain = !span.contains(|c: char| c.is_whitespace() || "*{}<>".contains(c))
        && !span.split('/').any(placeholder);
    let under_root = TREE_ROOTS.iter().any(|root| span.starts_with(root));
    (plain && under_root).then(|| span.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::tree_path;

    #[test]
    fn only_plain_paths_of_the_tree_are_checked() {
        assert_eq!(
            tree_path("crates/ayaka-gateway/src/runner.rs"),
            Some("crates/ayaka-gateway/src/runner.rs")
        );
        assert_eq!(tree_path("docs/"), Some("docs"));
        assert_eq!(tree_path("crates/*/src"), None);
        assert_eq!(tree_path("cargo run -p crates/x"), None);
        assert_eq!(tree_path("src/lib.rs"), None);
        assert_eq!(tree_path("crates/{a,b}"), None);
        assert_eq!(tree_path("fuzz/corpus/TARGET/"), None);
        assert_eq!(
            tree_path("crates/ayaka/README.md"),
            Some("crates/ayaka/README.md")
        );
    }
}
