//! The protocol's validation rules, one function per rule, and the error
//! listing every field that broke one.

use std::collections::BTreeMap;
use std::fmt;

use crate::ErrorBody;

/// Shortest username, in characters.
pub const USERNAME_MIN_CHARS: usize = 1;
/// Longest username, in characters.
pub const USERNAME_MAX_CHARS: usize = 32;
/// Largest separator (`#9999`).
pub const SEPARATOR_MAX: u16 = 9999;
/// Longest bio, in characters.
pub const BIO_MAX_CHARS: usize = 190;
/// Shortest guild (and channel) name, in characters.
pub const NAME_MIN_CHARS: usize = 1;
/// Longest guild (and channel) name, in characters.
pub const NAME_MAX_CHARS: usize = 100;
/// Longest guild or channel description, in characters.
pub const DESCRIPTION_MAX_CHARS: usize = 1000;
/// Shortest password, in characters.
pub const PASSWORD_MIN_CHARS: usize = 8;
/// Longest password, in characters.
pub const PASSWORD_MAX_CHARS: usize = 256;
/// Longest email address, in characters (RFC 5321's path limit).
pub const EMAIL_MAX_CHARS: usize = 254;

/// Why a field was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Violation {
    /// Text whose length in characters is outside `min..=max`.
    Length {
        /// Fewest characters allowed.
        min: usize,
        /// Most characters allowed.
        max: usize,
        /// Characters given.
        actual: usize,
    },
    /// A number outside `min..=max`.
    Range {
        /// Smallest value allowed.
        min: i64,
        /// Largest value allowed.
        max: i64,
        /// Value given.
        actual: i64,
    },
    /// Not a plausible email address.
    Email,
    /// A name holding a control character (NUL, newline, escape...).
    ControlCharacter,
    /// Anything else, described in words.
    Invalid(String),
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Length { min, max, actual } => {
                write!(f, "must be {min} to {max} characters long (got {actual})")
            }
            Self::Range { min, max, actual } => {
                write!(f, "must be between {min} and {max} (got {actual})")
            }
            Self::Email => f.write_str("must be a valid email address"),
            Self::ControlCharacter => f.write_str("must not contain control characters"),
            Self::Invalid(reason) => f.write_str(reason),
        }
    }
}

/// One refused field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The JSON field name, e.g. `"username"`.
    pub field: String,
    /// Why it was refused.
    pub violation: Violation,
}

/// Every field of a request body that broke a rule.
///
/// Maps to the 400 body `{"code": 400, "message": ..., "errors": {field:
/// reason}}` with [`ValidationError::to_error_body`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ValidationError {
    errors: Vec<FieldError>,
}

impl ValidationError {
    /// An error about one field.
    pub fn single(field: impl Into<String>, violation: Violation) -> Self {
        Self {
            errors: vec![FieldError {
                field: field.into(),
                violation,
            }],
        }
    }

    /// The refused fields, in the order checked.
    pub fn errors(&self) -> &[FieldError] {
        &self.errors
    }

    /// The violation of `field`, if it was refused.
    pub fn violation(&self, field: &str) -> Option<&Violation> {
        self.errors
            .iter()
            .find(|error| error.field == field)
            .map(|error| &error.violation)
    }

    /// `{field: reason}`, as the 400 body's `errors`.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.errors
            .iter()
            .map(|error| (error.field.clone(), error.violation.to_string()))
            .collect()
    }

    /// The 400 body for these errors.
    pub fn to_error_body(&self) -> ErrorBody {
        ErrorBody {
            errors: Some(self.to_map()),
            ..ErrorBody::new(400, "400: Bad Request")
        }
    }

    pub(crate) fn check(&mut self, field: &str, result: Result<(), Violation>) {
        if let Err(violation) = result {
            self.errors.push(FieldError {
                field: field.to_owned(),
                violation,
            });
        }
    }

    pub(crate) fn check_some<T: ?Sized>(
        &mut self,
        field: &str,
        value: Option<&T>,
        rule: impl FnOnce(&T) -> Result<(), Violation>,
    ) {
        if let Some(value) = value {
            self.check(field, rule(value));
        }
    }

    pub(crate) fn finish(self) -> Result<(), Self> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.errors.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{} {}", error.field, error.violation)?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationError {}

fn chars_between(text: &str, min: usize, max: usize) -> Result<(), Violation> {
    // Accepting stops counting just past `max`; only a refusal counts
    // everything, to report the real length.
    let actual = text.chars().take(max.saturating_add(1)).count();
    if (min..=max).contains(&actual) {
        Ok(())
    } else {
        let actual = if actual > max {
            text.chars().count()
        } else {
            actual
        };
        Err(Violation::Length { min, max, actual })
    }
}

/// Names are shown on one line: no control characters at all.
fn no_control(value: &str) -> Result<(), Violation> {
    if value.chars().any(char::is_control) {
        Err(Violation::ControlCharacter)
    } else {
        Ok(())
    }
}

/// A username: 1 to 32 characters, none of them a control character.
pub fn username(value: &str) -> Result<(), Violation> {
    chars_between(value, USERNAME_MIN_CHARS, USERNAME_MAX_CHARS)?;
    no_control(value)
}

/// A separator: 0 to 9999.
pub fn separator(value: u16) -> Result<(), Violation> {
    if value <= SEPARATOR_MAX {
        Ok(())
    } else {
        Err(Violation::Range {
            min: 0,
            max: i64::from(SEPARATOR_MAX),
            actual: i64::from(value),
        })
    }
}

/// A bio: at most 190 characters.
pub fn bio(value: &str) -> Result<(), Violation> {
    chars_between(value, 0, BIO_MAX_CHARS)
}

/// A guild or channel name: 1 to 100 characters, none of them a control
/// character.
pub fn name(value: &str) -> Result<(), Violation> {
    chars_between(value, NAME_MIN_CHARS, NAME_MAX_CHARS)?;
    no_control(value)
}

/// A guild or channel description: at most 1000 characters.
pub fn description(value: &str) -> Result<(), Violation> {
    chars_between(value, 0, DESCRIPTION_MAX_CHARS)
}

/// A password: 8 to 256 characters.
pub fn password(value: &str) -> Result<(), Violation> {
    chars_between(value, PASSWORD_MIN_CHARS, PASSWORD_MAX_CHARS)
}

/// A plausible email address: `local@domain.tld`, no spaces or control
/// characters, one `@`, at most 254 characters.
///
/// Deliverability is for the mail server to judge; this catches typos and
/// garbage.
pub fn email(value: &str) -> Result<(), Violation> {
    let plausible = value.chars().take(EMAIL_MAX_CHARS + 1).count() <= EMAIL_MAX_CHARS
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        && match value.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.split('.').count() >= 2
                    && domain.split('.').all(|label| !label.is_empty())
            }
            None => false,
        };
    if plausible {
        Ok(())
    } else {
        Err(Violation::Email)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_refuse_control_characters() {
        for bad in [
            "a\0b",
            "line\nbreak",
            "tab\t",
            "\u{1b}[31m",
            "del\u{7f}",
            "c1\u{85}",
        ] {
            assert_eq!(name(bad), Err(Violation::ControlCharacter), "{bad:?}");
            assert_eq!(username(bad), Err(Violation::ControlCharacter), "{bad:?}");
        }
        assert_eq!(name("Ayaka ✨ guild"), Ok(()));
        assert_eq!(username("ayaka"), Ok(()));
        // Length is reported first, as before.
        assert!(matches!(name(""), Err(Violation::Length { .. })));
    }
}
