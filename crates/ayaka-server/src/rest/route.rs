//! Which route a request is for.

use ayaka_snowflake::{GuildId, UserId};
use http::Method;

use crate::ratelimit::bucket;

/// A known route, with the ids from its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    CreateUser,
    GetMe,
    UpdateMe,
    Notify(UserId),
    CreateGuild,
    GetGuild(GuildId),
    UpdateGuild(GuildId),
    DeleteGuild(GuildId),
    PreviewGuild(GuildId),
    ListChannels(GuildId),
    CreateChannel(GuildId),
    CreateInvite(GuildId),
    JoinInvite(String),
    Available,
}

/// What a method and path resolve to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resolved {
    Route(Route),
    /// The path exists, the method does not; `Allow` lists these.
    MethodNotAllowed(&'static str),
    NotFound,
}

impl Route {
    /// The rate-limit bucket (several routes may share one).
    pub(crate) fn bucket(&self) -> &'static str {
        match self {
            Self::CreateUser => bucket::USERS_CREATE,
            Self::GetMe | Self::UpdateMe => bucket::USERS_ME,
            Self::Notify(_) => bucket::NOTIFICATIONS_CREATE,
            Self::CreateGuild => bucket::GUILDS_CREATE,
            Self::GetGuild(_) | Self::PreviewGuild(_) => bucket::GUILDS_GET,
            Self::UpdateGuild(_) => bucket::GUILDS_UPDATE,
            Self::DeleteGuild(_) => bucket::GUILDS_DELETE,
            Self::ListChannels(_) => bucket::CHANNELS_LIST,
            Self::CreateChannel(_) => bucket::CHANNELS_CREATE,
            Self::CreateInvite(_) => bucket::INVITES_CREATE,
            Self::JoinInvite(_) => bucket::INVITES_JOIN,
            Self::Available => bucket::GATEWAY_AVAILABLE,
        }
    }
}

/// An id path segment: digits only (no sign, no spaces), fitting in u64.
fn id(segment: &str) -> Option<u64> {
    if segment.is_empty() || segment.len() > 20 || !segment.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    segment.parse().ok()
}

pub(crate) fn resolve(method: &Method, path: &str) -> Resolved {
    let segments: Vec<&str> = match path.strip_prefix('/') {
        Some(rest) => rest.split('/').collect(),
        None => return Resolved::NotFound,
    };
    let pick = |options: &[(Method, Route)], allow: &'static str| {
        options
            .iter()
            .find(|(m, _)| m == method)
            .map_or(Resolved::MethodNotAllowed(allow), |(_, route)| {
                Resolved::Route(route.clone())
            })
    };
    match segments.as_slice() {
        ["users", "@me"] => pick(
            &[
                (Method::POST, Route::CreateUser),
                (Method::GET, Route::GetMe),
                (Method::PATCH, Route::UpdateMe),
            ],
            "GET, POST, PATCH",
        ),
        ["users", user, "notifications"] => match id(user) {
            Some(user) => pick(&[(Method::POST, Route::Notify(UserId::new(user)))], "POST"),
            None => Resolved::NotFound,
        },
        ["guilds"] => pick(&[(Method::POST, Route::CreateGuild)], "POST"),
        ["guilds", guild, rest @ ..] => {
            let Some(guild) = id(guild).map(GuildId::new) else {
                return Resolved::NotFound;
            };
            match rest {
                [] => pick(
                    &[
                        (Method::GET, Route::GetGuild(guild)),
                        (Method::PATCH, Route::UpdateGuild(guild)),
                        (Method::DELETE, Route::DeleteGuild(guild)),
                    ],
                    "GET, PATCH, DELETE",
                ),
                ["preview"] => pick(&[(Method::GET, Route::PreviewGuild(guild))], "GET"),
                ["channels"] => pick(
                    &[
                        (Method::GET, Route::ListChannels(guild)),
                        (Method::POST, Route::CreateChannel(guild)),
                    ],
                    "GET, POST",
                ),
                ["invites"] => pick(&[(Method::POST, Route::CreateInvite(guild))], "POST"),
                _ => Resolved::NotFound,
            }
        }
        ["invites", code] if !code.is_empty() && code.len() <= 64 => pick(
            &[(Method::POST, Route::JoinInvite((*code).to_owned()))],
            "POST",
        ),
        ["available"] => pick(&[(Method::GET, Route::Available)], "GET"),
        _ => Resolved::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_documented_and_extension_routes() {
        let g = GuildId::new(5);
        let cases = [
            (
                Method::POST,
                "/users/@me",
                Resolved::Route(Route::CreateUser),
            ),
            (
                Method::PATCH,
                "/users/@me",
                Resolved::Route(Route::UpdateMe),
            ),
            (
                Method::GET,
                "/guilds/5",
                Resolved::Route(Route::GetGuild(g)),
            ),
            (
                Method::DELETE,
                "/guilds/5",
                Resolved::Route(Route::DeleteGuild(g)),
            ),
            (
                Method::GET,
                "/guilds/5/preview",
                Resolved::Route(Route::PreviewGuild(g)),
            ),
            (
                Method::POST,
                "/guilds/5/channels",
                Resolved::Route(Route::CreateChannel(g)),
            ),
            (
                Method::POST,
                "/guilds/5/invites",
                Resolved::Route(Route::CreateInvite(g)),
            ),
            (
                Method::POST,
                "/invites/abc",
                Resolved::Route(Route::JoinInvite("abc".into())),
            ),
            (
                Method::POST,
                "/users/9/notifications",
                Resolved::Route(Route::Notify(UserId::new(9))),
            ),
            (Method::GET, "/available", Resolved::Route(Route::Available)),
            (
                Method::PUT,
                "/guilds/5",
                Resolved::MethodNotAllowed("GET, PATCH, DELETE"),
            ),
            (Method::GET, "/guilds/-5", Resolved::NotFound),
            (
                Method::GET,
                "/guilds/99999999999999999999",
                Resolved::NotFound,
            ),
            (Method::GET, "/guilds/5/", Resolved::NotFound),
            (Method::GET, "/nope", Resolved::NotFound),
            (Method::GET, "", Resolved::NotFound),
        ];
        for (method, path, expected) in cases {
            assert_eq!(resolve(&method, path), expected, "{method} {path}");
        }
    }

    #[test]
    fn preview_shares_the_get_bucket() {
        let g = GuildId::new(1);
        assert_eq!(Route::GetGuild(g).bucket(), Route::PreviewGuild(g).bucket());
        assert_ne!(Route::GetGuild(g).bucket(), Route::UpdateGuild(g).bucket());
    }
}
