//! The User-Agent header, in the documented format
//! `Library Name (URL) language: version http-client: version`.

/// The `User-Agent` of every HTTP request the workspace makes (REST calls,
/// and `ayaka-gateway`'s `/available` discovery, which goes through this
/// crate): `ayaka-rs (https://github.com/ayaka-rs/ayaka) rust: 1.90 hyper: 1`.
///
/// Built at compile time from this crate's manifest, so it is the same
/// whoever builds it and from wherever: the repository, the minimum Rust
/// version the crate supports (the compiler in use is not known without a
/// build script), and the major version of hyper, the HTTP client it is
/// written against (through hyper-util and hyper-rustls).
pub const USER_AGENT: &str = concat!(
    "ayaka-rs (",
    env!("CARGO_PKG_REPOSITORY"),
    ") rust: ",
    env!("CARGO_PKG_RUST_VERSION"),
    " hyper: 1",
);

#[cfg(test)]
mod tests {
    use super::USER_AGENT;

    #[test]
    fn follows_the_documented_format() {
        let rest = USER_AGENT
            .strip_prefix("ayaka-rs (https://github.com/ayaka-rs/ayaka) rust: ")
            .unwrap_or_default();
        let (rust, hyper) = rest.split_once(" hyper: ").unwrap_or_default();
        assert!(rust.starts_with("1."), "{USER_AGENT}");
        assert!(hyper.starts_with('1'), "{USER_AGENT}");
        assert!(http::HeaderValue::from_str(USER_AGENT).is_ok());
        // Only what the manifest says: nothing read from the build machine.
        assert_eq!(rust, env!("CARGO_PKG_RUST_VERSION"));
        assert_eq!(hyper, "1");
    }
}
