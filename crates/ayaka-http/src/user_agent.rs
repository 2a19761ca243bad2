//! The User-Agent header, in the documented format
//! `Library Name (URL) language: version http-client: version`.

/// `ayaka-rs (<repository>) rust: <rustc version> hyper: <hyper version>`.
pub const USER_AGENT: &str = concat!(
    "ayaka-rs (",
    env!("CARGO_PKG_REPOSITORY"),
    ") rust: ",
    env!("AYAKA_HTTP_RUST_VERSION"),
    " hyper: ",
    env!("AYAKA_HTTP_HYPER_VERSION"),
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
    }
}
