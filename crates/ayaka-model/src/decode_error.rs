//! Decoding errors without the input's values.

use std::error::Error as StdError;
use std::fmt;

/// A parser's error message with the input's values cut out.
///
/// serde quotes the value it could not use (`invalid type: string
/// "1.aGVsbG8", expected a sequence`), so a malformed READY or
/// `/users/@me` response would put a session id or an email into every log
/// line and error report that shows the error. Every double-quoted literal
/// becomes `"…"`, and so does the value of an `unknown variant`; field
/// names, expectations and positions stay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeError(String);

impl DecodeError {
    pub(crate) fn new(source: &(dyn StdError + Send + Sync)) -> Self {
        Self(without_values(&source.to_string()))
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for DecodeError {}

const UNKNOWN_VARIANT: &str = "unknown variant `";

fn without_values(message: &str) -> String {
    let strings_cut = without_string_literals(message);
    let Some(at) = strings_cut.find(UNKNOWN_VARIANT) else {
        return strings_cut;
    };
    let value = at + UNKNOWN_VARIANT.len();
    // serde writes the value raw between backticks, then the expected
    // variants; a value without its end is cut to the end.
    let end = strings_cut[value..]
        .find("`, expected")
        .or_else(|| strings_cut[value..].find('`'))
        .map_or(strings_cut.len(), |end| value + end);
    format!("{}…{}", &strings_cut[..value], &strings_cut[end..])
}

/// Every `"..."` (backslash escapes inside) as `"…"`; an unterminated one
/// is cut to the end. A message quoted inside another (simd-json's
/// `Serde("invalid type: string \"x\"")`) goes as a whole.
fn without_string_literals(message: &str) -> String {
    let mut cut = String::with_capacity(message.len());
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        cut.push(c);
        if c != '"' {
            continue;
        }
        cut.push('…');
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => {
                    cut.push('"');
                    break;
                }
                _ => {}
            }
        }
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_are_cut_and_the_rest_stays() {
        assert_eq!(
            without_values(
                r#"invalid type: string "1.c2VjcmV0", expected a sequence at line 1 column 30"#
            ),
            r#"invalid type: string "…", expected a sequence at line 1 column 30"#
        );
        assert_eq!(
            without_values(r#"invalid value: string "a \"quoted\" b", expected a snowflake"#),
            r#"invalid value: string "…", expected a snowflake"#
        );
        assert_eq!(
            without_values(r#"Serde("invalid type: string \"me@example.com\"") at character 0"#),
            r#"Serde("…") at character 0"#
        );
        assert_eq!(without_values(r#"cut "to the end"#), r#"cut "…"#);
        assert_eq!(
            without_values("unknown variant `me@example.com`, expected `json` or `zlib`"),
            "unknown variant `…`, expected `json` or `zlib`"
        );
        assert_eq!(
            without_values("missing field `id` at line 1 column 2"),
            "missing field `id` at line 1 column 2"
        );
    }
}
