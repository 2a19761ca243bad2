//! Request bodies of the REST routes, each with `validate()` applying the
//! protocol's rules (the local server refuses what fails them with a 400;
//! the client checks before sending).
//!
//! ```
//! use ayaka_model::request::{CreateUser, Violation};
//!
//! let body = CreateUser::new("", 10_000, "ayaka@example.com", "correct horse");
//! let error = body.validate().unwrap_err();
//! assert!(matches!(error.violation("username"), Some(Violation::Length { .. })));
//! assert!(matches!(error.violation("separator"), Some(Violation::Range { .. })));
//! assert_eq!(error.errors().len(), 2);
//! ```

mod validation;

use std::fmt;

use ayaka_snowflake::ChannelId;
use serde::{Deserialize, Serialize};

use crate::ChannelType;
use crate::user::Redacted;

pub use validation::{
    BIO_MAX_CHARS, DESCRIPTION_MAX_CHARS, EMAIL_MAX_CHARS, FieldError, NAME_MAX_CHARS,
    NAME_MIN_CHARS, PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS, SEPARATOR_MAX, USERNAME_MAX_CHARS,
    USERNAME_MIN_CHARS, ValidationError, Violation,
};

/// The rules, one function per field kind, for code that checks fields one
/// by one.
pub mod rules {
    pub use super::validation::{bio, description, email, name, password, separator, username};
}

/// `POST /users/@me`: create an account.
///
/// `Debug` redacts the email and the password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateUser {
    /// 1 to 32 characters.
    pub username: String,
    /// 0 to 9999.
    pub separator: u16,
    /// At most 190 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bio: Option<String>,
    /// A plausible email address.
    pub email: String,
    /// 8 to 256 characters.
    pub password: String,
}

impl CreateUser {
    /// A body with every required field and no bio.
    pub fn new(
        username: impl Into<String>,
        separator: u16,
        email: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        Self {
            username: username.into(),
            separator,
            bio: None,
            email: email.into(),
            password: password.into(),
        }
    }

    /// Sets the bio.
    #[must_use]
    pub fn bio(mut self, bio: impl Into<String>) -> Self {
        self.bio = Some(bio.into());
        self
    }

    /// Checks every field, reporting all that fail.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut errors = ValidationError::default();
        errors.check("username", rules::username(&self.username));
        errors.check("separator", rules::separator(self.separator));
        errors.check_some("bio", self.bio.as_deref(), rules::bio);
        errors.check("email", rules::email(&self.email));
        errors.check("password", rules::password(&self.password));
        errors.finish()
    }
}

impl fmt::Debug for CreateUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateUser")
            .field("username", &self.username)
            .field("separator", &self.separator)
            .field("bio", &self.bio)
            .field("email", &Redacted(1))
            .field("password", &Redacted(1))
            .finish()
    }
}

/// `PATCH /users/@me`: change some fields of the current user; absent
/// fields stay as they are.
///
/// `Debug` redacts the email and the password.
///
/// ```
/// use ayaka_model::request::UpdateUser;
///
/// let body = UpdateUser::new().username("ayaka").bio("hello");
/// assert_eq!(serde_json::to_string(&body)?, r#"{"username":"ayaka","bio":"hello"}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateUser {
    /// 1 to 32 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// 0 to 9999.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub separator: Option<u16>,
    /// At most 190 characters; an empty string clears the bio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bio: Option<String>,
    /// A plausible email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// 8 to 256 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

impl UpdateUser {
    /// A body changing nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Changes the username.
    #[must_use]
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }

    /// Changes the separator.
    #[must_use]
    pub fn separator(mut self, separator: u16) -> Self {
        self.separator = Some(separator);
        self
    }

    /// Changes the bio.
    #[must_use]
    pub fn bio(mut self, bio: impl Into<String>) -> Self {
        self.bio = Some(bio.into());
        self
    }

    /// Changes the email address.
    #[must_use]
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// Changes the password.
    #[must_use]
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// Whether the body changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Checks every present field, reporting all that fail.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut errors = ValidationError::default();
        errors.check_some("username", self.username.as_deref(), rules::username);
        errors.check_some("separator", self.separator.as_ref(), |s| {
            rules::separator(*s)
        });
        errors.check_some("bio", self.bio.as_deref(), rules::bio);
        errors.check_some("email", self.email.as_deref(), rules::email);
        errors.check_some("password", self.password.as_deref(), rules::password);
        errors.finish()
    }
}

impl fmt::Debug for UpdateUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpdateUser")
            .field("username", &self.username)
            .field("separator", &self.separator)
            .field("bio", &self.bio)
            .field("email", &self.email.as_ref().map(|_| Redacted(1)))
            .field("password", &self.password.as_ref().map(|_| Redacted(1)))
            .finish()
    }
}

/// `POST /guilds`: create a guild.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateGuild {
    /// 1 to 100 characters.
    pub name: String,
    /// At most 1000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl CreateGuild {
    /// A body with a name and no description.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: None,
        }
    }

    /// Sets the description.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Checks every field, reporting all that fail.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut errors = ValidationError::default();
        errors.check("name", rules::name(&self.name));
        errors.check_some(
            "description",
            self.description.as_deref(),
            rules::description,
        );
        errors.finish()
    }
}

/// `PATCH /guilds/{id}`: change some fields of a guild; absent fields stay
/// as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateGuild {
    /// 1 to 100 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// At most 1000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Where the banner image is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub banner: Option<String>,
    /// Where the invite banner image is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite_banner: Option<String>,
    /// The custom invite code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vanity_url: Option<String>,
}

impl UpdateGuild {
    /// A body changing nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Changes the name.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Changes the description.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Changes the banner.
    #[must_use]
    pub fn banner(mut self, banner: impl Into<String>) -> Self {
        self.banner = Some(banner.into());
        self
    }

    /// Changes the invite banner.
    #[must_use]
    pub fn invite_banner(mut self, invite_banner: impl Into<String>) -> Self {
        self.invite_banner = Some(invite_banner.into());
        self
    }

    /// Changes the vanity invite code.
    #[must_use]
    pub fn vanity_url(mut self, vanity_url: impl Into<String>) -> Self {
        self.vanity_url = Some(vanity_url.into());
        self
    }

    /// Whether the body changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Checks every present field, reporting all that fail.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut errors = ValidationError::default();
        errors.check_some("name", self.name.as_deref(), rules::name);
        errors.check_some(
            "description",
            self.description.as_deref(),
            rules::description,
        );
        errors.finish()
    }
}

/// `POST /guilds/{id}/channels` (**extension**): create a channel.
///
/// ```
/// use ayaka_model::ChannelType;
/// use ayaka_model::request::CreateChannel;
///
/// let body = CreateChannel::new("general", ChannelType::Text).position(1);
/// body.validate()?;
/// assert_eq!(serde_json::to_string(&body)?, r#"{"name":"general","type":2,"position":1}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateChannel {
    /// 1 to 100 characters.
    pub name: String,
    /// At most 1000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Category, text or voice.
    #[serde(rename = "type")]
    pub kind: ChannelType,
    /// The category to put the channel in (`0` or absent: top level).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::channel::parent_id::deserialize"
    )]
    pub inside_of: Option<ChannelId>,
    /// Where the channel sorts (server's choice when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<i32>,
}

impl CreateChannel {
    /// A top-level channel with a name and a type.
    pub fn new(name: impl Into<String>, kind: ChannelType) -> Self {
        Self {
            name: name.into(),
            description: None,
            kind,
            inside_of: None,
            position: None,
        }
    }

    /// Sets the description.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Puts the channel in a category.
    #[must_use]
    pub fn inside_of(mut self, category: ChannelId) -> Self {
        self.inside_of = Some(category);
        self
    }

    /// Sets the position.
    #[must_use]
    pub fn position(mut self, position: i32) -> Self {
        self.position = Some(position);
        self
    }

    /// Checks every field, reporting all that fail: the name and
    /// description rules of guilds, a known type, categories at top level,
    /// a position not below zero.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut errors = ValidationError::default();
        errors.check("name", rules::name(&self.name));
        errors.check_some(
            "description",
            self.description.as_deref(),
            rules::description,
        );
        if let ChannelType::Unknown(kind) = self.kind {
            errors.check(
                "type",
                Err(Violation::Invalid(format!(
                    "must be 1 (category), 2 (text) or 3 (voice), got {kind}"
                ))),
            );
        }
        if self.kind == ChannelType::Category && self.inside_of.is_some() {
            errors.check(
                "inside_of",
                Err(Violation::Invalid(
                    "a category cannot be inside another channel".to_owned(),
                )),
            );
        }
        if let Some(position) = self.position.filter(|position| *position < 0) {
            errors.check(
                "position",
                Err(Violation::Range {
                    min: 0,
                    max: i64::from(i32::MAX),
                    actual: i64::from(position),
                }),
            );
        }
        errors.finish()
    }
}

/// `POST /guilds/{id}/invites` (**extension**): create an invite. The body
/// is an empty object; unknown fields are ignored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateInvite {}

impl CreateInvite {
    /// The empty body.
    pub const fn new() -> Self {
        Self {}
    }

    /// Always passes: there is nothing to check.
    pub fn validate(&self) -> Result<(), ValidationError> {
        Ok(())
    }
}
