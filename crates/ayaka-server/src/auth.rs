//! Session ids (password hashing is in [`hashing`](crate::hashing)).
//!
//! A session id is `<snowflake>.<secret>`: the snowflake names the session,
//! the secret (128 bits from a CSPRNG, URL-safe base64) makes it unguessable.
//! The secret is compared in constant time.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;

const SECRET_LEN: usize = 16;

/// A session id: its public name and its secret.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SessionId {
    pub(crate) name: u64,
    pub(crate) secret: [u8; SECRET_LEN],
}

impl SessionId {
    /// A new session id named by the snowflake `name`.
    pub(crate) fn generate(name: u64) -> Self {
        let mut secret = [0_u8; SECRET_LEN];
        rand::rng().fill_bytes(&mut secret);
        Self { name, secret }
    }

    /// Reads `<name>.<secret>`; `None` for anything else.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let (name, secret) = text.split_once('.')?;
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let name = name.parse().ok()?;
        // 16 bytes are 22 characters of unpadded base64: refuse anything
        // longer before decoding it.
        if secret.len() != 22 {
            return None;
        }
        let mut decoded = [0_u8; SECRET_LEN];
        let written = URL_SAFE_NO_PAD.decode_slice(secret, &mut decoded).ok()?;
        (written == SECRET_LEN).then_some(Self {
            name,
            secret: decoded,
        })
    }

    /// Whether `other`'s secret equals this one, in time independent of
    /// where they differ.
    pub(crate) fn secret_matches(&self, other: &[u8; SECRET_LEN]) -> bool {
        self.secret
            .iter()
            .zip(other)
            .fold(0_u8, |diff, (a, b)| diff | (a ^ b))
            == 0
    }

    /// The string handed to the client.
    pub(crate) fn to_wire(&self) -> String {
        format!("{}.{}", self.name, URL_SAFE_NO_PAD.encode(self.secret))
    }
}

// Never print a secret, even by accident.
impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionId({}.<redacted>)", self.name)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn session_ids_round_trip_and_differ() {
        let a = SessionId::generate(42);
        let b = SessionId::generate(42);
        assert_ne!(a.secret, b.secret);
        let wire = a.to_wire();
        assert!(wire.starts_with("42."));
        assert_eq!(SessionId::parse(&wire), Some(a.clone()));
        assert!(a.secret_matches(&a.secret));
        assert!(!a.secret_matches(&b.secret));
        assert!(!format!("{a:?}").contains(&wire[3..]));
    }

    #[test]
    fn malformed_session_ids_are_refused() {
        let good = SessionId::generate(7).to_wire();
        let (_, secret) = good.split_once('.').unwrap();
        for bad in [
            String::new(),
            "7".to_owned(),
            format!("x.{secret}"),
            format!(".{secret}"),
            format!("+7.{secret}"),
            format!("7.{secret}A"),
            format!("7.{}", &secret[1..]),
            "7.!!!!!!!!!!!!!!!!!!!!!!".to_owned(),
            format!("99999999999999999999999.{secret}"),
        ] {
            assert_eq!(SessionId::parse(&bad), None, "{bad}");
        }
    }
}
