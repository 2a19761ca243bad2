use std::fmt;

use ayaka_snowflake::UserId;
use serde::{Deserialize, Serialize};

/// An Ayaka user.
///
/// The documented `password` field is not here: a server never sends it
/// (it stores only a hash), and this type never reads or writes it.
/// `Debug` prints `email` and `session_ids` redacted.
///
/// ```
/// use ayaka_model::User;
///
/// let user: User = serde_json::from_str(
///     r#"{"id": 1, "username": "ayaka", "separator": 1, "password": "x"}"#,
/// )?;
/// assert_eq!(user.username, "ayaka");
/// assert!(!serde_json::to_string(&user)?.contains("password"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The user's id. Read from `_id` too (the deployed server's READY).
    #[serde(alias = "_id")]
    pub id: UserId,
    /// The name, shown with the separator as `username#0001`.
    pub username: String,
    /// Tells apart users with the same name, `0..=9999`.
    pub separator: u16,
    /// A free-form description.
    #[serde(default)]
    pub bio: Option<String>,
    /// Where the avatar image is.
    #[serde(default)]
    pub avatar_url: Option<String>,
    /// Where the banner image is.
    #[serde(default)]
    pub banner_url: Option<String>,
    /// Badges, as strings.
    #[serde(default)]
    pub flags: Vec<String>,
    /// Whether Ayaka verified this user.
    #[serde(default)]
    pub verified: bool,
    /// The email address; only present on the current user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether this is a system account.
    #[serde(default)]
    pub system: bool,
    /// Whether the email address was confirmed.
    #[serde(default)]
    pub email_verified: bool,
    /// The user's session ids (credentials): only in READY, `GET
    /// /users/@me` and the answer to `POST /users/@me`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_ids: Option<Vec<String>>,
}

impl User {
    /// `username#separator`, the separator padded to four digits.
    pub fn tag(&self) -> String {
        format!("{}#{:04}", self.username, self.separator)
    }
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("separator", &self.separator)
            .field("bio", &self.bio)
            .field("avatar_url", &self.avatar_url)
            .field("banner_url", &self.banner_url)
            .field("flags", &self.flags)
            .field("verified", &self.verified)
            .field("email", &self.email.as_ref().map(|_| Redacted(1)))
            .field("system", &self.system)
            .field("email_verified", &self.email_verified)
            .field(
                "session_ids",
                &self.session_ids.as_ref().map(|ids| Redacted(ids.len())),
            )
            .finish()
    }
}

/// Stands in for secrets in `Debug` output.
pub(crate) struct Redacted(pub(crate) usize);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{} redacted]", self.0)
    }
}
