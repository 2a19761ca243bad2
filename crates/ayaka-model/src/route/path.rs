//! [`Route`]: a route with its parameters, and its path both ways.

use std::borrow::Cow;
use std::fmt::Write as _;

use ayaka_snowflake::{GuildId, UserId};

use super::{Method, RouteKind};

/// The longest invite code a path may carry, in bytes (after decoding).
const MAX_INVITE_CODE: usize = 64;

/// The longest id segment: `u64::MAX` has 20 digits.
const MAX_ID_DIGITS: usize = 20;

/// A REST route with its parameters: what a request is for.
///
/// The client builds the path from it ([`path`](Self::path)); the server
/// reads one back ([`resolve`](Self::resolve)); both agree because both go
/// through here. Not `#[non_exhaustive]`, so that the server's match on it
/// stays exhaustive.
///
/// ```
/// use ayaka_model::route::{Resolved, Route, RouteKind};
///
/// let join = Route::JoinInvite("a/b".into());
/// assert_eq!(join.kind(), RouteKind::JoinInvite);
/// assert_eq!(join.path(), "/invites/a%2Fb");
/// assert_eq!(Route::resolve("POST", &join.path()), Resolved::Route(join));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Route<'a> {
    /// `POST /users/@me`.
    CreateUser,
    /// `GET /users/@me`.
    GetCurrentUser,
    /// `PATCH /users/@me`.
    UpdateCurrentUser,
    /// `POST /guilds`.
    CreateGuild,
    /// `GET /guilds/{id}`.
    GetGuild(GuildId),
    /// `PATCH /guilds/{id}`.
    UpdateGuild(GuildId),
    /// `DELETE /guilds/{id}`.
    DeleteGuild(GuildId),
    /// `GET /guilds/{id}/preview`.
    GetGuildPreview(GuildId),
    /// `POST /invites/{code}`, with the code as it is (not encoded).
    JoinInvite(Cow<'a, str>),
    /// `POST /guilds/{id}/channels` (**extension**).
    CreateChannel(GuildId),
    /// `GET /guilds/{id}/channels` (**extension**).
    GetGuildChannels(GuildId),
    /// `POST /guilds/{id}/invites` (**extension**).
    CreateInvite(GuildId),
    /// `POST /users/{id}/notifications` (**extension**).
    NotifyUser(UserId),
    /// `GET /available`.
    GetAvailable,
}

/// What a method and a path resolve to, as [`Route::resolve`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved<'a> {
    /// A route of the table.
    Route(Route<'a>),
    /// The path is a route's, the method is not: the value is the `Allow`
    /// header listing the methods the path has, e.g. `"GET, PATCH, DELETE"`.
    MethodNotAllowed(&'static str),
    /// No route has this path.
    NotFound,
}

/// A path's parameter, before it is paired with a method.
enum Param<'a> {
    None,
    Guild(GuildId),
    User(UserId),
    Code(Cow<'a, str>),
}

impl<'a> Route<'a> {
    /// The route's row in the table.
    pub const fn kind(&self) -> RouteKind {
        match self {
            Self::CreateUser => RouteKind::CreateUser,
            Self::GetCurrentUser => RouteKind::GetCurrentUser,
            Self::UpdateCurrentUser => RouteKind::UpdateCurrentUser,
            Self::CreateGuild => RouteKind::CreateGuild,
            Self::GetGuild(_) => RouteKind::GetGuild,
            Self::UpdateGuild(_) => RouteKind::UpdateGuild,
            Self::DeleteGuild(_) => RouteKind::DeleteGuild,
            Self::GetGuildPreview(_) => RouteKind::GetGuildPreview,
            Self::JoinInvite(_) => RouteKind::JoinInvite,
            Self::CreateChannel(_) => RouteKind::CreateChannel,
            Self::GetGuildChannels(_) => RouteKind::GetGuildChannels,
            Self::CreateInvite(_) => RouteKind::CreateInvite,
            Self::NotifyUser(_) => RouteKind::NotifyUser,
            Self::GetAvailable => RouteKind::GetAvailable,
        }
    }

    /// The route's HTTP method.
    pub const fn method(&self) -> Method {
        self.kind().method()
    }

    /// The path, with the parameters filled in: `"/guilds/42/channels"`.
    ///
    /// An invite code is percent-encoded (everything but ASCII letters,
    /// digits, `-`, `_` and `~`), so no code can reach another route with
    /// `../`, `?` or `#`.
    pub fn path(&self) -> String {
        let mut path = String::with_capacity(32);
        self.write_path(&mut path);
        path
    }

    /// Appends the [`path`](Self::path) to `out` (after a base URL, say).
    pub fn write_path(&self, out: &mut String) {
        // Writing to a String cannot fail.
        let _ = match self {
            Self::CreateUser
            | Self::GetCurrentUser
            | Self::UpdateCurrentUser
            | Self::CreateGuild
            | Self::GetAvailable => {
                out.push_str(self.kind().template());
                Ok(())
            }
            Self::GetGuild(id) | Self::UpdateGuild(id) | Self::DeleteGuild(id) => {
                write!(out, "/guilds/{id}")
            }
            Self::GetGuildPreview(id) => write!(out, "/guilds/{id}/preview"),
            Self::CreateChannel(id) | Self::GetGuildChannels(id) => {
                write!(out, "/guilds/{id}/channels")
            }
            Self::CreateInvite(id) => write!(out, "/guilds/{id}/invites"),
            Self::NotifyUser(id) => write!(out, "/users/{id}/notifications"),
            Self::JoinInvite(code) => {
                out.push_str("/invites/");
                encode_segment(out, code);
                Ok(())
            }
        };
    }

    /// Which route a request for `method` (as on the wire, `"GET"`) and
    /// `path` (without the query) is for.
    ///
    /// Strict, since the path comes from the network: an id is 1 to 20
    /// ASCII digits fitting in a `u64` (no sign, no spaces), an invite code
    /// 1 to 64 bytes once percent-decoded (valid UTF-8), and a trailing
    /// slash is another path. A path whose parameters do not parse is
    /// [`Resolved::NotFound`], whatever the method.
    pub fn resolve(method: &str, path: &'a str) -> Resolved<'a> {
        let Some((template, allow, param)) = match_path(path) else {
            return Resolved::NotFound;
        };
        let kind = RouteKind::ALL
            .into_iter()
            .find(|kind| kind.template() == template && kind.method().as_str() == method);
        match kind {
            Some(kind) => Self::from_parts(kind, param).map_or(Resolved::NotFound, Resolved::Route),
            None => Resolved::MethodNotAllowed(allow),
        }
    }

    /// The same route, owning its invite code.
    pub fn into_owned(self) -> Route<'static> {
        match self {
            Self::CreateUser => Route::CreateUser,
            Self::GetCurrentUser => Route::GetCurrentUser,
            Self::UpdateCurrentUser => Route::UpdateCurrentUser,
            Self::CreateGuild => Route::CreateGuild,
            Self::GetGuild(id) => Route::GetGuild(id),
            Self::UpdateGuild(id) => Route::UpdateGuild(id),
            Self::DeleteGuild(id) => Route::DeleteGuild(id),
            Self::GetGuildPreview(id) => Route::GetGuildPreview(id),
            Self::JoinInvite(code) => Route::JoinInvite(Cow::Owned(code.into_owned())),
            Self::CreateChannel(id) => Route::CreateChannel(id),
            Self::GetGuildChannels(id) => Route::GetGuildChannels(id),
            Self::CreateInvite(id) => Route::CreateInvite(id),
            Self::NotifyUser(id) => Route::NotifyUser(id),
            Self::GetAvailable => Route::GetAvailable,
        }
    }

    /// Pairs a row of the table with the parameter its path held.
    fn from_parts(kind: RouteKind, param: Param<'a>) -> Option<Self> {
        Some(match (kind, param) {
            (RouteKind::CreateUser, Param::None) => Self::CreateUser,
            (RouteKind::GetCurrentUser, Param::None) => Self::GetCurrentUser,
            (RouteKind::UpdateCurrentUser, Param::None) => Self::UpdateCurrentUser,
            (RouteKind::CreateGuild, Param::None) => Self::CreateGuild,
            (RouteKind::GetGuild, Param::Guild(id)) => Self::GetGuild(id),
            (RouteKind::UpdateGuild, Param::Guild(id)) => Self::UpdateGuild(id),
            (RouteKind::DeleteGuild, Param::Guild(id)) => Self::DeleteGuild(id),
            (RouteKind::GetGuildPreview, Param::Guild(id)) => Self::GetGuildPreview(id),
            (RouteKind::JoinInvite, Param::Code(code)) => Self::JoinInvite(code),
            (RouteKind::CreateChannel, Param::Guild(id)) => Self::CreateChannel(id),
            (RouteKind::GetGuildChannels, Param::Guild(id)) => Self::GetGuildChannels(id),
            (RouteKind::CreateInvite, Param::Guild(id)) => Self::CreateInvite(id),
            (RouteKind::NotifyUser, Param::User(id)) => Self::NotifyUser(id),
            (RouteKind::GetAvailable, Param::None) => Self::GetAvailable,
            _ => return None,
        })
    }
}

/// The template a path matches, the `Allow` value of that template's
/// methods, and the parameter; `None` for an unknown path or a parameter
/// that does not parse.
fn match_path(path: &str) -> Option<(&'static str, &'static str, Param<'_>)> {
    let mut segments = path.strip_prefix('/')?.split('/');
    let first = segments.next()?;
    let second = segments.next();
    let third = segments.next();
    if segments.next().is_some() {
        return None;
    }
    Some(match (first, second, third) {
        ("users", Some("@me"), None) => ("/users/@me", "GET, POST, PATCH", Param::None),
        ("users", Some(id), Some("notifications")) => (
            "/users/{id}/notifications",
            "POST",
            Param::User(UserId::new(parse_id(id)?)),
        ),
        ("guilds", None, None) => ("/guilds", "POST", Param::None),
        ("guilds", Some(id), rest) => {
            let guild = Param::Guild(GuildId::new(parse_id(id)?));
            match rest {
                None => ("/guilds/{id}", "GET, PATCH, DELETE", guild),
                Some("preview") => ("/guilds/{id}/preview", "GET", guild),
                Some("channels") => ("/guilds/{id}/channels", "GET, POST", guild),
                Some("invites") => ("/guilds/{id}/invites", "POST", guild),
                Some(_) => return None,
            }
        }
        ("invites", Some(code), None) => {
            ("/invites/{code}", "POST", Param::Code(decode_code(code)?))
        }
        ("available", None, None) => ("/available", "GET", Param::None),
        _ => return None,
    })
}

/// An id segment: digits only, fitting in a `u64`.
fn parse_id(segment: &str) -> Option<u64> {
    if segment.is_empty()
        || segment.len() > MAX_ID_DIGITS
        || !segment.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    segment.parse().ok()
}

/// Percent-encodes everything but RFC 3986 unreserved characters, and `.`
/// too: a code `..` must not become a dot segment that a proxy normalises
/// away.
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

/// An invite code segment, percent-decoded: borrowed when it has no `%`.
fn decode_code(segment: &str) -> Option<Cow<'_, str>> {
    // An encoded byte takes three characters: longer cannot decode short enough.
    if segment.is_empty() || segment.len() > 3 * MAX_INVITE_CODE {
        return None;
    }
    let code = if segment.contains('%') {
        Cow::Owned(percent_decode(segment)?)
    } else {
        Cow::Borrowed(segment)
    };
    (!code.is_empty() && code.len() <= MAX_INVITE_CODE).then_some(code)
}

/// `None` for a `%` not followed by two hex digits or bytes that are not
/// UTF-8.
fn percent_decode(segment: &str) -> Option<String> {
    let mut bytes = segment.bytes();
    let mut out = Vec::with_capacity(segment.len());
    while let Some(byte) = bytes.next() {
        if byte == b'%' {
            let high = hex_digit(bytes.next()?)?;
            let low = hex_digit(bytes.next()?)?;
            out.push(high << 4 | low);
        } else {
            out.push(byte);
        }
    }
    String::from_utf8(out).ok()
}

fn hex_digit(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|digit| u8::try_from(digit).ok())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// One route of each kind, with made-up parameters.
    fn sample(kind: RouteKind) -> Route<'static> {
        let guild = GuildId::new(42);
        match kind {
            RouteKind::CreateUser => Route::CreateUser,
            RouteKind::GetCurrentUser => Route::GetCurrentUser,
            RouteKind::UpdateCurrentUser => Route::UpdateCurrentUser,
            RouteKind::CreateGuild => Route::CreateGuild,
            RouteKind::GetGuild => Route::GetGuild(guild),
            RouteKind::UpdateGuild => Route::UpdateGuild(guild),
            RouteKind::DeleteGuild => Route::DeleteGuild(guild),
            RouteKind::GetGuildPreview => Route::GetGuildPreview(guild),
            RouteKind::JoinInvite => Route::JoinInvite("aB3-_~".into()),
            RouteKind::CreateChannel => Route::CreateChannel(guild),
            RouteKind::GetGuildChannels => Route::GetGuildChannels(guild),
            RouteKind::CreateInvite => Route::CreateInvite(guild),
            RouteKind::NotifyUser => Route::NotifyUser(UserId::new(7)),
            RouteKind::GetAvailable => Route::GetAvailable,
        }
    }

    #[test]
    fn paths_and_keys() {
        let guild = GuildId::new(42);
        assert_eq!(Route::GetGuild(guild).path(), "/guilds/42");
        assert_eq!(Route::GetGuildPreview(guild).path(), "/guilds/42/preview");
        assert_eq!(Route::DeleteGuild(guild).method(), Method::Delete);
        assert_eq!(
            Route::UpdateGuild(guild).kind().as_str(),
            "PATCH /guilds/{id}"
        );
        assert_eq!(
            Route::NotifyUser(UserId::new(7)).path(),
            "/users/7/notifications"
        );
        assert!(!Route::CreateUser.kind().needs_session());
    }

    #[test]
    fn invite_codes_cannot_escape_the_path() {
        let join = |code: &str| Route::JoinInvite(code.to_owned().into()).path();
        assert_eq!(join("aB3-_~"), "/invites/aB3-_~");
        assert_eq!(
            join("../guilds/1?x#y"),
            "/invites/%2E%2E%2Fguilds%2F1%3Fx%23y"
        );
        assert_eq!(join("é"), "/invites/%C3%A9");
        assert_eq!(join(""), "/invites/");
    }

    #[test]
    fn every_path_resolves_back_to_its_route() {
        for kind in RouteKind::ALL {
            let route = sample(kind);
            let path = route.path();
            assert_eq!(route.kind(), kind);
            // The path fills the template in.
            let filled = kind
                .template()
                .replace(
                    "{id}",
                    if kind == RouteKind::NotifyUser {
                        "7"
                    } else {
                        "42"
                    },
                )
                .replace("{code}", "aB3-_~");
            assert_eq!(path, filled, "{kind}");
            assert_eq!(
                Route::resolve(kind.method().as_str(), &path),
                Resolved::Route(route),
                "{kind}"
            );
        }
    }

    #[test]
    fn allow_lists_exactly_the_methods_of_the_path() {
        for kind in RouteKind::ALL {
            let path = sample(kind).path();
            let Resolved::MethodNotAllowed(allow) = Route::resolve("PUT", &path) else {
                panic!("PUT {path} should be 405");
            };
            let listed: BTreeSet<&str> = allow.split(", ").collect();
            let table: BTreeSet<&str> = RouteKind::ALL
                .into_iter()
                .filter(|other| other.template() == kind.template())
                .map(|other| other.method().as_str())
                .collect();
            assert_eq!(listed, table, "{path}");
        }
    }

    #[test]
    fn resolves_documented_and_extension_routes() {
        let g = GuildId::new(5);
        let found = |route| Resolved::Route(route);
        let cases = [
            ("POST", "/users/@me", found(Route::CreateUser)),
            ("PATCH", "/users/@me", found(Route::UpdateCurrentUser)),
            ("GET", "/guilds/5", found(Route::GetGuild(g))),
            ("DELETE", "/guilds/5", found(Route::DeleteGuild(g))),
            ("GET", "/guilds/5/preview", found(Route::GetGuildPreview(g))),
            ("POST", "/guilds/5/channels", found(Route::CreateChannel(g))),
            ("POST", "/guilds/5/invites", found(Route::CreateInvite(g))),
            (
                "POST",
                "/invites/abc",
                found(Route::JoinInvite("abc".into())),
            ),
            (
                "POST",
                "/users/9/notifications",
                found(Route::NotifyUser(UserId::new(9))),
            ),
            ("GET", "/available", found(Route::GetAvailable)),
            (
                "PUT",
                "/guilds/5",
                Resolved::MethodNotAllowed("GET, PATCH, DELETE"),
            ),
            (
                "get",
                "/guilds/5",
                Resolved::MethodNotAllowed("GET, PATCH, DELETE"),
            ),
            ("GET", "/guilds/-5", Resolved::NotFound),
            ("GET", "/guilds/+5", Resolved::NotFound),
            ("GET", "/guilds/ 5", Resolved::NotFound),
            ("GET", "/guilds/99999999999999999999", Resolved::NotFound),
            ("GET", "/guilds/000000000000000000005", Resolved::NotFound),
            ("PUT", "/guilds/x", Resolved::NotFound),
            ("GET", "/guilds/5/", Resolved::NotFound),
            ("GET", "/guilds/5/preview/x", Resolved::NotFound),
            ("GET", "/users/@me/", Resolved::NotFound),
            ("GET", "//guilds", Resolved::NotFound),
            ("GET", "/nope", Resolved::NotFound),
            ("GET", "guilds", Resolved::NotFound),
            ("GET", "", Resolved::NotFound),
            ("GET", "/", Resolved::NotFound),
        ];
        for (method, path, expected) in cases {
            assert_eq!(Route::resolve(method, path), expected, "{method} {path}");
        }
    }

    #[test]
    fn invite_codes_are_decoded_and_bounded() {
        let code = |path: &str| match Route::resolve("POST", path) {
            Resolved::Route(Route::JoinInvite(code)) => Some(code.into_owned()),
            _ => None,
        };
        assert_eq!(code("/invites/%61bc").as_deref(), Some("abc"));
        assert_eq!(code("/invites/%c3%A9").as_deref(), Some("é"));
        assert_eq!(code("/invites/a%2Fb").as_deref(), Some("a/b"));
        assert_eq!(
            code(&format!("/invites/{}", "a".repeat(64))).map(|c| c.len()),
            Some(64)
        );
        for bad in [
            "/invites/",
            "/invites/%",
            "/invites/%4",
            "/invites/%zz",
            "/invites/%FF",
            "/invites/%00%",
        ] {
            assert_eq!(code(bad), None, "{bad}");
        }
        assert_eq!(code(&format!("/invites/{}", "a".repeat(65))), None);
        assert_eq!(code(&format!("/invites/{}", "%41".repeat(65))), None);
        assert_eq!(
            code(&format!("/invites/{}", "%41".repeat(64))).map(|c| c.len()),
            Some(64)
        );
    }

    #[test]
    fn unencoded_codes_are_borrowed() {
        let Resolved::Route(Route::JoinInvite(code)) = Route::resolve("POST", "/invites/abc")
        else {
            panic!("not a join");
        };
        assert!(matches!(code, Cow::Borrowed("abc")));
    }
}
