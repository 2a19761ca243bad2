//! Every REST route: its method, path and rate-limit key.

use std::fmt::Write as _;

use ayaka_model::{GuildId, UserId};
use http::Method;

/// One REST route with its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route<'a> {
    CreateUser,
    GetCurrentUser,
    UpdateCurrentUser,
    CreateGuild,
    GetGuild(GuildId),
    UpdateGuild(GuildId),
    DeleteGuild(GuildId),
    GuildPreview(GuildId),
    JoinInvite(&'a str),
    CreateChannel(GuildId),
    GuildChannels(GuildId),
    CreateInvite(GuildId),
    Notify(UserId),
}

impl Route<'_> {
    pub(crate) fn method(&self) -> Method {
        match self {
            Self::CreateUser
            | Self::CreateGuild
            | Self::JoinInvite(_)
            | Self::CreateChannel(_)
            | Self::CreateInvite(_)
            | Self::Notify(_) => Method::POST,
            Self::GetCurrentUser
            | Self::GetGuild(_)
            | Self::GuildPreview(_)
            | Self::GuildChannels(_) => Method::GET,
            Self::UpdateCurrentUser | Self::UpdateGuild(_) => Method::PATCH,
            Self::DeleteGuild(_) => Method::DELETE,
        }
    }

    /// The route's name for the rate limiter: method and path template.
    /// The server keys buckets by route, not by resource.
    pub(crate) fn key(&self) -> &'static str {
        match self {
            Self::CreateUser => "POST /users/@me",
            Self::GetCurrentUser => "GET /users/@me",
            Self::UpdateCurrentUser => "PATCH /users/@me",
            Self::CreateGuild => "POST /guilds",
            Self::GetGuild(_) => "GET /guilds/{id}",
            Self::UpdateGuild(_) => "PATCH /guilds/{id}",
            Self::DeleteGuild(_) => "DELETE /guilds/{id}",
            Self::GuildPreview(_) => "GET /guilds/{id}/preview",
            Self::JoinInvite(_) => "POST /invites/{code}",
            Self::CreateChannel(_) => "POST /guilds/{id}/channels",
            Self::GuildChannels(_) => "GET /guilds/{id}/channels",
            Self::CreateInvite(_) => "POST /guilds/{id}/invites",
            Self::Notify(_) => "POST /users/{id}/notifications",
        }
    }

    /// The path, with parameters filled in and percent-encoded.
    pub(crate) fn path(&self) -> String {
        match self {
            Self::CreateUser | Self::GetCurrentUser | Self::UpdateCurrentUser => {
                "/users/@me".to_owned()
            }
            Self::CreateGuild => "/guilds".to_owned(),
            Self::GetGuild(id) | Self::UpdateGuild(id) | Self::DeleteGuild(id) => {
                format!("/guilds/{id}")
            }
            Self::GuildPreview(id) => format!("/guilds/{id}/preview"),
            Self::JoinInvite(code) => {
                let mut path = String::from("/invites/");
                encode_segment(&mut path, code);
                path
            }
            Self::CreateChannel(id) | Self::GuildChannels(id) => format!("/guilds/{id}/channels"),
            Self::CreateInvite(id) => format!("/guilds/{id}/invites"),
            Self::Notify(id) => format!("/users/{id}/notifications"),
        }
    }

    /// Whether the route needs `Authorization`.
    pub(crate) fn needs_session(&self) -> bool {
        !matches!(self, Self::CreateUser | Self::GuildPreview(_))
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so a
/// hostile invite code cannot change the path (`../`, `?`, `#`).
fn encode_segment(out: &mut String, segment: &str) {
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{byte:02X}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_keys() {
        let guild = GuildId::new(42);
        assert_eq!(Route::GetGuild(guild).path(), "/guilds/42");
        assert_eq!(Route::GuildPreview(guild).path(), "/guilds/42/preview");
        assert_eq!(Route::DeleteGuild(guild).method(), Method::DELETE);
        assert_eq!(Route::UpdateGuild(guild).key(), "PATCH /guilds/{id}");
        assert_eq!(
            Route::Notify(UserId::new(7)).path(),
            "/users/7/notifications"
        );
        assert!(!Route::CreateUser.needs_session());
    }

    #[test]
    fn invite_codes_cannot_escape_the_path() {
        assert_eq!(Route::JoinInvite("aB3-_~").path(), "/invites/aB3-_~");
        assert_eq!(
            Route::JoinInvite("../guilds/1?x#y").path(),
            "/invites/%2E%2E%2Fguilds%2F1%3Fx%23y"
        );
        assert_eq!(Route::JoinInvite("é").path(), "/invites/%C3%A9");
        assert_eq!(Route::JoinInvite("").path(), "/invites/");
    }
}
